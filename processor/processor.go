package processor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/grouping"
	"github.com/errortracker/errortracker/intake"
	"github.com/errortracker/errortracker/maskattr"
	"github.com/errortracker/errortracker/processor/internal/spool"
	"github.com/errortracker/errortracker/scope"
)

// ErrAlreadyInitialised is returned by Init on a processor that already has
// its exporters, like the Python library's ConfigError.
var ErrAlreadyInitialised = errors.New("processor: already initialised")

var _ sdktrace.SpanProcessor = (*Processor)(nil)

// Processor is the error tracker's span processor. Build it with [New]. All
// its methods are safe for concurrent use.
type Processor struct {
	cfg         Config
	masker      *maskattr.Masker
	next        []sdktrace.SpanProcessor
	filters     []Filter
	baggageKeys map[string]bool
	grouper     *grouping.Grouper
	metrics     *metrics
	log         *slog.Logger
	resource    atomic.Pointer[maskedResource]
	stopped     atomic.Bool
	parking     parking // log records waiting for their span to end

	// sinks is read lock-free on the delivery path: nil until initialised,
	// set once.
	sinks atomic.Pointer[[]*sink]
	spool *spool.Spool // nil without one; set with sinks, under mu

	crash        atomic.Pointer[crashCapture] // nil unless WithCrashCapture
	crashStarted atomic.Bool

	mu           sync.Mutex
	settings     settings
	pending      []exporter.Record // records captured before Init
	pendingBytes int64
	shutdown     sync.Once
	stopErr      error
}

// maskedResource caches the masked copy of the last resource seen: a
// TracerProvider has one resource, so masking it once per process is enough.
type maskedResource struct {
	in, out *resource.Resource
	attrs   []attribute.KeyValue
}

// New builds a processor from the configuration and options. It reports
// every configuration error at once. Records are delivered as soon as an
// exporter is given with WithExporter; without one they are kept (up to the
// queue size) until [Processor.Init].
func New(cfg Config, opts ...Option) (*Processor, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("processor: invalid configuration: %w", err)
	}
	masker, err := maskattr.New(cfg.maskRules())
	if err != nil {
		return nil, fmt.Errorf("processor: %w", err)
	}
	s := newSettings(opts)
	if s.spool.Dir == "" && cfg.SpoolDir != "" {
		s.spool = SpoolConfig{Dir: cfg.SpoolDir, MaxBytes: cfg.SpoolMaxBytes}
	}
	grouper, err := grouping.New(grouping.Config{AppPackages: s.appPackages, Rules: s.groupingRules})
	if err != nil {
		return nil, fmt.Errorf("processor: %w", err)
	}
	m, err := newMetrics(s.meterProvider)
	if err != nil {
		return nil, err
	}
	p := &Processor{
		cfg:      cfg,
		masker:   masker,
		next:     s.next,
		grouper:  grouper,
		metrics:  m,
		log:      s.logger,
		settings: s,
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	if !s.noDefaultFilt {
		p.filters = append(p.filters, IgnoreCanceled, IgnoreAbortHandler)
	}
	p.filters = append(p.filters, s.filters...)
	if len(s.baggageKeys) > 0 {
		p.baggageKeys = make(map[string]bool, len(s.baggageKeys))
		for _, k := range s.baggageKeys {
			p.baggageKeys[k] = true
		}
	}
	if len(s.exporters) > 0 {
		p.startSinks()
	}
	// After the sinks: a crash a dead process left goes to them (or waits
	// for Init).
	p.startCrashOnce(s.crashDir)
	return p, nil
}

