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
		recs := make([]exporter.Record, n)
		for i := range recs {
			recs[i].ID = strconv.Itoa(next)
			next++
		}
		q.push(recs)
	}
	pop := func(n int) {
		got := q.pop(n)
		for _, r := range got {
			if r.ID != strconv.Itoa(want) {
				t.Fatalf("popped %s, want %d", r.ID, want)
			}
			want++
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
	if q.len != 0 || want != next || q.pop(1) != nil {
		t.Fatalf("len %d, popped %d of %d", q.len, want, next)
	}
}
