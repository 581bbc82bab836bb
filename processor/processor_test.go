package processor_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/maskattr"
	"github.com/errortracker/errortracker/processor"
	"github.com/errortracker/errortracker/scope"
)

const secret = "hunter2"

func TestNothingUnmaskedLeaves(t *testing.T) {
	pl := newPipeline(t, processor.Config{})
	tr := pl.tp.Tracer("test")

	ctx, parent := tr.Start(context.Background(), "GET /login",
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("user.password", secret)))
	parent.SetAttributes(
		attribute.String("http.request.method", "POST"),
		attribute.String("url.path", "/login"),
		attribute.StringSlice("http.request.header.authorization", []string{"Bearer " + secret + "-jwt-token"}),
		attribute.String("app.note", "Authorization: Bearer "+secret+"xyz"),
	)
	parent.AddEvent("retry", trace.WithAttributes(attribute.String("api_key", secret)))
	parent.RecordError(errors.New("login failed for bob: password=" + secret))
	parent.SetStatus(codes.Error, "db error: secret="+secret)

	_, client := tr.Start(ctx, "GET", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithLinks(trace.Link{
			SpanContext: parent.SpanContext(),
			Attributes:  []attribute.KeyValue{attribute.String("session_cookie", secret)},
		}))
	client.SetAttributes(attribute.String("url.full", "https://bob:"+secret+"@api.example.com/v1?token="+secret+"&page=2"))
	client.End()
	parent.End()
	pl.flush(t)

	spans := dumpSpans(pl.spans.GetSpans())
	if strings.Contains(spans, secret) {
		t.Errorf("a secret reached the wrapped exporter:\n%s", spans)
	}
	for _, want := range []string{"url.full=https://bob:" + maskattr.DefaultMask + "@api.example.com/v1?token=" + maskattr.DefaultMask + "&page=2", "url.path=/login", "http.request.method=POST"} {
		if !strings.Contains(spans, want) {
			t.Errorf("exported spans lack %q:\n%s", want, spans)
		}
	}
	recs := pl.rec.Records()
	if len(recs) != 1 {
		t.Fatalf("got %d records, want 1", len(recs))
	}
	if dump := dumpRecords(recs); strings.Contains(dump, secret) {
		t.Errorf("a secret reached a record:\n%s", dump)
	}
	if got, want := recs[0].Message, "login failed for bob: password="+maskattr.DefaultMask; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
}

