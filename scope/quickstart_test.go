package scope_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/processor"
	"github.com/errortracker/errortracker/scope"
)

// keeper is an exporter.Exporter that keeps the records it receives: the
// test's window on what a store would get.
type keeper struct {
	mu      sync.Mutex
	records []exporter.Record
}

func (k *keeper) Export(_ context.Context, recs []exporter.Record) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.records = append(k.records, recs...)
	return nil
}

func (k *keeper) Shutdown(context.Context) error { return nil }

func (k *keeper) all() []exporter.Record {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]exporter.Record(nil), k.records...)
}

// quickStart wires a service the way the README's quick start does: one
// processor on a TracerProvider that is NOT registered globally, otelhttp
// outside scope.Middleware outside a Go 1.22 ServeMux.
func quickStart(t *testing.T, routes func(*http.ServeMux)) (*httptest.Server, *keeper, *tracetest.InMemoryExporter, *sdktrace.TracerProvider) {
	t.Helper()
	k := &keeper{}
	spans := tracetest.NewInMemoryExporter()
	p, err := processor.New(processor.Config{}, processor.WithExporter(k),
		processor.WithNext(sdktrace.NewSimpleSpanProcessor(spans)))
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	mux := http.NewServeMux()
	routes(mux)
	srv := httptest.NewServer(otelhttp.NewHandler(scope.Middleware(mux), "app", otelhttp.WithTracerProvider(tp)))
	t.Cleanup(srv.Close)
	return srv, k, spans, tp
}

func get(t *testing.T, url string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// The route the mux matched names the server span as otelhttp alone names
// it, and reaches the record: a bare sentinel from two endpoints is two
// groups, not one "in span GET".
func TestQuickStartKeepsTheRoute(t *testing.T) {
	srv, k, spans, tp := quickStart(t, func(mux *http.ServeMux) {
		mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
			panic(fmt.Sprintf("order %s: no such order", r.PathValue("id")))
		})
		mux.HandleFunc("GET /users/{id}", getUser)
		mux.HandleFunc("GET /invoices/{id}", getInvoice)
	})
	get(t, srv.URL+"/orders/17")
	get(t, srv.URL+"/users/1")
	get(t, srv.URL+"/invoices/2")
	if err := tp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}

	var names []string
	for _, s := range spans.GetSpans() {
		names = append(names, s.Name)
		if s.Name == "GET /orders/{id}" {
			if route := attrOf(s.Attributes, "http.route"); route != "/orders/{id}" {
				t.Errorf("span %q: http.route = %q", s.Name, route)
			}
		}
	}
	if strings.Join(names, ",") != "GET /orders/{id},GET /users/{id},GET /invoices/{id}" {
		t.Errorf("span names %q, want the method and the route, as otelhttp names them alone", names)
	}
	recs := k.all()
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3", len(recs))
	}
	if recs[0].Route != "/orders/{id}" || recs[0].SpanName != "GET /orders/{id}" {
		t.Errorf("panic record: route %q, span %q", recs[0].Route, recs[0].SpanName)
	}
	if recs[1].Route != "/users/{id}" || recs[2].Route != "/invoices/{id}" {
		t.Errorf("routes %q and %q", recs[1].Route, recs[2].Route)
	}
	if recs[1].Fingerprint == recs[2].Fingerprint {
		t.Errorf("sql.ErrNoRows from /users/{id} and /invoices/{id} are one group (%s)", recs[1].Grouping)
	}
}

// getUser and getInvoice are two endpoints that report the same bare
// sentinel, as a service's handlers do.
func getUser(w http.ResponseWriter, r *http.Request) {
	scope.CaptureException(r.Context(), sql.ErrNoRows)
	http.Error(w, "not found", http.StatusNotFound)
}

func getInvoice(w http.ResponseWriter, r *http.Request) {
	scope.CaptureException(r.Context(), sql.ErrNoRows)
	http.Error(w, "not found", http.StatusNotFound)
}

// chargeOrder is a background job that fails.
func chargeOrder(context.Context) error {
	return fmt.Errorf("charge order 17: %w", sql.ErrConnDone)
}

