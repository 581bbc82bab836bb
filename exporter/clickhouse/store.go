package clickhouse

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/errortracker/errortracker/exporter"
)

// ListGroups returns one page of groups. Paging and ordering first pick the
// page's fingerprints from groups, a one-row-per-group summary of cheap
// aggregates (last and first seen, rows stored, latest fields); the exact
// distinct counts are then merged from group_counts for those fingerprints
// only, which keeps the default list fast at millions of occurrences.
// Sorting by count uses the rows stored over the group's life; the count
// shown is the distinct occurrences within retention.
//
// Merged parts are never listed: their rows count in their target's
// (transform() maps them, in this query only when something is merged).
// The status filter applies the rules (exporter.Change.Outcome) to every
// group a person resolved or ignored, and keeps or leaves out those; the
// release filters read group_releases.
func (e *Exporter) ListGroups(ctx context.Context, q exporter.GroupQuery) (exporter.GroupPage, error) {
	q, err := q.Normalize()
	if err != nil {
		return exporter.GroupPage{}, err
	}
	// The merge map and the list's first read (the newest occurrence)
	// do not depend on each other: they are read at once, so that the
	// map costs the default list no round trip of its own.
	var m merges
	var mErr error
	read := make(chan struct{})
	go func() {
		defer close(read)
		m, mErr = e.readMerges(ctx)
	}()
	attempts := e.listAttempts(ctx, q, func() merges { <-read; return m })
	<-read
	if mErr != nil {
		return exporter.GroupPage{}, mErr
	}
	page, _, err := e.listGroups(ctx, q, m, attempts)
	return page, err
}

// listGroups reads a page of the list by the attempts in turn, and reports
// whether the page is exact: an attempt filled it, or the last one read was
// final.
func (e *Exporter) listGroups(ctx context.Context, q exporter.GroupQuery, m merges, attempts []listAttempt) (exporter.GroupPage, bool, error) {
	d := sqlData{Group: "fingerprint"}
	var mapArgs []any
	if m.any() {
		d.Group, d.Merged = "t_fp", true
		d.Map, mapArgs = m.mapExpr(m.allMembers())
	}
	var args []any
	add := func(cond string, a ...any) {
		d.Having = append(d.Having, e.sql(cond, d))
		args = append(args, a...)
	}
	if q.Service != "" {
		add("list_service", q.Service)
	}
	if q.Environment != "" {
		add("list_environment", q.Environment)
	}
	if q.Type != "" {
		add("list_type", q.Type)
	}
	if !q.Since.IsZero() {
		add("list_since", uint64(q.Since.UnixNano()))
	}
	if !q.Until.IsZero() {
		add("list_until", uint64(q.Until.UnixNano()))
	}
	if q.Search != "" {
		add("list_search", q.Search, q.Search, q.Search)
	}
	if e.cfg.RetentionDays > 0 { // groups whose occurrences retention dropped
		add("list_since", uint64(time.Now().Add(-time.Duration(e.cfg.RetentionDays)*24*time.Hour).UnixNano()))
	}
	if q.Release != "" {
		add("list_release", append(slices.Clone(mapArgs), q.Release)...)
	}
	if q.NewInRelease != "" {
		a := slices.Concat(mapArgs, mapArgs, mapArgs, []any{q.NewInRelease, q.NewInRelease})
		add("list_new_in_release", a...)
	}
	var statusArgs []any
	if q.Status != "" {
		// The list joins the groups' states and applies the rules their
		// summaries decide; Go decides the few others (quietGroups).
		resolved, ignored, err := e.quietGroups(ctx, m)
		if err != nil {
			return exporter.GroupPage{}, false, err
		}
		extra := map[exporter.Status][]string{
			exporter.StatusOpen: append(resolved, ignored...), exporter.StatusResolved: resolved, exporter.StatusIgnored: ignored,
		}[q.Status]
		d.Status, d.Extra = string(q.Status), len(extra) > 0
		if d.Extra {
			statusArgs = []any{inSet(extra)}
		}
		if q.Status != exporter.StatusOpen {
			// The groups ever set so alone are read, not through the
			// windows or snapshots made for reading a few of many.
			attempts = []listAttempt{{where: e.sql("list_set_to", d), args: []any{string(q.Status)}, final: true}}
		}
	}
	// Only the fields a filter reads are merged for every group.
	for _, f := range []struct {
		col  string
		used bool
	}{
		{"service", q.Service != ""}, {"environment", q.Environment != ""},
		{"type", q.Type != "" || q.Search != ""}, {"message", q.Search != ""}, {"path", q.Search != ""},
	} {
		if f.used {
			d.Fields = append(d.Fields, f.col)
		}
	}
	d.Order, d.Offset, d.Limit = order(q)
	var fps []string
	var rows []uint64 // each group's stored rows
	exact := false
	for _, a := range attempts {
		ad := d
		wargs := slices.Clone(mapArgs)
		if a.where != "" {
			ad.Where = a.where
			wargs = append(wargs, a.args...)
			if m.any() {
				// A recent part brings its target, and the target's
				// rows are all needed to sum it up.
				wargs = append(wargs, inSet(m.allMembers()))
			}
		}
		wargs = append(wargs, args...)
		if a.having != "" {
			ad.Having = append(slices.Clip(d.Having), a.having)
			wargs = append(wargs, a.havingArgs...)
		}
		wargs = append(wargs, statusArgs...)
		query := e.sql("list", ad)
		fps, rows = fps[:0], rows[:0]
		err := e.scanRows(ctx, func(r driver.Rows) error {
			var fp string
			var n uint64
			err := r.Scan(&fp, &n)
			fps, rows = append(fps, fp), append(rows, n)
			return err
		}, query, wargs...)
		if err != nil {
			return exporter.GroupPage{}, false, fmt.Errorf("clickhouse: list groups: %w", err)
		}
		if exact = len(fps) > q.PageSize || a.final; exact {
			break // a full page, or every group that can be on it was read
		}
	}
	page := exporter.GroupPage{Page: q.Page, PageSize: q.PageSize}
	if len(fps) > q.PageSize {
		fps, rows, page.HasNext = fps[:q.PageSize], rows[:q.PageSize], true
	}
	var stored uint64
	for _, n := range rows {
		stored += n
	}
	groups, err := e.groups(ctx, fps, m, stored)
	if err != nil {
		return exporter.GroupPage{}, false, err
	}
	for _, fp := range fps {
		if g, ok := groups[fp]; ok { // a group deleted between the two queries is left out
			page.Groups = append(page.Groups, g.Group)
		}
	}
	return page, exact, nil
}