// Init attaches exporters to a processor built without them, the Python
// library's lazy init_app, and delivers the records captured meanwhile. It
// takes WithExporter and the delivery options; options that shape spans
// (WithNext, filters, baggage, app packages) belong to New. It returns
// ErrAlreadyInitialised when the processor already has exporters.
func (p *Processor) Init(opts ...Option) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sinks.Load() != nil {
		return ErrAlreadyInitialised
	}
	if p.stopped.Load() {
		return errors.New("processor: Init after Shutdown")
	}
	s := p.settings.with(opts)
	if len(s.next) != len(p.settings.next) || len(s.filters) != len(p.settings.filters) ||
		len(s.baggageKeys) != len(p.settings.baggageKeys) || len(s.appPackages) != len(p.settings.appPackages) ||
		len(s.groupingRules) != len(p.settings.groupingRules) {
		return errors.New("processor: Init takes exporters and delivery options only; give span options to New")
	}
	if len(s.exporters) == 0 {
		return errors.New("processor: Init needs at least one WithExporter")
	}
	p.settings = s
	p.startSinksLocked()
	p.startCrashOnce(s.crashDir) // its record finds the sinks: p.mu is not taken again
	return nil
}

func (p *Processor) startSinks() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.startSinksLocked()
}

func (p *Processor) startSinksLocked() {
	names := sinkNames(p.settings.exporters)
	p.spool = p.openSpool(names)
	sinks := make([]*sink, 0, len(p.settings.exporters))
	for i, e := range p.settings.exporters {
		sinks = append(sinks, newSink(e, names[i], p.completeRecords, p.settings, p.metrics, p.log, p.spool, i))
	}
	p.sinks.Store(&sinks)
	if len(p.pending) > 0 {
		p.offer(sinks, p.pending)
		p.pending, p.pendingBytes = nil, 0
	}
}

// openSpool opens the configured spool, or returns nil: without one, when
// another process holds it past the lock timeout, or when it cannot be
// opened. None of these stops the app: it runs on memory alone and says
// so in its log.
func (p *Processor) openSpool(names []string) *spool.Spool {
	c := p.settings.spool
	if c.Dir == "" {
		return nil
	}
	sp, err := spool.Open(spool.Config{
		Dir: c.Dir, MaxBytes: c.MaxBytes, LockTimeout: c.LockTimeout, CommitInterval: c.CommitInterval,
		Names: names, Drop: p.metrics.drop, Log: p.log, MaxPendingBytes: p.settings.queueBytes,
	})
	if err != nil {
		p.log.Error("error tracker: running without the disk spool, on memory alone", "dir", c.Dir, "error", err)
		return nil
	}
	return sp
}

// offer numbers records in the spool, when there is one, and queues them
// for every exporter. The spool calls back under its lock, so that every
// sink sees the records in the order of their numbers.
func (p *Processor) offer(sinks []*sink, recs []exporter.Record) {
	if p.spool == nil {
		for _, s := range sinks {
			s.offer(recs, 0)
		}
		return
	}
	if !p.spool.Add(recs, func(first uint64) {
		for _, s := range sinks {
			s.offer(recs, first)
		}
	}) {
		p.metrics.drop(len(recs), DropNotSpooled)
	}
}

// Masker returns the masker built from the configuration, for other parts
// that must mask the same way (the baggage propagator, the mail exporter).
func (p *Processor) Masker() *maskattr.Masker { return p.masker }

// Config returns the configuration with defaults applied.
func (p *Processor) Config() Config { return p.cfg }

// Propagator returns a propagator that sends the extras of the scope in the
// context downstream as W3C baggage, masked by this processor's rules. Using
// it is opt-in: baggage leaves the process (see package scope).
func (p *Processor) Propagator() propagation.TextMapPropagator {
	return scope.NewPropagator(p.masker)
}

// OnStart copies the extras of the scope in the parent context onto the
// span, and the allowed members of incoming baggage, then calls the wrapped
// processors. It does not block.
func (p *Processor) OnStart(parent context.Context, s sdktrace.ReadWriteSpan) {
	p.parking.seen(s)
	if sc := scope.FromContext(parent); sc != nil {
		if attrs := sc.SpanAttributes(); len(attrs) > 0 {
			s.SetAttributes(attrs...)
		}
	}
	if p.baggageKeys != nil {
		for _, m := range baggage.FromContext(parent).Members() {
			if p.baggageKeys[m.Key()] {
				s.SetAttributes(attribute.String(scope.ExtraPrefix+m.Key(), m.Value()))
			}
		}
	}
	for _, n := range p.next {
		n.OnStart(parent, s)
	}
}

