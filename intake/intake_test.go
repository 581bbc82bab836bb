package intake_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/errortracker/errortracker/grouping"
	"github.com/errortracker/errortracker/intake"
)

var (
	traceID = trace.TraceID{1, 2, 3}
	spanID  = trace.SpanID{4, 5, 6}
)

func span() intake.Span {
	return intake.Span{
		Name: "GET /orders/{id}", TraceID: traceID, SpanID: spanID,
		Attributes: []attribute.KeyValue{semconv.HTTPRoute("/orders/{id}"), attribute.String("extra.user", "7")},
		Resource:   []attribute.KeyValue{semconv.ServiceName("shop"), semconv.TelemetrySDKLanguageNodejs},
	}
}

func exc(typ, msg string, at time.Time) intake.Exception {
	return intake.Exception{Time: at, Attributes: []attribute.KeyValue{semconv.ExceptionType(typ), semconv.ExceptionMessage(msg)}}
}

// TestLogsDupSharesTheID: the span event and the log record of one
// exception (logs/dup) get one id; a second occurrence in the span another.
func TestLogsDupSharesTheID(t *testing.T) {
	now := time.Now()
	events := intake.NewContext(span())
	logs := intake.NewContext(intake.Span{TraceID: traceID, SpanID: spanID, Resource: span().Resource})
	e1, g := events.Record(exc("TypeError", "order 1 has no items", now))
	e2, _ := events.Record(exc("TypeError", "order 1 has no items", now.Add(time.Millisecond)))
	l1, _ := logs.Record(exc("TypeError", "order 1 has no items", now.Add(3*time.Millisecond)))
	l2, _ := logs.Record(intake.Exception{Time: now, Attributes: []attribute.KeyValue{semconv.ExceptionType("Error")}, Body: "order 1 has no items"})
	if e1.ID != l1.ID || e2.ID != l2.ID {
		t.Errorf("twins differ: events %s %s, logs %s %s", e1.ID, e2.ID, l1.ID, l2.ID)
	}
	if e1.ID == e2.ID {
		t.Error("two occurrences in one span share an id")
	}
	if g.Language != grouping.NodeJS || e1.Service != "shop" || e1.Route != "/orders/{id}" || len(e1.Extras) != 1 {
		t.Errorf("record %+v, grouping input %+v", e1, g)
	}
	other := intake.NewContext(intake.Span{Name: "x"})
	a, _ := other.Record(exc("E", "m", now))
	b, _ := other.Record(exc("E", "m", now))
	if a.ID == b.ID || len(a.ID) != 32 {
		t.Errorf("records outside a span: ids %q %q", a.ID, b.ID)
	}
}

func BenchmarkRecord(b *testing.B) {
	s := span()
	e := exc("TypeError", "order 1 has no items", time.Now())
	b.ReportAllocs()
	for b.Loop() {
		c := intake.NewContext(s)
		c.Record(e)
	}
}

// TestOrdinals: log records built one by one, over several calls, take
// the ids of the span's events in order.
func TestOrdinals(t *testing.T) {
	var o intake.Ordinals
	for n := range 3 {
		if got, want := o.ID(traceID, spanID, "m"), intake.OccurrenceID(traceID, spanID, "m", n); got != want {
			t.Errorf("record %d: id %s, want %s", n, got, want)
		}
	}
	if a, b := o.ID(trace.TraceID{}, trace.SpanID{}, "m"), o.ID(trace.TraceID{}, trace.SpanID{}, "m"); a == b {
		t.Error("records outside a span share an id")
	}
	for i := range 3 * 4096 { // past two generations
		o.ID(traceID, trace.SpanID{byte(i), byte(i >> 8), 9}, "m")
	}
	if got := o.ID(traceID, spanID, "m"); got != intake.OccurrenceID(traceID, spanID, "m", 0) {
		t.Error("an old span did not start afresh")
	}
}

// A record stays within MaxRecordBytes however many bounded attributes its
// span carries; the largest go first and are counted.
func TestRecordIsBounded(t *testing.T) {
	var attrs []attribute.KeyValue
	for i := range 100 {
		attrs = append(attrs, attribute.String(fmt.Sprintf("http.request.header.x-%d", i), strings.Repeat("v", 4000+i)))
	}
	attrs = append(attrs, attribute.String("http.route", "/orders/{id}"))
	c := intake.NewContext(intake.Span{Name: "GET /orders/{id}", Attributes: attrs})
	r, _ := c.Record(intake.Exception{Attributes: []attribute.KeyValue{
		attribute.String("exception.type", "*errors.errorString"), attribute.String("exception.message", "boom"),
	}})
	size := len(r.Message) + len(r.Stacktrace)
	var dropped int64
	for _, kvs := range [][]attribute.KeyValue{r.Attributes, r.Extras, r.Resource} {
		for _, kv := range kvs {
			size += len(kv.Key) + len(kv.Value.Emit())
			if kv.Key == intake.DroppedAttributesKey {
				dropped = kv.Value.AsInt64()
			}
		}
	}
	if size > intake.MaxRecordBytes || dropped == 0 || r.Route != "/orders/{id}" {
		t.Errorf("record of %d bytes, %d attributes dropped, route %q", size, dropped, r.Route)
	}
	if int(dropped)+len(r.Attributes) != len(attrs) {
		t.Errorf("%d kept + %d dropped != %d", len(r.Attributes), dropped, len(attrs))
	}
	for _, kv := range r.Attributes {
		if kv.Key == "http.request.header.x-99" {
			t.Error("the largest attribute was kept")
		}
	}
}