// quietGroups returns, of the groups whose outcome the summaries cannot
// decide (a resolve in the next release, an ignore until a count or a
// rate), those whose outcome is resolved and those whose outcome is
// ignored, by the rules of exporter.Change.Outcome: it reads their states
// and what happened to them since. Its cost grows with those groups, not
// with the store.
func (e *Exporter) quietGroups(ctx context.Context, m merges) (resolved, ignored []string, err error) {
	changes, err := e.readStates(ctx, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("clickhouse: read states: %w", err)
	}
	for fp := range changes {
		if m.root(fp) != fp {
			delete(changes, fp) // a part: its target's state counts
		}
	}
	since, err := e.since(ctx, changes, m)
	if err != nil {
		return nil, nil, err
	}
	for fp, c := range changes {
		switch c.Outcome(since[fp]).Status {
		case exporter.StatusResolved:
			resolved = append(resolved, fp)
		case exporter.StatusIgnored:
			ignored = append(ignored, fp)
		}
	}
	slices.Sort(resolved)
	slices.Sort(ignored)
	return resolved, ignored, nil
}

// listAttempt is one read of the list: the groups it reads (where, on
// the summaries), the condition on the summaries that the groups on the
// page must meet for the read to be exact (having), and whether a short
// page is the end of the list (final).
type listAttempt struct {
	where      string
	args       []any
	having     string
	havingArgs []any
	final      bool
}

// listAttempts returns the reads ListGroups tries in turn, the last one
// reading every group. By last seen, the first pages hold the groups seen
// last: the groups with an occurrence in a recent window are read first,
// and the window widens until a page is full (see listWindows). By first
// seen and by count, the snapshot's groups and those changed since it
// are read first (sortsnapshot.go). A cut at Until, and a cluster (where the
// subqueries would be a second distributed read on every shard), read
// every group.
//
// merged returns the merge map, which the snapshots need (waiting for it
// if it is being read).
func (e *Exporter) listAttempts(ctx context.Context, q exporter.GroupQuery, merged func() merges) []listAttempt {
	var out []listAttempt
	switch {
	case e.schema.Cluster != "":
	case q.Sort == exporter.SortLastSeen && q.Until.IsZero():
		anchor := e.newestOccurrence(ctx, time.Now())
		for _, window := range listWindows() {
			if window > 0 {
				out = append(out, listAttempt{
					where: e.sql("list_window", sqlData{}),
					args:  []any{uint32(anchor.Add(-window).Unix())},
				})
			}
		}
	default:
		if a, ok := e.snapshotAttempt(ctx, q, merged()); ok {
			out = append(out, a)
		}
	}
	return append(out, listAttempt{final: true})
}

