package processor_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/processor"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// recorder is an exporter.Exporter that keeps what it receives. It can fail
// its first calls, or block until released, to play a store in trouble.
type recorder struct {
	mu       sync.Mutex
	records  []exporter.Record
	calls    int
	failures int           // fail this many calls before succeeding
	block    chan struct{} // when not nil, Export waits for it to close (or ctx)
	shutdown bool
}

func (r *recorder) Export(ctx context.Context, recs []exporter.Record) error {
	r.mu.Lock()
	r.calls++
	block := r.block
	fail := r.failures > 0
	if fail {
		r.failures--
	}
	r.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if fail {
		return fmt.Errorf("store unavailable")
	}
	r.mu.Lock()
	r.records = append(r.records, recs...)
	r.mu.Unlock()
	return nil
}

func (r *recorder) Shutdown(context.Context) error {
	r.mu.Lock()
	r.shutdown = true
	r.mu.Unlock()
	return nil
}

// Calls counts the Export calls so far.
func (r *recorder) Calls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

func (r *recorder) Records() []exporter.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]exporter.Record(nil), r.records...)
}

// pipeline is a real TracerProvider whose only processor is ours, wrapping
// an in-memory span exporter (what an OTLP batcher would send).
type pipeline struct {
	tp    *sdktrace.TracerProvider
	p     *processor.Processor
	spans *tracetest.InMemoryExporter
	rec   *recorder
}

func newPipeline(t *testing.T, cfg processor.Config, opts ...processor.Option) *pipeline {
	t.Helper()
	pl := &pipeline{spans: tracetest.NewInMemoryExporter(), rec: &recorder{}}
	opts = append([]processor.Option{
		processor.WithNext(sdktrace.NewSimpleSpanProcessor(pl.spans)),
		processor.WithExporter(pl.rec),
		processor.WithFlushInterval(10 * time.Millisecond),
	}, opts...)
	p, err := processor.New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	pl.p = p
	pl.tp = sdktrace.NewTracerProvider(
		sdktrace.WithSpanProcessor(p),
		sdktrace.WithResource(resource.NewSchemaless(
			attribute.String("service.name", "checkout"),
			attribute.String("service.version", "1.2.3"),
			attribute.String("deployment.environment.name", "test"),
			attribute.String("db.connection_password", "hunter2"),
		)),
	)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := pl.tp.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return pl
}

// flush waits until every record and span so far has been exported.
func (pl *pipeline) flush(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := pl.tp.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
}

// dumpSpans renders everything the wrapped exporter received as text.
func dumpSpans(spans tracetest.SpanStubs) string {
	var b strings.Builder
	for _, s := range spans {
		fmt.Fprintf(&b, "span %s status=%q\n", s.Name, s.Status.Description)
		for _, kv := range s.Attributes {
			fmt.Fprintf(&b, "  %s=%s\n", kv.Key, kv.Value.Emit())
		}
		for _, ev := range s.Events {
			fmt.Fprintf(&b, "  event %s\n", ev.Name)
			for _, kv := range ev.Attributes {
				fmt.Fprintf(&b, "    %s=%s\n", kv.Key, kv.Value.Emit())
			}
		}
		for _, l := range s.Links {
			for _, kv := range l.Attributes {
				fmt.Fprintf(&b, "  link %s=%s\n", kv.Key, kv.Value.Emit())
			}
		}
		if s.Resource != nil {
			for _, kv := range s.Resource.Attributes() {
				fmt.Fprintf(&b, "  resource %s=%s\n", kv.Key, kv.Value.Emit())
			}
		}
	}
	return b.String()
}

// dumpRecords renders records as text.
func dumpRecords(recs []exporter.Record) string {
	var b strings.Builder
	for _, r := range recs {
		fmt.Fprintf(&b, "%+v\n", r)
		for _, group := range [][]attribute.KeyValue{r.Attributes, r.Extras, r.Resource} {
			for _, kv := range group {
				fmt.Fprintf(&b, "  %s=%s\n", kv.Key, kv.Value.Emit())
			}
		}
	}
	return b.String()
}
