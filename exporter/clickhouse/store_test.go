package clickhouse_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/exporter/clickhouse"
	"github.com/errortracker/errortracker/internal/testenv"
)

func TestMigrationsRunTwiceAndConcurrently(t *testing.T) {
	db := testDatabase(t)
	addr := testenv.ClickHouseAddr(t)
	errs := make(chan error, 3)
	for i := 0; i < 3; i++ {
		go func() {
			e, err := clickhouse.New(context.Background(), clickhouse.Config{Addrs: []string{addr}, Database: db})
			if err == nil {
				err = e.Shutdown(context.Background())
			}
			errs <- err
		}()
	}
	for i := 0; i < 3; i++ {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent migration: %v", err)
		}
	}
	e := newExporter(t, clickhouse.Config{Database: db}) // and once more
	export(t, e, record("fp-a", time.Now()))
	if _, _, err := e.GetGroup(context.Background(), "fp-a"); err != nil {
		t.Fatal(err)
	}
}

// A database made before migration 5 gets the grouping column; its rows
// read back with an empty one.
func TestMigrationUpgradesAnOlderDatabase(t *testing.T) {
	db := testDatabase(t)
	newExporter(t, clickhouse.Config{Database: db})
	ctx := context.Background()
	conn, err := ch.Open(&ch.Options{Addr: []string{testenv.ClickHouseAddr(t)}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Back to the schema of version 4, with a row written then.
	for _, stmt := range []string{
		"ALTER TABLE " + db + ".occurrences DROP COLUMN grouping",
		"ALTER TABLE " + db + ".schema_migrations DELETE WHERE version = 5",
		"INSERT INTO " + db + ".occurrences (id, fingerprint, time, time_ns, type, message) SELECT 'old-1', 'fp-old', now(), toUInt64(now()) * 1000000000, 'T', 'from before'",
	} {
		if err := conn.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	waitNoMutations(t, conn, db)

	e := newExporter(t, clickhouse.Config{Database: db})
	_, old, err := e.GetGroup(ctx, "fp-old")
	if err != nil || old.Message != "from before" || old.Grouping != "" {
		t.Fatalf("old row after the upgrade: %+v, %v", old, err)
	}
	export(t, e, record("fp-new", time.Now()))
	if _, rec, err := e.GetGroup(ctx, "fp-new"); err != nil || rec.Grouping != `message "boom in fp-new"` {
		t.Errorf("new row: grouping %q, %v", rec.Grouping, err)
	}
}

func TestGroupSummaryCountsDistinctOccurrences(t *testing.T) {
	e := newExporter(t, clickhouse.Config{})
	t0 := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	first := record("fp-a", t0)
	second := record("fp-a", t0.Add(time.Minute), func(r *exporter.Record) { r.Message = "latest message"; r.TraceID[0] = 1 })
	export(t, e, first, second)
	export(t, e, second) // a retried batch that landed twice
	g, latest, err := e.GetGroup(context.Background(), "fp-a")
	if err != nil {
		t.Fatal(err)
	}
	if g.Count != 2 {
		t.Errorf("count = %d, want 2 distinct occurrences", g.Count)
	}
	if !g.FirstSeen.Equal(t0) || !g.LastSeen.Equal(t0.Add(time.Minute)) {
		t.Errorf("first/last = %v/%v, want %v/%v", g.FirstSeen, g.LastSeen, t0, t0.Add(time.Minute))
	}
	if g.Message != "latest message" || g.Service != "checkout" || g.Path != "/orders/42" || g.Method != "GET" || g.Status != exporter.StatusOpen {
		t.Errorf("summary = %+v", g)
	}
	if latest.ID != second.ID || latest.Message != "latest message" || latest.TraceID != second.TraceID || latest.Grouping != second.Grouping {
		t.Errorf("latest = %+v", latest)
	}
	if len(latest.Extras) != 1 || latest.Extras[0].Value.AsString() != "1234" || len(latest.Attributes) != 2 {
		t.Errorf("context lost: extras %v attributes %v", latest.Extras, latest.Attributes)
	}
	occ, hasNext, err := e.ListOccurrences(context.Background(), "fp-a", 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(occ) != 2 || hasNext || occ[0].ID != second.ID || occ[1].ID != first.ID {
		t.Errorf("occurrences = %d (next %v), want the two distinct ones newest first", len(occ), hasNext)
	}
}

func TestListGroupsFiltersSortsAndPages(t *testing.T) {
	e := newExporter(t, clickhouse.Config{})
	now := time.Now().Truncate(time.Second)
	var recs []exporter.Record
	for i := 0; i < 21; i++ {
		fp := fmt.Sprintf("g%02d", i)
		at := now.Add(-time.Duration(21-i) * time.Minute) // g20 is the newest
		for n := 0; n <= i%3; n++ {                       // counts 1, 2, 3, 1, 2, 3, …
			recs = append(recs, record(fp, at.Add(time.Duration(n)*time.Second), func(r *exporter.Record) {
				if i%2 == 0 {
					r.Service = "billing"
				}
				if i == 7 {
					r.Message = "Payment DECLINED for card"
					r.Type = "*payments.DeclinedError"
				}
			}))
		}
	}
	export(t, e, recs...)

	page := mustList(t, e, exporter.GroupQuery{})
	if len(page.Groups) != 20 || !page.HasNext || page.Groups[0].Fingerprint != "g20" {
		t.Fatalf("default page: %d groups, next %v, first %s", len(page.Groups), page.HasNext, fps(page))
	}
	page = mustList(t, e, exporter.GroupQuery{Page: 2})
	if fps(page) != "g00" || page.HasNext {
		t.Errorf("page 2 = %s (next %v), want g00 only", fps(page), page.HasNext)
	}
	page = mustList(t, e, exporter.GroupQuery{PageSize: 5, Page: 5})
	if fps(page) != "g00" || page.HasNext {
		t.Errorf("page 5 of 5 = %s", fps(page))
	}
	page = mustList(t, e, exporter.GroupQuery{Sort: exporter.SortFirstSeen, PageSize: 2})
	if fps(page) != "g20,g19" {
		t.Errorf("by first seen = %s", fps(page))
	}
	page = mustList(t, e, exporter.GroupQuery{Sort: exporter.SortCount, PageSize: 3})
	if fps(page) != "g20,g17,g14" || page.Groups[0].Count != 3 {
		t.Errorf("by count = %s (count %d)", fps(page), page.Groups[0].Count)
	}
	page = mustList(t, e, exporter.GroupQuery{Service: "billing", PageSize: 50})
	if len(page.Groups) != 11 {
		t.Errorf("service filter kept %d, want 11", len(page.Groups))
	}
	page = mustList(t, e, exporter.GroupQuery{Search: "declined"})
	if fps(page) != "g07" {
		t.Errorf("search = %s, want g07", fps(page))
	}
	page = mustList(t, e, exporter.GroupQuery{Search: "payments.Declined", Type: "*payments.DeclinedError"})
	if fps(page) != "g07" {
		t.Errorf("search by type = %s", fps(page))
	}
	page = mustList(t, e, exporter.GroupQuery{Since: now.Add(-3 * time.Minute), PageSize: 50})
	if fps(page) != "g20,g19,g18" {
		t.Errorf("since = %s", fps(page))
	}
	page = mustList(t, e, exporter.GroupQuery{Search: "'; DROP TABLE groups; --"})
	if len(page.Groups) != 0 {
		t.Errorf("injection-looking search matched %s", fps(page))
	}
	if page := mustList(t, e, exporter.GroupQuery{}); len(page.Groups) != 20 {
		t.Error("the search above did harm")
	}
}

func TestInvalidQueriesAreRejected(t *testing.T) {
	e := newExporter(t, clickhouse.Config{})
	for _, q := range []exporter.GroupQuery{
		{Sort: "name; DROP"}, {Status: "gone"}, {Page: -1}, {PageSize: 10_000},
		{Since: time.Now(), Until: time.Now().Add(-time.Hour)}, {Search: "a\x00b"},
	} {
		if _, err := e.ListGroups(context.Background(), q); !errors.Is(err, exporter.ErrInvalid) {
			t.Errorf("ListGroups(%+v) = %v, want ErrInvalid", q, err)
		}
	}
	if _, _, err := e.GetGroup(context.Background(), ""); !errors.Is(err, exporter.ErrInvalid) {
		t.Errorf("empty fingerprint: %v", err)
	}
	if _, _, err := e.GetGroup(context.Background(), "nope"); !errors.Is(err, exporter.ErrNotFound) {
		t.Errorf("unknown fingerprint: %v", err)
	}
	if err := e.Resolve(context.Background(), "nope"); !errors.Is(err, exporter.ErrNotFound) {
		t.Errorf("resolve unknown: %v", err)
	}
	if _, err := e.HourlyCounts(context.Background(), []string{"x"}, 0); !errors.Is(err, exporter.ErrInvalid) {
		t.Errorf("0 days: %v", err)
	}
}

func TestResolveReopenAndRegression(t *testing.T) {
	e := newExporter(t, clickhouse.Config{})
	ctx := context.Background()
	export(t, e, record("fp-r", time.Now().Add(-time.Minute)), record("fp-other", time.Now().Add(-time.Minute)))
	if err := e.Resolve(ctx, "fp-r"); err != nil {
		t.Fatal(err)
	}
	g, _, err := e.GetGroup(ctx, "fp-r")
	if err != nil {
		t.Fatal(err)
	}
	if g.Status != exporter.StatusResolved || g.StatusChanged.IsZero() {
		t.Fatalf("after resolve: %s at %v", g.Status, g.StatusChanged)
	}
	if page := mustList(t, e, exporter.GroupQuery{Status: exporter.StatusResolved}); fps(page) != "fp-r" {
		t.Errorf("resolved filter = %s", fps(page))
	}
	if page := mustList(t, e, exporter.GroupQuery{Status: exporter.StatusOpen}); fps(page) != "fp-other" {
		t.Errorf("open filter = %s", fps(page))
	}
	states, err := e.GroupStates(ctx, []string{"fp-r", "fp-other", "fp-new"})
	if err != nil {
		t.Fatal(err)
	}
	if states["fp-r"].Status != exporter.StatusResolved || states["fp-other"].Status != exporter.StatusOpen || states["fp-r"].FirstSeen.IsZero() {
		t.Errorf("states = %+v", states)
	}
	if _, known := states["fp-new"]; known {
		t.Error("an unknown group has a state")
	}

	// A new occurrence after the resolve: a regression, open again.
	later := time.Now().Add(time.Second)
	export(t, e, record("fp-r", later))
	g, _, _ = e.GetGroup(ctx, "fp-r")
	if g.Status != exporter.StatusOpen || !g.Regressed {
		t.Errorf("after a new occurrence: status %s regressed %v", g.Status, g.Regressed)
	}
	// The mail policy sees what a person set and when, to compare with
	// its records' times.
	states, err = e.GroupStates(ctx, []string{"fp-r"})
	if err != nil {
		t.Fatal(err)
	}
	if st := states["fp-r"]; st.Status != exporter.StatusResolved || !st.StatusChanged.Before(later) || st.Count != 2 {
		t.Errorf("state after the regression = %+v", st)
	}
	if err := e.Resolve(ctx, "fp-r"); err != nil {
		t.Fatal(err)
	}
	if err := e.Reopen(ctx, "fp-r"); err != nil {
		t.Fatal(err)
	}
	if g, _, _ := e.GetGroup(ctx, "fp-r"); g.Status != exporter.StatusOpen || g.Regressed {
		t.Errorf("after reopen: %s regressed %v", g.Status, g.Regressed)
	}
}

func TestDeleteStartsTheGroupAfresh(t *testing.T) {
	e := newExporter(t, clickhouse.Config{})
	ctx := context.Background()
	old := time.Now().Add(-2 * time.Hour)
	export(t, e, record("fp-d", old), record("fp-d", old.Add(time.Minute)), record("fp-keep", old))
	if err := e.Resolve(ctx, "fp-d"); err != nil {
		t.Fatal(err)
	}
	if err := e.Delete(ctx, "fp-d"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.GetGroup(ctx, "fp-d"); !errors.Is(err, exporter.ErrNotFound) {
		t.Fatalf("deleted group: %v", err)
	}
	if page := mustList(t, e, exporter.GroupQuery{}); fps(page) != "fp-keep" {
		t.Errorf("list after delete = %s", fps(page))
	}
	if err := e.Delete(ctx, "fp-d"); !errors.Is(err, exporter.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	again := time.Now()
	export(t, e, record("fp-d", again))
	g, _, err := e.GetGroup(ctx, "fp-d")
	if err != nil {
		t.Fatal(err)
	}
	if g.Count != 1 || g.FirstSeen.Before(again.Add(-time.Second)) || g.Status != exporter.StatusOpen || g.Regressed {
		t.Errorf("after delete and a new occurrence: count %d first %v status %s regressed %v", g.Count, g.FirstSeen, g.Status, g.Regressed)
	}
}

func TestHourlyCounts(t *testing.T) {
	e := newExporter(t, clickhouse.Config{})
	hour := time.Now().Truncate(time.Hour)
	r1 := record("fp-h", hour.Add(-2*time.Hour+time.Minute))
	export(t, e, r1, r1, record("fp-h", hour.Add(-2*time.Hour+2*time.Minute)), record("fp-h", hour.Add(time.Second)),
		record("fp-h", hour.Add(-10*24*time.Hour))) // outside the window
	counts, err := e.HourlyCounts(context.Background(), []string{"fp-h", "fp-none"}, 7)
	if err != nil {
		t.Fatal(err)
	}
	got := counts["fp-h"]
	if len(got) != 2 || got[0].Count != 2 || !got[0].Hour.Equal(hour.Add(-2*time.Hour)) || got[1].Count != 1 {
		t.Errorf("counts = %+v", got)
	}
	if len(counts["fp-none"]) != 0 {
		t.Errorf("unknown group has counts")
	}
}

func TestRetentionDropsOldDays(t *testing.T) {
	e := newExporter(t, clickhouse.Config{RetentionDays: 3, RetentionInterval: time.Hour})
	now := time.Now()
	export(t, e, record("fp-old", now.Add(-10*24*time.Hour)), record("fp-mixed", now.Add(-10*24*time.Hour)),
		record("fp-mixed", now), record("fp-new", now))
	dropped, err := e.ApplyRetention(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	// The exporter's own retention runs once when it has connected, maybe
	// after the export above: then it dropped the old day itself, and what
	// follows checks that the day is gone either way.
	if len(dropped) > 0 && !strings.HasPrefix(dropped[0], "occurrences:") {
		t.Errorf("dropped %v, want the old day of occurrences", dropped)
	}
	page := mustList(t, e, exporter.GroupQuery{})
	if got := fps(page); got != "fp-mixed,fp-new" && got != "fp-new,fp-mixed" {
		t.Errorf("after retention = %s", got)
	}
	g, _, err := e.GetGroup(context.Background(), "fp-mixed")
	if err != nil || g.Count != 1 {
		t.Errorf("fp-mixed: count %d, %v; want the recent occurrence only", g.Count, err)
	}
}

func TestExportRejectsNothingValid(t *testing.T) {
	e := newExporter(t, clickhouse.Config{})
	r := record("fp-u", time.Now(), func(r *exporter.Record) {
		r.Message = "ünïcødé ✓ and 'quotes' \"double\" \\ back"
		r.StatusCode = 70000 // out of range: stored clamped
	})
	export(t, e, r)
	_, latest, err := e.GetGroup(context.Background(), "fp-u")
	if err != nil {
		t.Fatal(err)
	}
	if latest.Message != r.Message || latest.StatusCode != 65535 {
		t.Errorf("stored %q %d", latest.Message, latest.StatusCode)
	}
	if !strings.Contains(latest.Stacktrace, "main.handler") {
		t.Errorf("stack %q", latest.Stacktrace)
	}
}

func TestConfigErrors(t *testing.T) {
	_, err := clickhouse.New(context.Background(), clickhouse.Config{Addrs: []string{"no-port"}, Database: "bad-name", Replicated: true})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"no-port", "bad-name", "replicated tables need a cluster"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	port := testenv.FreePort(t)
	_, err = clickhouse.New(ctx, clickhouse.Config{Addrs: []string{fmt.Sprintf("127.0.0.1:%d", port)}, DialTimeout: time.Second, WaitForServer: true})
	if err == nil || !strings.Contains(err.Error(), "cannot reach") {
		t.Errorf("unreachable server: %v", err)
	}
}
