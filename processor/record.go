package processor

import (
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/grouping"
	"github.com/errortracker/errortracker/intake"
)

// spanContext is what a record takes from the span (or log record) it
// came from, read once per span: the SDK's side of package intake, which
// builds the records, as the Collector's errortracker exporter does from
// OTLP.
type spanContext struct{ c *intake.Context }

// newSpanContext reads a span's masked attributes and resource for the
// records of its exceptions.
func newSpanContext(name string, sc trace.SpanContext, attrs, resource []attribute.KeyValue) *spanContext {
	return &spanContext{intake.NewContext(intake.Span{Name: name, TraceID: sc.TraceID(), SpanID: sc.SpanID(), Attributes: attrs, Resource: resource})}
}

// newRecord builds the record of one masked exception: the attributes of
// an exception span event, or of a log record (whose string body is the
// message when the attributes have none). It returns beside it what
// grouping reads of it.
func (sc *spanContext) newRecord(at time.Time, eventAttrs []attribute.KeyValue, body string) (exporter.Record, grouping.Exception) {
	return sc.c.Record(intake.Exception{Time: at, Attributes: eventAttrs, Body: body})
}
