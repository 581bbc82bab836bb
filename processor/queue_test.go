package processor

import (
	"strconv"
	"testing"

	"github.com/errortracker/errortracker/exporter"
)

func TestRecordQueueIsFIFO(t *testing.T) {
	var q recordQueue
	next, want := 0, 0
	push := func(n int) {
		for range n {
			q.push(exporter.Record{ID: strconv.Itoa(next)}, uint64(next+1), 10)
			next++
		}
	}
	pop := func(n int) {
		got, last, bytes := q.pop(n)
		for _, r := range got {
			if r.ID != strconv.Itoa(want) {
				t.Fatalf("popped %s, want %d", r.ID, want)
			}
			want++
		}
		if len(got) > 0 && (last.first != uint64(want-len(got)+1) || last.last != uint64(want) || bytes != int64(10*len(got))) {
			t.Fatalf("seqs %+v, bytes %d after %d records", last, bytes, want)
		}
	}
	push(1)
	push(queueChunk*2 + 3)
	pop(5)
	push(queueChunk)
	pop(queueChunk + 1)
	pop(1)
	push(7)
	pop(10 * queueChunk)
	if got, _, _ := q.pop(1); q.len != 0 || q.bytes != 0 || want != next || got != nil {
		t.Fatalf("len %d, bytes %d, popped %d of %d", q.len, q.bytes, want, next)
	}
}

func TestRecordSizeCountsStacks(t *testing.T) {
	small := recordSize(&exporter.Record{})
	big := recordSize(&exporter.Record{Stacktrace: string(make([]byte, 1<<20))})
	if big-small != 1<<20 || small < 100 {
		t.Errorf("sizes %d and %d", small, big)
	}
}
