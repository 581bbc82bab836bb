package processor_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/processor"
	"github.com/errortracker/errortracker/scope"
)

// captureN records n errors, each on its own span, and returns how many
// span.End() calls took over 100 ms and how long the slowest took.
func captureN(tp *sdktrace.TracerProvider, n int) (over100ms int, slowest time.Duration) {
	for i := 0; i < n; i++ {
		ctx, span := tp.Tracer("test").Start(context.Background(), "op")
		scope.CaptureException(ctx, fmt.Errorf("failure %d", i))
		start := time.Now()
		span.End()
		d := time.Since(start)
		slowest = max(slowest, d)
		if d > 100*time.Millisecond {
			over100ms++
		}
	}
	return over100ms, slowest
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// newDelivery builds a processor with opts and a metric reader on a
// TracerProvider that is shut down when the test ends (again, if the test
// shut it down itself: Shutdown is idempotent).
func newDelivery(t *testing.T, opts ...processor.Option) (*sdktrace.TracerProvider, *sdkmetric.ManualReader) {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	opts = append([]processor.Option{
		processor.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))),
		processor.WithFlushInterval(5 * time.Millisecond),
	}, opts...)
	p, err := processor.New(processor.Config{}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp, reader
}

// forceFlush flushes tp or fails the test.
func forceFlush(t *testing.T, tp *sdktrace.TracerProvider) {
	t.Helper()
	if err := tp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestStalledExporterDelaysNoOther(t *testing.T) {
	stalled := &recorder{block: make(chan struct{})}
	healthy := &recorder{}
	tp, _ := newDelivery(t, processor.WithExporter(stalled), processor.WithExporter(healthy), processor.WithQueueSize(100))

	// Three times the queue of the stalled exporter, in steps the healthy
	// one can keep up with.
	for round := 1; round <= 6; round++ {
		// A functional bound, not a benchmark: End() must not wait for the
		// stalled store (which never answers); a scheduler pause on a
		// loaded machine may exceed 100 ms once, never a second.
		if over, slowest := captureN(tp, 50); over > 1 || slowest > time.Second {
			t.Errorf("%d span.End() calls over 100 ms with a stalled exporter, the slowest %v", over, slowest)
		}
		waitFor(t, "the healthy exporter", func() bool { return len(healthy.Records()) == 50*round })
	}

	close(stalled.block)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	// The stalled exporter had one batch in flight and 100 queued; the rest
	// was dropped, not waited for.
	if got := len(stalled.Records()); got < 100 || got > 200 {
		t.Errorf("stalled exporter got %d records, want its queue (100) plus the batch in flight", got)
	}
}

func TestFailedExportIsRetried(t *testing.T) {
	flaky := &recorder{failures: 3}
	tp, reader := newDelivery(t, processor.WithExporter(flaky),
		processor.WithRetry(processor.RetryConfig{Initial: time.Millisecond, Max: 5 * time.Millisecond}))
	captureN(tp, 5)
	forceFlush(t, tp)
	if got := len(flaky.Records()); got != 5 {
		t.Fatalf("got %d records after retries, want 5", got)
	}
	if got := counter(t, reader, "errortracker.export.failures"); got != 3 {
		t.Errorf("failures = %d, want 3", got)
	}
}

type permanentFailure struct{ recorder }

func (p *permanentFailure) Export(ctx context.Context, recs []exporter.Record) error {
	p.recorder.mu.Lock()
	p.recorder.calls++
	p.recorder.mu.Unlock()
	return exporter.Permanent(errors.New("schema mismatch"))
}

func TestPermanentErrorIsNotRetried(t *testing.T) {
	bad := &permanentFailure{}
	tp, reader := newDelivery(t, processor.WithExporter(bad))
	captureN(tp, 3)
	forceFlush(t, tp)
	if calls := bad.Calls(); calls != 1 {
		t.Errorf("a permanent error was tried %d times", calls)
	}
	if got := counter(t, reader, "errortracker.records.dropped", attribute.String("reason", processor.DropExportFailed)); got != 3 {
		t.Errorf("dropped = %d, want 3", got)
	}
}

type panicking struct{}

func (panicking) Export(context.Context, []exporter.Record) error { panic("exporter bug") }
func (panicking) Shutdown(context.Context) error                  { return nil }

func TestPanickingExporterCrashesNothing(t *testing.T) {
	healthy := &recorder{}
	tp, _ := newDelivery(t, processor.WithExporter(panicking{}), processor.WithExporter(healthy),
		processor.WithRetry(processor.RetryConfig{Initial: time.Millisecond, Max: time.Millisecond, MaxElapsed: 10 * time.Millisecond}))
	captureN(tp, 3)
	forceFlush(t, tp)
	if got := len(healthy.Records()); got != 3 {
		t.Errorf("healthy exporter got %d", got)
	}
}

func TestQueueFullDropsAreCounted(t *testing.T) {
	stalled := &recorder{block: make(chan struct{})}
	// No timer: a flush between the first captures, on a busy machine,
	// would take a smaller first batch and leave room in the queue.
	tp, reader := newDelivery(t, processor.WithExporter(stalled), processor.WithQueueSize(10), processor.WithBatchSize(5),
		processor.WithFlushInterval(time.Hour))
	captureN(tp, 5) // the worker takes these as one batch and blocks on them
	waitFor(t, "the first batch to be in flight", func() bool { return stalled.Calls() == 1 })
	captureN(tp, 30) // 10 fit in the queue
	if got := counter(t, reader, "errortracker.records.dropped", attribute.String("reason", processor.DropQueueFull)); got != 20 {
		t.Errorf("queue_full drops = %d, want 20", got)
	}
	close(stalled.block)
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := len(stalled.Records()); got != 15 {
		t.Errorf("delivered %d, want 15", got)
	}
}

func TestShutdownHonoursDeadline(t *testing.T) {
	stalled := &recorder{block: make(chan struct{})} // never released
	tp, reader := newDelivery(t, processor.WithExporter(stalled))
	captureN(tp, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := tp.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want the deadline error", err)
	}
	dropped := counter(t, reader, "errortracker.records.dropped", attribute.String("reason", processor.DropExportFailed)) +
		counter(t, reader, "errortracker.records.dropped", attribute.String("reason", processor.DropShutdown))
	if dropped != 4 {
		t.Errorf("dropped = %d, want all 4 counted", dropped)
	}
	stalled.mu.Lock()
	defer stalled.mu.Unlock()
	if !stalled.shutdown {
		t.Error("exporter was not shut down")
	}
}

func TestCapturesAfterShutdownAreIgnored(t *testing.T) {
	rec := &recorder{}
	p, err := processor.New(processor.Config{}, processor.WithExporter(rec))
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))
	_, span := tp.Tracer("test").Start(context.Background(), "late")
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	span.RecordError(errors.New("late"))
	span.End() // must neither panic nor block
	if len(rec.Records()) != 0 {
		t.Error("a record was exported after Shutdown")
	}
	_ = tp.Shutdown(context.Background())
}

