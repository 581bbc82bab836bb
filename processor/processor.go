package processor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

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

	mu       sync.Mutex
	settings settings
	sinks    []*sink           // nil until initialised
	pending  []exporter.Record // records captured before Init
	shutdown sync.Once
	stopErr  error
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
	if p.sinks != nil {
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
	return nil
}

func (p *Processor) startSinks() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.startSinksLocked()
}

func (p *Processor) startSinksLocked() {
	p.sinks = make([]*sink, 0, len(p.settings.exporters))
	for _, e := range p.settings.exporters {
		p.sinks = append(p.sinks, newSink(e, p.completeRecords, p.settings, p.metrics, p.log))
	}
	if len(p.pending) > 0 {
		for _, s := range p.sinks {
			s.offer(p.pending)
		}
		p.pending = nil
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
		if d, changed := p.masker.String(status.Description); changed {
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
	p.mu.Lock()
	sinks := p.sinks
	if sinks == nil {
		room := p.settings.queueSize - len(p.pending)
		n := min(room, len(kept))
		p.pending = append(p.pending, kept[:n]...)
		p.mu.Unlock()
		p.metrics.drop(len(kept)-n, DropNotInit)
		return
	}
	p.mu.Unlock()
	for _, s := range sinks {
		s.offer(kept)
	}
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
	p.mu.Lock()
	sinks := p.sinks
	p.mu.Unlock()
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

// Shutdown stops accepting spans, exports what is queued within ctx's
// deadline (records left over are dropped and counted), shuts the exporters
// and the wrapped processors down. Calls after the first return the first
// call's result.
func (p *Processor) Shutdown(ctx context.Context) error {
	p.shutdown.Do(func() {
		// Log records still waiting for a span go out as they were logged.
		if parked := p.parking.takeAll(); len(parked) > 0 {
			p.deliver(parked)
		}
		p.stopped.Store(true)
		p.mu.Lock()
		sinks := p.sinks
		pending := len(p.pending)
		p.pending = nil
		p.mu.Unlock()
		p.metrics.drop(pending, DropShutdown)
		var errs []error
		var wg sync.WaitGroup
		errCh := make(chan error, len(sinks))
		for _, s := range sinks {
			wg.Go(func() {
				if err := s.shutdown(ctx); err != nil {
					errCh <- fmt.Errorf("processor: shut down %T: %w", s.exp, err)
				}
			})
		}
		wg.Wait()
		close(errCh)
		for err := range errCh {
			errs = append(errs, err)
		}
		for _, n := range p.next {
			if err := n.Shutdown(ctx); err != nil {
				errs = append(errs, err)
			}
		}
		p.stopErr = errors.Join(errs...)
	})
	return p.stopErr
}

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
