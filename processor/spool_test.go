package processor_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/processor"
	"github.com/errortracker/errortracker/scope"
)

// failing refuses every batch, as a store that is down does.
type failing struct{}

func (failing) Export(context.Context, []exporter.Record) error { return errors.New("store down") }
func (failing) Shutdown(context.Context) error                  { return nil }

// ignoring blocks in Export and Shutdown whatever its context says, until
// released.
type ignoring struct{ release chan struct{} }

func (e ignoring) Export(context.Context, []exporter.Record) error { <-e.release; return nil }
func (e ignoring) Shutdown(context.Context) error                  { <-e.release; return nil }

// startSpooled builds a processor on dir with opts, on a TracerProvider.
func startSpooled(t *testing.T, dir string, opts ...processor.Option) (*sdktrace.TracerProvider, *processor.Processor) {
	t.Helper()
	opts = append([]processor.Option{
		processor.WithSpoolConfig(processor.SpoolConfig{Dir: dir, CommitInterval: 10 * time.Millisecond, LockTimeout: 200 * time.Millisecond}),
		processor.WithFlushInterval(10 * time.Millisecond),
	}, opts...)
	p, err := processor.New(processor.Config{}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p)), p
}

func capture(tp *sdktrace.TracerProvider, from, n int) {
	for i := from; i < from+n; i++ {
		ctx, span := tp.Tracer("test").Start(context.Background(), "op")
		scope.CaptureException(ctx, fmt.Errorf("failure %d", i), attribute.String("password", "hunter2"))
		span.End()
	}
}

// What a store that is down did not take is delivered after a restart on
// the same spool, once, and masked.
func TestSpoolDeliversAfterRestart(t *testing.T) {
	dir := t.TempDir()
	tp, _ := startSpooled(t, dir, processor.WithExporter(failing{}), processor.WithRetry(processor.RetryConfig{Initial: time.Millisecond, Max: time.Millisecond, MaxElapsed: 20 * time.Millisecond}))
	capture(tp, 0, 50)
	time.Sleep(100 * time.Millisecond) // retries run out: the records stay in the spool
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = tp.Shutdown(ctx)

	rec := &recorder{}
	tp2, _ := startSpooled(t, dir, processor.WithExporter(rec))
	waitFor(t, "the 50 records from the spool", func() bool { return len(rec.Records()) >= 50 })
	capture(tp2, 50, 5)
	waitFor(t, "the 5 new records", func() bool { return len(rec.Records()) >= 55 })
	if err := tp2.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range rec.Records() {
		if seen[r.Message] {
			t.Errorf("delivered twice: %s", r.Message)
		}
		seen[r.Message] = true
		for _, kv := range r.Extras {
			if kv.Key == "password" && kv.Value.AsString() == "hunter2" {
				t.Errorf("unmasked password in a record from the spool")
			}
		}
	}
	if len(seen) != 55 {
		t.Errorf("delivered %d distinct records, want 55", len(seen))
	}

	// Everything exported: a third start delivers nothing.
	rec3 := &recorder{}
	tp3, _ := startSpooled(t, dir, processor.WithExporter(rec3))
	time.Sleep(100 * time.Millisecond)
	if err := tp3.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(rec3.Records()); n != 0 {
		t.Errorf("a third start delivered %d records again", n)
	}
}

// A full queue spills to the spool instead of dropping: the exporter gets
// every record once it is back.
func TestSpoolTakesWhatTheQueueCannotHold(t *testing.T) {
	stalled := &recorder{block: make(chan struct{})}
	reader := newReader()
	tp, _ := startSpooled(t, t.TempDir(), processor.WithExporter(stalled), processor.WithQueueSize(10), processor.WithBatchSize(5),
		processor.WithMeterProvider(reader.provider))
	capture(tp, 0, 200)
	close(stalled.block)
	waitFor(t, "all 200 records", func() bool { return len(stalled.Records()) >= 200 })
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := len(stalled.Records()); got != 200 {
		t.Errorf("delivered %d, want 200", got)
	}
	if got := counter(t, reader.reader, "errortracker.records.dropped"); got != 0 {
		t.Errorf("dropped %d records", got)
	}
}