// newestOccurrence returns the time of the newest occurrence of the last
// three days, or else now: the list's windows start there, so that a store
// that has been quiet for a while does not widen through empty windows. The
// day partitions keep the read to those days.
func (e *Exporter) newestOccurrence(ctx context.Context, now time.Time) time.Time {
	var newest uint32
	since := uint32(now.Add(-3 * 24 * time.Hour).Unix())
	err := e.scanRows(ctx, func(rows driver.Rows) error {
		return rows.Scan(&newest)
	}, e.sql("newest_occurrence", sqlData{}), since)
	if err != nil || newest < since {
		return now // no recent occurrence, or no answer: the windows widen from now
	}
	return time.Unix(int64(newest)+1, 0)
}

// listWindows returns the recent windows whose groups the list reads
// first, by last seen; 0 reads every group.
func listWindows() []time.Duration {
	return []time.Duration{5 * time.Minute, time.Hour, 8 * time.Hour, 3 * 24 * time.Hour, 24 * 24 * time.Hour, 0}
}

// order is the list's sort keys and page: its offset, and its size and
// one more, which tells whether a next page exists.
func order(q exporter.GroupQuery) (keys string, offset, limit int) {
	keys = "last_ns DESC"
	if o, ok := orderFor(q.Sort); ok {
		keys = o.keys // the snapshots' order (sortsnapshot.go)
	}
	return keys, (q.Page - 1) * q.PageSize, q.PageSize + 1
}

// countsQuery counts the distinct occurrences of each group within
// retention (queries/groups.sql: counts). For a group of a million
// occurrences, reading a merged day's one state halves the page's slowest
// read.
func (e *Exporter) countsQuery() string { return e.sql("counts", sqlData{}) }

// countsArgs are countsQuery's arguments.
func (e *Exporter) countsArgs(set any, since uint32) []any {
	if e.schema.Cluster != "" {
		return []any{set, since}
	}
	return []any{set, since, set, since}
}

// maxRowsByDay is the most stored rows of a page's groups that are counted
// day by day in one read ("counts" with ByDay): above it the hash sets of
// the days' ids cost more than the two-path count.
const maxRowsByDay = 100_000

// groupRead is a group as read, with what happened since its change.
type groupRead struct {
	exporter.Group
	since exporter.Since
}

