package bench_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/processor"
	"github.com/errortracker/errortracker/scope"
)

// discard is the span exporter: it measures the SDK and the processor, not
// a network.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// discardRecords is the record exporter: it measures the processor's
// delivery, not a store.
type discardRecords struct{}

func (discardRecords) Export(context.Context, []exporter.Record) error { return nil }
func (discardRecords) Shutdown(context.Context) error                  { return nil }

// newProvider returns a TracerProvider that exports every span, either
// bare or wrapped by our processor. The span exporter is called
// synchronously (a batcher's goroutine would compete for the two cores and
// make the comparison noisy), and every sub-benchmark gets a fresh provider.
func newProvider(b *testing.B, ours bool) *sdktrace.TracerProvider {
	return providerExporting(b, ours, discard{})
}

// providerExporting is newProvider with the span exporter given.
func providerExporting(b *testing.B, ours bool, spans sdktrace.SpanExporter) *sdktrace.TracerProvider {
	b.Helper()
	export := sdktrace.NewSimpleSpanProcessor(spans)
	var sp sdktrace.SpanProcessor = export
	if ours {
		p, err := processor.New(processor.Config{}, processor.WithNext(export), processor.WithExporter(discardRecords{}))
		if err != nil {
			b.Fatal(err)
		}
		sp = p
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	runtime.GC()
	return tp
}

func spanAttrs(masked bool) []attribute.KeyValue {
	attrs := []attribute.KeyValue{
		attribute.String("http.request.method", "GET"),
		attribute.String("url.path", "/api/v1/orders/42"),
		attribute.String("http.route", "/api/v1/orders/{id}"),
		attribute.Int("http.response.status_code", 200),
		attribute.String("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64)"),
	}
	if masked {
		attrs[4] = attribute.String("session_id", "3f8a9c")
	}
	return attrs
}

// BenchmarkSpan: a span with five attributes, started and ended.
func BenchmarkSpan(b *testing.B) {
	for _, bc := range []struct {
		name         string
		ours, masked bool
	}{
		{"bare-sdk", false, false},
		{"processor/clean", true, false},
		{"bare-sdk/masked-key", false, true},
		{"processor/masked-key", true, true},
	} {
		attrs := spanAttrs(bc.masked)
		b.Run(bc.name, func(b *testing.B) {
			tr := newProvider(b, bc.ours).Tracer("bench")
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				_, span := tr.Start(ctx, "GET /api/v1/orders/{id}", trace.WithAttributes(attrs...))
				span.End()
			}
		})
	}
}

var errOrder = fmt.Errorf("load order 42: %w", errors.New("connection reset by peer"))

// BenchmarkCapture: recording one error on a span, with a stack trace.
func BenchmarkCapture(b *testing.B) {
	b.Run("sdk-RecordError-WithStackTrace", func(b *testing.B) {
		tr := newProvider(b, false).Tracer("bench")
		b.ReportAllocs()
		for b.Loop() {
			_, span := tr.Start(context.Background(), "op")
			span.RecordError(errOrder, trace.WithStackTrace(true))
			span.End()
		}
	})
	b.Run("scope-CaptureException", func(b *testing.B) {
		tr := newProvider(b, false).Tracer("bench")
		b.ReportAllocs()
		for b.Loop() {
			ctx, span := tr.Start(context.Background(), "op")
			scope.CaptureException(ctx, errOrder)
			span.End()
		}
	})
	b.Run("scope-CaptureException/through-processor", func(b *testing.B) {
		tr := newProvider(b, true).Tracer("bench")
		b.ReportAllocs()
		for b.Loop() {
			ctx, span := tr.Start(context.Background(), "op")
			scope.CaptureException(ctx, errOrder)
			span.End()
		}
	})
	b.Run("sentry-go-CaptureException", func(b *testing.B) {
		client, err := sentry.NewClient(sentry.ClientOptions{
			Dsn:       "https://public@sentry.invalid/1",
			Transport: noopTransport{},
		})
		if err != nil {
			b.Fatal(err)
		}
		hub := sentry.NewHub(client, sentry.NewScope())
		runtime.GC()
		b.ReportAllocs()
		for b.Loop() {
			hub.CaptureException(errOrder)
		}
	})
}

// noopTransport drops events: sentry-go's cost without a network.
type noopTransport struct{}

func (noopTransport) Flush(time.Duration) bool              { return true }
func (noopTransport) FlushWithContext(context.Context) bool { return true }
func (noopTransport) Configure(sentry.ClientOptions)        {}
func (noopTransport) SendEvent(*sentry.Event)               {}
func (noopTransport) Close()                                {}

// BenchmarkSampler measures what processor.Sampler costs: with a 1% ratio
// sampler, a request of two spans is cheap when 99% of spans do not record;
// recording every span so that no error is lost costs the difference.
func BenchmarkSampler(b *testing.B) {
	for _, bc := range []struct {
		name string
		wrap bool
	}{{"ratio-1%", false}, {"ratio-1%/record-everything", true}} {
		b.Run(bc.name, func(b *testing.B) {
			p, err := processor.New(processor.Config{}, processor.WithNext(sdktrace.NewSimpleSpanProcessor(discard{})),
				processor.WithExporter(discardRecords{}))
			if err != nil {
				b.Fatal(err)
			}
			sampler := sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.01))
			if bc.wrap {
				sampler = processor.Sampler(sampler)
			}
			tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler), sdktrace.WithSpanProcessor(p))
			b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
			tr := tp.Tracer("bench")
			attrs := trace.WithAttributes(spanAttrs(false)...)
			runtime.GC()
			b.ReportAllocs()
			for b.Loop() {
				ctx, span := tr.Start(context.Background(), "GET /api/v1/orders/{id}", attrs)
				_, child := tr.Start(ctx, "SELECT orders", attrs)
				child.End()
				span.End()
			}
		})
	}
}
