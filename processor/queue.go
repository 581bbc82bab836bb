package processor

import (
	"unsafe"

	"go.opentelemetry.io/otel/attribute"

	"github.com/errortracker/errortracker/exporter"
)

// queueChunk is how many records one chunk of a queue holds. Growing a
// single slice would allocate and copy the whole backlog at each growth —
// tens of megabytes during a store outage, on the goroutine that ended a
// span, which then also pays the garbage collector's assist for it. Chunks
// keep every allocation small.
const queueChunk = 256

// queued is one record in a queue, with its sequence number in the spool
// (0 without one) and its size as recordSize counts it.
type queued struct {
	rec  exporter.Record
	seq  uint64
	size int64
}

// recordQueue is a FIFO of records in fixed-size chunks that counts their
// bytes. It is not safe for concurrent use; the sink guards it.
type recordQueue struct {
	chunks [][]queued
	len    int
	bytes  int64
	spare  []queued // an emptied chunk, kept for the next push
}

// push appends one record.
func (q *recordQueue) push(r exporter.Record, seq uint64, size int64) {
	last := len(q.chunks) - 1
	if last < 0 || len(q.chunks[last]) == queueChunk {
		chunk := q.spare
		if chunk == nil {
			chunk = make([]queued, 0, queueChunk)
		}
		q.spare = nil
		q.chunks = append(q.chunks, chunk)
		last++
	}
	q.chunks[last] = append(q.chunks[last], queued{rec: r, seq: seq, size: size})
	q.len++
	q.bytes += size
}

// seqRange is the spool's sequence numbers of a batch: the first and the
// last record's that are in the spool (zero for none).
type seqRange struct{ first, last uint64 }

// pop removes and returns up to n records from the front, their sequence
// numbers in the spool, and their bytes.
func (q *recordQueue) pop(n int) (out []exporter.Record, seqs seqRange, bytes int64) {
	n = min(n, q.len)
	if n == 0 {
		return nil, seqRange{}, 0
	}
	out = make([]exporter.Record, 0, n)
	for len(out) < n {
		first := q.chunks[0]
		k := min(n-len(out), len(first))
		for i := range first[:k] {
			out = append(out, first[i].rec)
			bytes += first[i].size
			if seq := first[i].seq; seq != 0 {
				if seqs.first == 0 {
					seqs.first = seq
				}
				seqs.last = seq
			}
		}
		clear(first[:k]) // let the records be collected
		if k == len(first) {
			if cap(first) == queueChunk && q.spare == nil {
				q.spare = first[:0:queueChunk] // a steady flow reuses one chunk
			}
			q.chunks[0] = nil
			q.chunks = q.chunks[1:]
		} else {
			q.chunks[0] = first[k:]
		}
	}
	q.len -= n
	q.bytes -= bytes
	if q.len == 0 {
		q.chunks = nil
	}
	return out, seqs, bytes
}

// recordOverhead is what a record costs in memory beyond its strings and
// attributes: the struct itself, and the queue's slot.
const recordOverhead = int64(unsafe.Sizeof(queued{}))

// kvOverhead is what one attribute costs beyond its key and text.
const kvOverhead = int64(unsafe.Sizeof(attribute.KeyValue{}))

// recordSize estimates the heap bytes a queued record holds. Attributes
// shared between the records of one span are counted for each: the bound
// errs on the safe side.
func recordSize(r *exporter.Record) int64 {
	n := recordOverhead + int64(len(r.ID)+len(r.Fingerprint)+len(r.Grouping)+len(r.Type)+len(r.Message)+len(r.Stacktrace)+
		len(r.Service)+len(r.ServiceVersion)+len(r.Environment)+len(r.SpanName)+len(r.Host)+len(r.Method)+len(r.Path)+len(r.Route))
	for _, kvs := range [...][]attribute.KeyValue{r.Attributes, r.Extras, r.Resource} {
		for i := range kvs {
			n += kvOverhead + int64(len(kvs[i].Key))
			if kvs[i].Value.Type() == attribute.STRING {
				n += int64(len(kvs[i].Value.AsString()))
			} else if t := kvs[i].Value.Type(); t != attribute.BOOL && t != attribute.INT64 && t != attribute.FLOAT64 {
				n += int64(len(kvs[i].Value.Emit()))
			}
		}
	}
	return n
}
