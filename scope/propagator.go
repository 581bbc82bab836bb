package scope

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
)

// W3C limits on baggage (https://www.w3.org/TR/baggage/#limits).
const (
	maxBaggageMembers = 64
	maxBaggageBytes   = 8192
)

// Masker masks an attribute; *maskattr.Masker implements it.
type Masker interface {
	KeyValue(attribute.KeyValue) (attribute.KeyValue, bool)
}

// Propagator is a propagation.TextMapPropagator that sends the extras of
// the scope in the context to downstream services as W3C baggage, together
// with the baggage the context already holds. Unlike the standard baggage
// propagator it sees extras set after the context was made, since it reads
// the live scope at injection time.
//
// Baggage leaves the process in clear text: every value goes through the
// masker first, and members that would break the W3C limits (64 members,
// 8192 bytes) are left out. Extract is the standard baggage extraction; the
// processor treats what it extracts as untrusted.
type Propagator struct {
	masker Masker
}

var _ propagation.TextMapPropagator = Propagator{}

// NewPropagator returns a Propagator that masks with m. With a nil masker it
// injects no extras, only the context's baggage.
func NewPropagator(m Masker) Propagator {
	return Propagator{masker: m}
}

// Inject sets the baggage header from the context's baggage and the extras
// of its scope; an extra replaces a baggage member with the same key.
func (p Propagator) Inject(ctx context.Context, carrier propagation.TextMapCarrier) {
	if s := FromContext(ctx); s != nil && p.masker != nil {
		b := baggage.FromContext(ctx)
		for _, kv := range s.Extras() {
			kv, _ = p.masker.KeyValue(kv)
			m, err := baggage.NewMemberRaw(string(kv.Key), kv.Value.Emit())
			if err != nil {
				continue
			}
			next, err := b.SetMember(m)
			if err != nil || next.Len() > maxBaggageMembers || len(next.String()) > maxBaggageBytes {
				continue
			}
			b = next
		}
		ctx = baggage.ContextWithBaggage(ctx, b)
	}
	propagation.Baggage{}.Inject(ctx, carrier)
}

// Extract reads the baggage header into the context.
func (p Propagator) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	return propagation.Baggage{}.Extract(ctx, carrier)
}

// Fields returns the header this propagator sets: baggage.
func (p Propagator) Fields() []string {
	return propagation.Baggage{}.Fields()
}