// stalledProcessor builds a processor whose only exporter never returns
// until its context ends; the test shuts it down itself.
func stalledProcessor(t *testing.T) (*recorder, *processor.Processor, *sdktrace.TracerProvider) {
	t.Helper()
	stalled := &recorder{block: make(chan struct{})} // never released
	p, err := processor.New(processor.Config{}, processor.WithExporter(stalled), processor.WithFlushInterval(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return stalled, p, sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))
}

func TestShutdownIsIdempotent(t *testing.T) {
	_, p, tp := stalledProcessor(t)
	captureN(tp, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	first := p.Shutdown(ctx)
	if second := p.Shutdown(context.Background()); !errors.Is(first, context.DeadlineExceeded) || second != first {
		t.Errorf("Shutdown twice = %v, %v; want the deadline error both times", first, second)
	}
}

// Shutdown's deadline holds even when the worker is inside an Export that
// hangs, with retries to follow: the export is abandoned at the deadline,
// not after the export timeout and the retry budget.
func TestShutdownDeadlineDuringExport(t *testing.T) {
	stalled, _, tp := stalledProcessor(t)
	captureN(tp, 3)
	waitFor(t, "the worker to be inside Export", func() bool { return stalled.Calls() == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := tp.Shutdown(ctx)
	// A functional bound, far from the 30 s export timeout and 5 min of retries.
	if took := time.Since(start); took > 5*time.Second || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown returned %v after %v, want the deadline error at about 50 ms", err, took)
	}
}