// groups reads the full summaries, distinct counts, states and releases
// of the given groups (roots: a part's rows count in its target's). The
// four reads run at once, each a plain indexed lookup: cheaper than
// 18.16's joins, and the browse page waits for the slowest only. The
// groups a person resolved or ignored then cost one more pair of reads
// (since), and their status is their change's Outcome.
//
// stored is how many rows the groups hold in all, if known (0 if not):
// few are counted day by day in one read (maxRowsByDay).
func (e *Exporter) groups(ctx context.Context, fps []string, m merges, stored uint64) (map[string]groupRead, error) {
	out := make(map[string]groupRead, len(fps))
	if len(fps) == 0 {
		return out, nil
	}
	members := m.members(fps)
	set := inSet(members)
	var since uint32 // the first day within retention
	if e.cfg.RetentionDays > 0 {
		since = uint32(time.Now().Add(-time.Duration(e.cfg.RetentionDays) * 24 * time.Hour).Unix())
	}
	type release struct {
		name        string
		first, last uint64
	}
	counts := map[string]uint64{}
	releases := map[string][]release{}
	var changes map[string]exporter.Change
	countsQuery, countsArgs := e.countsQuery(), e.countsArgs(set, since)
	if stored > 0 && stored <= maxRowsByDay {
		countsQuery, countsArgs = e.sql("counts", sqlData{ByDay: true}), []any{set, since}
	}
	var wg sync.WaitGroup
	var countsErr, statesErr, releasesErr error
	wg.Go(func() {
		countsErr = e.scanRows(ctx, func(rows driver.Rows) error {
			var fp string
			var n uint64
			err := rows.Scan(&fp, &n)
			counts[m.root(fp)] += n // an id belongs to one fingerprint: the parts' counts add up
			return err
		}, countsQuery, countsArgs...)
	})
	wg.Go(func() {
		changes, statesErr = e.readStates(ctx, fps)
	})
	wg.Go(func() {
		releasesErr = e.scanRows(ctx, func(rows driver.Rows) error {
			var fp string
			var r release
			err := rows.Scan(&fp, &r.name, &r.first, &r.last)
			releases[m.root(fp)] = append(releases[m.root(fp)], r)
			return err
		}, e.sql("group_releases", sqlData{}), set)
	})
	fpExpr, mapArgs := m.mapExpr(members)
	summary := e.sql("summary", sqlData{Map: fpExpr})
	firsts := map[string]uint64{}
	summaryErr := e.scanRows(ctx, func(rows driver.Rows) error {
		var g exporter.Group
		var firstNs, lastNs uint64
		if err := rows.Scan(&g.Fingerprint, &firstNs, &lastNs, &g.Type, &g.Message, &g.Service, &g.Environment,
			&g.Host, &g.Method, &g.Path, &g.Route, &g.TraceID); err != nil {
			return err
		}
		if lastNs == 0 { // every row deleted; merges not yet done
			return nil
		}
		g.FirstSeen, g.LastSeen = fromNanos(firstNs), fromNanos(lastNs)
		firsts[g.Fingerprint] = firstNs
		out[g.Fingerprint] = groupRead{Group: g}
		return nil
	}, summary, append(mapArgs, set)...)
	wg.Wait()
	if err := errors.Join(summaryErr, countsErr, statesErr, releasesErr); err != nil {
		return nil, fmt.Errorf("clickhouse: read groups: %w", err)
	}
	sinces, err := e.since(ctx, changes, m)
	if err != nil {
		return nil, err
	}
	for fp, g := range out {
		g.Count = counts[fp]
		// The first release is known when it holds the group's first
		// sighting: not for a group older than the releases table.
		var first, last release
		for _, r := range releases[fp] {
			if first.first == 0 || r.first < first.first {
				first.name, first.first = r.name, r.first
			}
			if r.last > last.last {
				last = r
			}
		}
		if first.first != 0 && first.first <= firsts[fp] {
			g.FirstRelease = first.name
		}
		g.LastRelease = last.name
		g.Merged = m.parts[fp]
		g.Change, g.since = changes[fp], sinces[fp]
		o := g.Change.Outcome(g.since)
		g.Status, g.Regressed, g.RegressedIn, g.Woke = o.Status, o.Regressed, o.RegressedIn, o.Woke
		g.StatusChanged = g.Change.At
		out[fp] = g
	}
	return out, nil
}

// scanRows runs a query and calls scan for each row.
func (e *Exporter) scanRows(ctx context.Context, scan func(driver.Rows) error, query string, args ...any) error {
	rows, err := e.conn.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func fromNanos(ns uint64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(ns)).UTC()
}

// GetGroup returns a group's summary and its latest occurrence in full. A
// merged part answers with its target's group, MergedInto set to the
// target; a target's occurrences include its parts'.
func (e *Exporter) GetGroup(ctx context.Context, fingerprint string) (exporter.Group, exporter.Record, error) {
	if err := exporter.CheckFingerprint(fingerprint); err != nil {
		return exporter.Group{}, exporter.Record{}, err
	}
	m, err := e.readMerges(ctx)
	if err != nil {
		return exporter.Group{}, exporter.Record{}, err
	}
	root := m.root(fingerprint)
	groups, err := e.groups(ctx, []string{root}, m, 0)
	if err != nil {
		return exporter.Group{}, exporter.Record{}, err
	}
	g, ok := groups[root]
	if !ok {
		return exporter.Group{}, exporter.Record{}, exporter.ErrNotFound
	}
	if root != fingerprint {
		g.MergedInto = root
	}
	recs, _, err := e.occurrencesBefore(ctx, span{members: m.members([]string{root}), first: g.FirstSeen, last: g.LastSeen}, occurrenceCursor{}, 1)
	if err != nil {
		return exporter.Group{}, exporter.Record{}, err
	}
	if len(recs) == 0 {
		return exporter.Group{}, exporter.Record{}, exporter.ErrNotFound
	}
	return g.Group, recs[0], nil
}

