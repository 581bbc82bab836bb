package notify_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/notify"
)

// Expect: 50,000 distinct groups leave the policy remembering exactly
// MaxGroups (1,000) of them, and the heap grows by less than 4 MB (a map
// of all 50,000 would hold about 10 MB); the digest lists at most
// MaxDigestGroups and counts the rest.
func TestMemoryIsBounded(t *testing.T) {
	var got atomic.Int64
	var listed, omitted atomic.Int64
	count := notify.NotifierFunc(func(_ context.Context, n notify.Notification) error {
		got.Add(1)
		if n.Event == notify.EventDigest {
			listed.Add(int64(len(n.Groups)))
			omitted.Add(int64(n.Omitted))
		}
		return nil
	})
	p := newPolicy(t, notify.Config{MaxGroups: 1000, DigestAfter: 10, DigestWindow: time.Hour}, count)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	now := time.Now()
	for b := range 50 {
		batch := make([]exporter.Record, 1000)
		for i := range batch {
			fp := fmt.Sprintf("fp-%05d", b*1000+i)
			batch[i] = exporter.Record{ID: fp, Fingerprint: fp, Time: now, Type: "E", Message: "m"}
		}
		if err := p.Export(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
	}
	if n := p.Remembered(); n != 1000 {
		t.Errorf("the policy remembers %d groups, want the bound, 1000", n)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 4<<20 {
		t.Errorf("heap grew by %d bytes over 50,000 groups", grew)
	}
	if err := p.Shutdown(context.Background()); err != nil { // sends the digest
		t.Fatal(err)
	}
	if got.Load() != 11 || listed.Load() != notify.MaxDigestGroups || listed.Load()+omitted.Load() != 50000-10 {
		t.Errorf("%d notifications, the digest listing %d and counting %d more; want 10 alone and one digest of %d listed, %d counted",
			got.Load(), listed.Load(), omitted.Load(), notify.MaxDigestGroups, 50000-10-notify.MaxDigestGroups)
	}
}

// Expect: a group the policy forgot (MaxGroups 1) and sees again does not
// send its regression a second time, though this process's own claim
// would be granted again: A new, A's regression, B new — three requests.
func TestForgottenGroupDoesNotRepeat(t *testing.T) {
	r := startReceiver(t)
	store := newStore(t)
	tr := triage(t, store)
	p := newPolicy(t, notify.Config{Store: store, MaxGroups: 1}, transports(t, nil, r)...)
	occur(t, store, p, rec("fp-a", "1.0", time.Now().Add(-time.Minute)))
	r.waitFor(t, 1)
	if err := tr.SetState(context.Background(), []string{"fp-a"}, exporter.Change{Status: exporter.StatusResolved, By: "erin"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	occur(t, store, p, rec("fp-a", "1.0", time.Now()))
	r.waitFor(t, 2)
	occur(t, store, p, rec("fp-b", "1.0", time.Now())) // A is forgotten
	occur(t, store, p, rec("fp-a", "1.0", time.Now()))
	r.waitFor(t, 3)
	quiet()
	var events []notify.Event
	for _, h := range r.hooks() {
		events = append(events, h.Event)
	}
	if len(events) != 3 || events[1] != notify.EventRegression || events[2] != notify.EventNew {
		t.Errorf("events %v, want new, regression, new", events)
	}
}
