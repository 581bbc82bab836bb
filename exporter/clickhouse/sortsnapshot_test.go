package clickhouse_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/exporter/clickhouse"
)

// TestSortedListsFromSnapshotAreExact: the lists by count and by first seen
// read a snapshot and the groups changed since it. After new groups, more
// occurrences, a late older occurrence and a delete, every page read that
// way alone is the page the full read gives, and the order a person
// expects.
func TestSortedListsFromSnapshotAreExact(t *testing.T) {
	ctx := context.Background()
	// The background job would take its own snapshots: an hour apart, so
	// the test's are the ones read.
	e := newExporter(t, clickhouse.Config{RetentionDays: -1, SortSnapshotInterval: time.Hour})
	// A second exporter on the same database never uses snapshots: the
	// reference.
	full := newExporter(t, clickhouse.Config{Database: e.Database(), RetentionDays: -1, SortSnapshotInterval: -1})
	now := time.Now()
	var recs []exporter.Record
	for i := range 30 {
		fp := fmt.Sprintf("g%02d", i)
		first := now.Add(-time.Duration(100-i) * time.Minute) // g29 is the newest
		for k := range i + 1 {                                // g29 the most frequent
			recs = append(recs, record(fp, first.Add(time.Duration(k)*time.Second), func(r *exporter.Record) {
				r.Service = []string{"checkout", "billing"}[i%2]
			}))
		}
	}
	export(t, e, recs...)
	if err := e.TakeSortSnapshot(ctx); err != nil {
		t.Fatal(err)
	}
	// After the snapshot: a new group with 100 occurrences; g00 50 more;
	// g29 one from 200 minutes ago (now the oldest first seen); g28
	// deleted.
	recs = recs[:0]
	for k := range 100 {
		recs = append(recs, record("new1", now.Add(-time.Duration(k)*time.Millisecond)))
	}
	for k := range 50 {
		recs = append(recs, record("g00", now.Add(-time.Duration(k)*time.Millisecond), func(r *exporter.Record) { r.Service = "checkout" }))
	}
	recs = append(recs, record("g29", now.Add(-200*time.Minute), func(r *exporter.Record) { r.Service = "billing" }))
	export(t, e, recs...)
	if err := e.Delete(ctx, "g28"); err != nil {
		t.Fatal(err)
	}

	byCount := []string{"new1", "g00", "g29"} // 100, 51, 31
	byFirst := []string{"new1"}
	for i := 27; i >= 1; i-- {
		byCount = append(byCount, fmt.Sprintf("g%02d", i))
	}
	for i := 27; i >= 0; i-- {
		byFirst = append(byFirst, fmt.Sprintf("g%02d", i))
	}
	byFirst = append(byFirst, "g29")
	checkPages(t, e, full, []sortedCase{
		{exporter.GroupQuery{Sort: exporter.SortCount, PageSize: 4}, byCount},
		{exporter.GroupQuery{Sort: exporter.SortFirstSeen, PageSize: 4}, byFirst},
		{exporter.GroupQuery{Sort: exporter.SortCount, PageSize: 3, Service: "billing"}, nil},
		{exporter.GroupQuery{Sort: exporter.SortFirstSeen, PageSize: 3, Service: "checkout"}, nil},
		{exporter.GroupQuery{Sort: exporter.SortFirstSeen, PageSize: 5, Status: exporter.StatusOpen}, byFirst},
	})

	// A merge after the snapshot: g05 (6 occurrences, first seen 95
	// minutes ago) into g10 (11, 90 minutes ago). g10 now counts 17, tied
	// with g16, which was seen last more recently; its first seen is
	// g05's.
	if err := e.Merge(ctx, "g10", []string{"g05"}, "test"); err != nil {
		t.Fatal(err)
	}
	byCount = []string{"new1", "g00", "g29"}
	for i := 27; i >= 16; i-- {
		byCount = append(byCount, fmt.Sprintf("g%02d", i))
	}
	byCount = append(byCount, "g10", "g15", "g14", "g13", "g12", "g11", "g09", "g08", "g07", "g06", "g04", "g03", "g02", "g01")
	byFirst = []string{"new1"}
	for i := 27; i >= 6; i-- {
		if i != 10 {
			byFirst = append(byFirst, fmt.Sprintf("g%02d", i))
		}
	}
	byFirst = append(byFirst, "g10", "g04", "g03", "g02", "g01", "g00", "g29")
	checkPages(t, e, full, []sortedCase{
		{exporter.GroupQuery{Sort: exporter.SortCount, PageSize: 4}, byCount},
		{exporter.GroupQuery{Sort: exporter.SortFirstSeen, PageSize: 4}, byFirst},
	})
}

type sortedCase struct {
	q    exporter.GroupQuery
	want []string // nil: as the full read
}

// checkPages lists every page of each case from e, and from e's snapshot
// alone, and compares them with the full read and the expected order.
func checkPages(t *testing.T, e, full *clickhouse.Exporter, cases []sortedCase) {
	t.Helper()
	ctx := context.Background()
	for _, tc := range cases {
		name := fmt.Sprintf("%s/service=%s/status=%s", tc.q.Sort, tc.q.Service, tc.q.Status)
		var got, fromFull []string
		snapshotPages := 0
		for p := 1; p < 20; p++ {
			q := tc.q
			q.Page = p
			want := mustList(t, full, q)
			fromFull = append(fromFull, splitFps(want)...)
			page, ok, err := e.ListFromSnapshot(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				snapshotPages++
				if fps(page) != fps(want) || page.HasNext != want.HasNext {
					t.Errorf("%s page %d from the snapshot: %s (next %v), the full read: %s (next %v)", name, p, fps(page), page.HasNext, fps(want), want.HasNext)
				}
			}
			listed := mustList(t, e, q)
			got = append(got, splitFps(listed)...)
			if !want.HasNext {
				break
			}
		}
		if tc.want != nil && !slices.Equal(got, tc.want) {
			t.Errorf("%s:\n got %v\nwant %v", name, got, tc.want)
		}
		if !slices.Equal(got, fromFull) {
			t.Errorf("%s: the list %v differs from the full read %v", name, got, fromFull)
		}
		// The snapshot must answer the unfiltered lists' pages itself,
		// not leave them to the full read.
		if tc.q.Service == "" && snapshotPages < len(got)/tc.q.PageSize {
			t.Errorf("%s: the snapshot answered %d pages of %d", name, snapshotPages, (len(got)+tc.q.PageSize-1)/tc.q.PageSize)
		}
	}
}

func splitFps(page exporter.GroupPage) []string {
	var out []string
	for _, g := range page.Groups {
		out = append(out, g.Fingerprint)
	}
	return out
}