// ListOccurrences returns a page of a group's occurrences, newest first;
// copies of one id that a retried insert stored twice appear once. A
// target's occurrences include its parts', and a part answers with its
// target's. The first page is read by time windows (see
// OccurrencesBefore); a later one by offset, which reads the whole group:
// walk with OccurrencesBefore's cursor instead.
func (e *Exporter) ListOccurrences(ctx context.Context, fingerprint string, page, pageSize int) ([]exporter.Record, bool, error) {
	if err := exporter.CheckFingerprint(fingerprint); err != nil {
		return nil, false, err
	}
	q, err := exporter.GroupQuery{Page: page, PageSize: pageSize}.Normalize()
	if err != nil {
		return nil, false, err
	}
	if q.Page == 1 {
		sp, err := e.groupSpan(ctx, fingerprint)
		if errors.Is(err, exporter.ErrNotFound) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		recs, next, err := e.occurrencesBefore(ctx, sp, occurrenceCursor{}, q.PageSize)
		return recs, next != "", err
	}
	m, err := e.readMerges(ctx)
	if err != nil {
		return nil, false, err
	}
	query := e.sql("occurrences_page", sqlData{Columns: occurrenceSelect, Offset: (q.Page - 1) * q.PageSize, Limit: q.PageSize + 1})
	var recs []exporter.Record
	err = e.scanRows(ctx, func(rows driver.Rows) error {
		r, err := scanRecord(rows)
		recs = append(recs, r)
		return err
	}, query, inSet(m.members([]string{m.root(fingerprint)})))
	if err != nil {
		return nil, false, fmt.Errorf("clickhouse: list occurrences: %w", err)
	}
	hasNext := len(recs) > q.PageSize
	if hasNext {
		recs = recs[:q.PageSize]
	}
	return recs, hasNext, nil
}

// OccurrencesBefore returns up to pageSize of a group's occurrences, newest
// first, that come after cursor in that order ("" for the newest), and the
// cursor of the next page ("" when there is none). Copies of one id appear
// once; a target's occurrences include its parts'. It reads the group by
// time windows that widen until the page is full, so a page costs what its
// window holds, not the whole group: occurrences are stored by
// (fingerprint, time_ns).
func (e *Exporter) OccurrencesBefore(ctx context.Context, fingerprint, cursor string, pageSize int) ([]exporter.Record, string, error) {
	c, err := parseOccurrenceCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	q, err := exporter.GroupQuery{PageSize: pageSize}.Normalize()
	if err != nil {
		return nil, "", err
	}
	sp, err := e.groupSpan(ctx, fingerprint)
	if err != nil {
		return nil, "", err
	}
	return e.occurrencesBefore(ctx, sp, c, q.PageSize)
}

// span is what paging a group's occurrences needs: the fingerprints whose
// rows make it up (a target and its parts) and its first and last
// sighting.
type span struct {
	members     []string
	first, last time.Time
}

// groupSpan returns a group's members and its first and last sighting
// only, without the exact count, which costs a pass over every occurrence
// id of the group.
func (e *Exporter) groupSpan(ctx context.Context, fingerprint string) (span, error) {
	if err := exporter.CheckFingerprint(fingerprint); err != nil {
		return span{}, err
	}
	m, err := e.readMerges(ctx)
	if err != nil {
		return span{}, err
	}
	sp := span{members: m.members([]string{m.root(fingerprint)})}
	found := false
	err = e.scanRows(ctx, func(rows driver.Rows) error {
		var fp string
		var first, last uint64
		err := rows.Scan(&fp, &first, &last)
		if f := fromNanos(first); !found || f.Before(sp.first) {
			sp.first = f
		}
		if l := fromNanos(last); l.After(sp.last) {
			sp.last = l
		}
		found = true
		return err
	}, e.sql("span", sqlData{}), inSet(sp.members))
	if err != nil {
		return span{}, fmt.Errorf("clickhouse: read group: %w", err)
	}
	if !found {
		return span{}, exporter.ErrNotFound
	}
	return sp, nil
}

// occurrenceCursor is where a page of occurrences ends: the time and id of
// its last occurrence. The zero value is the start.
type occurrenceCursor struct {
	ns uint64
	id string
}

func (c occurrenceCursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatUint(c.ns, 10) + ":" + c.id))
}

