package clickhouse_test

import (
	"context"
	"testing"
	"time"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/exporter/clickhouse"
)

// After an upgrade of the fingerprint, the groups of the old one carry
// over: the new group keeps the old first sighting and resolved state, so
// the store calls a recurrence a regression and no old error new.
func TestGroupsCarryOverToTheNextFingerprint(t *testing.T) {
	e := newExporter(t, clickhouse.Config{})
	ctx := context.Background()
	first := time.Now().Add(-48 * time.Hour).Truncate(time.Millisecond)
	export(t, e, record("v1-login", first), record("v1-login", first.Add(time.Hour)), record("v1-merged", first.Add(-time.Hour)))
	if err := e.Resolve(ctx, "v1-login"); err != nil {
		t.Fatal(err)
	}
	resolved, _, _ := e.GetGroup(ctx, "v1-login")

	// The new version merges two old groups and meets an unknown one.
	later := time.Now().Add(time.Second)
	upgraded := func(fp, previous string, at time.Time) exporter.Record {
		r := record(fp, at)
		r.PreviousFingerprint = previous
		return r
	}
	batch := []exporter.Record{upgraded("v2-login", "v1-login", later), upgraded("v2-login", "v1-merged", later), upgraded("v2-fresh", "v1-unknown", later)}
	export(t, e, batch...)
	export(t, e, batch...) // again, as a retry or a second instance would: nothing changes

	states, err := e.GroupStates(ctx, []string{"v2-login", "v2-fresh"})
	if err != nil {
		t.Fatal(err)
	}
	login := states["v2-login"]
	if !login.FirstSeen.Equal(first.Add(-time.Hour)) {
		t.Errorf("first seen %v, want the earliest of the merged old groups, %v", login.FirstSeen, first.Add(-time.Hour))
	}
	if login.Status != exporter.StatusResolved || !login.StatusChanged.Equal(resolved.StatusChanged) {
		t.Errorf("state %s at %v, want resolved at %v", login.Status, login.StatusChanged, resolved.StatusChanged)
	}
	if fresh := states["v2-fresh"]; fresh.FirstSeen.Sub(later).Abs() > time.Millisecond {
		t.Errorf("a group without a previous one: first seen %v, want %v", fresh.FirstSeen, later)
	}
	g, _, err := e.GetGroup(ctx, "v2-login")
	if err != nil {
		t.Fatal(err)
	}
	if !g.Regressed || g.Status != exporter.StatusOpen || g.Count != 2 || g.Type == "" {
		t.Errorf("new group: status %s regressed %v count %d type %q; want a regression with its own 2 occurrences", g.Status, g.Regressed, g.Count, g.Type)
	}
	page := mustList(t, e, exporter.GroupQuery{Sort: exporter.SortFirstSeen, PageSize: 10})
	if len(page.Groups) != 4 {
		t.Errorf("list = %s, want the two old groups and the two new ones, no empty rows", fps(page))
	}

	// A person's later choice on the new group wins over the carried state.
	if err := e.Reopen(ctx, "v2-login"); err != nil {
		t.Fatal(err)
	}
	export(t, e, upgraded("v2-login", "v1-login", later.Add(time.Second)))
	if g, _, _ := e.GetGroup(ctx, "v2-login"); g.Status != exporter.StatusOpen || g.Regressed {
		t.Errorf("after reopen: %s regressed %v", g.Status, g.Regressed)
	}
}

// Expected: a group resolved in the next release keeps that across an
// upgrade of the fingerprint: the new group knows the old one's releases,
// so the old release stays resolved and a new one regresses it.
func TestCarryOverKeepsTheReleases(t *testing.T) {
	e := newExporter(t, clickhouse.Config{})
	ctx := context.Background()
	version := func(fp, previous, v string, at time.Time) exporter.Record {
		r := record(fp, at)
		r.PreviousFingerprint, r.ServiceVersion = previous, v
		return r
	}
	first := time.Now().Add(-time.Hour)
	export(t, e, version("v1-pay", "", "1.0", first))
	if err := e.SetState(ctx, []string{"v1-pay"}, exporter.Change{Status: exporter.StatusResolved, InNextRelease: true}); err != nil {
		t.Fatal(err)
	}
	export(t, e, version("v2-pay", "v1-pay", "1.0", time.Now())) // an old pod, upgraded library
	g, _, err := e.GetGroup(ctx, "v2-pay")
	if err != nil {
		t.Fatal(err)
	}
	if g.Status != exporter.StatusResolved || g.FirstRelease != "1.0" || !g.Change.InNextRelease {
		t.Errorf("the new group, old release: %s regressed in %q, first release %q, change %+v", g.Status, g.RegressedIn, g.FirstRelease, g.Change)
	}
	export(t, e, version("v2-pay", "v1-pay", "1.1", time.Now()))
	if g, _, _ := e.GetGroup(ctx, "v2-pay"); g.Status != exporter.StatusOpen || g.RegressedIn != "1.1" {
		t.Errorf("the new group, new release: %s regressed in %q", g.Status, g.RegressedIn)
	}
}
