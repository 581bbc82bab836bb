package processor

import (
	"sync"

	"go.opentelemetry.io/otel/trace"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/intake"
)

// maxOrdinals bounds one generation of logOrdinals.
const maxOrdinals = 4096

// logOrdinals counts the exceptions of the log records that are delivered
// at once (logged after their span ended, or in a span this processor does
// not see end), per span and message, so that the n-th of them gets the
// occurrence id of the span's n-th exception with that message
// (intake.OccurrenceID): a logs/dup twin shares its span event's id, and
// a span that logs the same error a hundred times counts a hundred. It
// keeps two generations of maxOrdinals entries: a span whose last such log
// record is older than that starts counting afresh.
type logOrdinals struct {
	mu        sync.Mutex
	cur, prev map[ordinalKey]int
}

type ordinalKey struct {
	traceID trace.TraceID
	spanID  trace.SpanID
	message string
}

// setID gives rec, delivered at once, its occurrence id.
func (o *logOrdinals) setID(rec *exporter.Record) {
	if !rec.TraceID.IsValid() || !rec.SpanID.IsValid() {
		return // a random id already: no span, no twin
	}
	k := ordinalKey{rec.TraceID, rec.SpanID, rec.Message}
	o.mu.Lock()
	n, ok := o.cur[k]
	if !ok {
		if p, inPrev := o.prev[k]; inPrev {
			n, ok = p, true
		}
	}
	if ok {
		n++
	}
	if o.cur == nil || len(o.cur) >= maxOrdinals {
		o.prev, o.cur = o.cur, make(map[ordinalKey]int)
	}
	o.cur[k] = n
	o.mu.Unlock()
	rec.ID = intake.OccurrenceID(rec.TraceID, rec.SpanID, rec.Message, n)
}
