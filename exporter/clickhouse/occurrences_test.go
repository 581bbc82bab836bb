package clickhouse_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/exporter/clickhouse"
)

// Walking a group by cursor gives every occurrence once, newest first,
// across time windows from seconds to months apart, and a copy a retried
// insert stored twice appears once.
func TestOccurrencesByCursor(t *testing.T) {
	e := newExporter(t, clickhouse.Config{RetentionDays: -1})
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	var recs []exporter.Record
	for i := range 95 {
		// Dense in the last hour, then sparse over 40 days.
		at := now.Add(-time.Duration(i) * time.Second)
		if i >= 60 {
			at = now.Add(-time.Duration(i-59) * 11 * time.Hour)
		}
		recs = append(recs, record("walked", at))
	}
	recs = append(recs, recs[70]) // a retried batch
	export(t, e, recs...)

	var seen []exporter.Record
	cursor := ""
	for pages := 0; ; pages++ {
		page, next, err := e.OccurrencesBefore(ctx, "walked", cursor, 20)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, page...)
		if next == "" {
			break
		}
		if pages > 10 {
			t.Fatal("the walk does not end")
		}
		cursor = next
	}
	if len(seen) != 95 {
		t.Fatalf("walked %d occurrences, want 95", len(seen))
	}
	ids := map[string]bool{}
	for i, r := range seen {
		if ids[r.ID] {
			t.Errorf("occurrence %s twice", r.ID)
		}
		ids[r.ID] = true
		if i > 0 && r.Time.After(seen[i-1].Time) {
			t.Errorf("occurrence %d is newer than the one before", i)
		}
	}
	// The first page of the old API agrees, and so does the latest.
	first, hasNext, err := e.ListOccurrences(ctx, "walked", 1, 20)
	if err != nil || !hasNext || len(first) != 20 || first[0].ID != seen[0].ID || first[19].ID != seen[19].ID {
		t.Errorf("ListOccurrences page 1: %d records, has next %v, err %v", len(first), hasNext, err)
	}
	second, _, err := e.ListOccurrences(ctx, "walked", 2, 20)
	if err != nil || len(second) != 20 || second[0].ID != seen[20].ID {
		t.Errorf("ListOccurrences page 2 by offset disagrees with the cursor")
	}
	if _, latest, err := e.GetGroup(ctx, "walked"); err != nil || latest.ID != seen[0].ID {
		t.Errorf("latest %s, want %s (%v)", latest.ID, seen[0].ID, err)
	}
	for _, bad := range []string{"not-a-cursor", "MDp4"} {
		if _, _, err := e.OccurrencesBefore(ctx, "walked", bad, 20); !errors.Is(err, exporter.ErrInvalid) {
			t.Errorf("cursor %q: %v, want ErrInvalid", bad, err)
		}
	}
	if _, _, err := e.OccurrencesBefore(ctx, "nobody", "", 20); !errors.Is(err, exporter.ErrNotFound) {
		t.Errorf("unknown group: %v", err)
	}

}

// The list by last seen reads recent windows first and widens them until a
// page is full: every page is what reading every group gives.
func TestListByLastSeenAcrossWindows(t *testing.T) {
	e := newExporter(t, clickhouse.Config{RetentionDays: -1})
	ctx := context.Background()
	now := time.Now()
	var recs []exporter.Record
	var want []string // newest first
	for i := range 30 {
		age := time.Duration(i) * time.Minute // 5 in the last hour,
		switch {
		case i >= 15:
			age = time.Duration(i) * 24 * time.Hour // 15 over weeks,
		case i >= 5:
			age = time.Duration(i) * 5 * time.Hour // 10 over days
		}
		fp := fmt.Sprintf("w%02d", i)
		recs = append(recs, record(fp, now.Add(-age)), record(fp, now.Add(-age-time.Hour*24*40)))
		want = append(want, fp)
	}
	export(t, e, recs...)
	var got []string
	for p := 1; ; p++ {
		page, err := e.ListGroups(ctx, exporter.GroupQuery{Page: p, PageSize: 7})
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range page.Groups {
			got = append(got, g.Fingerprint)
		}
		if !page.HasNext {
			break
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("pages by last seen:\n got %v\nwant %v", got, want)
	}
}

// The list by first seen reads recent windows first too: every page is what
// reading every group gives.
func TestListByFirstSeenAcrossWindows(t *testing.T) {
	e := newExporter(t, clickhouse.Config{RetentionDays: -1})
	ctx := context.Background()
	now := time.Now()
	var recs []exporter.Record
	var want []string // first seen newest first
	for i := range 24 {
		first := now.Add(-time.Duration(i*i) * 37 * time.Minute)
		fp := fmt.Sprintf("f%02d", i)
		// Every group is seen again just now: last seen says nothing.
		recs = append(recs, record(fp, first), record(fp, now.Add(-time.Duration(i)*time.Second)))
		want = append(want, fp)
	}
	export(t, e, recs...)
	var got []string
	for p := 1; ; p++ {
		page, err := e.ListGroups(ctx, exporter.GroupQuery{Sort: exporter.SortFirstSeen, Page: p, PageSize: 5})
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range page.Groups {
			got = append(got, g.Fingerprint)
		}
		if !page.HasNext {
			break
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("pages by first seen:\n got %v\nwant %v", got, want)
	}
}
