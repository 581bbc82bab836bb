package notify_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/notify"
)

// BenchmarkExport measures the policy's decision for a batch of 1,000
// records of 100 known groups, without a store: the cost on the
// processor's goroutine for the policy (the notifiers run apart).
func BenchmarkExport(b *testing.B) {
	p, err := notify.New(notify.Config{}, notify.NotifierFunc(func(context.Context, notify.Notification) error { return nil }))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = p.Shutdown(context.Background()) }()
	batch := make([]exporter.Record, 1000)
	now := time.Now()
	for i := range batch {
		fp := fmt.Sprintf("fp-%03d", i%100)
		batch[i] = exporter.Record{ID: fmt.Sprint(i), Fingerprint: fp, Time: now.Add(time.Duration(i)), Type: "E", Message: "m"}
	}
	_ = p.Export(context.Background(), batch)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := p.Export(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMemoryPerGroup reports the heap the policy holds per
// remembered group.
func BenchmarkMemoryPerGroup(b *testing.B) {
	const groups = 10_000
	for b.Loop() {
		p, err := notify.New(notify.Config{MaxGroups: groups, DigestWindow: time.Hour}, notify.NotifierFunc(func(context.Context, notify.Notification) error { return nil }))
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		batch := make([]exporter.Record, 1)
		for i := range groups {
			fp := fmt.Sprintf("fp-%05d", i)
			batch[0] = exporter.Record{ID: fp, Fingerprint: fp, Time: time.Now(), Type: "E", Message: "m"}
			_ = p.Export(context.Background(), batch)
		}
		batch = nil
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/groups, "B/group")
		_ = p.Shutdown(context.Background())
	}
}