func TestRecordFields(t *testing.T) {
	pl := newPipeline(t, processor.Config{})
	ctx, span := pl.tp.Tracer("test").Start(context.Background(), "GET /orders/{id}", trace.WithAttributes(
		attribute.String("http.request.method", "GET"),
		attribute.String("server.address", "shop.example.com"),
		attribute.Int("server.port", 8443),
		attribute.String("url.path", "/orders/42"),
		attribute.String("http.route", "/orders/{id}"),
	))
	scope.CaptureException(ctx, fmt.Errorf("load order 42: %w", &fs.PathError{Op: "open", Path: "/data/42", Err: fs.ErrNotExist}))
	span.SetAttributes(attribute.Int("http.response.status_code", 500))
	span.End()
	pl.flush(t)

	recs := pl.rec.Records()
	if len(recs) != 1 {
		t.Fatalf("got %d records", len(recs))
	}
	r := recs[0]
	checks := []struct{ name, got, want string }{
		{"Type", r.Type, "*fs.PathError"},
		{"Message", r.Message, "load order 42: open /data/42: file does not exist"},
		{"Service", r.Service, "checkout"},
		{"ServiceVersion", r.ServiceVersion, "1.2.3"},
		{"Environment", r.Environment, "test"},
		{"Host", r.Host, "shop.example.com:8443"},
		{"Method", r.Method, "GET"},
		{"Path", r.Path, "/orders/42"},
		{"Route", r.Route, "/orders/{id}"},
		{"SpanName", r.SpanName, "GET /orders/{id}"},
		{"TraceID", r.TraceID.String(), span.SpanContext().TraceID().String()},
		{"SpanID", r.SpanID.String(), span.SpanContext().SpanID().String()},
		{"StatusCode", fmt.Sprint(r.StatusCode), "500"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if len(r.ID) != 32 || len(r.Fingerprint) != 32 || len(r.PreviousFingerprints) != 2 || len(r.Previous()) != 2 ||
		r.PreviousFingerprint != r.PreviousFingerprints[0] || r.FingerprintByCaller || r.Time.IsZero() {
		t.Errorf("ID %q, Fingerprint %q, PreviousFingerprints %q (%q), by caller %v, Time %v: want 32 hex digits, v2 and v1 distinct from the fingerprint, and a time",
			r.ID, r.Fingerprint, r.PreviousFingerprints, r.PreviousFingerprint, r.FingerprintByCaller, r.Time)
	}
	for _, fp := range r.PreviousFingerprints {
		if len(fp) != 32 || fp == r.Fingerprint {
			t.Errorf("previous fingerprint %q of %q", fp, r.Fingerprint)
		}
	}
	if !strings.Contains(r.Stacktrace, "processor_test.TestRecordFields") {
		t.Errorf("stack does not name the capturing function:\n%s", r.Stacktrace)
	}
	// The fingerprint travels on the exported event, for other back ends.
	ev := pl.spans.GetSpans()[0].Events[0]
	found := false
	for _, kv := range ev.Attributes {
		if kv.Key == scope.FingerprintKey && kv.Value.AsString() == r.Fingerprint {
			found = true
		}
	}
	if !found {
		t.Errorf("exported event lacks %s=%s: %v", scope.FingerprintKey, r.Fingerprint, ev.Attributes)
	}
}

// The Python library's acceptance case: capture_exception outside a request
// stores empty host, path and method.
func TestCaptureWithoutRequestStoresEmptyRequestFields(t *testing.T) {
	pl := newPipeline(t, processor.Config{})
	ctx, _ := scope.New(context.Background(), scope.WithTracerProvider(pl.tp))
	scope.CaptureException(ctx, errors.New("background job failed"))
	pl.flush(t)
	recs := pl.rec.Records()
	if len(recs) != 1 {
		t.Fatalf("a capture with no span in the context gave %d records, want 1", len(recs))
	}
	r := recs[0]
	if r.Host != "" || r.Path != "" || r.Method != "" {
		t.Errorf("request fields = %q %q %q, want empty", r.Host, r.Path, r.Method)
	}
	if r.Message != "background job failed" || r.Type != "*errors.errorString" {
		t.Errorf("record = %q %q", r.Type, r.Message)
	}
}

func TestCaptureMessage(t *testing.T) {
	pl := newPipeline(t, processor.Config{})
	ctx, span := pl.tp.Tracer("test").Start(context.Background(), "job")
	scope.CaptureMessage(ctx, "Something went wrong!")
	span.End()
	pl.flush(t)
	recs := pl.rec.Records()
	if len(recs) != 1 || recs[0].Message != "Something went wrong!" || recs[0].Type != scope.MessageType {
		t.Fatalf("records = %+v", recs)
	}
}

func TestScopeExtrasReachTheRecord(t *testing.T) {
	pl := newPipeline(t, processor.Config{})
	ctx, span := pl.tp.Tracer("test").Start(context.Background(), "request")
	ctx, s := scope.New(ctx)
	s.SetExtra("id", 1234)
	s.SetExtra("api_token", secret)
	// A span started in the scope carries the extras too.
	childCtx, child := pl.tp.Tracer("test").Start(ctx, "query")
	s.SetExtra("email", "example@example.com") // set after the child started
	scope.CaptureException(childCtx, errors.New("query failed"), attribute.String("table", "orders"))
	child.End()
	span.End()
	pl.flush(t)

	recs := pl.rec.Records()
	if len(recs) != 1 {
		t.Fatalf("got %d records", len(recs))
	}
	extras := map[string]string{}
	for _, kv := range recs[0].Extras {
		extras[string(kv.Key)] = kv.Value.Emit()
	}
	want := map[string]string{"id": "1234", "email": "example@example.com", "table": "orders", "api_token": maskattr.DefaultMask}
	for k, v := range want {
		if extras[k] != v {
			t.Errorf("extra %s = %q, want %q (all: %v)", k, extras[k], v, extras)
		}
	}
	// The request span got the extras too.
	spans := pl.spans.GetSpans()
	dump := dumpSpans(spans)
	if !strings.Contains(dump, "span request") || !strings.Contains(dump, "extra.id=1234") {
		t.Errorf("spans lack the extras:\n%s", dump)
	}
}

func TestTrack(t *testing.T) {
	pl := newPipeline(t, processor.Config{})
	ctx, span := pl.tp.Tracer("test").Start(context.Background(), "job")
	boom := errors.New("boom")
	if err := scope.Track(ctx, func(context.Context) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("Track returned %v, want the error", err)
	}
	if err := scope.Track(ctx, func(context.Context) error { return boom }, scope.Silent()); err != nil {
		t.Errorf("silent Track returned %v, want nil", err)
	}
	func() {
		defer func() {
			if r := recover(); r != "kaput" {
				t.Errorf("Track re-panicked with %v, want kaput", r)
			}
		}()
		_ = scope.Track(ctx, func(context.Context) error { panic("kaput") }, scope.WithExtras(attribute.Int("attempt", 3)))
	}()
	if err := scope.Track(ctx, func(context.Context) error { panic("quiet") }, scope.Silent()); err != nil {
		t.Errorf("silent Track of a panic returned %v", err)
	}
	if err := scope.Track(ctx, func(context.Context) error { return nil }); err != nil {
		t.Errorf("Track of a success returned %v", err)
	}
	span.End()
	pl.flush(t)
	recs := pl.rec.Records()
	if len(recs) != 4 {
		t.Fatalf("got %d records, want 4 (two errors, two panics)", len(recs))
	}
	p := recs[2]
	if p.Type != "panic(string)" || p.Message != "kaput" || !p.Escaped {
		t.Errorf("panic record: type %q message %q escaped %v", p.Type, p.Message, p.Escaped)
	}
	if !strings.Contains(p.Stacktrace, "TestTrack.func") {
		t.Errorf("panic stack lacks the panicking function:\n%s", p.Stacktrace)
	}
	if len(p.Extras) != 1 || p.Extras[0].Key != "attempt" {
		t.Errorf("extras = %v", p.Extras)
	}
	if st := pl.spans.GetSpans()[0].Status; st.Code != codes.Error {
		t.Errorf("span status after a panic = %v, want Error", st)
	}
}

func TestCustomMaskingRules(t *testing.T) {
	pl := newPipeline(t, processor.Config{MaskedKeyHas: []string{"key", "password", "secret"}, MaskWith: "THIS_IS_MASK"})
	ctx, span := pl.tp.Tracer("test").Start(context.Background(), "req")
	ctx, s := scope.New(ctx)
	s.SetExtra("KeyName", "v1")
	s.SetExtra("Password", "v2")
	s.SetExtra("token", "v3") // not in this custom list
	scope.CaptureException(ctx, errors.New("x"))
	span.End()
	pl.flush(t)
	got := map[string]string{}
	for _, kv := range pl.rec.Records()[0].Extras {
		got[string(kv.Key)] = kv.Value.Emit()
	}
	want := map[string]string{"KeyName": "THIS_IS_MASK", "Password": "THIS_IS_MASK", "token": "v3"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

func TestMaskingDisabled(t *testing.T) {
	pl := newPipeline(t, processor.Config{MaskedKeyHas: []string{}})
	ctx, span := pl.tp.Tracer("test").Start(context.Background(), "req", trace.WithAttributes(attribute.String("password", "plain")))
	scope.CaptureException(ctx, errors.New("password=plain"))
	span.End()
	pl.flush(t)
	r := pl.rec.Records()[0]
	if r.Message != "password=plain" || r.Attributes[0].Value.AsString() != "plain" {
		t.Errorf("masking disabled but got message %q attrs %v", r.Message, r.Attributes)
	}
}

func TestFingerprint(t *testing.T) {
	pl := newPipeline(t, processor.Config{})
	tr := pl.tp.Tracer("test")
	capture := func(err error) {
		ctx, span := tr.Start(context.Background(), "op")
		scope.CaptureException(ctx, err)
		span.End()
	}
	raise := func(id int, second bool) {
		if second {
			capture(fmt.Errorf("order %d: %w", id, os.ErrNotExist)) // another line, same function
			return
		}
		capture(fmt.Errorf("order %d: %w", id, os.ErrNotExist))
	}
	raise(1, false)
	raise(2, true)
	capture(&fs.PathError{Op: "open", Path: "x", Err: os.ErrNotExist}) // other type, same function
	// Without a stack (span.RecordError), type + the message's constant parts.
	for _, msg := range []string{"user 42 not found", "user 7 not found", "user 7 was deleted"} {
		_, span := tr.Start(context.Background(), "op")
		span.RecordError(errors.New(msg))
		span.End()
	}
	// The same error through scope and span.RecordError with a stack, in
	// one function: one group. (A wrapped error is reported by RecordError
	// as *fmt.wrapError, which hides its kind; without a stack, RecordError
	// has no place: those group apart from scope's.)
	numErr := func(s string) error { return &strconv.NumError{Func: "Atoi", Num: s, Err: strconv.ErrSyntax} }
	capture(numErr("abc"))
	_, span := tr.Start(context.Background(), "op")
	span.RecordError(numErr("x1"), trace.WithStackTrace(true))
	span.End()
	pl.flush(t)
	recs := pl.rec.Records()
	if len(recs) != 8 {
		t.Fatalf("got %d records", len(recs))
	}
	if recs[6].Stacktrace == recs[7].Stacktrace || recs[6].Fingerprint != recs[7].Fingerprint {
		t.Errorf("scope and RecordError of one error: fingerprints %s (%s) and %s (%s)", recs[6].Fingerprint, recs[6].Grouping, recs[7].Fingerprint, recs[7].Grouping)
	}
	fp := func(i int) string { return recs[i].Fingerprint }
	if fp(0) != fp(1) {
		t.Error("the same error raised at two lines of one function with other ids got two fingerprints")
	}
	if g := recs[0].Grouping; g != `type *errors.errorString, message "file does not exist", at github.com/errortracker/errortracker/processor_test.TestFingerprint` {
		t.Errorf("grouping = %q", g)
	}
	if fp(0) == fp(2) {
		t.Error("two errors with other messages share a fingerprint")
	}
	if fp(3) != fp(4) {
		t.Error("messages that differ by a number got two fingerprints")
	}
	if fp(4) == fp(5) {
		t.Error("different messages share a fingerprint")
	}
}

func TestCallerFingerprintWins(t *testing.T) {
	pl := newPipeline(t, processor.Config{})
	ctx, span := pl.tp.Tracer("test").Start(context.Background(), "op")
	scope.CaptureException(ctx, errors.New("x"), scope.FingerprintKey.String("payments-timeout"))
	scope.CaptureException(ctx, errors.New("y"), scope.Fingerprint("payments", "timeout"))
	scope.CaptureException(ctx, errors.New("z"), scope.Fingerprint("no\nstore takes this"))
	span.End()
	pl.flush(t)
	recs := pl.rec.Records()
	if recs[0].Fingerprint != "payments-timeout" || recs[1].Fingerprint != "payments/timeout" || len(recs[0].Previous()) != 0 ||
		!recs[0].FingerprintByCaller || recs[0].Grouping != "set by the caller" {
		t.Errorf("fingerprints %q and %q (previous %q), want the caller's", recs[0].Fingerprint, recs[1].Fingerprint, recs[0].PreviousFingerprint)
	}
	if fp := recs[2].Fingerprint; exporter.CheckFingerprint(fp) != nil || strings.Contains(fp, "store") {
		t.Errorf("a fingerprint no store accepts was kept: %q", fp)
	}
}

func TestDefaultFilters(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	pl := newPipeline(t, processor.Config{}, processor.WithMeterProvider(mp),
		processor.WithFilter(func(r exporter.Record) bool { return strings.HasPrefix(r.Message, "EOF from health check") }))
	ctx, span := pl.tp.Tracer("test").Start(context.Background(), "op")
	scope.CaptureException(ctx, context.Canceled)
	scope.CaptureException(ctx, fmt.Errorf("fetch: %w", context.Canceled))
	span.RecordError(errors.New("net/http: abort Handler"))
	scope.CaptureException(ctx, errors.New("EOF from health check"))
	scope.CaptureException(ctx, context.DeadlineExceeded) // a real problem
	span.End()
	pl.flush(t)
	recs := pl.rec.Records()
	if len(recs) != 1 || recs[0].Message != "context deadline exceeded" {
		t.Fatalf("records = %s", dumpRecords(recs))
	}
	if got := counter(t, reader, "errortracker.records.dropped", attribute.String("reason", processor.DropFiltered)); got != 4 {
		t.Errorf("filtered count = %d, want 4", got)
	}
}

func TestLazyInit(t *testing.T) {
	p, err := processor.New(processor.Config{}, processor.WithFlushInterval(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))
	defer tp.Shutdown(context.Background())
	ctx, span := tp.Tracer("test").Start(context.Background(), "early")
	scope.CaptureException(ctx, errors.New("before init"))
	span.End()

	rec := &recorder{}
	if err := p.Init(processor.WithExporter(rec)); err != nil {
		t.Fatal(err)
	}
	if err := p.Init(processor.WithExporter(rec)); !errors.Is(err, processor.ErrAlreadyInitialised) {
		t.Errorf("second Init: %v, want ErrAlreadyInitialised", err)
	}
	if err := tp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if recs := rec.Records(); len(recs) != 1 || recs[0].Message != "before init" {
		t.Fatalf("records after Init = %s", dumpRecords(recs))
	}
}

func TestInitRejectsSpanOptions(t *testing.T) {
	p, err := processor.New(processor.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(context.Background())
	if err := p.Init(); err == nil {
		t.Error("Init without exporters succeeded")
	}
	if err := p.Init(processor.WithExporter(&recorder{}), processor.WithBaggageKeys("x")); err == nil {
		t.Error("Init accepted a span option")
	}
}

func TestBaggageIsCopiedOnlyWhenAllowed(t *testing.T) {
	pl := newPipeline(t, processor.Config{}, processor.WithBaggageKeys("tenant"))
	carrier := map[string]string{"baggage": "tenant=acme,is_admin=true"}
	ctx := scope.NewPropagator(nil).Extract(context.Background(), mapCarrier(carrier))
	ctx, span := pl.tp.Tracer("test").Start(ctx, "op")
	scope.CaptureException(ctx, errors.New("x"))
	span.End()
	pl.flush(t)
	extras := pl.rec.Records()[0].Extras
	if len(extras) != 1 || extras[0].Key != "tenant" || extras[0].Value.AsString() != "acme" {
		t.Errorf("extras = %v, want only tenant=acme", extras)
	}
}

func TestSelfMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	pl := newPipeline(t, processor.Config{}, processor.WithMeterProvider(mp))
	ctx, span := pl.tp.Tracer("test").Start(context.Background(), "op", trace.WithAttributes(attribute.String("password", "x")))
	scope.CaptureException(ctx, errors.New("a"))
	scope.CaptureException(ctx, errors.New("b"))
	span.End()
	pl.flush(t)
	if got := counter(t, reader, "errortracker.records.captured"); got != 2 {
		t.Errorf("captured = %d, want 2", got)
	}
	if got := counter(t, reader, "errortracker.records.exported"); got != 2 {
		t.Errorf("exported = %d, want 2", got)
	}
	// The span's password and the resource's db.connection_password.
	if got := counter(t, reader, "errortracker.values.masked"); got != 2 {
		t.Errorf("masked = %d, want 2", got)
	}
}

func TestConcurrentSafe(t *testing.T) {
	pl := newPipeline(t, processor.Config{})
	tr := pl.tp.Tracer("test")
	const goroutines, each = 8, 50
	done := make(chan struct{})
	for g := 0; g < goroutines; g++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := 0; i < each; i++ {
				ctx, span := tr.Start(context.Background(), "op", trace.WithAttributes(attribute.String("token", secret)))
				ctx, s := scope.New(ctx)
				s.SetExtra("i", i)
				scope.CaptureException(ctx, fmt.Errorf("failure %d: password=%s", i, secret))
				span.End()
			}
		}()
	}
	for g := 0; g < goroutines; g++ {
		<-done
	}
	pl.flush(t)
	recs := pl.rec.Records()
	if len(recs) != goroutines*each {
		t.Fatalf("got %d records, want %d", len(recs), goroutines*each)
	}
	if dump := dumpRecords(recs) + dumpSpans(pl.spans.GetSpans()); strings.Contains(dump, secret) {
		t.Fatal("a secret survived under concurrency")
	}
	ids := map[string]bool{}
	for _, r := range recs {
		ids[r.ID] = true
	}
	if len(ids) != len(recs) {
		t.Errorf("%d distinct ids for %d records", len(ids), len(recs))
	}
}

type mapCarrier map[string]string

func (c mapCarrier) Get(k string) string { return c[k] }
func (c mapCarrier) Set(k, v string)     { c[k] = v }
func (c mapCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// counter sums a counter's data points that carry all of attrs.
func counter(t *testing.T, reader sdkmetric.Reader, name string, attrs ...attribute.KeyValue) int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			sum, ok := m.Data.(metricdata.Sum[int64])
			if !ok {
				t.Fatalf("%s is %T", name, m.Data)
			}
		points:
			for _, dp := range sum.DataPoints {
				for _, a := range attrs {
					if v, ok := dp.Attributes.Value(a.Key); !ok || v != a.Value {
						continue points
					}
				}
				total += dp.Value
			}
		}
	}
	return total
}
