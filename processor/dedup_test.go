package processor_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/bridges/otelslog"
	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/errortracker/errortracker/processor"
	"github.com/errortracker/errortracker/scope"
)

// One Go service that logs an error through slog and the OpenTelemetry
// bridge and also captures it counts it once, whichever comes first; a
// logged error nobody captured is kept, with the span's name and request
// data as they are when the span ends.
func TestLoggedAndCapturedErrorCountsOnce(t *testing.T) {
	rec := &recorder{}
	p, err := processor.New(processor.Config{}, processor.WithExporter(rec))
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(p.LogProcessor()))
	logger := otelslog.NewLogger("shop", otelslog.WithLoggerProvider(lp))
	defer tp.Shutdown(context.Background())
	defer lp.Shutdown(context.Background())

	handle := func(name string, work func(ctx context.Context)) {
		ctx, span := tp.Tracer("test").Start(context.Background(), "GET")
		work(ctx)
		// otelhttp names the span by its route after the handler.
		span.SetName(name)
		span.SetAttributes(attribute.String("http.route", name[len("GET "):]))
		span.End()
	}
	loadErr := fmt.Errorf("load order 7: %w", sql.ErrNoRows)
	handle("GET /orders/{id}", func(ctx context.Context) {
		scope.CaptureException(ctx, loadErr)
		logger.ErrorContext(ctx, "load failed", scope.LogArgs(loadErr)...)
	})
	handle("GET /users/{id}", func(ctx context.Context) {
		logger.ErrorContext(ctx, "load failed", scope.LogArgs(sql.ErrNoRows)...)
		scope.CaptureException(ctx, sql.ErrNoRows)
	})
	handle("GET /invoices/{id}", func(ctx context.Context) {
		logger.ErrorContext(ctx, "load failed", scope.LogArgs(sql.ErrNoRows)...)
	})
	if err := tp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}

	recs := rec.Records()
	if len(recs) != 3 {
		t.Fatalf("%d records, want one per request:\n%s", len(recs), dumpRecords(recs))
	}
	logged := recs[2]
	if logged.SpanName != "GET /invoices/{id}" || logged.Route != "/invoices/{id}" || logged.Message != sql.ErrNoRows.Error() {
		t.Errorf("the logged error: span %q route %q message %q", logged.SpanName, logged.Route, logged.Message)
	}
}

// lp.Shutdown delivers what the processor holds for the log records it
// got, although the TracerProvider (which owns the processor) is still up.
func TestLoggerProviderShutdownFlushes(t *testing.T) {
	rec := &recorder{}
	p, err := processor.New(processor.Config{}, processor.WithExporter(rec), processor.WithFlushInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))
	defer tp.Shutdown(context.Background())
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(p.LogProcessor()))
	logger := otelslog.NewLogger("shop", otelslog.WithLoggerProvider(lp))
	logger.Error("nightly export failed", scope.LogArgs(sql.ErrConnDone)...)
	if err := lp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.Records()); n != 1 {
		t.Errorf("%d records after lp.Shutdown, want the logged one", n)
	}
}

// Spans that end while other goroutines log in them lose nothing and count
// nothing twice.
func TestLogDeduplicationConcurrentSafe(t *testing.T) {
	rec := &recorder{}
	p, err := processor.New(processor.Config{}, processor.WithExporter(rec))
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(p.LogProcessor()))
	logger := otelslog.NewLogger("shop", otelslog.WithLoggerProvider(lp))
	const n = 64
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ctx, span := tp.Tracer("test").Start(context.Background(), fmt.Sprintf("job-%d", i))
			err := fmt.Errorf("job %d: %w", i, sql.ErrConnDone)
			var logged sync.WaitGroup
			logged.Go(func() { logger.ErrorContext(ctx, "failed", scope.LogArgs(err)...) })
			scope.CaptureException(ctx, err)
			span.End() // maybe before, maybe after the log record
			logged.Wait()
		})
	}
	wg.Wait()
	if err := lp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs := rec.Records()
	msgs := map[string]int{}
	for _, r := range recs {
		msgs[r.Message]++
	}
	if len(msgs) != n {
		t.Errorf("%d errors recorded, want %d", len(msgs), n)
	}
	if len(recs) > 2*n {
		t.Errorf("%d records for %d errors", len(recs), n)
	}
}