func parseOccurrenceCursor(s string) (occurrenceCursor, error) {
	if s == "" {
		return occurrenceCursor{}, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		if ns, id, ok := strings.Cut(string(b), ":"); ok {
			if n, err := strconv.ParseUint(ns, 10, 64); err == nil && n > 0 {
				return occurrenceCursor{ns: n, id: id}, nil
			}
		}
	}
	return occurrenceCursor{}, fmt.Errorf("%w: cursor %q is not one this store gave", exporter.ErrInvalid, s)
}

// firstOccurrenceWindow is the time a first read of a group covers,
// before the loop widens it sixteenfold at a time.
const firstOccurrenceWindow = uint64(time.Hour)

func (e *Exporter) occurrencesBefore(ctx context.Context, sp span, c occurrenceCursor, size int) ([]exporter.Record, string, error) {
	top := uint64(sp.last.UnixNano())
	if c.ns != 0 {
		top = min(top, c.ns)
	}
	first := uint64(max(sp.first.UnixNano(), 0))
	for window := firstOccurrenceWindow; ; window *= 16 {
		lo := uint64(0)
		if top > window && top-window > first {
			lo = top - window
		}
		query := e.sql("occurrences_window", sqlData{Columns: occurrenceSelect, Cursor: c.ns != 0, Limit: size + 1})
		args := []any{inSet(sp.members), lo, lo / uint64(time.Second)}
		if c.ns != 0 {
			args = append(args, c.ns, c.ns, c.id)
		}
		var recs []exporter.Record
		err := e.scanRows(ctx, func(rows driver.Rows) error {
			r, err := scanRecord(rows)
			recs = append(recs, r)
			return err
		}, query, args...)
		if err != nil {
			return nil, "", fmt.Errorf("clickhouse: list occurrences: %w", err)
		}
		if len(recs) <= size && lo > 0 {
			continue // the window holds less than a page: widen it
		}
		if len(recs) <= size {
			return recs, "", nil
		}
		recs = recs[:size]
		last := recs[size-1]
		return recs, occurrenceCursor{ns: uint64(last.Time.UnixNano()), id: last.ID}.String(), nil
	}
}

// occurrenceSelect reads a record back; it mirrors occurrenceColumns.
var occurrenceSelect = []string{
	"id", "fingerprint", "grouping", "time_ns", "type", "message", "stacktrace", "escaped",
	"service", "service_version", "environment", "span_name", "trace_id", "span_id",
	"host", "method", "path", "route", "status_code",
	"attributes.key", "attributes.value", "extras.key", "extras.value", "resource.key", "resource.value",
}

func scanRecord(rows driver.Rows) (exporter.Record, error) {
	var r exporter.Record
	var ns uint64
	var escaped uint8
	var status uint16
	var tid, sid string
	var ak, av, ek, ev, rk, rv []string
	if err := rows.Scan(&r.ID, &r.Fingerprint, &r.Grouping, &ns, &r.Type, &r.Message, &r.Stacktrace, &escaped,
		&r.Service, &r.ServiceVersion, &r.Environment, &r.SpanName, &tid, &sid,
		&r.Host, &r.Method, &r.Path, &r.Route, &status, &ak, &av, &ek, &ev, &rk, &rv); err != nil {
		return r, err
	}
	r.Time = fromNanos(ns)
	r.Escaped = escaped != 0
	r.StatusCode = int(status)
	r.TraceID, _ = trace.TraceIDFromHex(tid)
	r.SpanID, _ = trace.SpanIDFromHex(sid)
	r.Attributes, r.Extras, r.Resource = keyValues(ak, av), keyValues(ek, ev), keyValues(rk, rv)
	return r, nil
}

func keyValues(keys, values []string) []attribute.KeyValue {
	if len(keys) == 0 {
		return nil
	}
	out := make([]attribute.KeyValue, 0, len(keys))
	for i, k := range keys {
		if i < len(values) {
			out = append(out, attribute.String(k, values[i]))
		}
	}
	return out
}

// syncInsert makes an insert into a Distributed table return once every
// shard holds its rows. It is the one setting the store sends. Current
// releases call it distributed_foreground_insert and keep the name that
// 18.16 knows as its alias (the replay test checks it on chDB).
var syncInsert = ch.Settings{"insert_distributed_sync": 1}

