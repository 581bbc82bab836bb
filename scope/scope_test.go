package scope_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/errortracker/errortracker/maskattr"
	"github.com/errortracker/errortracker/processor"
	"github.com/errortracker/errortracker/scope"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// newProvider returns a TracerProvider whose masking processor wraps an
// in-memory exporter.
func newProvider(t *testing.T) (*sdktrace.TracerProvider, *tracetest.InMemoryExporter, *processor.Processor) {
	t.Helper()
	spans := tracetest.NewInMemoryExporter()
	p, err := processor.New(processor.Config{}, processor.WithNext(sdktrace.NewSimpleSpanProcessor(spans)))
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp, spans, p
}

func exceptionEvents(spans tracetest.SpanStubs) []map[string]string {
	var out []map[string]string
	for _, s := range spans {
		for _, ev := range s.Events {
			if ev.Name != "exception" {
				continue
			}
			m := map[string]string{}
			for _, kv := range ev.Attributes {
				m[string(kv.Key)] = kv.Value.Emit()
			}
			out = append(out, m)
		}
	}
	return out
}

func TestExceptionType(t *testing.T) {
	pathErr := &fs.PathError{Op: "open", Path: "x", Err: fs.ErrNotExist}
	tests := []struct {
		err  error
		want string
	}{
		{errors.New("x"), "*errors.errorString"},
		{pathErr, "*fs.PathError"},
		{fmt.Errorf("load: %w", pathErr), "*fs.PathError"},
		{fmt.Errorf("a: %w", fmt.Errorf("b: %w", pathErr)), "*fs.PathError"},
		{errors.Join(fmt.Errorf("a: %w", pathErr), io.EOF), "*fs.PathError"},
		{fmt.Errorf("a: %w and %w", io.ErrUnexpectedEOF, pathErr), "*errors.errorString"},
		{fmt.Errorf("no wrap: %v", pathErr), "*fmt.wrapError"[:0] + "*errors.errorString"},
		{http.ErrNoCookie, "*errors.errorString"},
	}
	for _, tt := range tests {
		if got := scope.ExceptionType(tt.err); got != tt.want {
			t.Errorf("ExceptionType(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func recurse(depth int, f func()) {
	if depth == 0 {
		f()
		return
	}
	recurse(depth-1, f)
}

// The SDK cuts RecordError's stack at 2048 bytes, losing the outermost
// frames, which are the ones that say where the work came from.
func TestCaptureKeepsTheWholeStack(t *testing.T) {
	tp, spans, _ := newProvider(t)
	ctx, span := tp.Tracer("test").Start(context.Background(), "deep")
	recurse(60, func() {
		span.RecordError(errors.New("sdk"), trace.WithStackTrace(true))
		scope.CaptureException(ctx, errors.New("ours"))
	})
	span.End()
	evs := exceptionEvents(spans.GetSpans())
	if len(evs) != 2 {
		t.Fatalf("%d events", len(evs))
	}
	sdkStack, ourStack := evs[0]["exception.stacktrace"], evs[1]["exception.stacktrace"]
	const outer = "scope_test.TestCaptureKeepsTheWholeStack("
	if len(sdkStack) > 2048 || strings.Contains(sdkStack, outer) {
		t.Fatalf("expected the SDK's stack to be cut (len %d)", len(sdkStack))
	}
	if len(ourStack) <= 2048 || !strings.Contains(ourStack, outer) {
		t.Errorf("our stack (len %d) lacks the outermost frame %q", len(ourStack), outer)
	}
	if strings.Contains(ourStack, "scope.CaptureException") {
		t.Errorf("our stack starts inside the capture function:\n%.300s", ourStack)
	}
}

func TestCaptureWithoutSpanStartsOne(t *testing.T) {
	tp, spans, _ := newProvider(t)
	ctx, _ := scope.New(context.Background(), scope.WithTracerProvider(tp))
	scope.CaptureMessage(ctx, "cron job skipped")
	got := spans.GetSpans()
	if len(got) != 1 || got[0].Name != "CaptureMessage" {
		t.Fatalf("spans = %v", got)
	}
	if evs := exceptionEvents(got); len(evs) != 1 || evs[0]["exception.message"] != "cron job skipped" {
		t.Fatalf("events = %v", evs)
	}
	scope.CaptureException(ctx, nil) // nothing, and no panic
	if len(spans.GetSpans()) != 1 {
		t.Error("a nil error was recorded")
	}
}

func TestSetExtraReplaces(t *testing.T) {
	_, s := scope.New(context.Background())
	s.SetExtra("id", 1)
	s.SetExtra("id", "2")
	s.SetExtra("tags", []string{"a"})
	s.SetExtra("err", errors.New("e"))
	got := s.Extras()
	if len(got) != 3 || got[0].Value.AsString() != "2" || got[2].Value.AsString() != "e" {
		t.Errorf("extras = %v", got)
	}
	// A nested scope inherits and does not change its parent.
	ctx, parent := scope.New(context.Background())
	parent.SetExtra("a", 1)
	_, child := scope.New(ctx)
	child.SetExtra("b", 2)
	if len(parent.Extras()) != 1 || len(child.Extras()) != 2 {
		t.Errorf("parent %v child %v", parent.Extras(), child.Extras())
	}
}

func newServer(t *testing.T, tp trace.TracerProvider, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(otelhttp.NewHandler(scope.Middleware(h), "server", otelhttp.WithTracerProvider(tp)))
	t.Cleanup(srv.Close)
	return srv
}

func TestMiddlewareRecoversPanics(t *testing.T) {
	tp, spans, _ := newProvider(t)
	srv := newServer(t, tp, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]int
		m["x"] = 1 // a nil map write: a runtime panic
	}))
	resp, err := http.Get(srv.URL + "/boom?token=abc123&page=2")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", resp.StatusCode)
	}
	got := spans.GetSpans()
	if len(got) != 1 {
		t.Fatalf("%d spans", len(got))
	}
	if got[0].Status.Code != codes.Error {
		t.Errorf("span status %v", got[0].Status)
	}
	evs := exceptionEvents(got)
	if len(evs) != 1 {
		t.Fatalf("events %v", evs)
	}
	ev := evs[0]
	if ev["exception.type"] != "runtime.plainError" && ev["exception.type"] != "runtime.Error" && !strings.HasPrefix(ev["exception.type"], "runtime.") {
		t.Errorf("type %q", ev["exception.type"])
	}
	if ev["exception.escaped"] != "true" || !strings.Contains(ev["exception.stacktrace"], "TestMiddlewareRecoversPanics.func1") {
		t.Errorf("event %v", ev)
	}
	attrs := map[string]string{}
	for _, kv := range got[0].Attributes {
		attrs[string(kv.Key)] = kv.Value.Emit()
	}
	if attrs["url.query"] != "token="+maskattr.DefaultMask+"&page=2" {
		t.Errorf("url.query = %q", attrs["url.query"])
	}
	if attrs["http.request.header.user-agent"] == "" {
		t.Errorf("user agent not recorded: %v", attrs)
	}
}

