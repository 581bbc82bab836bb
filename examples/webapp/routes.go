package main

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/errortracker/errortracker/scope"
)

// errValue is the Go stand-in for the Flask example's ValueError.
var errValue = errors.New("invalid value")

// routes are the Flask example's views.
func routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", indexView)
	mux.HandleFunc("GET /value-error", valueErrorView)
	mux.HandleFunc("POST /value-error", valueErrorView)
	mux.HandleFunc("POST /post-view", postView)
	mux.HandleFunc("GET /panic", panicView)
	mux.HandleFunc("GET /message", messageView)
	mux.HandleFunc("GET /scope", scopeView)
	mux.HandleFunc("POST /crash", crashView)
}

func indexView(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintln(w, "No Exception!")
}

func valueErrorView(w http.ResponseWriter, r *http.Request) {
	scope.CaptureException(r.Context(), fmt.Errorf("parse amount %q: %w", r.FormValue("amount"), errValue))
	http.Error(w, "value error", http.StatusInternalServerError)
}

func postView(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil { // the middleware records the parsed form, masked
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	scope.CaptureException(r.Context(), fmt.Errorf("login of %q failed: %w", r.PostForm.Get("username"), errValue))
	http.Error(w, "login failed", http.StatusInternalServerError)
}

func panicView(w http.ResponseWriter, r *http.Request) {
	var orders map[string]int
	orders["42"]++ // a nil map: a runtime panic the middleware recovers
}

func messageView(w http.ResponseWriter, r *http.Request) {
	scope.CaptureMessage(r.Context(), "Something went wrong!")
	fmt.Fprintln(w, "Message captured")
}

func scopeView(w http.ResponseWriter, r *http.Request) {
	ctx, s := scope.New(r.Context())
	s.SetExtra("id", 1234)
	s.SetExtra("email", "example@example.com")
	scope.CaptureException(ctx, fmt.Errorf("load user: %w", errValue))
	http.Error(w, "scope error", http.StatusInternalServerError)
}

// crashView ends the process: a goroutine of its own panics, outside any
// middleware, as a background job's bug would. With APP_ERROR_SPOOL_DIR
// set, the crash is captured (processor.WithCrashCapture) and reported on
// the next start. Only POST, so that no crawler or link preview kills the
// app.
func crashView(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintln(w, "crashing")
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	go func() {
		// After the response is complete: a crash before the handler
		// returns could cut it, and the caller would see EOF.
		time.Sleep(100 * time.Millisecond)
		panic("unrecovered panic in a background goroutine")
	}()
}
