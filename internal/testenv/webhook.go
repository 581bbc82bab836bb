package testenv

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/errortracker/errortracker/notify/webhook"
)

// Hooks is a webhook receiver on loopback: a real HTTP server that checks
// each request's signature with the secret, as a user's receiver would,
// and keeps the bodies that verify. A request that does not verify is
// answered 401 and counted.
type Hooks struct {
	// URL is where to send: the server's address and /hook.
	URL string

	mu      sync.Mutex
	bodies  [][]byte
	refused int
}

// StartHooks starts a receiver that verifies with secret; it stops when
// the test ends.
func StartHooks(t testing.TB, secret string) *Hooks {
	t.Helper()
	h := &Hooks{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if !webhook.Verify(secret, body, r.Header.Get(webhook.SignatureHeader)) {
			h.refused++
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		h.bodies = append(h.bodies, body)
	}))
	t.Cleanup(srv.Close)
	h.URL = srv.URL + "/hook"
	return h
}

// Bodies returns the verified bodies so far, oldest first.
func (h *Hooks) Bodies() [][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([][]byte(nil), h.bodies...)
}

// Refused counts the requests whose signature did not verify.
func (h *Hooks) Refused() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.refused
}

// WaitFor waits until the receiver holds n verified bodies, or fails the
// test after within.
func (h *Hooks) WaitFor(t testing.TB, n int, within time.Duration) [][]byte {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if b := h.Bodies(); len(b) >= n {
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("the webhook receiver holds %d verified requests after %s (%d refused), want %d", len(h.Bodies()), within, h.Refused(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