func TestMiddlewareRecordsFormMaskedAndNeverCookies(t *testing.T) {
	tp, spans, _ := newProvider(t)
	srv := newServer(t, tp, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		scope.CaptureException(r.Context(), errors.New("login failed"))
		http.Error(w, "no", http.StatusUnauthorized)
	}))
	form := url.Values{"username": {"bob"}, "password": {"hunter2"}, "secret": {"s3cr3t"}}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/post-view", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", "session=abcdef")
	req.Header.Set("Authorization", "Basic Ym9iOmh1bnRlcjI=")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got := spans.GetSpans()
	attrs := map[string]string{}
	for _, kv := range got[0].Attributes {
		attrs[string(kv.Key)] = kv.Value.Emit()
	}
	if attrs["http.request.form.username"] != `["bob"]` {
		t.Errorf("username = %q", attrs["http.request.form.username"])
	}
	for _, k := range []string{"http.request.form.password", "http.request.form.secret"} {
		if attrs[k] != maskattr.DefaultMask {
			t.Errorf("%s = %q, want masked", k, attrs[k])
		}
	}
	for k, v := range attrs {
		if strings.Contains(k, "cookie") || strings.Contains(k, "authorization") || strings.Contains(v, "hunter2") || strings.Contains(v, "abcdef") {
			t.Errorf("recorded %s=%s", k, v)
		}
	}
}

func TestMiddlewareWithoutOtelhttpStartsASpan(t *testing.T) {
	tp, spans, _ := newProvider(t)
	h := scope.NewMiddleware(scope.WithTracerProvider(tp), scope.WithHeaders("X-Tenant", "Cookie"))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic(errors.New("bad")) }))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "http://shop.example.com/cart", nil)
	req.Header.Set("X-Tenant", "acme")
	req.Header.Set("Cookie", "session=1")
	h.ServeHTTP(rec, req)
	if rec.Code != 500 {
		t.Errorf("code %d", rec.Code)
	}
	got := spans.GetSpans()
	if len(got) != 1 || got[0].SpanKind != trace.SpanKindServer {
		t.Fatalf("spans %v", got)
	}
	attrs := map[string]string{}
	for _, kv := range got[0].Attributes {
		attrs[string(kv.Key)] = kv.Value.Emit()
	}
	if attrs["url.path"] != "/cart" || attrs["server.address"] != "shop.example.com" || attrs["http.request.header.x-tenant"] != `["acme"]` {
		t.Errorf("attrs %v", attrs)
	}
	if _, ok := attrs["http.request.header.cookie"]; ok {
		t.Error("cookie header recorded although listed")
	}
}

