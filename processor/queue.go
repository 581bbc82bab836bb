package processor

import "github.com/errortracker/errortracker/exporter"

// queueChunk is how many records one chunk of a queue holds. Growing a
// single slice would allocate and copy the whole backlog at each growth —
// tens of megabytes during a store outage, on the goroutine that ended a
// span, which then also pays the garbage collector's assist for it. Chunks
// keep every allocation small.
const queueChunk = 256

// recordQueue is a FIFO of records in fixed-size chunks. It is not safe
// for concurrent use; the sink guards it.
type recordQueue struct {
	chunks [][]exporter.Record
	len    int
	spare  []exporter.Record // an emptied chunk, kept for the next push
}

// push appends records.
func (q *recordQueue) push(recs []exporter.Record) {
	for len(recs) > 0 {
		last := len(q.chunks) - 1
		if last < 0 || len(q.chunks[last]) == queueChunk {
			chunk := q.spare
			if chunk == nil {
				chunk = make([]exporter.Record, 0, queueChunk)
			}
			q.spare = nil
			q.chunks = append(q.chunks, chunk)
			last++
		}
		n := min(queueChunk-len(q.chunks[last]), len(recs))
		q.chunks[last] = append(q.chunks[last], recs[:n]...)
		q.len += n
		recs = recs[n:]
	}
}

// pop removes and returns up to n records from the front.
func (q *recordQueue) pop(n int) []exporter.Record {
	n = min(n, q.len)
	if n == 0 {
		return nil
	}
	out := make([]exporter.Record, 0, n)
	for len(out) < n {
		first := q.chunks[0]
		k := min(n-len(out), len(first))
		out = append(out, first[:k]...)
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
	if q.len == 0 {
		q.chunks = nil
	}
	return out
}
