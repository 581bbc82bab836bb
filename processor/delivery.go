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
	"github.com/errortracker/errortracker/processor/internal/spool"
)

// dropLogInterval spaces the log lines about dropped records.
const dropLogInterval = 10 * time.Second

// sink delivers records to one exporter: a bounded queue that offer fills
// without blocking, and one goroutine that batches, exports and retries.
// A stalled exporter fills only its own queue.
//
// With a spool, every record the sink is offered is in the spool's log
// too (or about to be, at the next group commit), numbered. The queue then
// holds a window of the log: when it is full the sink "spills" — it stops
// queueing and the worker, once the queue is empty, reads the rest from
// the log (spillFrom on). On start every sink spills from its cursor, which
// is how records left by a killed process are delivered again.
type sink struct {
	exp      exporter.Exporter
	name     string                  // stable: the spool's cursor is kept under it
	complete func([]exporter.Record) // fills in what the span's goroutine left out
	settings settings
	metrics  *metrics
	log      *slog.Logger
	attrs    metric.MeasurementOption // exporter=<type>
	spool    *spool.Spool             // nil without one
	cursor   int                      // this sink's cursor in the spool

	mu          sync.Mutex
	queue       recordQueue
	inflight    int64 // bytes of the batch being exported
	stopped     bool
	spilled     bool   // records from spillFrom on are in the spool only
	spillFrom   uint64 // the first of them
	hold        uint64 // the first record of a batch given up after retries: the cursor stays before it until it is exported
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

func newSink(exp exporter.Exporter, name string, complete func([]exporter.Record), s settings, m *metrics, log *slog.Logger, sp *spool.Spool, cursor int) *sink {
	sk := &sink{
		exp:      exp,
		name:     name,
		complete: complete,
		settings: s,
		metrics:  m,
		log:      log.With("exporter", name),
		attrs:    metric.WithAttributeSet(attribute.NewSet(attribute.String("exporter", fmt.Sprintf("%T", exp)))),
		spool:    sp,
		cursor:   cursor,
		wake:     make(chan struct{}, 1),
		flush:    make(chan chan struct{}),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	if sp != nil {
		if c := sp.Cursor(cursor); c < sp.Committed() {
			sk.spilled, sk.spillFrom = true, c+1 // left by an earlier process
			sk.wake <- struct{}{}
		}
	}
	sk.ctx, sk.cancel = context.WithCancel(context.Background())
	go sk.run()
	return sk
}

// sinkNames gives each exporter a stable name: its type, and for a second
// exporter of one type its position among them ("*smtp.Exporter#2"), so
// that two of one type keep cursors apart as long as the order of
// WithExporter stays.
func sinkNames(exps []exporter.Exporter) []string {
	seen := map[string]int{}
	names := make([]string, len(exps))
	for i, e := range exps {
		t := fmt.Sprintf("%T", e)
		seen[t]++
		names[i] = t
		if n := seen[t]; n > 1 {
			names[i] = fmt.Sprintf("%s#%d", t, n)
		}
	}
	return names
}

// offer queues records without blocking. first is the spool's sequence
// number of recs[0], or 0 when they are not in the spool. What does not
// fit is dropped and counted — or, when it is in the spool, left there
// for the worker to read.
func (s *sink) offer(recs []exporter.Record, first uint64) {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		if first == 0 {
			s.metrics.drop(len(recs), DropShutdown)
		}
		return
	}
	if s.spilled && first != 0 {
		s.mu.Unlock() // the worker reads them from the spool
		return
	}
	n := 0
	for i := range recs {
		size := recordSize(&recs[i])
		if s.queue.len >= s.settings.queueSize || s.queue.bytes+s.inflight+size > s.settings.queueBytes {
			break
		}
		seq := uint64(0)
		if first != 0 {
			seq = first + uint64(i)
		}
		s.queue.push(recs[i], seq, size)
		n++
	}
	ready := s.batchReady()
	dropped := len(recs) - n
	if dropped > 0 && first != 0 {
		s.spilled, s.spillFrom, dropped = true, first+uint64(n), 0
	}
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
			s.log.Warn("error tracker: exporter queue full, records dropped", "dropped", toLog,
				"queue_size", s.settings.queueSize, "queue_bytes", s.settings.queueBytes)
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
	return s.queue.len >= min(s.settings.batchSize, max(1, s.settings.queueSize/2)) ||
		s.queue.bytes >= s.settings.queueBytes/2
}

// take removes up to max records from the front of the queue; their bytes
// count as in flight until done.
func (s *sink) take(max int) ([]exporter.Record, seqRange) {
	s.mu.Lock()
	defer s.mu.Unlock()
	recs, seqs, bytes := s.queue.pop(max)
	s.inflight = bytes
	return recs, seqs
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

// dropRest counts what is still queued as dropped at shutdown, unless the
// spool keeps it for the next start.
func (s *sink) dropRest() {
	rest, _ := s.take(s.settings.queueSize)
	s.mu.Lock()
	s.inflight = 0
	spilled := s.spilled
	s.mu.Unlock()
	if s.spool != nil {
		if left := s.spool.Assigned() - s.spool.Cursor(s.cursor); left > 0 && (len(rest) > 0 || spilled || s.hold != 0) {
			s.log.Info("error tracker: records left in the spool for the next start", "records", left, "spool", s.spool.Dir())
		}
		return
	}
	if len(rest) > 0 {
		s.metrics.drop(len(rest), DropShutdown)
	}
}

// exportAll exports the queue in batches, then, when the sink spilled,
// the spool from where it spilled; with fullOnly it stops at the first
// batch that is not full, leaving it for the ticker.
func (s *sink) exportAll(ctx context.Context, fullOnly bool) {
	for ctx.Err() == nil {
		if fullOnly {
			s.mu.Lock()
			full := s.batchReady() || (s.spilled && s.queue.len == 0)
			s.mu.Unlock()
			if !full {
				return
			}
		}
		batch, seqs := s.take(s.settings.batchSize)
		if len(batch) == 0 {
			if s.readSpool(ctx) {
				continue
			}
			return
		}
		s.complete(batch)
		s.deliver(ctx, batch, seqs)
	}
}

// readSpool exports the next batch of spilled records from the spool, and
// reports whether there may be more. When it has caught up with every
// record numbered, the sink queues in memory again.
func (s *sink) readSpool(ctx context.Context) bool {
	s.mu.Lock()
	spilled, from, hold := s.spilled, s.spillFrom, s.hold
	s.mu.Unlock()
	if !spilled || s.spool == nil {
		return false
	}
	select {
	case <-s.stop:
		if hold != 0 {
			// Shutting down after a batch ran out of retries: no new
			// round; it and what follows are the next start's.
			return false
		}
	default:
	}
	if s.spool.Committed() < s.spool.Assigned() {
		if err := s.spool.Commit(); err != nil {
			s.log.Error("error tracker: spool: commit failed", "error", err)
			return false
		}
	}
	committed := s.spool.Committed()
	// A quarter of the queue's bytes at a time: the queue is empty while
	// the sink reads the spool, so memory stays within its bound.
	entries, err := s.spool.Read(from, s.settings.batchSize, max(s.settings.queueBytes/4, 1))
	if err != nil {
		s.log.Error("error tracker: spool: records unreadable, skipped", "error", err)
	}
	if len(entries) == 0 {
		// Nothing from `from` to `committed` is left (dropped past the
		// spool's bound, or unreadable): go on after it.
		s.mu.Lock()
		if committed >= s.spillFrom {
			s.spillFrom = committed + 1
		}
		if s.hold != 0 && s.hold <= committed {
			s.hold = 0 // the batch given back is gone from the spool too
		}
		if s.spool.Assigned() < s.spillFrom {
			s.spilled = false // caught up: later records are queued in memory
		}
		more := s.spilled
		s.mu.Unlock()
		return more && err == nil
	}
	batch := make([]exporter.Record, len(entries))
	for i := range entries {
		batch[i] = entries[i].Record
	}
	seqs := seqRange{first: entries[0].Seq, last: entries[len(entries)-1].Seq}
	s.mu.Lock()
	if s.spillFrom == from { // unless a failed batch moved it back meanwhile
		s.spillFrom = seqs.last + 1
	}
	s.mu.Unlock()
	s.complete(batch)
	s.deliver(ctx, batch, seqs)
	return ctx.Err() == nil
}

// deliver exports one batch, retrying with exponential backoff and jitter
// until it succeeds, the error is permanent, the retry budget is spent or
// ctx ends. Time spent waiting for an exporter that is not ready
// (exporter.ErrNotReady) does not count against the budget. seqs are the
// batch's sequence numbers in the spool (zero without one): the cursor
// moves to the last once the batch is exported or permanently refused.
// With a spool a batch is never dropped for a transient error: when the
// retries run out it goes back to the spool (see giveBack).
func (s *sink) deliver(ctx context.Context, batch []exporter.Record, seqs seqRange) {
	defer func() {
		s.mu.Lock()
		s.inflight = 0
		s.mu.Unlock()
	}()
	r := s.settings.retry
	wait := r.Initial
	giveUp := time.Now().Add(r.MaxElapsed)
	for {
		err := s.export(ctx, batch)
		if err == nil {
			s.metrics.exported.Add(context.Background(), int64(len(batch)), s.attrs)
			s.advance(seqs)
			return
		}
		s.metrics.failures.Add(context.Background(), 1, s.attrs)
		if errors.Is(err, exporter.ErrNotReady) && !errors.Is(err, exporter.ErrPermanent) {
			// A store still connecting in the background: the batch, and
			// the queue behind it, wait for it as long as it takes, up to
			// Shutdown; only what overflows the queue is dropped.
			giveUp = time.Now().Add(r.MaxElapsed)
		}
		if errors.Is(err, exporter.ErrPermanent) {
			s.metrics.drop(len(batch), DropExportFailed)
			s.log.Error("error tracker: export failed permanently, records dropped", "records", len(batch), "error", err)
			s.advance(seqs)
			return
		}
		if ctx.Err() != nil || time.Now().Add(wait).After(giveUp) {
			if seqs.first != 0 && s.spool != nil {
				s.giveBack(seqs.first)
				if ctx.Err() == nil {
					s.log.Error("error tracker: export failed, records kept in the spool; retrying from it", "records", len(batch), "error", err)
				}
				return
			}
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

// giveBack returns a batch whose retries ran out to the spool, which
// holds it: the cursor stays before its first record until that is
// exported, and the sink spills from there, so that once its queue is
// empty it reads the batch — and what followed — from the spool again,
// with a fresh retry budget. Records after it that the queue still holds
// are exported first and again from the spool (the store counts distinct
// ids; the mail policy claims its mails). At Shutdown, or a kill, the
// batch is the next start's.
func (s *sink) giveBack(first uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hold == 0 || first < s.hold {
		s.hold = first
	}
	if !s.spilled || first < s.spillFrom {
		s.spilled, s.spillFrom = true, first
	}
}

// advance moves the sink's cursor in the spool to the batch's last record,
// but not past a batch given back: a batch that contains that one clears
// it.
func (s *sink) advance(seqs seqRange) {
	if seqs.last == 0 || s.spool == nil {
		return
	}
	s.mu.Lock()
	if s.hold != 0 && seqs.first <= s.hold && s.hold <= seqs.last {
		s.hold = 0
	}
	to := seqs.last
	if s.hold != 0 {
		to = min(to, s.hold-1)
	}
	s.mu.Unlock()
	s.spool.SetCursor(s.cursor, to)
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

// drain is the first phase of shutdown: it stops the sink taking records
// and lets the worker export what is queued until ctx ends; then the
// worker gives up, even in the middle of an export or of a retry's
// backoff. It returns when the worker has stopped or ctx has ended,
// whichever comes first (grace gives a worker whose exporter honours ctx
// the moment it needs to return): an exporter that ignores its context
// can keep the worker past it.
func (s *sink) drain(ctx, grace context.Context) error {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	stopWatch := context.AfterFunc(ctx, s.cancel)
	defer stopWatch()
	s.stopOnce.Do(func() { close(s.stop) })
	select {
	case <-s.done:
		s.cancel()
		return ctx.Err()
	case <-grace.Done():
		return fmt.Errorf("the exporter did not return by the deadline: %w", ctx.Err())
	}
}

// shutdownExporter is the second phase: it shuts the exporter down,
// returning by ctx's deadline even if the exporter ignores ctx (its
// Shutdown then goes on in the background).
func (s *sink) shutdownExporter(ctx, grace context.Context) error {
	errc := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				errc <- fmt.Errorf("exporter's Shutdown panicked: %v", r)
			}
		}()
		errc <- s.exp.Shutdown(ctx)
	}()
	select {
	case err := <-errc:
		if ctxErr := ctx.Err(); ctxErr != nil && err == nil {
			err = ctxErr
		}
		return err
	case <-grace.Done():
		return fmt.Errorf("the exporter's Shutdown did not return by the deadline: %w", ctx.Err())
	}
}