func TestMiddlewarePassesAbortHandler(t *testing.T) {
	tp, spans, _ := newProvider(t)
	h := scope.NewMiddleware(scope.WithTracerProvider(tp))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic(http.ErrAbortHandler)
	}))
	func() {
		defer func() {
			if r := recover(); r != http.ErrAbortHandler {
				t.Errorf("recovered %v, want http.ErrAbortHandler passed on", r)
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	}()
	// The SDK's span.End() notes the panic passing through (the processor's
	// default filter drops it); the middleware itself records nothing.
	for _, ev := range exceptionEvents(spans.GetSpans()) {
		if ev["exception.stacktrace"] != "" || ev["exception.escaped"] == "true" {
			t.Errorf("the middleware recorded the abort: %v", ev)
		}
	}
}

func TestMiddlewareKeepsPartialResponse(t *testing.T) {
	tp, _, _ := newProvider(t)
	srv := newServer(t, tp, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		panic("late")
	}))
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("status %d: the middleware overwrote a written response", resp.StatusCode)
	}
}

func TestPropagatorSendsMaskedExtras(t *testing.T) {
	_, _, p := newProvider(t)
	ctx, s := scope.New(context.Background())
	s.SetExtra("tenant", "acme")
	s.SetExtra("api_token", "hunter2")
	s.SetExtra("note", "retry with password=hunter2")
	carrier := propagation.MapCarrier{}
	p.Propagator().Inject(ctx, carrier)
	h := carrier.Get("baggage")
	if !strings.Contains(h, "tenant=acme") {
		t.Errorf("baggage %q lacks the extra", h)
	}
	if strings.Contains(h, "hunter2") {
		t.Errorf("baggage %q carries a secret", h)
	}
	// Extras set after the context was made are seen: the scope is live.
	s.SetExtra("late", "yes")
	carrier = propagation.MapCarrier{}
	p.Propagator().Inject(ctx, carrier)
	if !strings.Contains(carrier.Get("baggage"), "late=yes") {
		t.Errorf("late extra missing: %q", carrier.Get("baggage"))
	}
}

func TestPropagatorKeepsW3CLimits(t *testing.T) {
	_, _, p := newProvider(t)
	ctx, s := scope.New(context.Background())
	for i := 0; i < 100; i++ {
		s.SetExtra(fmt.Sprintf("k%d", i), strings.Repeat("v", 200))
	}
	carrier := propagation.MapCarrier{}
	p.Propagator().Inject(ctx, carrier)
	h := carrier.Get("baggage")
	if len(h) > 8192 || strings.Count(h, ",")+1 > 64 {
		t.Errorf("baggage of %d bytes, %d members", len(h), strings.Count(h, ",")+1)
	}
	if h == "" {
		t.Error("nothing injected")
	}
}

func TestSetExtraReachesCurrentSpan(t *testing.T) {
	tp, spans, _ := newProvider(t)
	ctx, span := tp.Tracer("t").Start(context.Background(), "req")
	_, s := scope.New(ctx)
	s.SetExtra("order", 7)
	span.End()
	found := false
	for _, kv := range spans.GetSpans()[0].Attributes {
		if kv.Key == attribute.Key(scope.ExtraPrefix+"order") && kv.Value.AsInt64() == 7 {
			found = true
		}
	}
	if !found {
		t.Error("extra not on the scope's span")
	}
}

func TestLogArgs(t *testing.T) {
	err := fmt.Errorf("charge order 7: %w", &strconv.NumError{Func: "Atoi", Num: "x", Err: strconv.ErrSyntax})
	args := scope.LogArgs(err)
	if len(args) != 8 || args[0] != "exception.type" || args[1] != "*strconv.NumError" || args[3] != err.Error() || args[4] != "exception.stacktrace" ||
		args[6] != string(scope.TypeMessageKey) || args[7] != `strconv.Atoi: parsing "x": invalid syntax` {
		t.Fatalf("args = %q, want type, message, stack and the meaningful error's own message", args)
	}
	if top := strings.SplitN(args[5].(string), "\n", 2)[0]; !strings.HasPrefix(top, "github.com/errortracker/errortracker/scope_test.TestLogArgs(") {
		t.Errorf("stack starts at %q, want the caller", top)
	}
	if scope.LogArgs(nil) != nil {
		t.Error("args for a nil error")
	}
}

// A 10 MB message is cut at capture: the span event does not hold it all.
func TestCaptureCapsAHugeMessage(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	ctx, span := tp.Tracer("t").Start(context.Background(), "op")
	scope.CaptureException(ctx, errors.New(strings.Repeat("é", 5<<20)))
	span.End()
	for _, kv := range spans.GetSpans()[0].Events[0].Attributes {
		if kv.Key == "exception.message" {
			if m := kv.Value.AsString(); len(m) > 1<<20 || !utf8.ValidString(m) {
				t.Errorf("message of %d bytes kept, valid UTF-8 %v", len(m), utf8.ValidString(m))
			}
		}
	}
}
