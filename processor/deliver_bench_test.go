package processor

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/errortracker/errortracker/exporter"
)

type nopExporter struct{}

func (nopExporter) Export(context.Context, []exporter.Record) error { return nil }
func (nopExporter) Shutdown(context.Context) error                  { return nil }

// BenchmarkDeliver measures what the goroutine that ended a span pays to
// hand one record (a 2 KB stack) to the exporters' queues, without and
// with the spool: the spool's cost per record on that goroutine, apart
// from masking and grouping (BenchmarkEndWithException has the whole
// span.End()).
func BenchmarkDeliver(b *testing.B) {
	rec := exporter.Record{ID: "0123456789abcdef0123456789abcdef", Fingerprint: "fp", Type: "*errors.errorString",
		Message: "load order 42: connection reset by peer", Stacktrace: strings.Repeat("x", 2048)}
	for _, bc := range []struct {
		name  string
		spool bool
	}{{"memory", false}, {"spool", true}} {
		b.Run(bc.name, func(b *testing.B) {
			// Batches of 256 let the worker keep up, so that neither case
			// measures the cheap path of a full queue.
			opts := []Option{WithExporter(nopExporter{}), WithBatchSize(256), WithLogger(slog.New(slog.DiscardHandler))}
			if bc.spool {
				opts = append(opts, WithSpool(b.TempDir()))
			}
			p, err := New(Config{}, opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer p.Shutdown(context.Background())
			recs := make([]exporter.Record, 1)
			b.ReportAllocs()
			for b.Loop() {
				recs[0] = rec
				p.deliver(recs)
			}
		})
	}
}
