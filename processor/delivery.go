package processor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/errortracker/errortracker/exporter"
)

// dropLogInterval spaces the log lines about dropped records.
const dropLogInterval = 10 * time.Second

// sink delivers records to one exporter: a bounded queue that offer fills
// without blocking, and one goroutine that batches, exports and retries.
// A stalled exporter fills only its own queue.
type sink struct {
	exp      exporter.Exporter
	complete func([]exporter.Record) // fills in what the span's goroutine left out
	settings settings
	metrics  *metrics
	log      *slog.Logger
	attrs    metric.MeasurementOption // exporter=<type>

	mu          sync.Mutex
	queue       recordQueue
	stopped     bool
	dropsToLog  int
	lastDropLog time.Time

	wake     chan struct{}      // a batch is ready; capacity 1, so repeats collapse
	flush    chan chan struct{} // ForceFlush: export all queued, then close the channel
	stop     chan struct{}      // closed by shutdown
	stopOnce sync.Once
	done     chan struct{}
	// ctx is the worker's: cancelled when Shutdown's deadline passes, so an
	// export or a retry in flight gives up then.
	ctx    context.Context
	cancel context.CancelFunc
}

func newSink(exp exporter.Exporter, complete func([]exporter.Record), s settings, m *metrics, log *slog.Logger) *sink {
	sk := &sink{
		exp:      exp,
		complete: complete,
		settings: s,
		metrics:  m,
		log:      log.With("exporter", fmt.Sprintf("%T", exp)),
		attrs:    metric.WithAttributeSet(attribute.NewSet(attribute.String("exporter", fmt.Sprintf("%T", exp)))),
		wake:     make(chan struct{}, 1),
		flush:    make(chan chan struct{}),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	sk.ctx, sk.cancel = context.WithCancel(context.Background())
	go sk.run()
	return sk
}

// offer queues records without blocking; what does not fit is dropped and
// counted.
func (s *sink) offer(recs []exporter.Record) {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		s.metrics.drop(len(recs), DropShutdown)
		return
	}
	room := s.settings.queueSize - s.queue.len
	n := min(room, len(recs))
	s.queue.push(recs[:n])
	ready := s.batchReady()
	dropped := len(recs) - n
	logNow := false
	if dropped > 0 {
		s.dropsToLog += dropped
		if now := time.Now(); now.Sub(s.lastDropLog) >= dropLogInterval {
			s.lastDropLog, logNow = now, true
		}
	}
	toLog := s.dropsToLog
	if logNow {
		s.dropsToLog = 0
	}
	s.mu.Unlock()
	if dropped > 0 {
		s.metrics.drop(dropped, DropQueueFull)
		if logNow {
			s.log.Warn("error tracker: exporter queue full, records dropped", "dropped", toLog, "queue_size", s.settings.queueSize)
		}
	}
	if ready {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// batchReady reports whether the worker should export now: a full batch,
// or a small queue half full. The caller holds s.mu.
func (s *sink) batchReady() bool {
	return s.queue.len >= min(s.settings.batchSize, max(1, s.settings.queueSize/2))
}

// take removes up to max records from the front of the queue.
func (s *sink) take(max int) []exporter.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queue.pop(max)
}

func (s *sink) run() {
	defer close(s.done)
	ctx := s.ctx
	ticker := time.NewTicker(s.settings.flushInterval)
	defer ticker.Stop()
	for {
		select {
		case <-s.wake:
			s.exportAll(ctx, true)
		case <-ticker.C:
			s.exportAll(ctx, false)
		case ack := <-s.flush:
			s.exportAll(ctx, false)
			close(ack)
		case <-s.stop:
			s.exportAll(ctx, false)
			s.dropRest()
			return
		case <-ctx.Done():
			s.dropRest()
			return
		}
	}
}

// dropRest counts what is still queued as dropped at shutdown.
func (s *sink) dropRest() {
	if rest := s.take(s.settings.queueSize); len(rest) > 0 {
		s.metrics.drop(len(rest), DropShutdown)
	}
}

// exportAll exports the queue in batches; with fullOnly it stops at the
// first batch that is not full, leaving it for the ticker.
func (s *sink) exportAll(ctx context.Context, fullOnly bool) {
	for {
		if fullOnly {
			s.mu.Lock()
			full := s.batchReady()
			s.mu.Unlock()
			if !full {
				return
			}
		}
		batch := s.take(s.settings.batchSize)
		if len(batch) == 0 {
			return
		}
		s.complete(batch)
		s.deliver(ctx, batch)
	}
}

// deliver exports one batch, retrying with exponential backoff and jitter
// until it succeeds, the error is permanent, the retry budget is spent or
// ctx ends. Time spent waiting for an exporter that is not ready
// (exporter.ErrNotReady) does not count against the budget.
func (s *sink) deliver(ctx context.Context, batch []exporter.Record) {
	r := s.settings.retry
	wait := r.Initial
	giveUp := time.Now().Add(r.MaxElapsed)
	for {
		err := s.export(ctx, batch)
		if err == nil {
			s.metrics.exported.Add(context.Background(), int64(len(batch)), s.attrs)
			return
		}
		s.metrics.failures.Add(context.Background(), 1, s.attrs)
		if errors.Is(err, exporter.ErrNotReady) && !errors.Is(err, exporter.ErrPermanent) {
			// A store still connecting in the background: the batch, and
			// the queue behind it, wait for it as long as it takes, up to
			// Shutdown; only what overflows the queue is dropped.
			giveUp = time.Now().Add(r.MaxElapsed)
		}
		if errors.Is(err, exporter.ErrPermanent) || ctx.Err() != nil || time.Now().Add(wait).After(giveUp) {
			s.metrics.drop(len(batch), DropExportFailed)
			s.log.Error("error tracker: export failed, records dropped", "records", len(batch), "error", err)
			return
		}
		s.log.Debug("error tracker: export failed, will retry", "records", len(batch), "in", wait, "error", err)
		jittered := wait/2 + rand.N(wait/2+1)
		t := time.NewTimer(jittered)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		wait = min(2*wait, r.Max)
	}
}

// export calls the exporter with a timeout, turning a panic into an error
// so that a faulty exporter cannot kill the worker.
func (s *sink) export(ctx context.Context, batch []exporter.Record) (err error) {
	ctx, cancel := context.WithTimeout(ctx, s.settings.exportTimeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("exporter panicked: %v", r)
		}
	}()
	return s.exp.Export(ctx, batch)
}

// forceFlush waits until everything queued before the call is exported.
func (s *sink) forceFlush(ctx context.Context) error {
	ack := make(chan struct{})
	select {
	case s.flush <- ack:
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// shutdown exports what is queued within ctx, then shuts the exporter
// down. When ctx ends first — even in the middle of an export or of a
// retry's backoff — the worker gives up at once and the rest is counted as
// dropped.
func (s *sink) shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	stopWatch := context.AfterFunc(ctx, s.cancel)
	defer stopWatch()
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.done
	s.cancel()
	err := s.exp.Shutdown(ctx)
	if ctxErr := ctx.Err(); ctxErr != nil && err == nil {
		err = ctxErr
	}
	return err
}