// OnEnd masks the span once, hands the masked copy to every wrapped
// processor, and queues a record for each exception event. It never blocks
// on I/O: records that do not fit in a queue are dropped and counted. A span
// with nothing to mask and no exception passes through without allocating.
func (p *Processor) OnEnd(s sdktrace.ReadOnlySpan) {
	if p.stopped.Load() {
		return
	}
	masked, records := p.mask(s)
	for _, n := range p.next {
		n.OnEnd(masked)
	}
	records = p.unpark(s, masked, records)
	if len(records) > 0 {
		p.deliver(records)
	}
}

// mask returns the masked span (s itself when nothing changed) and the
// records of its exception events.
func (p *Processor) mask(s sdktrace.ReadOnlySpan) (sdktrace.ReadOnlySpan, []exporter.Record) {
	attrs, nAttrs := p.masker.Attributes(s.Attributes())
	events, nEvents := p.masker.Events(s.Events())
	links, nLinks := p.masker.Links(s.Links())
	status := s.Status()
	nStatus := 0
	if status.Description != "" {
		if d, changed := p.masker.Value("otel.status_description", status.Description); changed {
			status.Description, nStatus = d, 1
		}
	}
	res, resAttrs, nRes := p.maskResource(s.Resource())

	var records []exporter.Record
	var sc *spanContext
	var withFingerprint []attribute.KeyValue // the exception events' new attributes, allocated once per span
	for i := range events {
		if events[i].Name != semconv.ExceptionEventName {
			continue
		}
		if sc == nil {
			if nEvents == 0 {
				// Adding the fingerprint must not write into the SDK's slice.
				events = append([]sdktrace.Event(nil), events...)
			}
			if resAttrs == nil && res != nil {
				resAttrs = res.Attributes()
			}
			sc = newSpanContext(s.Name(), s.SpanContext(), attrs, resAttrs)
			n, nAttrs := countExceptions(events[i:])
			records = make([]exporter.Record, 0, n)
			withFingerprint = make([]attribute.KeyValue, 0, nAttrs+n)
		}
		rec, g := sc.newRecord(events[i].Time, events[i].Attributes, "")
		if p.fingerprint(&rec, g) {
			ev := events[i]
			start := len(withFingerprint)
			withFingerprint = append(append(withFingerprint, ev.Attributes...), scope.FingerprintKey.String(rec.Fingerprint))
			ev.Attributes = withFingerprint[start:len(withFingerprint):len(withFingerprint)]
			events[i] = ev
		}
		records = append(records, rec)
	}

	if n := nAttrs + nEvents + nLinks + nStatus + nRes; n > 0 {
		p.metrics.masked.Add(context.Background(), int64(n))
	}
	if nAttrs+nEvents+nLinks+nStatus == 0 && res == s.Resource() && records == nil {
		return s, nil
	}
	return &maskedSpan{ReadOnlySpan: s, attrs: attrs, events: events, links: links, status: status, resource: res}, records
}

// countExceptions counts the exception events and their attributes, so
// that a span that records many allocates its records and their events'
// attributes once.
func countExceptions(events []sdktrace.Event) (n, attrs int) {
	for i := range events {
		if events[i].Name == semconv.ExceptionEventName {
			n++
			attrs += len(events[i].Attributes)
		}
	}
	return n, attrs
}

// fingerprint sets the record's fingerprint unless the caller set one, and
// reports whether it did.
func (p *Processor) fingerprint(r *exporter.Record, g grouping.Exception) bool {
	return intake.Fingerprint(p.grouper, r, g)
}

// completeRecords gives records the fingerprints of the previous versions,
// which only exporters read: each sink's goroutine computes them before
// export, so that span.End() does not pay for them.
func (p *Processor) completeRecords(batch []exporter.Record) {
	intake.Complete(p.grouper, batch)
}

