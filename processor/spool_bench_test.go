package processor_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/processor"
	"github.com/errortracker/errortracker/scope"
)

type discardRecords struct{}

func (discardRecords) Export(context.Context, []exporter.Record) error { return nil }
func (discardRecords) Shutdown(context.Context) error                  { return nil }

var errBench = fmt.Errorf("load order 42: %w", errors.New("connection reset by peer"))

// BenchmarkEndWithException measures span.End() of a span that captured
// an exception (scope.CaptureException, with its stack), through the
// processor to an exporter that discards, without and with the disk
// spool: the difference is what the spool costs the span's goroutine per
// record (numbering it and handing it to the group commit; the writing is
// the committer's).
func BenchmarkEndWithException(b *testing.B) {
	for _, bc := range []struct {
		name  string
		spool bool
	}{{"memory", false}, {"spool", true}} {
		b.Run(bc.name, func(b *testing.B) {
			opts := []processor.Option{processor.WithExporter(discardRecords{})}
			if bc.spool {
				opts = append(opts, processor.WithSpool(b.TempDir()))
			}
			p, err := processor.New(processor.Config{}, opts...)
			if err != nil {
				b.Fatal(err)
			}
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))
			defer tp.Shutdown(context.Background())
			tr := tp.Tracer("bench")
			runtime.GC()
			b.ReportAllocs()
			for b.Loop() {
				ctx, span := tr.Start(context.Background(), "op")
				scope.CaptureException(ctx, errBench)
				span.End()
			}
		})
	}
}
