package errortrackerexporter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	etexporter "github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/exporter/smtp"
	"github.com/errortracker/errortracker/grouping"
	"github.com/errortracker/errortracker/intake"
	"github.com/errortracker/errortracker/maskattr"
	"github.com/errortracker/errortracker/notify"
	"github.com/errortracker/errortracker/notify/setup"
	"github.com/errortracker/errortracker/otelcol-config/errortrackerexporter/internal/otlpattr"
	"github.com/errortracker/errortracker/processor"
)

// StoreOwner is what the extension named by Config.Store provides: the
// store it owns (the browse extension's *clickhouse.Exporter).
type StoreOwner interface {
	component.Component
	// Store returns the store, which the owner shuts down.
	Store() StoreExporter
}

// StoreExporter is a store that records can be exported to.
type StoreExporter interface {
	etexporter.Exporter
	etexporter.Store
}

// tracker is the shared state of the traces and logs exporters of one
// component ID.
type tracker struct {
	cfg *Config
	set exporter.Settings
	log *slog.Logger

	// ordinals number the log records per span and message across
	// batches, for their occurrence ids.
	ordinals intake.Ordinals

	mu      sync.Mutex
	p       *processor.Processor // nil until started
	masker  *maskattr.Masker
	grouper *grouping.Grouper
}

func newTracker(set exporter.Settings, cfg *Config) *tracker {
	return &tracker{cfg: cfg, set: set, log: slog.Default()}
}

// start finds the store and builds the processor whose queues deliver to
// the store and the mail.
func (t *tracker) start(_ context.Context, host component.Host) error {
	ext, ok := host.GetExtensions()[t.cfg.Store]
	if !ok {
		return fmt.Errorf("errortracker: no extension %q: add it to service.extensions (it owns the store)", t.cfg.Store)
	}
	owner, ok := ext.(StoreOwner)
	if !ok {
		return fmt.Errorf("errortracker: extension %q does not own an error store (want an %s extension)", t.cfg.Store, BrowseType)
	}
	store := owner.Store()
	if store == nil {
		return fmt.Errorf("errortracker: extension %q has no store (not started)", t.cfg.Store)
	}
	pc := t.cfg.processorConfig()
	opts := []processor.Option{
		// The extension shuts the store down, after the pipelines.
		processor.WithExporter(unowned{store}),
		processor.WithLogger(t.log),
		processor.WithMeterProvider(t.set.MeterProvider),
	}
	if t.cfg.QueueSize > 0 {
		opts = append(opts, processor.WithQueueSize(t.cfg.QueueSize))
	}
	if pc.SendNotification {
		tls := smtp.TLSStartTLS
		if host, _, _ := net.SplitHostPort(t.cfg.SMTP.Addr); host == "127.0.0.1" || host == "localhost" || host == "::1" {
			tls = smtp.TLSNone
		}
		if t.cfg.SMTP.TLS != "" {
			if err := tls.UnmarshalText([]byte(t.cfg.SMTP.TLS)); err != nil {
				return fmt.Errorf("errortracker: smtp.tls: %w", err)
			}
		}
		mailOpt, _, err := setup.ProcessorOption(pc, setup.Config{
			SMTP:   smtp.Config{Addr: t.cfg.SMTP.Addr, Username: t.cfg.SMTP.Username, Password: string(t.cfg.SMTP.Password), TLS: tls},
			Policy: notify.Config{Store: store, BaseURL: t.cfg.BrowseURL},
		})
		if err != nil {
			return fmt.Errorf("errortracker: notifications: %w", err)
		}
		opts = append(opts, mailOpt)
	}
	p, err := processor.New(pc, opts...)
	if err != nil {
		return fmt.Errorf("errortracker: %w", err)
	}
	grouper, err := grouping.New(t.cfg.groupingConfig())
	if err != nil {
		return errors.Join(fmt.Errorf("errortracker: %w", err), p.Shutdown(context.Background()))
	}
	t.mu.Lock()
	t.p, t.masker, t.grouper = p, p.Masker(), grouper
	t.mu.Unlock()
	return nil
}