// maskResource returns the masked resource, its attributes, and how many
// values were masked the first time this resource was seen (zero after).
func (p *Processor) maskResource(r *resource.Resource) (*resource.Resource, []attribute.KeyValue, int) {
	if r == nil {
		return nil, nil, 0
	}
	if c := p.resource.Load(); c != nil && c.in == r {
		return c.out, c.attrs, 0 // counted when first masked
	}
	attrs, n := p.masker.Attributes(r.Attributes())
	out := r
	if n > 0 {
		out = resource.NewWithAttributes(r.SchemaURL(), attrs...)
	}
	p.resource.Store(&maskedResource{in: r, out: out, attrs: attrs})
	p.noteCrashResource(attrs)
	return out, attrs, n
}

// deliver filters records and offers them to every exporter's queue, or to
// the buffer that waits for Init.
func (p *Processor) deliver(records []exporter.Record) {
	kept := records[:0]
	for _, r := range records {
		if p.filtered(r) {
			p.metrics.drop(1, DropFiltered)
			continue
		}
		kept = append(kept, r)
	}
	if len(kept) == 0 {
		return
	}
	p.metrics.captured.Add(context.Background(), int64(len(kept)))
	if sinks := p.sinks.Load(); sinks != nil {
		p.offer(*sinks, kept)
		return
	}
	p.mu.Lock()
	if sinks := p.sinks.Load(); sinks != nil { // Init ran meanwhile
		p.mu.Unlock()
		p.offer(*sinks, kept)
		return
	}
	n := 0
	for i := range kept {
		size := recordSize(&kept[i])
		if len(p.pending) >= p.settings.queueSize || p.pendingBytes+size > p.settings.queueBytes {
			break
		}
		p.pending = append(p.pending, kept[i])
		p.pendingBytes += size
		n++
	}
	p.mu.Unlock()
	p.metrics.drop(len(kept)-n, DropNotInit)
}

// loadSinks returns the sinks, nil before Init.
func (p *Processor) loadSinks() []*sink {
	if s := p.sinks.Load(); s != nil {
		return *s
	}
	return nil
}

func (p *Processor) filtered(r exporter.Record) bool {
	for _, f := range p.filters {
		if f(r) {
			return true
		}
	}
	return false
}

