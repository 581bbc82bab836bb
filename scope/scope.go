package scope

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// ExtraPrefix starts the attribute key of every extra: SetExtra("id", 1)
// puts extra.id=1 on spans. The processor reads extras back by this prefix.
const ExtraPrefix = "extra."

// Scope holds the extras of one unit of work, usually a request: the
// Python error-tracker's flask_scope. It is safe for concurrent use.
type Scope struct {
	span   trace.Span
	tracer trace.TracerProvider
	// warned is set once a capture in this scope, or in the scopes of the
	// same middleware, found nothing to record it: one warning, not one
	// a capture.
	warned *atomic.Bool

	mu     sync.Mutex
	extras []attribute.KeyValue // keys without ExtraPrefix, unique
}

type scopeKey struct{}

// New opens a scope in ctx. The scope inherits the extras of a scope that
// ctx already holds, and remembers the span current in ctx: extras set later
// go onto that span too.
func New(ctx context.Context, opts ...Option) (context.Context, *Scope) {
	return newScope(ctx, newConfig(opts))
}

func newScope(ctx context.Context, cfg config) (context.Context, *Scope) {
	s := &Scope{span: trace.SpanFromContext(ctx), tracer: cfg.tracerProvider, warned: cfg.warned}
	if parent := FromContext(ctx); parent != nil {
		s.extras = parent.Extras()
		if s.tracer == nil {
			s.tracer = parent.tracer
		}
		if s.warned == nil {
			s.warned = parent.warned
		}
	}
	if s.warned == nil {
		s.warned = new(atomic.Bool)
	}
	return context.WithValue(ctx, scopeKey{}, s), s
}

// FromContext returns the scope in ctx, or nil.
func FromContext(ctx context.Context) *Scope {
	s, _ := ctx.Value(scopeKey{}).(*Scope)
	return s
}

// SetExtra adds context to every exception captured in the scope, like the
// Python library's scope.set_extra. A second call with the same key replaces
// the value. Values of other types than string, bool, integers, floats and
// string slices are stored as fmt.Sprint text.
func (s *Scope) SetExtra(key string, value any) {
	v := toValue(value)
	s.mu.Lock()
	replaced := false
	for i := range s.extras {
		if string(s.extras[i].Key) == key {
			s.extras[i].Value = v
			replaced = true
			break
		}
	}
	if !replaced {
		s.extras = append(s.extras, attribute.KeyValue{Key: attribute.Key(key), Value: v})
	}
	s.mu.Unlock()
	if s.span.IsRecording() {
		s.span.SetAttributes(attribute.KeyValue{Key: attribute.Key(ExtraPrefix + key), Value: v})
	}
}

// Extras returns a copy of the extras, keyed without ExtraPrefix.
func (s *Scope) Extras() []attribute.KeyValue {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]attribute.KeyValue(nil), s.extras...)
}

// SpanAttributes returns the extras as span attributes, keyed with
// ExtraPrefix. The processor calls it when a span starts in the scope.
func (s *Scope) SpanAttributes() []attribute.KeyValue {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.extras) == 0 {
		return nil
	}
	out := make([]attribute.KeyValue, len(s.extras))
	for i, kv := range s.extras {
		out[i] = attribute.KeyValue{Key: attribute.Key(ExtraPrefix + string(kv.Key)), Value: kv.Value}
	}
	return out
}

// tracerProviders returns, best first, the providers that may record a
// span this package starts when the context has no recording span: the
// scope's (WithTracerProvider), the one that made the span in ctx (a
// request's span that has ended still knows its provider, so a background
// job started from a handler is recorded without a global provider), the
// one that made the scope's span, and the global one.
func tracerProviders(ctx context.Context) []trace.TracerProvider {
	tps := make([]trace.TracerProvider, 0, 4)
	add := func(tp trace.TracerProvider) {
		if tp == nil {
			return
		}
		for _, have := range tps {
			if have == tp {
				return
			}
		}
		tps = append(tps, tp)
	}
	s := FromContext(ctx)
	if s != nil {
		add(s.tracer)
	}
	if span := trace.SpanFromContext(ctx); span.SpanContext().IsValid() {
		add(span.TracerProvider())
	}
	if s != nil && s.span != nil && s.span.SpanContext().IsValid() {
		add(s.span.TracerProvider())
	}
	add(otel.GetTracerProvider())
	return tps
}

// tracerProvider returns the best of tracerProviders.
func tracerProvider(ctx context.Context) trace.TracerProvider {
	return tracerProviders(ctx)[0]
}

func toValue(v any) attribute.Value {
	switch v := v.(type) {
	case string:
		return attribute.StringValue(v)
	case bool:
		return attribute.BoolValue(v)
	case int:
		return attribute.IntValue(v)
	case int32:
		return attribute.Int64Value(int64(v))
	case int64:
		return attribute.Int64Value(v)
	case uint32:
		return attribute.Int64Value(int64(v))
	case float32:
		return attribute.Float64Value(float64(v))
	case float64:
		return attribute.Float64Value(v)
	case []string:
		return attribute.StringSliceValue(v)
	case attribute.Value:
		return v
	case fmt.Stringer:
		return attribute.StringValue(v.String())
	case nil:
		return attribute.StringValue("")
	}
	return attribute.StringValue(fmt.Sprint(v))
}