// shutdown delivers what the queues hold, within ctx.
func (t *tracker) shutdown(ctx context.Context) error {
	t.mu.Lock()
	p := t.p
	t.p = nil
	t.mu.Unlock()
	if p == nil {
		return nil
	}
	return p.Shutdown(ctx)
}

func (t *tracker) parts() (*processor.Processor, *maskattr.Masker, *grouping.Grouper) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.p, t.masker, t.grouper
}

// consumeTraces turns the exception events of the spans into records. A
// span without one costs a look at its events' names.
func (t *tracker) consumeTraces(_ context.Context, td ptrace.Traces) error {
	p, masker, grouper := t.parts()
	if p == nil {
		return nil
	}
	var records []etexporter.Record
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		var resource []attribute.KeyValue
		resourceDone := false
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				span := spans.At(k)
				events := span.Events()
				var c *intake.Context
				for e := 0; e < events.Len(); e++ {
					ev := events.At(e)
					if ev.Name() != semconv.ExceptionEventName {
						continue
					}
					if c == nil {
						if !resourceDone {
							resource, _ = masker.Attributes(otlpattr.Attributes(rs.Resource().Attributes()))
							resourceDone = true
						}
						attrs, _ := masker.Attributes(otlpattr.Attributes(span.Attributes()))
						c = intake.NewContext(intake.Span{Name: span.Name(), TraceID: trace.TraceID(span.TraceID()),
							SpanID: trace.SpanID(span.SpanID()), Attributes: attrs, Resource: resource})
					}
					attrs, _ := masker.Attributes(otlpattr.Attributes(ev.Attributes()))
					rec, g := c.Record(intake.Exception{Time: ev.Timestamp().AsTime(), Attributes: attrs})
					intake.Fingerprint(grouper, &rec, g)
					records = append(records, rec)
				}
			}
		}
	}
	p.Deliver(records)
	return nil
}

// consumeLogs turns the log records that carry exception.type or
// exception.message into records. The n-th log record with a message in a
// span, over all batches this instance receives, gets the id of the span's
// n-th exception event with it (intake.Ordinals).
func (t *tracker) consumeLogs(_ context.Context, ld plog.Logs) error {
	p, masker, grouper := t.parts()
	if p == nil {
		return nil
	}
	var records []etexporter.Record
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		var resource []attribute.KeyValue
		resourceDone := false
		var contexts map[[24]byte]*intake.Context
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				if !isException(lr.Attributes()) {
					continue
				}
				if !resourceDone {
					resource, _ = masker.Attributes(otlpattr.Attributes(rl.Resource().Attributes()))
					resourceDone = true
				}
				var key [24]byte
				tid, sid := lr.TraceID(), lr.SpanID()
				copy(key[:16], tid[:])
				copy(key[16:], sid[:])
				c := contexts[key]
				if c == nil {
					c = intake.NewContext(intake.Span{TraceID: trace.TraceID(tid), SpanID: trace.SpanID(sid), Resource: resource})
					if contexts == nil {
						contexts = make(map[[24]byte]*intake.Context)
					}
					contexts[key] = c
				}
				attrs, _ := masker.Attributes(otlpattr.Attributes(lr.Attributes()))
				body := ""
				if lr.Body().Type() == pcommon.ValueTypeStr {
					body, _ = masker.String(lr.Body().Str())
				}
				at := lr.Timestamp().AsTime()
				if lr.Timestamp() == 0 {
					at = lr.ObservedTimestamp().AsTime()
				}
				rec, g := c.Record(intake.Exception{Time: at, Attributes: attrs, Body: body})
				if rec.TraceID.IsValid() && rec.SpanID.IsValid() {
					rec.ID = t.ordinals.ID(rec.TraceID, rec.SpanID, rec.Message)
				}
				intake.Fingerprint(grouper, &rec, g)
				records = append(records, rec)
			}
		}
	}
	p.Deliver(records)
	return nil
}

func isException(m pcommon.Map) bool {
	_, typ := m.Get(string(semconv.ExceptionTypeKey))
	_, msg := m.Get(string(semconv.ExceptionMessageKey))
	return typ || msg
}

// unowned is the store as the processor sees it: the processor exports to
// it and flushes it, but the extension shuts it down.
type unowned struct{ StoreExporter }

func (unowned) Shutdown(context.Context) error { return nil }
