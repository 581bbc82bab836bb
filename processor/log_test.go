package processor_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/errortracker/errortracker/maskattr"
	"github.com/errortracker/errortracker/processor"
	"github.com/errortracker/errortracker/scope"
)

// logSink is a log exporter that keeps the records it gets.
type logSink struct {
	mu      sync.Mutex
	records []sdklog.Record
}

func (s *logSink) Export(_ context.Context, recs []sdklog.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range recs {
		s.records = append(s.records, r.Clone())
	}
	return nil
}
func (s *logSink) Shutdown(context.Context) error   { return nil }
func (s *logSink) ForceFlush(context.Context) error { return nil }

// An exception recorded as a log record and one recorded as a span event
// land in one group when they carry the same information; the log record
// leaves masked.
func TestLogRecordsJoinTheSpanEventsGroup(t *testing.T) {
	rec := &recorder{}
	p, err := processor.New(processor.Config{}, processor.WithExporter(rec))
	if err != nil {
		t.Fatal(err)
	}
	res := resource.NewSchemaless(attribute.String("service.name", "checkout"))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p), sdktrace.WithResource(res))
	sink := &logSink{}
	lp := sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(p.LogProcessor(sdklog.NewSimpleProcessor(sink))))
	defer lp.Shutdown(context.Background())
	defer tp.Shutdown(context.Background())

	ctx, span := tp.Tracer("test").Start(context.Background(), "GET /users/{id}")
	span.RecordError(errors.New("user 42 not found"))
	span.End()

	var r log.Record
	r.SetTimestamp(time.Now())
	r.SetSeverity(log.SeverityError)
	r.SetBody(attribute.StringValue("lookup failed: password=hunter2"))
	r.AddAttributes(
		attribute.String("exception.type", "*errors.errorString"),
		attribute.String("exception.message", "user 7 not found"),
		attribute.String("db.password", "hunter2"),
		attribute.Int("user.id", 7),
	)
	lp.Logger("test").Emit(ctx, r)
	if err := lp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}

	recs := rec.Records()
	if len(recs) != 2 {
		t.Fatalf("%d records, want the span event's and the log record's", len(recs))
	}
	if recs[0].Fingerprint != recs[1].Fingerprint {
		t.Errorf("fingerprints differ: span %s, log %s", recs[0].Fingerprint, recs[1].Fingerprint)
	}
	logRec := recs[1]
	if logRec.Service != "checkout" || logRec.Message != "user 7 not found" || logRec.TraceID != span.SpanContext().TraceID() {
		t.Errorf("log record: %+v", logRec)
	}
	if dump := dumpRecords(recs); strings.Contains(dump, "hunter2") || !strings.Contains(dump, "user.id=7") {
		t.Errorf("records:\n%s", dump)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.records) != 1 {
		t.Fatalf("%d log records exported", len(sink.records))
	}
	out := sink.records[0]
	var fp, pw string
	out.WalkAttributes(func(kv attribute.KeyValue) bool {
		switch kv.Key {
		case scope.FingerprintKey:
			fp = kv.Value.AsString()
		case "db.password":
			pw = kv.Value.AsString()
		}
		return true
	})
	if fp != logRec.Fingerprint || pw != maskattr.DefaultMask || strings.Contains(out.Body().AsString(), "hunter2") {
		t.Errorf("exported log record: fingerprint %q password %q body %q", fp, pw, out.Body().AsString())
	}
}

// A bare sentinel says nothing of where it came from: the span tells. A log
// record takes the span it was logged in, so it joins the span event's
// group there, and not the group of the same text in another span.
func TestLogRecordsOfABareSentinelGroupByTheirSpan(t *testing.T) {
	rec := &recorder{}
	p, err := processor.New(processor.Config{}, processor.WithExporter(rec))
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(p.LogProcessor()))
	defer lp.Shutdown(context.Background())
	defer tp.Shutdown(context.Background())

	logDeadline := func(ctx context.Context) {
		var r log.Record
		r.SetTimestamp(time.Now())
		r.AddAttributes(attribute.String("exception.type", "context.deadlineExceededError"),
			attribute.String("exception.message", context.DeadlineExceeded.Error()))
		lp.Logger("test").Emit(ctx, r)
	}
	for _, name := range []string{"inventory.reserve", "mailer.send"} {
		ctx, span := tp.Tracer("test").Start(context.Background(), name)
		span.RecordError(context.DeadlineExceeded)
		span.End()
		// Logged after the span ended, the record is not the span's
		// duplicate (that case counts once: TestLoggedAndCapturedErrorCountsOnce).
		logDeadline(ctx)
	}
	if err := lp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs := rec.Records()
	if len(recs) != 4 {
		t.Fatalf("%d records, want 4", len(recs))
	}
	byFP := map[string][]string{}
	for _, r := range recs {
		byFP[r.Fingerprint] = append(byFP[r.Fingerprint], r.SpanName)
	}
	if len(byFP) != 2 {
		t.Errorf("groups by span name: %v, want inventory.reserve's two and mailer.send's two", byFP)
	}
}
