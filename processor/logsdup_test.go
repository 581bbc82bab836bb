package processor_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/errortracker/errortracker/processor"
)

// TestLogsDupTwinSharesTheOccurrenceID: an exception recorded on a span
// and logged as a log record in that span after it ended (so it cannot
// wait for the span) — logs/dup's two copies — gets one occurrence id, so
// a store that counts distinct ids counts it once; a second, distinct
// occurrence in the same span keeps an id of its own, and so does its
// log record.
func TestLogsDupTwinSharesTheOccurrenceID(t *testing.T) {
	rec := &recorder{}
	p, err := processor.New(processor.Config{}, processor.WithExporter(rec))
	if err != nil {
		t.Fatal(err)
	}
	res := resource.NewSchemaless(attribute.String("service.name", "checkout"))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p), sdktrace.WithResource(res))
	lp := sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(p.LogProcessor()))
	defer tp.Shutdown(context.Background())
	defer lp.Shutdown(context.Background())

	ctx, span := tp.Tracer("test").Start(context.Background(), "POST /orders")
	span.RecordError(errors.New("order 7 failed"))
	span.RecordError(errors.New("order 7 failed")) // a retry: a second occurrence
	span.End()
	for range 2 {
		var r log.Record
		r.SetTimestamp(time.Now())
		r.SetSeverity(log.SeverityError)
		r.AddAttributes(attribute.String("exception.type", "*errors.errorString"), attribute.String("exception.message", "order 7 failed"))
		lp.Logger("test").Emit(ctx, r)
	}
	if err := lp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs := rec.Records()
	if len(recs) != 4 {
		t.Fatalf("%d records, want two span events and two log records", len(recs))
	}
	if recs[0].ID == recs[1].ID {
		t.Errorf("the span's two occurrences share the id %s", recs[0].ID)
	}
	if recs[2].ID != recs[0].ID || recs[3].ID != recs[1].ID {
		t.Errorf("log records %s %s, span events %s %s: want each log record on its event's id", recs[2].ID, recs[3].ID, recs[0].ID, recs[1].ID)
	}
}

// TestRepeatedLogRecordsInOneSpanCountApart: a span the processor does not
// see end (another provider's) logs the same error three times: three
// occurrence ids, not one.
func TestRepeatedLogRecordsInOneSpanCountApart(t *testing.T) {
	rec := &recorder{}
	p, err := processor.New(processor.Config{}, processor.WithExporter(rec))
	if err != nil {
		t.Fatal(err)
	}
	other := sdktrace.NewTracerProvider()
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(p.LogProcessor()))
	defer p.Shutdown(context.Background())
	defer lp.Shutdown(context.Background())
	ctx, span := other.Tracer("test").Start(context.Background(), "batch job")
	defer span.End()
	for range 3 {
		var r log.Record
		r.SetTimestamp(time.Now())
		r.AddAttributes(attribute.String("exception.type", "*errors.errorString"), attribute.String("exception.message", "item skipped"))
		lp.Logger("test").Emit(ctx, r)
	}
	if err := lp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, r := range rec.Records() {
		ids[r.ID] = true
	}
	if len(ids) != 3 {
		t.Errorf("%d distinct ids for three occurrences", len(ids))
	}
}