// waitMutations waits until no mutation of our tables is pending.
func (e *Exporter) waitMutations(ctx context.Context) error {
	for {
		var pending uint64
		err := e.conn.QueryRow(ctx, e.sql("pending_mutations", sqlData{}), e.schema.DB).Scan(&pending)
		if err != nil {
			return fmt.Errorf("clickhouse: wait for delete: %w", err)
		}
		if pending == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("clickhouse: wait for delete: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// HourlyCounts counts distinct occurrences per hour over the last days. A
// target's counts include its parts', and a part answers with its
// target's.
func (e *Exporter) HourlyCounts(ctx context.Context, fingerprints []string, days int) (map[string][]exporter.HourCount, error) {
	if err := checkFingerprints(fingerprints); err != nil {
		return nil, err
	}
	if days < 1 || days > 90 {
		return nil, fmt.Errorf("%w: days %d: want 1 to 90", exporter.ErrInvalid, days)
	}
	out := make(map[string][]exporter.HourCount, len(fingerprints))
	if len(fingerprints) == 0 {
		return out, nil
	}
	m, err := e.readMerges(ctx)
	if err != nil {
		return nil, err
	}
	members := m.members(m.roots(fingerprints))
	fpExpr, mapArgs := m.mapExpr(members)
	since := uint32(time.Now().Add(-time.Duration(days) * 24 * time.Hour).Unix())
	byRoot := map[string][]exporter.HourCount{}
	err = e.scanRows(ctx, func(rows driver.Rows) error {
		var fp string
		var hour uint32
		var n uint64
		err := rows.Scan(&fp, &hour, &n)
		byRoot[fp] = append(byRoot[fp], exporter.HourCount{Hour: time.Unix(int64(hour), 0).UTC(), Count: n})
		return err
	}, e.sql("hourly_counts", sqlData{Map: fpExpr}), append(mapArgs, inSet(members), since)...)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: hourly counts: %w", err)
	}
	for _, fp := range fingerprints {
		if counts, ok := byRoot[m.root(fp)]; ok {
			out[fp] = counts
		}
	}
	return out, nil
}

// GroupStates returns, for each known fingerprint, what the notification
// policy needs: its first sighting, distinct count and first release, the
// Change a person last set and what the store holds of the group since
// (Since, to which the policy adds its batch before it applies
// Change.Outcome). Status and StatusChanged repeat the change's status
// (open when nobody set one) and time for policies written before
// Change. A merged part answers with its target's state and MergedInto.
func (e *Exporter) GroupStates(ctx context.Context, fingerprints []string) (map[string]exporter.GroupState, error) {
	if err := checkFingerprints(fingerprints); err != nil {
		return nil, err
	}
	m, err := e.readMerges(ctx)
	if err != nil {
		return nil, err
	}
	groups, err := e.groups(ctx, m.roots(fingerprints), m, 0)
	if err != nil {
		return nil, err
	}
	out := make(map[string]exporter.GroupState, len(groups))
	for _, fp := range fingerprints {
		root := m.root(fp)
		g, ok := groups[root]
		if !ok {
			continue
		}
		st := exporter.GroupState{FirstSeen: g.FirstSeen, Count: g.Count, Change: g.Change, Since: g.since,
			FirstRelease: g.FirstRelease, Status: g.Change.Status, StatusChanged: g.Change.At}
		if st.Status == "" {
			st.Status = exporter.StatusOpen
		}
		if root != fp {
			st.MergedInto = root
		}
		out[fp] = st
	}
	return out, nil
}

func checkFingerprints(fps []string) error {
	if len(fps) > 10_000 {
		return fmt.Errorf("%w: %d fingerprints in one call, at most 10000", exporter.ErrInvalid, len(fps))
	}
	var errs []error
	for _, fp := range fps {
		if err := exporter.CheckFingerprint(fp); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// inSet binds a list for IN (?): a plain slice would bind as an array.
func inSet(values []string) ch.GroupSet {
	set := ch.GroupSet{Value: make([]any, len(values))}
	for i, v := range values {
		set.Value[i] = v
	}
	return set
}

// selectStrings runs a query whose rows hold one string.
func (e *Exporter) selectStrings(ctx context.Context, dest *[]string, query string, args ...any) error {
	return e.scanRows(ctx, func(rows driver.Rows) error {
		var s string
		err := rows.Scan(&s)
		*dest = append(*dest, s)
		return err
	}, query, args...)
}
