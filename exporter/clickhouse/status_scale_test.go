package clickhouse_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/exporter/clickhouse"
)

// TestStatusFilterWithManyResolvedGroups: a store where a team resolved
// twelve thousand groups over the months. The status filter names no
// group in its query's text (ClickHouse refuses a query over 256 KiB,
// which about ten thousand fingerprints exceed), and still tells the
// open groups from the resolved, ignored, regressed and woken ones.
func TestStatusFilterWithManyResolvedGroups(t *testing.T) {
	ctx := context.Background()
	e := newExporter(t, clickhouse.Config{RetentionDays: -1})
	now := time.Now()
	var recs []exporter.Record
	var resolved []string
	for i := range 12_000 {
		fp := fmt.Sprintf("resolved-long-ago-%08d", i)
		recs = append(recs, record(fp, now.Add(-2*time.Hour)))
		resolved = append(resolved, fp)
	}
	for _, fp := range []string{"open-a", "open-b", "regressed", "ignored", "ignored-until-2", "woken"} {
		recs = append(recs, record(fp, now.Add(-2*time.Hour)))
	}
	export(t, e, recs...)
	for i := 0; i < len(resolved); i += exporter.MaxPageSize {
		if err := e.SetState(ctx, resolved[i:min(i+exporter.MaxPageSize, len(resolved))], exporter.Change{Status: exporter.StatusResolved}); err != nil {
			t.Fatal(err)
		}
	}
	set := func(fp string, c exporter.Change) {
		t.Helper()
		if err := e.SetState(ctx, []string{fp}, c); err != nil {
			t.Fatal(err)
		}
	}
	set("regressed", exporter.Change{Status: exporter.StatusResolved})
	set("ignored", exporter.Change{Status: exporter.StatusIgnored})
	set("ignored-until-2", exporter.Change{Status: exporter.StatusIgnored, Ignore: exporter.Ignore{Count: 2}})
	set("woken", exporter.Change{Status: exporter.StatusIgnored, Ignore: exporter.Ignore{Count: 2}})
	time.Sleep(10 * time.Millisecond) // the occurrences below come after the changes
	export(t, e, record("regressed", time.Now()), record("ignored", time.Now()), record("ignored-until-2", time.Now()),
		record("woken", time.Now()), record("woken", time.Now().Add(time.Millisecond)))

	open := mustList(t, e, exporter.GroupQuery{Status: exporter.StatusOpen, PageSize: 50})
	if got := fps(open); got != "woken,regressed,open-b,open-a" && got != "woken,regressed,open-a,open-b" {
		t.Errorf("open groups: %s, want woken, regressed, open-a and open-b", got)
	}
	ignored := mustList(t, e, exporter.GroupQuery{Status: exporter.StatusIgnored, PageSize: 50})
	if got := fps(ignored); got != "ignored-until-2,ignored" && got != "ignored,ignored-until-2" {
		t.Errorf("ignored groups: %s, want ignored and ignored-until-2", got)
	}
	page := mustList(t, e, exporter.GroupQuery{Status: exporter.StatusResolved, PageSize: 50, Page: 240})
	if len(page.Groups) != 50 || page.HasNext {
		t.Errorf("resolved, last page: %d groups (next %v), want 50 and no next", len(page.Groups), page.HasNext)
	}
	for _, g := range page.Groups {
		if g.Status != exporter.StatusResolved {
			t.Errorf("%s listed as resolved is %s", g.Fingerprint, g.Status)
		}
	}
}