// ForceFlush exports every record queued before the call and flushes the
// wrapped processors, within ctx's deadline.
func (p *Processor) ForceFlush(ctx context.Context) error {
	sinks := p.loadSinks()
	var errs []error
	for _, s := range sinks {
		if err := s.forceFlush(ctx); err != nil {
			errs = append(errs, fmt.Errorf("processor: flush %T: %w", s.exp, err))
		}
	}
	for _, n := range p.next {
		if err := n.ForceFlush(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Shutdown stops accepting spans and returns by ctx's deadline (plus a
// grace of 20 ms for workers and exporters that honour ctx to return), in
// two phases. First it drains: every exporter's worker exports what is queued
// (and, with a spool, what the spool holds for it) until ctx ends; then it
// gives up, even in the middle of an export or a retry's backoff. Second,
// once every worker has stopped, it shuts the exporters down — those that
// are not an exporter.Store first, then the stores — so that a store
// shared by several of them (the ClickHouse store, which the mail policy
// reads and claims its mails in) outlives the last one that uses it; then
// the spool is closed and the wrapped processors are shut down.
//
// Without a spool, records left over are dropped and counted; with one
// they stay in it for the next start. An exporter that ignores ctx can
// keep its worker past the deadline: Shutdown still returns then, with an
// error, and leaves running only that worker and, behind it, the
// exporters' Shutdown calls and the spool's Close, which happen when it
// returns — never while it is still exporting. Calls after the first
// return the first call's result.
func (p *Processor) Shutdown(ctx context.Context) error {
	p.shutdown.Do(func() {
		// Log records still waiting for a span go out as they were logged.
		if parked := p.parking.takeAll(); len(parked) > 0 {
			p.deliver(parked)
		}
		p.stopped.Store(true)
		p.mu.Lock()
		pending := len(p.pending)
		p.pending, p.pendingBytes = nil, 0
		p.mu.Unlock()
		sinks := p.loadSinks()
		p.metrics.drop(pending, DropShutdown)
		var errs []error
		var mu sync.Mutex
		addErr := func(err error) {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
		grace, cancelGrace := withGrace(ctx, shutdownGrace)
		defer cancelGrace()
		// Phase one: drain every queue.
		var drained sync.WaitGroup
		for _, s := range sinks {
			drained.Go(func() {
				if err := s.drain(ctx, grace); err != nil {
					addErr(fmt.Errorf("processor: drain %s: %w", s.name, err))
				}
			})
		}
		drained.Wait()
		// Phase two: once every worker has stopped, shut the exporters.
		allDone := make(chan struct{})
		go func() {
			for _, s := range sinks {
				<-s.done
			}
			close(allDone)
		}()
		finish := func(ctx, grace context.Context) {
			// Stores last: the mail policy reads the store (and claims its
			// mails in it) until its own Shutdown has sent the digest.
			for _, stores := range []bool{false, true} {
				var wg sync.WaitGroup
				for _, s := range sinks {
					if _, isStore := s.exp.(exporter.Store); isStore != stores {
						continue
					}
					wg.Go(func() {
						if err := s.shutdownExporter(ctx, grace); err != nil {
							addErr(fmt.Errorf("processor: shut down %s: %w", s.name, err))
						}
					})
				}
				wg.Wait()
			}
			if p.spool != nil {
				if err := p.spool.Close(); err != nil {
					addErr(fmt.Errorf("processor: close the spool: %w", err))
				}
			}
		}
		select {
		case <-allDone:
			finish(ctx, grace)
		case <-grace.Done():
			// A worker is stuck in an exporter that ignores ctx. Shut the
			// exporters down when it returns, with a short deadline of
			// their own; until then nothing closes what it uses.
			go func() {
				<-allDone
				late, cancel := context.WithTimeout(context.Background(), lateShutdownTimeout)
				defer cancel()
				finish(late, late)
			}()
		}
		for _, n := range p.next {
			if err := n.Shutdown(ctx); err != nil {
				addErr(err)
			}
		}
		p.stopCrashCapture() // a clean stop: nothing crashed
		mu.Lock()
		p.stopErr = errors.Join(errs...)
		mu.Unlock()
	})
	return p.stopErr
}

// shutdownGrace is how long past its deadline Shutdown waits for workers
// and exporters that honour ctx to notice it and return: they need a
// moment, an exporter that ignores ctx gets no more than that.
const shutdownGrace = 20 * time.Millisecond

// withGrace returns a context that ends grace after ctx does.
func withGrace(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	g, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(grace, cancel)
		context.AfterFunc(g, func() { t.Stop() })
	})
	return g, func() { stop(); cancel() }
}

// lateShutdownTimeout bounds the exporters' Shutdown when it runs after
// Shutdown's deadline, behind a worker that returned late.
const lateShutdownTimeout = 5 * time.Second

// maskedSpan is the masked copy of a span that wrapped processors receive.
// Embedding the SDK's ReadOnlySpan keeps every other method, and the
// interface's private method, as they were.
type maskedSpan struct {
	sdktrace.ReadOnlySpan
	attrs    []attribute.KeyValue
	events   []sdktrace.Event
	links    []sdktrace.Link
	status   sdktrace.Status
	resource *resource.Resource
}

func (s *maskedSpan) Attributes() []attribute.KeyValue { return s.attrs }
func (s *maskedSpan) Events() []sdktrace.Event         { return s.events }
func (s *maskedSpan) Links() []sdktrace.Link           { return s.links }
func (s *maskedSpan) Status() sdktrace.Status          { return s.status }
func (s *maskedSpan) Resource() *resource.Resource     { return s.resource }
