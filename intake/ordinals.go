package intake

import (
	"sync"

	"go.opentelemetry.io/otel/trace"
)

// maxOrdinals bounds one generation of Ordinals.
const maxOrdinals = 4096

// Ordinals counts exceptions per span and message across calls, for
// records built one by one — log records, which arrive apart from their
// span and from each other — so that the n-th with a message in a span
// gets the occurrence id of the span's n-th exception event with it. A
// logs/dup twin then shares its event's id, and a span that logs one
// error a hundred times, over several batches, counts a hundred. It keeps
// two generations of 4096 spans and messages: one whose last record is
// older than that starts counting afresh. The zero value is ready; it is
// safe for concurrent use.
type Ordinals struct {
	mu        sync.Mutex
	cur, prev map[ordinalKey]int
}

type ordinalKey struct {
	traceID trace.TraceID
	spanID  trace.SpanID
	message string
}

// ID returns the occurrence id of the next exception with this message in
// the span; with an invalid trace or span id, a random one.
func (o *Ordinals) ID(traceID trace.TraceID, spanID trace.SpanID, message string) string {
	if !traceID.IsValid() || !spanID.IsValid() {
		return RandomID()
	}
	k := ordinalKey{traceID, spanID, message}
	o.mu.Lock()
	n, ok := o.cur[k]
	if !ok {
		n, ok = o.prev[k]
	}
	if ok {
		n++
	}
	if o.cur == nil || len(o.cur) >= maxOrdinals {
		o.prev, o.cur = o.cur, make(map[ordinalKey]int)
	}
	o.cur[k] = n
	o.mu.Unlock()
	return OccurrenceID(traceID, spanID, message, n)
}
