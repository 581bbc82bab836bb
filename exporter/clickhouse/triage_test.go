package clickhouse_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/exporter/clickhouse"
	"github.com/errortracker/errortracker/internal/testenv"
)

// getGroup reads a group or fails the test.
func getGroup(t *testing.T, e *clickhouse.Exporter, fp string) exporter.Group {
	t.Helper()
	g, _, err := e.GetGroup(context.Background(), fp)
	if err != nil {
		t.Fatalf("get %s: %v", fp, err)
	}
	return g
}

func setState(t *testing.T, e *clickhouse.Exporter, c exporter.Change, fps ...string) {
	t.Helper()
	if err := e.SetState(context.Background(), fps, c); err != nil {
		t.Fatalf("set state %+v on %v: %v", c, fps, err)
	}
}

// statusOf lists the groups with a status and tells whether fp is among
// them: the list's filter must agree with the group's own status.
func listedAs(t *testing.T, e *clickhouse.Exporter, fp string) exporter.Status {
	t.Helper()
	var found []exporter.Status
	for _, st := range []exporter.Status{exporter.StatusOpen, exporter.StatusResolved, exporter.StatusIgnored} {
		page := mustList(t, e, exporter.GroupQuery{Status: st, PageSize: exporter.MaxPageSize})
		if slices.ContainsFunc(page.Groups, func(g exporter.Group) bool { return g.Fingerprint == fp }) {
			found = append(found, st)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s is listed under %v, want exactly one status", fp, found)
	}
	return found[0]
}

// Expected: ignored forever stays ignored, in the list's filter too,
// whatever occurs; the change records who and when.
func TestIgnoreForever(t *testing.T) {
	e := newExporter(t, clickhouse.Config{})
	export(t, e, record("fp-i", time.Now().Add(-time.Minute)), record("fp-o", time.Now().Add(-time.Minute)))
	setState(t, e, exporter.Change{Status: exporter.StatusIgnored, By: "ann"}, "fp-i")
	for range 3 {
		export(t, e, record("fp-i", time.Now()))
	}
	g := getGroup(t, e, "fp-i")
	if g.Status != exporter.StatusIgnored || g.Woke || g.Change.By != "ann" || g.Change.At.IsZero() || !g.Change.Ignore.Forever() {
		t.Errorf("ignored forever: %+v", g)
	}
	if st := listedAs(t, e, "fp-i"); st != exporter.StatusIgnored {
		t.Errorf("listed as %s", st)
	}
	if st := listedAs(t, e, "fp-o"); st != exporter.StatusOpen {
		t.Errorf("the other group listed as %s", st)
	}
}

// Expected: ignored until 3 more occurrences, 2 leave it ignored and the
// 3rd wakes it (open, Woke).
func TestIgnoreUntilCount(t *testing.T) {
	e := newExporter(t, clickhouse.Config{})
	ctx := context.Background()
	export(t, e, record("fp-c", time.Now().Add(-time.Minute)))
	setState(t, e, exporter.Change{Status: exporter.StatusIgnored, Ignore: exporter.Ignore{Count: 3}}, "fp-c")
	export(t, e, record("fp-c", time.Now()))
	second := record("fp-c", time.Now().Add(time.Millisecond))
	export(t, e, second, second) // a retried batch: counts once
	if g := getGroup(t, e, "fp-c"); g.Status != exporter.StatusIgnored || g.Woke {
		t.Fatalf("after 2 more: %s woke %v", g.Status, g.Woke)
	}
	if st := listedAs(t, e, "fp-c"); st != exporter.StatusIgnored {
		t.Errorf("after 2 more listed as %s", st)
	}
	states, err := e.GroupStates(ctx, []string{"fp-c"})
	if err != nil {
		t.Fatal(err)
	}
	if st := states["fp-c"]; st.Since.Count != 2 || st.Change.Ignore.Count != 3 || st.Change.By != exporter.ActorAPI || st.Status != exporter.StatusIgnored {
		t.Errorf("state after 2 more: %+v", st)
	}
	export(t, e, record("fp-c", time.Now().Add(2*time.Millisecond)))
	if g := getGroup(t, e, "fp-c"); g.Status != exporter.StatusOpen || !g.Woke || g.Regressed {
		t.Errorf("after the 3rd: %s woke %v regressed %v", g.Status, g.Woke, g.Regressed)
	}
	if st := listedAs(t, e, "fp-c"); st != exporter.StatusOpen {
		t.Errorf("after the 3rd listed as %s", st)
	}
}

// Expected: ignored until a time, an occurrence before it leaves it
// ignored; the first one after it wakes it.
func TestIgnoreUntilTime(t *testing.T) {
	e := newExporter(t, clickhouse.Config{})
	now := time.Now()
	export(t, e, record("fp-t", now.Add(-time.Minute)))
	until := now.Add(time.Hour)
	setState(t, e, exporter.Change{Status: exporter.StatusIgnored, Ignore: exporter.Ignore{Until: until}}, "fp-t")
	export(t, e, record("fp-t", now.Add(30*time.Minute)))
	if g := getGroup(t, e, "fp-t"); g.Status != exporter.StatusIgnored || !g.Change.Ignore.Until.Equal(until) {
		t.Fatalf("before the time: %s until %v", g.Status, g.Change.Ignore.Until)
	}
	export(t, e, record("fp-t", until.Add(time.Second)))
	if g := getGroup(t, e, "fp-t"); g.Status != exporter.StatusOpen || !g.Woke {
		t.Errorf("after the time: %s woke %v", g.Status, g.Woke)
	}
	if st := listedAs(t, e, "fp-t"); st != exporter.StatusOpen {
		t.Errorf("after the time listed as %s", st)
	}
}

// Expected: ignored until 3 in 10 minutes, 3 occurrences spread over an
// hour leave it ignored, then 3 within a minute wake it.
func TestIgnoreUntilRate(t *testing.T) {
	e := newExporter(t, clickhouse.Config{})
	now := time.Now()
	export(t, e, record("fp-rate", now.Add(-time.Minute)))
	setState(t, e, exporter.Change{Status: exporter.StatusIgnored, Ignore: exporter.Ignore{Rate: exporter.Rate{Count: 3, Window: 10 * time.Minute}}}, "fp-rate")
	base := time.Now().Add(time.Second)
	export(t, e, record("fp-rate", base), record("fp-rate", base.Add(20*time.Minute)), record("fp-rate", base.Add(40*time.Minute)),
		record("fp-rate", base.Add(49*time.Minute))) // 40, 49: two within 10 minutes, not three
	if g := getGroup(t, e, "fp-rate"); g.Status != exporter.StatusIgnored || g.Woke {
		t.Fatalf("spread out: %s woke %v", g.Status, g.Woke)
	}
	export(t, e, record("fp-rate", base.Add(51*time.Minute))) // 40, 49, 51: three within 11 minutes, still not
	if g := getGroup(t, e, "fp-rate"); g.Status != exporter.StatusIgnored {
		t.Fatalf("three in 11 minutes: %s", g.Status)
	}
	export(t, e, record("fp-rate", base.Add(52*time.Minute))) // 49, 51, 52: three within 3 minutes
	if g := getGroup(t, e, "fp-rate"); g.Status != exporter.StatusOpen || !g.Woke {
		t.Errorf("three within the window: %s woke %v", g.Status, g.Woke)
	}
	if st := listedAs(t, e, "fp-rate"); st != exporter.StatusOpen {
		t.Errorf("listed as %s", st)
	}
}

// Expected: a resolve records who and when; an occurrence after it makes
// a regression, open, with the release it came with.
func TestResolveRecordsWhoAndRegresses(t *testing.T) {
	e := newExporter(t, clickhouse.Config{})
	export(t, e, record("fp-w", time.Now().Add(-time.Minute)))
	before := time.Now()
	setState(t, e, exporter.Change{Status: exporter.StatusResolved, By: "bob"}, "fp-w")
	g := getGroup(t, e, "fp-w")
	if g.Status != exporter.StatusResolved || g.Change.By != "bob" || g.Change.At.Before(before) || !g.StatusChanged.Equal(g.Change.At) {
		t.Fatalf("resolved: %+v", g)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	setState(t, e, exporter.Change{Status: exporter.StatusResolved, By: "carol", At: at}, "fp-w")
	if g := getGroup(t, e, "fp-w"); g.Change.By != "carol" || !g.Change.At.Equal(at) {
		t.Errorf("a given time: %s at %v, want carol at %v", g.Change.By, g.Change.At, at)
	}
	if err := e.Resolve(context.Background(), "fp-w"); err != nil {
		t.Fatal(err)
	}
	export(t, e, record("fp-w", time.Now(), func(r *exporter.Record) { r.ServiceVersion = "2.0.0" }))
	g = getGroup(t, e, "fp-w")
	if g.Status != exporter.StatusOpen || !g.Regressed || g.RegressedIn != "2.0.0" || g.Change.By != exporter.ActorAPI {
		t.Errorf("after an occurrence: %s regressed %v in %q by %q", g.Status, g.Regressed, g.RegressedIn, g.Change.By)
	}
	if st := listedAs(t, e, "fp-w"); st != exporter.StatusOpen {
		t.Errorf("listed as %s", st)
	}
}

// Expected: resolved in the next release, an occurrence of a release the
// group had seen stays resolved; one of a new release regresses it, in
// that release.
func TestResolveInNextRelease(t *testing.T) {
	e := newExporter(t, clickhouse.Config{})
	v := func(version string) func(*exporter.Record) {
		return func(r *exporter.Record) { r.ServiceVersion = version }
	}
	export(t, e, record("fp-n", time.Now().Add(-2*time.Minute), v("1.0")), record("fp-n", time.Now().Add(-time.Minute), v("1.1")))
	setState(t, e, exporter.Change{Status: exporter.StatusResolved, InNextRelease: true, By: "dan"}, "fp-n")
	export(t, e, record("fp-n", time.Now(), v("1.0")), record("fp-n", time.Now(), v("1.1"))) // old pods
	if g := getGroup(t, e, "fp-n"); g.Status != exporter.StatusResolved || g.Regressed {
		t.Fatalf("old releases: %s regressed %v", g.Status, g.Regressed)
	}
	if st := listedAs(t, e, "fp-n"); st != exporter.StatusResolved {
		t.Errorf("old releases: listed as %s", st)
	}
	export(t, e, record("fp-n", time.Now(), v("1.2")))
	g := getGroup(t, e, "fp-n")
	if g.Status != exporter.StatusOpen || !g.Regressed || g.RegressedIn != "1.2" || !g.Change.InNextRelease {
		t.Errorf("new release: %s regressed %v in %q", g.Status, g.Regressed, g.RegressedIn)
	}
	states, err := e.GroupStates(context.Background(), []string{"fp-n"})
	if err != nil {
		t.Fatal(err)
	}
	if st := states["fp-n"]; st.Since.NewRelease != "1.2" || st.FirstRelease != "1.0" || st.Since.Count != 3 {
		t.Errorf("state: %+v", st)
	}
}

// Expected: SetState of several groups writes them all; one unknown
// fingerprint writes none (ErrNotFound); an invalid change is ErrInvalid.
func TestSetStateAllOrNone(t *testing.T) {
	e := newExporter(t, clickhouse.Config{})
	ctx := context.Background()
	export(t, e, record("fp-1", time.Now()), record("fp-2", time.Now()), record("fp-3", time.Now()))
	if err := e.SetState(ctx, []string{"fp-1", "fp-nope"}, exporter.Change{Status: exporter.StatusResolved}); !errors.Is(err, exporter.ErrNotFound) {
		t.Fatalf("unknown among them: %v", err)
	}
	if g := getGroup(t, e, "fp-1"); g.Status != exporter.StatusOpen || g.Change.Status != "" {
		t.Errorf("fp-1 changed although the call failed: %+v", g.Change)
	}
	for _, c := range []exporter.Change{
		{Status: "gone"}, {Status: exporter.StatusOpen, InNextRelease: true},
		{Status: exporter.StatusIgnored, Ignore: exporter.Ignore{Count: 1, Until: time.Now()}},
		{Status: exporter.StatusIgnored, Ignore: exporter.Ignore{Rate: exporter.Rate{Count: 2}}},
	} {
		if err := e.SetState(ctx, []string{"fp-1"}, c); !errors.Is(err, exporter.ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", c, err)
		}
	}
	setState(t, e, exporter.Change{Status: exporter.StatusIgnored, By: "eve"}, "fp-1", "fp-2", "fp-3")
	page := mustList(t, e, exporter.GroupQuery{Status: exporter.StatusIgnored})
	if len(page.Groups) != 3 {
		t.Errorf("ignored: %s", fps(page))
	}
	for _, g := range page.Groups {
		if g.Change.By != "eve" || g.Status != exporter.StatusIgnored {
			t.Errorf("%s: %+v", g.Fingerprint, g.Change)
		}
	}
}

// Expected: each group keeps its first and last release; Releases lists a
// group's releases newest first; the list filters by release and by
// release first seen in.
func TestReleases(t *testing.T) {
	e := newExporter(t, clickhouse.Config{})
	ctx := context.Background()
	v := func(version string) func(*exporter.Record) {
		return func(r *exporter.Record) { r.ServiceVersion = version }
	}
	t0 := time.Now().Add(-time.Hour)
	export(t, e,
		record("fp-a", t0, v("1.0")), record("fp-a", t0.Add(time.Minute), v("1.0")), record("fp-a", t0.Add(2*time.Minute), v("1.1")),
		record("fp-b", t0.Add(3*time.Minute), v("1.1")),
		record("fp-c", t0.Add(4*time.Minute)), // no release
	)
	g := getGroup(t, e, "fp-a")
	if g.FirstRelease != "1.0" || g.LastRelease != "1.1" {
		t.Errorf("fp-a releases: first %q last %q", g.FirstRelease, g.LastRelease)
	}
	if g := getGroup(t, e, "fp-c"); g.FirstRelease != "" || g.LastRelease != "" {
		t.Errorf("fp-c releases: first %q last %q", g.FirstRelease, g.LastRelease)
	}
	rels, err := e.Releases(ctx, "fp-a")
	if err != nil {
		t.Fatal(err)
	}
	if len(rels) != 2 || rels[0].Version != "1.1" || rels[0].Count != 1 || rels[1].Version != "1.0" || rels[1].Count != 2 ||
		!rels[1].FirstSeen.Equal(t0) || !rels[1].LastSeen.Equal(t0.Add(time.Minute)) {
		t.Errorf("releases of fp-a: %+v", rels)
	}
	if _, err := e.Releases(ctx, "fp-nope"); !errors.Is(err, exporter.ErrNotFound) {
		t.Errorf("releases of an unknown group: %v", err)
	}
	if page := mustList(t, e, exporter.GroupQuery{Release: "1.1"}); fps(page) != "fp-b,fp-a" {
		t.Errorf("release 1.1: %s", fps(page))
	}
	if page := mustList(t, e, exporter.GroupQuery{NewInRelease: "1.1"}); fps(page) != "fp-b" {
		t.Errorf("new in 1.1: %s", fps(page))
	}
	if page := mustList(t, e, exporter.GroupQuery{NewInRelease: "1.0", Sort: exporter.SortCount}); fps(page) != "fp-a" {
		t.Errorf("new in 1.0: %s", fps(page))
	}
	if page := mustList(t, e, exporter.GroupQuery{Release: "9.9"}); len(page.Groups) != 0 {
		t.Errorf("release 9.9: %s", fps(page))
	}
}

// Expected: after a merge the target counts the parts' occurrences, first
// and last seen and releases, the list hides the parts, a part answers
// with the target, and a new occurrence of a part's fingerprint lands in
// the target, read by a second exporter on the same database (a restart,
// or another instance).
func TestMergeAcrossRestarts(t *testing.T) {
	db := testDatabase(t)
	e := newExporter(t, clickhouse.Config{Database: db})
	ctx := context.Background()
	t0 := time.Now().Add(-time.Hour)
	v := func(version string) func(*exporter.Record) {
		return func(r *exporter.Record) { r.ServiceVersion = version }
	}
	export(t, e, record("fp-t", t0.Add(10*time.Minute), v("2.0")), record("fp-t", t0.Add(20*time.Minute), v("2.0")),
		record("fp-p1", t0, v("1.0")), record("fp-p2", t0.Add(30*time.Minute), v("2.1")), record("fp-x", t0.Add(5*time.Minute)))
	setState(t, e, exporter.Change{Status: exporter.StatusResolved}, "fp-t")
	if err := e.Merge(ctx, "fp-t", []string{"fp-p1", "fp-p2"}, "fay"); err != nil {
		t.Fatal(err)
	}
	g := getGroup(t, e, "fp-t")
	if g.Count != 4 || !g.FirstSeen.Equal(t0) || !g.LastSeen.Equal(t0.Add(30*time.Minute)) ||
		g.FirstRelease != "1.0" || g.LastRelease != "2.1" || !slices.Equal(g.Merged, []string{"fp-p1", "fp-p2"}) || g.MergedInto != "" {
		t.Errorf("target after the merge: %+v", g)
	}
	if g.Status != exporter.StatusResolved {
		t.Errorf("the target keeps its state: %s", g.Status)
	}
	page := mustList(t, e, exporter.GroupQuery{PageSize: 50})
	if fps(page) != "fp-t,fp-x" || page.Groups[0].Count != 4 {
		t.Errorf("list after the merge: %s", fps(page))
	}
	if page := mustList(t, e, exporter.GroupQuery{Sort: exporter.SortCount}); fps(page) != "fp-t,fp-x" {
		t.Errorf("list by count: %s", fps(page))
	}
	part, latest, err := e.GetGroup(ctx, "fp-p1")
	if err != nil || part.Fingerprint != "fp-t" || part.MergedInto != "fp-t" || part.Count != 4 || latest.Fingerprint != "fp-p2" {
		t.Errorf("GetGroup of a part: %+v, latest %s, %v", part, latest.Fingerprint, err)
	}
	occ, _, err := e.ListOccurrences(ctx, "fp-t", 1, 10)
	if err != nil || len(occ) != 4 {
		t.Errorf("occurrences of the target: %d, %v", len(occ), err)
	}
	rels, err := e.Releases(ctx, "fp-t")
	if err != nil || len(rels) != 3 {
		t.Errorf("releases of the target: %+v, %v", rels, err)
	}
	states, err := e.GroupStates(ctx, []string{"fp-p2"})
	if err != nil {
		t.Fatal(err)
	}
	if st := states["fp-p2"]; st.MergedInto != "fp-t" || st.Count != 4 || st.Change.Status != exporter.StatusResolved {
		t.Errorf("state of a part: %+v", st)
	}
	if err := e.Merge(ctx, "fp-p1", []string{"fp-t"}, ""); !errors.Is(err, exporter.ErrInvalid) {
		t.Errorf("merging a target into its own part: %v", err)
	}

	// A restart: a new exporter on the same database; a new occurrence of
	// a part regresses the target.
	if err := e.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	e2 := newExporter(t, clickhouse.Config{Database: db})
	export(t, e2, record("fp-p1", time.Now()))
	g = getGroup(t, e2, "fp-t")
	if g.Count != 5 || g.Status != exporter.StatusOpen || !g.Regressed {
		t.Errorf("target after a part's new occurrence: count %d %s regressed %v", g.Count, g.Status, g.Regressed)
	}
	if page := mustList(t, e2, exporter.GroupQuery{PageSize: 50}); fps(page) != "fp-t,fp-x" {
		t.Errorf("list after the restart: %s", fps(page))
	}
	counts, err := e2.HourlyCounts(ctx, []string{"fp-t"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, c := range counts["fp-t"] {
		n += c.Count
	}
	if n != 5 {
		t.Errorf("hourly counts of the target add up to %d, want 5", n)
	}
}

// Expected: merging into a part goes to its target; merging a target
// brings its parts; unmerge gives a part its own group back, exactly.
func TestMergeChainsAndUnmerge(t *testing.T) {
	e := newExporter(t, clickhouse.Config{})
	ctx := context.Background()
	now := time.Now().Add(-time.Minute)
	export(t, e, record("fp-a", now), record("fp-b", now), record("fp-b", now), record("fp-c", now.Add(time.Second)), record("fp-d", now))
	if err := e.Merge(ctx, "fp-a", []string{"fp-b"}, ""); err != nil {
		t.Fatal(err)
	}
	if err := e.Merge(ctx, "fp-b", []string{"fp-c"}, ""); err != nil { // fp-b is a part: into fp-a
		t.Fatal(err)
	}
	if g := getGroup(t, e, "fp-a"); !slices.Equal(g.Merged, []string{"fp-b", "fp-c"}) || g.Count != 4 {
		t.Errorf("into a part: %v count %d", g.Merged, g.Count)
	}
	if err := e.Merge(ctx, "fp-d", []string{"fp-a"}, ""); err != nil { // fp-a's parts follow it
		t.Fatal(err)
	}
	if g := getGroup(t, e, "fp-d"); !slices.Equal(g.Merged, []string{"fp-a", "fp-b", "fp-c"}) || g.Count != 5 {
		t.Errorf("a target merged: %v count %d", g.Merged, g.Count)
	}
	if err := e.Unmerge(ctx, "fp-b", "gus"); err != nil {
		t.Fatal(err)
	}
	if g := getGroup(t, e, "fp-b"); g.MergedInto != "" || g.Count != 2 || g.Fingerprint != "fp-b" {
		t.Errorf("unmerged part: %+v", g)
	}
	if g := getGroup(t, e, "fp-d"); !slices.Equal(g.Merged, []string{"fp-a", "fp-c"}) || g.Count != 3 {
		t.Errorf("target after the unmerge: %v count %d", g.Merged, g.Count)
	}
	if page := mustList(t, e, exporter.GroupQuery{}); fps(page) != "fp-d,fp-b" && fps(page) != "fp-b,fp-d" {
		t.Errorf("list after the unmerge: %s", fps(page))
	}
	if err := e.Unmerge(ctx, "fp-b", ""); !errors.Is(err, exporter.ErrNotFound) {
		t.Errorf("unmerge of a group not merged: %v", err)
	}
	if err := e.Merge(ctx, "fp-d", []string{"fp-nope"}, ""); !errors.Is(err, exporter.ErrNotFound) {
		t.Errorf("merge of an unknown group: %v", err)
	}
}

// mutations counts the mutations of a database's table.
func mutations(t *testing.T, db, table string) uint64 {
	t.Helper()
	conn, err := ch.Open(&ch.Options{Addr: []string{testenv.ClickHouseAddr(t)}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var n uint64
	if err := conn.QueryRow(context.Background(), "SELECT count() FROM system.mutations WHERE database = ? AND table = ?", db, table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Expected: DeleteGroups of three groups, one of them a target with a
// part, is one mutation per table; the groups and the part are gone, a
// later occurrence of the part starts its own group.
func TestDeleteGroupsIsOneMutation(t *testing.T) {
	db := testDatabase(t)
	e := newExporter(t, clickhouse.Config{Database: db})
	ctx := context.Background()
	old := time.Now().Add(-time.Hour)
	export(t, e, record("fp-1", old), record("fp-2", old), record("fp-3", old), record("fp-part", old), record("fp-keep", old))
	if err := e.Merge(ctx, "fp-3", []string{"fp-part"}, ""); err != nil {
		t.Fatal(err)
	}
	if err := e.DeleteGroups(ctx, []string{"fp-1", "fp-nope"}); !errors.Is(err, exporter.ErrNotFound) {
		t.Fatalf("with an unknown group: %v", err)
	}
	if n := mutations(t, db, "occurrences"); n != 0 {
		t.Fatalf("a failed delete left %d mutations", n)
	}
	if err := e.DeleteGroups(ctx, []string{"fp-1", "fp-2", "fp-3"}); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"occurrences", "groups", "group_counts", "group_releases"} {
		if n := mutations(t, db, table); n != 1 {
			t.Errorf("%s: %d mutations, want 1", table, n)
		}
	}
	if page := mustList(t, e, exporter.GroupQuery{}); fps(page) != "fp-keep" {
		t.Errorf("list after the delete: %s", fps(page))
	}
	for _, fp := range []string{"fp-1", "fp-3", "fp-part"} {
		if _, _, err := e.GetGroup(ctx, fp); !errors.Is(err, exporter.ErrNotFound) {
			t.Errorf("%s after the delete: %v", fp, err)
		}
	}
	export(t, e, record("fp-part", time.Now()))
	if g := getGroup(t, e, "fp-part"); g.Count != 1 || g.MergedInto != "" {
		t.Errorf("the part afresh: %+v", g)
	}
}

// Expected: a database from before the workflow (migrations 7 to 9) keeps
// its resolved groups resolved after the upgrade, with no author; its
// groups have no first release (New backfills nothing), and an occurrence
// after the upgrade regresses the group in its release. An older group
// resolved in the next release after the upgrade stays resolved when its
// old release occurs again: the resolve recorded the releases it had.
func TestMigrationKeepsOlderStates(t *testing.T) {
	db := testDatabase(t)
	newExporter(t, clickhouse.Config{Database: db})
	ctx := context.Background()
	conn, err := ch.Open(&ch.Options{Addr: []string{testenv.ClickHouseAddr(t)}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	old := time.Now().Add(-time.Hour)
	stmts := []string{"DROP TABLE " + db + ".group_releases_mv", "DROP TABLE " + db + ".group_releases", "DROP TABLE " + db + ".merges"}
	for _, col := range []string{"in_next_release", "ignore_until_ns", "ignore_count", "ignore_rate_count", "ignore_rate_window_ns", "actor"} {
		stmts = append(stmts, "ALTER TABLE "+db+".group_state DROP COLUMN "+col)
	}
	stmts = append(stmts,
		"ALTER TABLE "+db+".schema_migrations DELETE WHERE version IN (7, 8, 9)",
		fmt.Sprintf("INSERT INTO %s.occurrences (id, fingerprint, time, time_ns, type, message, service_version) SELECT 'old-1', 'fp-old', toDateTime(%d), toUInt64(%d), 'T', 'from before', '0.9'",
			db, old.Unix(), old.UnixNano()),
		fmt.Sprintf("INSERT INTO %s.occurrences (id, fingerprint, time, time_ns, type, message, service_version) SELECT 'old-2', 'fp-old-next', toDateTime(%d), toUInt64(%d), 'T', 'from before', '0.9'",
			db, old.Unix(), old.UnixNano()),
		fmt.Sprintf("INSERT INTO %s.group_state (fingerprint, status, changed_ns, version) SELECT 'fp-old', 'resolved', toUInt64(%d), toUInt64(%d)",
			db, old.Add(time.Minute).UnixNano(), old.Add(time.Minute).UnixNano()),
	)
	for _, stmt := range stmts {
		if err := conn.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	waitNoMutations(t, conn, db)

	e := newExporter(t, clickhouse.Config{Database: db})
	g := getGroup(t, e, "fp-old")
	if g.Status != exporter.StatusResolved || g.Change.By != "" || g.FirstRelease != "" || g.LastRelease != "" {
		t.Errorf("an older group after the upgrade: %s by %q, releases %q %q", g.Status, g.Change.By, g.FirstRelease, g.LastRelease)
	}
	if page := mustList(t, e, exporter.GroupQuery{NewInRelease: "0.9"}); len(page.Groups) != 0 {
		t.Errorf("an older group is new in its release: %s", fps(page))
	}
	setState(t, e, exporter.Change{Status: exporter.StatusResolved, InNextRelease: true}, "fp-old-next")
	export(t, e, record("fp-old-next", time.Now(), func(r *exporter.Record) { r.ServiceVersion = "0.9" }))
	if g := getGroup(t, e, "fp-old-next"); g.Status != exporter.StatusResolved || g.FirstRelease != "0.9" {
		t.Errorf("an older group resolved in the next release, its old release again: %s regressed in %q, first release %q",
			g.Status, g.RegressedIn, g.FirstRelease)
	}
	export(t, e, record("fp-old", time.Now(), func(r *exporter.Record) { r.ServiceVersion = "1.0" }))
	g = getGroup(t, e, "fp-old")
	if g.Status != exporter.StatusOpen || !g.Regressed || g.RegressedIn != "1.0" || g.FirstRelease != "" || g.LastRelease != "1.0" {
		t.Errorf("after a new occurrence: %s regressed %v in %q, releases %q %q", g.Status, g.Regressed, g.RegressedIn, g.FirstRelease, g.LastRelease)
	}
}

func waitNoMutations(t *testing.T, conn ch.Conn, db string) {
	t.Helper()
	for {
		var pending uint64
		if err := conn.QueryRow(context.Background(), "SELECT count() FROM system.mutations WHERE database = ? AND is_done = 0", db).Scan(&pending); err != nil {
			t.Fatal(err)
		}
		if pending == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
