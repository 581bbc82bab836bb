package processor

import (
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/errortracker/errortracker/exporter"
)

// maxParked bounds the log records held for spans that have not ended: a
// span that never ends (a leak) must not hold memory for ever. Past it, a
// log record is delivered at once, as if logged outside a span.
const maxParked = 4096

// parking holds the exception records of log records emitted in a live
// span of the provider this processor serves, until that span ends. Then
// each is built again with the span as it ended — its final name (otelhttp
// names a span by its route only after the handler), its request data —
// and dropped when the span recorded the same exception as an event: one
// error logged through slog and captured is one occurrence, not two.
type parking struct {
	// tp is the provider whose spans this processor sees end: only a log
	// record in one of its spans can wait for OnEnd.
	tp atomic.Pointer[sdktrace.TracerProvider]
	n  atomic.Int64 // records parked; OnEnd looks only when it is not zero

	mu     sync.Mutex
	spans  map[trace.SpanID][]parkedLog
	closed bool // set by takeAll: from Shutdown on, nothing waits
}

// parkedLog is what a parked log record's exception is built from again.
type parkedLog struct {
	at       time.Time
	attrs    []attribute.KeyValue // the log record's, masked
	body     string               // the message when the attributes have none
	resource []attribute.KeyValue // masked
	rec      exporter.Record      // as built at emit time, for a span that never ends
}

// seen remembers the provider of a starting span.
func (pk *parking) seen(s sdktrace.ReadWriteSpan) {
	if pk.tp.Load() != nil {
		return
	}
	if tp, ok := s.TracerProvider().(*sdktrace.TracerProvider); ok {
		pk.tp.CompareAndSwap(nil, tp)
	}
}

// park keeps l until the span ends, when span is a live span whose end
// this processor will see; it reports whether it did.
func (pk *parking) park(span trace.Span, spanID trace.SpanID, l parkedLog) bool {
	if !span.IsRecording() || span.SpanContext().SpanID() != spanID {
		return false
	}
	tp, ok := span.TracerProvider().(*sdktrace.TracerProvider)
	if !ok || tp != pk.tp.Load() {
		return false
	}
	pk.mu.Lock()
	defer pk.mu.Unlock()
	if pk.closed || pk.n.Load() >= maxParked {
		return false
	}
	if pk.spans == nil {
		pk.spans = make(map[trace.SpanID][]parkedLog)
	}
	// The span may have ended since IsRecording said yes, and its OnEnd
	// taken what waited already: checked again under the lock that take
	// needs, a record is either taken by OnEnd or not parked at all.
	if !span.IsRecording() {
		return false
	}
	pk.spans[spanID] = append(pk.spans[spanID], l)
	pk.n.Add(1)
	return true
}

// take removes and returns what waits for the span.
func (pk *parking) take(id trace.SpanID) []parkedLog {
	if pk.n.Load() == 0 {
		return nil
	}
	pk.mu.Lock()
	defer pk.mu.Unlock()
	logs := pk.spans[id]
	if logs != nil {
		delete(pk.spans, id)
		pk.n.Add(-int64(len(logs)))
	}
	return logs
}

// takeAll removes and returns every record parked, as built at emit time,
// and parks nothing after: a record logged while the processor shuts down
// is delivered (or counted as dropped) at once, not left waiting.
func (pk *parking) takeAll() []exporter.Record {
	pk.mu.Lock()
	defer pk.mu.Unlock()
	pk.closed = true
	var recs []exporter.Record
	for id, logs := range pk.spans {
		for _, l := range logs {
			recs = append(recs, l.rec)
		}
		delete(pk.spans, id)
	}
	pk.n.Store(0)
	return recs
}

// unpark adds to records, the records of the span's exception events, the
// records of the log records that waited for the span, built with the
// masked span's name and attributes; a log record whose exception the
// span already holds (same group, same message) is counted as a duplicate
// and left out.
func (p *Processor) unpark(s sdktrace.ReadOnlySpan, masked sdktrace.ReadOnlySpan, records []exporter.Record) []exporter.Record {
	logs := p.parking.take(s.SpanContext().SpanID())
	if logs == nil {
		return records
	}
	attrs := masked.Attributes()
	// One context for the span's log records: the n-th with a message gets
	// the id of the span's n-th exception event with it (package intake).
	var sc *spanContext
	for _, l := range logs {
		if sc == nil {
			sc = newSpanContext(masked.Name(), s.SpanContext(), attrs, l.resource)
		}
		rec, g := sc.newRecord(l.at, l.attrs, l.body)
		p.fingerprint(&rec, g)
		if duplicate(rec, records) {
			p.metrics.drop(1, DropDuplicate)
			continue
		}
		records = append(records, rec)
	}
	return records
}

// duplicate reports whether records hold the same exception as r: the same
// group and the same message. The type is not compared: span.RecordError
// writes the outermost wrapper where package scope writes the meaningful
// type.
func duplicate(r exporter.Record, records []exporter.Record) bool {
	for i := range records {
		if records[i].Fingerprint == r.Fingerprint && records[i].Message == r.Message {
			return true
		}
	}
	return false
}
