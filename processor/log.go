package processor

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/intake"
	"github.com/errortracker/errortracker/scope"
)

// LogProcessor returns an sdk/log processor that does for log records what
// p does for spans — semantic conventions now recommend recording
// exceptions as log records. Register it instead of the processors it wraps:
//
//	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(p.LogProcessor(sdklog.NewBatchProcessor(otlpLogs))))
//
// It masks every attribute and a string body in place, before the wrapped
// processors see the record (the SDK's processors copy it when they keep
// it), and turns a record that carries exception.type or exception.message
// into an exporter.Record with the same fingerprint as a span event with the
// same type, message and stack: both land in one group. The record's other
// attributes become the record's extras; a record with no message takes its
// body. It shares p's queues, exporters and Shutdown.
//
// A log record emitted in a live span waits for that span to end (bounded;
// the processor's Shutdown delivers what still waits): it then takes the
// span's final name and request data, and is left out when the span
// recorded the same exception — same group, same message — so an error
// that is both logged and captured counts once (dropped with reason
// "duplicate"). A record logged outside a span, or after its span ended,
// is delivered at once.
//
// The slog bridge (go.opentelemetry.io/contrib/bridges/otelslog) carries
// what the slog call gives it: log exception.type, exception.message and,
// for a stack, exception.stacktrace as attributes; an error passed as a
// plain attribute arrives as its text only.
func (p *Processor) LogProcessor(next ...sdklog.Processor) sdklog.Processor {
	return &logProcessor{p: p, next: next}
}

type logProcessor struct {
	p        *Processor
	next     []sdklog.Processor
	ordinals logOrdinals // ids of the records delivered at once
}

var _ sdklog.Processor = (*logProcessor)(nil)

// Enabled is true: an exception must reach the tracker even when the wrapped
// processors would not keep the record.
func (l *logProcessor) Enabled(context.Context, sdklog.EnabledParameters) bool { return true }

// OnEmit masks the record, queues its exception, and hands it on. It never
// blocks on I/O.
func (l *logProcessor) OnEmit(ctx context.Context, r *sdklog.Record) error {
	if l.p.stopped.Load() {
		return nil
	}
	attrs := make([]attribute.KeyValue, 0, r.AttributesLen())
	r.WalkAttributes(func(kv attribute.KeyValue) bool {
		attrs = append(attrs, kv)
		return true
	})
	masked, n := l.p.masker.Attributes(attrs)
	if n > 0 {
		r.SetAttributes(masked...)
	}
	body := r.Body()
	if body.Type() == attribute.STRING {
		if s, changed := l.p.masker.Value("log.body", body.AsString()); changed {
			body = attribute.StringValue(s)
			r.SetBody(body)
			n++
		}
	}
	if intake.IsException(masked) {
		_, resAttrs, nRes := l.p.maskResource(r.Resource())
		n += nRes
		// The record names no span; the span it was logged in, if any, is
		// where the exception happened, as for a span event.
		span := trace.SpanFromContext(ctx)
		var spanName string
		if s, ok := span.(sdktrace.ReadOnlySpan); ok && s.SpanContext().SpanID() == r.SpanID() {
			spanName = s.Name()
		}
		sc := newSpanContext(spanName, trace.NewSpanContext(trace.SpanContextConfig{TraceID: r.TraceID(), SpanID: r.SpanID()}), nil, resAttrs)
		at := r.Timestamp()
		if at.IsZero() {
			at = r.ObservedTimestamp()
		}
		rec, g := sc.newRecord(at, masked, bodyText(body))
		if l.p.fingerprint(&rec, g) {
			r.AddAttributes(scope.FingerprintKey.String(rec.Fingerprint))
		}
		// In a live span the record waits for the span's end: then it
		// takes the span's final name and request data, and is left out
		// when the span recorded the same exception (logged and captured).
		if !l.p.parking.park(span, r.SpanID(), parkedLog{at: at, attrs: masked, body: bodyText(body), resource: resAttrs, rec: rec}) {
			l.ordinals.setID(&rec)
			l.p.deliver([]exporter.Record{rec})
		}
	}
	if n > 0 {
		l.p.metrics.masked.Add(ctx, int64(n))
	}
	var errs []error
	for _, next := range l.next {
		errs = append(errs, next.OnEmit(ctx, r))
	}
	return errors.Join(errs...)
}

// bodyText is a string body, the message of a record that has none.
func bodyText(body attribute.Value) string {
	if body.Type() == attribute.STRING {
		return body.AsString()
	}
	return ""
}

// Shutdown exports what the tracker's queues hold (the records of the log
// records so far among them), within ctx, then shuts the wrapped
// processors down. The queues and the exporters belong to the span
// processor, which keeps running: shut the LoggerProvider down before the
// TracerProvider, whose Shutdown stops the processor and its exporters.
// Log records that wait for a span still running are delivered when it
// ends, or at the processor's Shutdown.
func (l *logProcessor) Shutdown(ctx context.Context) error {
	errs := []error{l.p.ForceFlush(ctx)}
	for _, next := range l.next {
		errs = append(errs, next.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

// ForceFlush flushes the tracker's queues and the wrapped processors.
func (l *logProcessor) ForceFlush(ctx context.Context) error {
	errs := []error{l.p.ForceFlush(ctx)}
	for _, next := range l.next {
		errs = append(errs, next.ForceFlush(ctx))
	}
	return errors.Join(errs...)
}