// Two exporters of one type keep their cursors apart.
func TestSpoolCursorsPerExporter(t *testing.T) {
	dir := t.TempDir()
	good, bad := &recorder{}, &recorder{failures: 1 << 30}
	tp, _ := startSpooled(t, dir, processor.WithExporter(good), processor.WithExporter(bad),
		processor.WithRetry(processor.RetryConfig{Initial: time.Millisecond, Max: time.Millisecond, MaxElapsed: 10 * time.Millisecond}))
	capture(tp, 0, 20)
	waitFor(t, "the healthy exporter", func() bool { return len(good.Records()) == 20 })
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	good2, bad2 := &recorder{}, &recorder{}
	tp2, _ := startSpooled(t, dir, processor.WithExporter(good2), processor.WithExporter(bad2))
	waitFor(t, "the failed exporter's records", func() bool { return len(bad2.Records()) == 20 })
	if err := tp2.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(good2.Records()); n != 0 {
		t.Errorf("the healthy exporter got %d records again", n)
	}
}

// A second process on the same directory waits for the lock, then runs on
// memory alone and says so.
func TestSpoolLockedRunsOnMemory(t *testing.T) {
	dir := t.TempDir()
	tp, _ := startSpooled(t, dir, processor.WithExporter(&recorder{}))
	defer tp.Shutdown(context.Background())
	var logs syncBuffer
	rec := &recorder{}
	start := time.Now()
	tp2, _ := startSpooled(t, dir, processor.WithExporter(rec), processor.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if waited := time.Since(start); waited < 200*time.Millisecond || waited > 5*time.Second {
		t.Errorf("waited %v for the lock, want the 200 ms timeout", waited)
	}
	capture(tp2, 0, 3)
	if err := tp2.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(rec.Records()) != 3 || !bytes.Contains(logs.Bytes(), []byte("on memory alone")) {
		t.Errorf("delivered %d; log: %s", len(rec.Records()), logs.Bytes())
	}
}

// Shutdown returns by its deadline even when an exporter ignores its
// context, and leaves what was not exported in the spool.
func TestShutdownDeadlineWithExporterIgnoringContext(t *testing.T) {
	dir := t.TempDir()
	exp := ignoring{release: make(chan struct{})}
	tp, _ := startSpooled(t, dir, processor.WithExporter(exp), processor.WithBatchSize(1))
	capture(tp, 0, 5)
	time.Sleep(50 * time.Millisecond) // the worker is inside Export
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := tp.Shutdown(ctx)
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want the deadline", err)
	}
	if took > 100*time.Millisecond+200*time.Millisecond {
		t.Errorf("Shutdown took %v with a 100 ms deadline", took)
	}
	close(exp.release) // the stuck worker returns; the exporter is shut down behind it
	rec := &recorder{}
	var tp2 *sdktrace.TracerProvider
	waitFor(t, "the spool's lock", func() bool {
		p, err := processor.New(processor.Config{}, processor.WithSpoolConfig(processor.SpoolConfig{Dir: dir, LockTimeout: time.Millisecond}),
			processor.WithExporter(rec), processor.WithFlushInterval(10*time.Millisecond), processor.WithLogger(slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))))
		if err != nil {
			t.Fatal(err)
		}
		tp2 = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))
		if p.SpoolDir() == "" {
			_ = tp2.Shutdown(context.Background())
			return false
		}
		return true
	})
	waitFor(t, "the records left in the spool", func() bool { return len(rec.Records()) >= 4 })
	if err := tp2.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// syncBuffer is a bytes.Buffer safe for the logger's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.b.Bytes()...)
}

type testReader struct {
	reader   *sdkmetric.ManualReader
	provider *sdkmetric.MeterProvider
}

func newReader() testReader {
	r := sdkmetric.NewManualReader()
	return testReader{reader: r, provider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))}
}

