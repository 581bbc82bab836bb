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
// occurrence in the same span keeps an id of its own. (Log records that
// cannot wait for their span are built one by one, so both take the id
// of the span's first "order 7 failed": the distinct count is right
// because the span events carry both ids; two such log records without
// span events would count once.)
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
	events := map[string]bool{recs[0].ID: true, recs[1].ID: true}
	if len(events) != 2 {
		t.Errorf("the span's two occurrences share the id %s", recs[0].ID)
	}
	distinct := map[string]bool{}
	for _, r := range recs {
		distinct[r.ID] = true
		if !events[r.ID] {
			t.Errorf("log record %s has an id of its own: a store would count it apart from its span event", r.ID)
		}
	}
	if len(distinct) != 2 {
		t.Errorf("%d distinct ids, want 2", len(distinct))
	}
}
