package bench_test

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/errortracker/errortracker/scope"
)

// reader is a span exporter that reads what a real one would serialise:
// every attribute of the span, of its events and of its resource. It keeps
// a checksum so the reads cannot be optimised away.
type reader struct{ sum *int }

func (r reader) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	n := 0
	for _, s := range spans {
		for _, kv := range s.Attributes() {
			n += len(kv.Key) + len(kv.Value.Emit())
		}
		for _, ev := range s.Events() {
			n += len(ev.Name)
			for _, kv := range ev.Attributes {
				n += len(kv.Key) + len(kv.Value.Emit())
			}
		}
		for _, kv := range s.Resource().Attributes() {
			n += len(kv.Key) + len(kv.Value.Emit())
		}
	}
	*r.sum += n
	return nil
}
func (reader) Shutdown(context.Context) error { return nil }

// pathProvider returns a provider whose SimpleSpanProcessor exports to a
// reader, bare or wrapped by our processor with its default masking rules,
// no spool, and a record exporter that discards.
func pathProvider(b *testing.B, ours bool) *sdktrace.TracerProvider {
	sum := 0
	return providerExporting(b, ours, reader{&sum})
}

// BenchmarkPath measures what a user pays on the capture path, each pair
// in one run so that their ratio is measured on the same machine state:
//
//   - span: a span with five attributes, started and ended, bare versus
//     wrapped by our processor (target: at most 1.05×, no extra
//     allocation);
//   - capture: one exception recorded with a stack, ending the span every
//     64 captures — scope.CaptureException through our processor versus
//     the SDK's span.RecordError(err, trace.WithStackTrace(true)) on a bare
//     provider with the same exporter (target: at most 0.50×).
func BenchmarkPath(b *testing.B) {
	attrs := trace.WithAttributes(spanAttrs(false)...)
	for _, bc := range []struct {
		name string
		ours bool
	}{{"span/bare-sdk", false}, {"span/processor", true}} {
		b.Run(bc.name, func(b *testing.B) {
			tr := pathProvider(b, bc.ours).Tracer("bench")
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				_, span := tr.Start(ctx, "GET /api/v1/orders/{id}", attrs)
				span.End()
			}
		})
	}
	const perSpan = 64
	captures := []struct {
		name string
		ours bool
		rec  func(ctx context.Context, span trace.Span)
	}{
		{"capture/sdk-RecordError-WithStackTrace", false, func(_ context.Context, span trace.Span) {
			span.RecordError(errOrder, trace.WithStackTrace(true))
		}},
		{"capture/scope-CaptureException-bare-sdk", false, func(ctx context.Context, _ trace.Span) {
			scope.CaptureException(ctx, errOrder)
		}},
		{"capture/scope-CaptureException-through-processor", true, func(ctx context.Context, _ trace.Span) {
			scope.CaptureException(ctx, errOrder)
		}},
	}
	for _, bc := range captures {
		b.Run(bc.name, func(b *testing.B) {
			tr := pathProvider(b, bc.ours).Tracer("bench")
			ctx, span := tr.Start(context.Background(), "GET /api/v1/orders/{id}", attrs)
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				bc.rec(ctx, span)
				if n++; n == perSpan {
					span.End()
					ctx, span = tr.Start(context.Background(), "GET /api/v1/orders/{id}", attrs)
					n = 0
				}
			}
			span.End()
		})
	}
}