// order notes the order of Shutdown calls.
type order struct {
	mu    sync.Mutex
	names []string
}

func (o *order) add(n string) {
	o.mu.Lock()
	o.names = append(o.names, n)
	o.mu.Unlock()
}

// storeExporter plays the ClickHouse store: an exporter that is also an
// exporter.Store (the embedded interface is nil: never called here).
type storeExporter struct {
	exporter.Store
	o *order
}

func (s storeExporter) Export(context.Context, []exporter.Record) error { return nil }
func (s storeExporter) Shutdown(context.Context) error                  { s.o.add("store"); return nil }

type mailExporter struct{ o *order }

func (m mailExporter) Export(context.Context, []exporter.Record) error { return nil }
func (m mailExporter) Shutdown(context.Context) error {
	time.Sleep(20 * time.Millisecond) // sends the digest, reading the store
	m.o.add("mail")
	return nil
}

// The store outlives the exporters that read it, whatever their order.
func TestShutdownShutsStoresLast(t *testing.T) {
	var o order
	p, err := processor.New(processor.Config{}, processor.WithExporter(storeExporter{o: &o}), processor.WithExporter(mailExporter{o: &o}))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(o.names) != "[mail store]" {
		t.Errorf("shutdown order %v, want the mail policy before the store", o.names)
	}
}

// APP_ERROR_SPOOL_DIR and APP_ERROR_SPOOL_MAX_BYTES.
func TestSpoolFromEnv(t *testing.T) {
	t.Setenv(processor.EnvSpoolDir, "/var/spool/app")
	t.Setenv(processor.EnvSpoolMaxBytes, "64MiB")
	c, err := processor.ConfigFromEnv()
	if err != nil || c.SpoolDir != "/var/spool/app" || c.SpoolMaxBytes != 64<<20 {
		t.Errorf("%+v, %v", c, err)
	}
	t.Setenv(processor.EnvSpoolMaxBytes, "lots")
	if _, err := processor.ConfigFromEnv(); err == nil || !strings.Contains(err.Error(), processor.EnvSpoolMaxBytes) {
		t.Errorf("a bad size: %v", err)
	}
}

// flaky stalls now and then, so that the queue fills, spills to the spool
// and drains again, many times over.
type flaky struct {
	recorder
	n atomic.Int64
}

func (f *flaky) Export(ctx context.Context, recs []exporter.Record) error {
	if f.n.Add(1)%3 == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	return f.recorder.Export(ctx, recs)
}

// Many goroutines capturing while the queue spills and drains: every
// record arrives, once.
func TestSpoolConcurrentSafe(t *testing.T) {
	exp := &flaky{}
	tp, _ := startSpooled(t, t.TempDir(), processor.WithExporter(exp), processor.WithQueueSize(50), processor.WithBatchSize(20))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() { capture(tp, g*1000, 500) })
	}
	wg.Wait()
	waitFor(t, "all 4,000 records", func() bool { return len(exp.Records()) >= 4000 })
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, r := range exp.Records() {
		seen[r.Message]++
	}
	for m, n := range seen {
		if n != 1 {
			t.Errorf("%s delivered %d times", m, n)
		}
	}
	if len(seen) != 4000 {
		t.Errorf("%d distinct records, want 4000", len(seen))
	}
}

// An outage longer than the retry budget loses nothing while the process
// lives: the batch goes back to the spool and is read again, with a fresh
// budget, until the exporter takes it.
func TestSpoolRetriesPastTheBudget(t *testing.T) {
	rec := &recorder{failures: 40}
	tp, _ := startSpooled(t, t.TempDir(), processor.WithExporter(rec), processor.WithBatchSize(10),
		processor.WithRetry(processor.RetryConfig{Initial: time.Millisecond, Max: time.Millisecond, MaxElapsed: 5 * time.Millisecond}))
	capture(tp, 0, 50)
	waitFor(t, "all 50 records after the outage", func() bool {
		seen := map[string]bool{}
		for _, r := range rec.Records() {
			seen[r.Message] = true
		}
		return len(seen) == 50
	})
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}