// A job started from a handler, after its request ended, is recorded under
// the job's name, although no provider is registered globally.
func TestQuickStartRecordsBackgroundJobs(t *testing.T) {
	ended := make(chan struct{})
	var jobs sync.WaitGroup
	srv, k, spans, tp := quickStart(t, func(mux *http.ServeMux) {
		mux.HandleFunc("POST /orders/{id}/charge", func(w http.ResponseWriter, r *http.Request) {
			ctx := context.WithoutCancel(r.Context())
			jobs.Go(func() {
				<-ended // the request's span has ended by then
				_ = scope.Track(ctx, chargeOrder)
			})
			w.WriteHeader(http.StatusAccepted)
		})
	})
	resp, err := http.Post(srv.URL+"/orders/17/charge", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	deadline := time.Now().Add(5 * time.Second)
	for len(spans.GetSpans()) == 0 && time.Now().Before(deadline) { // otelhttp ends its span after answering
		time.Sleep(5 * time.Millisecond)
	}
	close(ended)
	jobs.Wait()
	if err := tp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}

	recs := k.all()
	if len(recs) != 1 {
		t.Fatalf("%d records, want the job's error", len(recs))
	}
	r := recs[0]
	const job = "github.com/errortracker/errortracker/scope_test.chargeOrder"
	if r.SpanName != job {
		t.Errorf("span name %q, want the job's function %q", r.SpanName, job)
	}
	if top := strings.SplitN(r.Stacktrace, "\n", 2)[0]; top != job+"(...)" {
		t.Errorf("the stack starts at %q, want the job:\n%s", top, r.Stacktrace)
	}
	if !strings.Contains(r.Stacktrace, "scope/quickstart_test.go:") {
		t.Errorf("the job's frame lacks its file:\n%s", r.Stacktrace)
	}
	if r.Message != "charge order 17: sql: connection is already closed" || r.TraceID.String() != spans.GetSpans()[0].SpanContext.TraceID().String() {
		t.Errorf("record %+v", r)
	}
}

func attrOf(attrs []attribute.KeyValue, key string) string {
	for _, kv := range attrs {
		if string(kv.Key) == key {
			return kv.Value.Emit()
		}
	}
	return ""
}

// A capture that no provider records is not lost without a word: it is
// logged, once per scope, without its message (nothing masked it).
func TestUnrecordedCaptureIsLoggedOnce(t *testing.T) {
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	defer slog.SetDefault(old)

	ctx, _ := scope.New(context.Background())
	scope.CaptureException(ctx, errors.New("password=hunter2"))
	_ = scope.Track(ctx, chargeOrder)
	if n := strings.Count(buf.String(), "no TracerProvider records it"); n != 1 {
		t.Errorf("%d warnings in one scope, want 1:\n%s", n, buf.String())
	}
	scope.CaptureMessage(context.Background(), "outside any scope")
	if n := strings.Count(buf.String(), "no TracerProvider records it"); n != 2 {
		t.Errorf("%d warnings, want another for a capture outside a scope:\n%s", n, buf.String())
	}
	if strings.Contains(buf.String(), "hunter2") {
		t.Errorf("the unmasked message was logged:\n%s", buf.String())
	}
}

// Without otelhttp the middleware's own server span is named and routed
// the same way.
func TestMiddlewareOwnSpanTakesTheRoute(t *testing.T) {
	tp, spans, _ := newProvider(t)
	mux := http.NewServeMux()
	mux.HandleFunc("DELETE /carts/{id}", func(w http.ResponseWriter, r *http.Request) {})
	h := scope.NewMiddleware(scope.WithTracerProvider(tp))(mux)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("DELETE", "/carts/9", nil))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("BREW", "/carts/9", nil))
	got := spans.GetSpans()
	if len(got) != 2 || got[0].Name != "DELETE /carts/{id}" || attrOf(got[0].Attributes, "http.route") != "/carts/{id}" {
		t.Errorf("spans %v", got)
	}
	if got[1].Name != "HTTP" { // no route matched, and no method a client may mint
		t.Errorf("unknown method: span %q", got[1].Name)
	}
}
