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

// The summary of a group: one row per group once merged. Every query reads
// it through this one expression list, so a column is added in one place.
const groupSummary = `fingerprint,
    minMerge(first_seen) AS first_ns,
    maxMerge(last_seen) AS last_ns,
    argMaxMerge(type) AS g_type,
    argMaxMerge(message) AS g_message,
    argMaxMerge(service) AS g_service,
    argMaxMerge(environment) AS g_environment,
    argMaxMerge(host) AS g_host,
    argMaxMerge(method) AS g_method,
    argMaxMerge(path) AS g_path,
    argMaxMerge(route) AS g_route,
    argMaxMerge(trace_id) AS g_trace_id`

// latestState reads the newest state row of each group.
func (e *Exporter) latestState() string {
	return `(SELECT fingerprint, argMax(status, version) AS status, argMax(changed_ns, version) AS changed_ns
    FROM ` + e.schema.DB + `.group_state GROUP BY fingerprint)`
}

// resolvedExpr is true for a group resolved after its last occurrence.
const resolvedExpr = `(status = 'resolved' AND last_ns <= changed_ns)`

// ListGroups returns one page of groups. Paging and ordering first pick the
// page's fingerprints from groups, a one-row-per-group summary of cheap
// aggregates (last and first seen, rows stored, latest fields); the exact
// distinct counts are then merged from group_counts for those fingerprints
// only, which keeps the default list fast at millions of occurrences.
// Sorting by count uses the rows stored over the group's life; the count
// shown is the distinct occurrences within retention.
func (e *Exporter) ListGroups(ctx context.Context, q exporter.GroupQuery) (exporter.GroupPage, error) {
	q, err := q.Normalize()
	if err != nil {
		return exporter.GroupPage{}, err
	}
	page, _, err := e.listGroups(ctx, q, e.listAttempts(ctx, q))
	return page, err
}

// listGroups reads a page of the list by the attempts in turn, and reports
// whether the page is exact: an attempt filled it, or the last one read was
// final.
func (e *Exporter) listGroups(ctx context.Context, q exporter.GroupQuery, attempts []listAttempt) (exporter.GroupPage, bool, error) {
	var having []string
	var args []any
	add := func(cond string, a ...any) {
		having = append(having, cond)
		args = append(args, a...)
	}
	if q.Service != "" {
		add("p_service = ?", q.Service)
	}
	if q.Environment != "" {
		add("p_environment = ?", q.Environment)
	}
	if q.Type != "" {
		add("p_type = ?", q.Type)
	}
	if !q.Since.IsZero() {
		add("last_ns >= ?", uint64(q.Since.UnixNano()))
	}
	if !q.Until.IsZero() {
		add("last_ns < ?", uint64(q.Until.UnixNano()))
	}
	if q.Search != "" {
		add("(positionCaseInsensitiveUTF8(p_type, ?) > 0 OR positionCaseInsensitiveUTF8(p_message, ?) > 0 OR positionCaseInsensitiveUTF8(p_path, ?) > 0)",
			q.Search, q.Search, q.Search)
	}
	if e.cfg.RetentionDays > 0 { // groups whose occurrences retention dropped
		add("last_ns >= ?", uint64(time.Now().Add(-time.Duration(e.cfg.RetentionDays)*24*time.Hour).UnixNano()))
	}
	// Only the fields a filter reads are merged for every group.
	fields := []string{"fingerprint", "maxMerge(last_seen) AS last_ns", "minMerge(first_seen) AS first_ns", "countMerge(rows) AS n"}
	for _, f := range []struct {
		col  string
		used bool
	}{
		{"service", q.Service != ""}, {"environment", q.Environment != ""},
		{"type", q.Type != "" || q.Search != ""}, {"message", q.Search != ""}, {"path", q.Search != ""},
	} {
		if f.used {
			fields = append(fields, "argMaxMerge("+f.col+") AS p_"+f.col)
		}
	}
	var fps []string
	exact := false
	for _, a := range attempts {
		from := " FROM " + e.schema.DB + ".groups"
		if a.where != "" {
			from += " WHERE " + a.where
		}
		inner := "SELECT " + strings.Join(fields, ", ") + from + " GROUP BY fingerprint"
		conds := having
		if a.having != "" {
			conds = append(conds[:len(conds):len(conds)], a.having)
		}
		if len(conds) > 0 {
			inner += " HAVING " + strings.Join(conds, " AND ")
		}
		query := "SELECT fingerprint FROM (" + inner + ") AS g" + e.statusAndOrder(q)
		fps = fps[:0]
		if err := e.selectStrings(ctx, &fps, query, slices.Concat(a.args, args, a.havingArgs)...); err != nil {
			return exporter.GroupPage{}, false, fmt.Errorf("clickhouse: list groups: %w", err)
		}
		if exact = len(fps) > q.PageSize || a.final; exact {
			break // a full page, or every group that can be on it was read
		}
	}
	page := exporter.GroupPage{Page: q.Page, PageSize: q.PageSize}
	if len(fps) > q.PageSize {
		fps, page.HasNext = fps[:q.PageSize], true
	}
	groups, err := e.groups(ctx, fps)
	if err != nil {
		return exporter.GroupPage{}, false, err
	}
	for _, fp := range fps {
		if g, ok := groups[fp]; ok { // a group deleted between the two queries is left out
			page.Groups = append(page.Groups, g)
		}
	}
	return page, exact, nil
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
// are read first (sortsnapshot.go). A cut at Until, and a cluster (where
// the subqueries would be a second distributed read on every shard), read
// every group.
func (e *Exporter) listAttempts(ctx context.Context, q exporter.GroupQuery) []listAttempt {
	var out []listAttempt
	switch {
	case e.schema.Cluster != "":
	case q.Sort == exporter.SortLastSeen && q.Until.IsZero():
		anchor := e.newestOccurrence(ctx, time.Now())
		for _, window := range listWindows() {
			if window > 0 {
				out = append(out, listAttempt{
					where: "fingerprint IN (SELECT fingerprint FROM " + e.schema.DB + ".occurrences WHERE time >= toDateTime(?))",
					args:  []any{uint32(anchor.Add(-window).Unix())},
				})
			}
		}
	default:
		if a, ok := e.snapshotAttempt(ctx, q); ok {
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
	}, "SELECT toUInt32(max(time)) FROM "+e.schema.DB+".occurrences WHERE time >= toDateTime(?)", since)
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

// statusAndOrder is the list's status filter, order and page.
func (e *Exporter) statusAndOrder(q exporter.GroupQuery) string {
	query := ""
	if q.Status != "" {
		// Both sides named: releases since 20.x refuse an unnamed joined
		// subquery (joined_subquery_requires_alias), and 18.16 accepts the
		// names. ANY, which 18.16 needs, reads the same on both for a LEFT
		// join: the state side has one row per fingerprint anyway.
		query += " ANY LEFT JOIN " + e.latestState() + " AS s USING fingerprint"
		if q.Status == exporter.StatusResolved {
			query += " WHERE " + resolvedExpr
		} else {
			query += " WHERE NOT " + resolvedExpr
		}
	}
	order := "last_ns DESC, fingerprint"
	if o, ok := orderFor(q.Sort); ok {
		order = o.orderBy // the snapshots' order (sortsnapshot.go)
	}
	return query + fmt.Sprintf(" ORDER BY %s LIMIT %d, %d", order, (q.Page-1)*q.PageSize, q.PageSize+1)
}

// countsQuery counts the distinct occurrences of each group within
// retention. An id has one time, so it falls on one day: the count is the
// sum of the days' distinct counts. A day whose background merges are done
// holds one state, which finalizeAggregation reads without building one
// hash set of every id of the group; the days still split over parts are
// merged. For a group of a million occurrences this halves the page's
// slowest read. In a cluster, where the subqueries would be a second
// distributed read on every shard, the states are merged as one.
func (e *Exporter) countsQuery() string {
	gc := e.schema.DB + ".group_counts"
	if e.schema.Cluster != "" {
		return "SELECT fingerprint, uniqExactMerge(occurrences) FROM " + gc +
			" WHERE fingerprint IN (?) AND day >= toDate(toDateTime(?)) GROUP BY fingerprint"
	}
	days := func(cond string) string {
		return "(fingerprint, day) IN (SELECT fingerprint, day FROM " + gc +
			" WHERE fingerprint IN (?) AND day >= toDate(toDateTime(?)) GROUP BY fingerprint, day HAVING count() " + cond + ")"
	}
	return "SELECT fingerprint, sum(c) FROM (" +
		"SELECT fingerprint, finalizeAggregation(occurrences) AS c FROM " + gc + " WHERE " + days("= 1") +
		" UNION ALL " +
		"SELECT fingerprint, uniqExactMerge(occurrences) AS c FROM " + gc + " WHERE " + days("> 1") + " GROUP BY fingerprint, day" +
		") GROUP BY fingerprint"
}

// countsArgs are countsQuery's arguments.
func (e *Exporter) countsArgs(set any, since uint32) []any {
	if e.schema.Cluster != "" {
		return []any{set, since}
	}
	return []any{set, since, set, since}
}

// groups reads the full summaries, distinct counts and states of the given
// fingerprints. The three reads run at once, each a plain indexed lookup:
// cheaper than 18.16's joins, and the browse page waits for the slowest
// only.
func (e *Exporter) groups(ctx context.Context, fps []string) (map[string]exporter.Group, error) {
	out := make(map[string]exporter.Group, len(fps))
	if len(fps) == 0 {
		return out, nil
	}
	set := inSet(fps)
	var since uint32 // the first day within retention
	if e.cfg.RetentionDays > 0 {
		since = uint32(time.Now().Add(-time.Duration(e.cfg.RetentionDays) * 24 * time.Hour).Unix())
	}
	type state struct {
		status    string
		changedNs uint64
	}
	counts := map[string]uint64{}
	states := map[string]state{}
	var wg sync.WaitGroup
	var countsErr, statesErr error
	wg.Go(func() {
		countsErr = e.scanRows(ctx, func(rows driver.Rows) error {
			var fp string
			var n uint64
			err := rows.Scan(&fp, &n)
			counts[fp] = n
			return err
		}, e.countsQuery(), e.countsArgs(set, since)...)
	})
	wg.Go(func() {
		statesErr = e.scanRows(ctx, func(rows driver.Rows) error {
			var fp string
			var st state
			err := rows.Scan(&fp, &st.status, &st.changedNs)
			states[fp] = st
			return err
		}, "SELECT fingerprint, argMax(status, version), argMax(changed_ns, version) FROM "+e.schema.DB+".group_state"+
			" WHERE fingerprint IN (?) GROUP BY fingerprint", set)
	})
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
		out[g.Fingerprint] = g
		return nil
	}, "SELECT "+groupSummary+" FROM "+e.schema.DB+".groups WHERE fingerprint IN (?) GROUP BY fingerprint", set)
	wg.Wait()
	if err := errors.Join(summaryErr, countsErr, statesErr); err != nil {
		return nil, fmt.Errorf("clickhouse: read groups: %w", err)
	}
	for fp, g := range out {
		g.Count = counts[fp]
		st := states[fp]
		g.Status, g.StatusChanged, g.Regressed = groupStatus(st.status, st.changedNs, uint64(g.LastSeen.UnixNano()))
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

// groupStatus applies the regression rule: a group resolved at T that
// occurred after T is open again.
func groupStatus(status string, changedNs, lastNs uint64) (exporter.Status, time.Time, bool) {
	changed := fromNanos(changedNs)
	switch {
	case status == string(exporter.StatusResolved) && lastNs <= changedNs:
		return exporter.StatusResolved, changed, false
	case status == string(exporter.StatusResolved):
		return exporter.StatusOpen, changed, true
	}
	return exporter.StatusOpen, changed, false
}

func fromNanos(ns uint64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(ns)).UTC()
}

// GetGroup returns a group's summary and its latest occurrence in full.
func (e *Exporter) GetGroup(ctx context.Context, fingerprint string) (exporter.Group, exporter.Record, error) {
	g, err := e.group(ctx, fingerprint)
	if err != nil {
		return exporter.Group{}, exporter.Record{}, err
	}
	recs, _, err := e.occurrencesBefore(ctx, g, occurrenceCursor{}, 1)
	if err != nil {
		return exporter.Group{}, exporter.Record{}, err
	}
	if len(recs) == 0 {
		return exporter.Group{}, exporter.Record{}, exporter.ErrNotFound
	}
	return g, recs[0], nil
}

// group returns one group's summary.
func (e *Exporter) group(ctx context.Context, fingerprint string) (exporter.Group, error) {
	if err := exporter.CheckFingerprint(fingerprint); err != nil {
		return exporter.Group{}, err
	}
	groups, err := e.groups(ctx, []string{fingerprint})
	if err != nil {
		return exporter.Group{}, err
	}
	g, ok := groups[fingerprint]
	if !ok {
		return exporter.Group{}, exporter.ErrNotFound
	}
	return g, nil
}

// ListOccurrences returns a page of a group's occurrences, newest first;
// copies of one id that a retried insert stored twice appear once. The
// first page is read by time windows (see OccurrencesBefore); a later one
// by offset, which reads the whole group: walk with OccurrencesBefore's
// cursor instead.
func (e *Exporter) ListOccurrences(ctx context.Context, fingerprint string, page, pageSize int) ([]exporter.Record, bool, error) {
	if err := exporter.CheckFingerprint(fingerprint); err != nil {
		return nil, false, err
	}
	q, err := exporter.GroupQuery{Page: page, PageSize: pageSize}.Normalize()
	if err != nil {
		return nil, false, err
	}
	if q.Page == 1 {
		g, err := e.groupSpan(ctx, fingerprint)
		if errors.Is(err, exporter.ErrNotFound) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		recs, next, err := e.occurrencesBefore(ctx, g, occurrenceCursor{}, q.PageSize)
		return recs, next != "", err
	}
	query := "SELECT " + strings.Join(occurrenceSelect, ", ") + " FROM " + e.schema.DB + ".occurrences" +
		" WHERE fingerprint = ? ORDER BY time_ns DESC, id LIMIT 1 BY id" +
		fmt.Sprintf(" LIMIT %d, %d", (q.Page-1)*q.PageSize, q.PageSize+1)
	var recs []exporter.Record
	err = e.scanRows(ctx, func(rows driver.Rows) error {
		r, err := scanRecord(rows)
		recs = append(recs, r)
		return err
	}, query, fingerprint)
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
// once. It reads the group by time windows that widen until the page is
// full, so a page costs what its window holds, not the whole group:
// occurrences are stored by (fingerprint, time_ns).
func (e *Exporter) OccurrencesBefore(ctx context.Context, fingerprint, cursor string, pageSize int) ([]exporter.Record, string, error) {
	c, err := parseOccurrenceCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	q, err := exporter.GroupQuery{PageSize: pageSize}.Normalize()
	if err != nil {
		return nil, "", err
	}
	g, err := e.groupSpan(ctx, fingerprint)
	if err != nil {
		return nil, "", err
	}
	return e.occurrencesBefore(ctx, g, c, q.PageSize)
}

// groupSpan returns a group's first and last sighting only: what paging its
// occurrences needs, without the exact count, which costs a pass over every
// occurrence id of the group.
func (e *Exporter) groupSpan(ctx context.Context, fingerprint string) (exporter.Group, error) {
	if err := exporter.CheckFingerprint(fingerprint); err != nil {
		return exporter.Group{}, err
	}
	g := exporter.Group{Fingerprint: fingerprint}
	found := false
	err := e.scanRows(ctx, func(rows driver.Rows) error {
		var first, last uint64
		err := rows.Scan(&first, &last)
		g.FirstSeen, g.LastSeen, found = fromNanos(first), fromNanos(last), true
		return err
	}, "SELECT minMerge(first_seen), maxMerge(last_seen) FROM "+e.schema.DB+".groups WHERE fingerprint = ? GROUP BY fingerprint", fingerprint)
	if err != nil {
		return exporter.Group{}, fmt.Errorf("clickhouse: read group: %w", err)
	}
	if !found {
		return exporter.Group{}, exporter.ErrNotFound
	}
	return g, nil
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

func (e *Exporter) occurrencesBefore(ctx context.Context, g exporter.Group, c occurrenceCursor, size int) ([]exporter.Record, string, error) {
	top := uint64(g.LastSeen.UnixNano())
	if c.ns != 0 {
		top = min(top, c.ns)
	}
	first := uint64(max(g.FirstSeen.UnixNano(), 0))
	for window := firstOccurrenceWindow; ; window *= 16 {
		lo := uint64(0)
		if top > window && top-window > first {
			lo = top - window
		}
		query := "SELECT " + strings.Join(occurrenceSelect, ", ") + " FROM " + e.schema.DB + ".occurrences" +
			" WHERE fingerprint = ? AND time_ns >= ? AND time >= toDateTime(?)"
		args := []any{g.Fingerprint, lo, lo / uint64(time.Second)}
		if c.ns != 0 {
			query += " AND (time_ns < ? OR time_ns = ? AND id > ?)"
			args = append(args, c.ns, c.ns, c.id)
		}
		query += fmt.Sprintf(" ORDER BY time_ns DESC, id LIMIT 1 BY id LIMIT %d", size+1)
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

// Resolve marks a group resolved now.
func (e *Exporter) Resolve(ctx context.Context, fingerprint string) error {
	return e.setState(ctx, fingerprint, exporter.StatusResolved)
}

// Reopen marks a group open now.
func (e *Exporter) Reopen(ctx context.Context, fingerprint string) error {
	return e.setState(ctx, fingerprint, exporter.StatusOpen)
}

func (e *Exporter) setState(ctx context.Context, fingerprint string, status exporter.Status) error {
	if err := e.requireGroup(ctx, fingerprint); err != nil {
		return err
	}
	return e.writeState(ctx, fingerprint, status)
}

// writeState appends a state row; the newest version wins at read time.
func (e *Exporter) writeState(ctx context.Context, fingerprint string, status exporter.Status) error {
	now := uint64(time.Now().UnixNano())
	if err := e.insertStates(ctx, []any{fingerprint, string(status), now, now}); err != nil {
		return fmt.Errorf("clickhouse: set state: %w", err)
	}
	return nil
}

// syncInsert makes an insert into a Distributed table return once every
// shard holds its rows. It is the one setting the store sends. Current
// releases call it distributed_foreground_insert and keep the name that
// 18.16 knows as its alias (the replay test checks it on chDB).
var syncInsert = ch.Settings{"insert_distributed_sync": 1}

// insertStates appends state rows: fingerprint, status, changed_ns,
// version.
func (e *Exporter) insertStates(ctx context.Context, rows ...[]any) error {
	if e.schema.Cluster != "" {
		// The state must be readable as soon as this returns.
		ctx = ch.Context(ctx, ch.WithSettings(syncInsert))
	}
	batch, err := e.conn.PrepareBatch(ctx, "INSERT INTO "+e.schema.DB+".group_state (fingerprint, status, changed_ns, version)")
	if err != nil {
		return err
	}
	for _, row := range rows {
		if err := batch.Append(row...); err != nil {
			_ = batch.Abort()
			return err
		}
	}
	return batch.Send()
}

// requireGroup rejects an invalid fingerprint and one the store does not
// hold.
func (e *Exporter) requireGroup(ctx context.Context, fingerprint string) error {
	if err := exporter.CheckFingerprint(fingerprint); err != nil {
		return err
	}
	var n uint64
	if err := e.conn.QueryRow(ctx, "SELECT count() FROM "+e.schema.DB+".groups WHERE fingerprint = ?", fingerprint).Scan(&n); err != nil {
		return fmt.Errorf("clickhouse: find group: %w", err)
	}
	if n == 0 {
		return exporter.ErrNotFound
	}
	return nil
}

// Delete removes a group: its occurrences and summary rows by mutation,
// and its state by a fresh "open" row, so that a later occurrence starts
// the group afresh. On a single server it waits until the mutations are
// done (or ctx ends); in cluster mode they finish shortly after.
func (e *Exporter) Delete(ctx context.Context, fingerprint string) error {
	if err := e.requireGroup(ctx, fingerprint); err != nil {
		return err
	}
	for _, table := range []string{"occurrences", "groups", "group_counts"} {
		stmt := "ALTER TABLE " + e.schema.DB + "." + table + e.schema.Local() + e.schema.OnCluster() + " DELETE WHERE fingerprint = ?"
		if err := e.conn.Exec(ctx, stmt, fingerprint); err != nil {
			return fmt.Errorf("clickhouse: delete group: %w", err)
		}
	}
	if err := e.writeState(ctx, fingerprint, exporter.StatusOpen); err != nil {
		return err
	}
	if e.schema.Cluster != "" {
		return nil
	}
	return e.waitMutations(ctx)
}

// waitMutations waits until no mutation of our tables is pending.
func (e *Exporter) waitMutations(ctx context.Context) error {
	for {
		var pending uint64
		err := e.conn.QueryRow(ctx, "SELECT count() FROM system.mutations WHERE database = ? AND is_done = 0", e.schema.DB).Scan(&pending)
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

// HourlyCounts counts distinct occurrences per hour over the last days.
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
	since := uint32(time.Now().Add(-time.Duration(days) * 24 * time.Hour).Unix())
	err := e.scanRows(ctx, func(rows driver.Rows) error {
		var fp string
		var hour uint32
		var n uint64
		err := rows.Scan(&fp, &hour, &n)
		out[fp] = append(out[fp], exporter.HourCount{Hour: time.Unix(int64(hour), 0).UTC(), Count: n})
		return err
	}, "SELECT fingerprint, toUInt32(toStartOfHour(time)) AS hour, uniqExact(id) FROM "+e.schema.DB+".occurrences"+
		" WHERE fingerprint IN (?) AND time >= toDateTime(?) GROUP BY fingerprint, hour ORDER BY fingerprint, hour", inSet(fingerprints), since)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: hourly counts: %w", err)
	}
	return out, nil
}

// GroupStates returns, for each known fingerprint, its first seen time,
// distinct count and the status a person last set, for the e-mail policy.
func (e *Exporter) GroupStates(ctx context.Context, fingerprints []string) (map[string]exporter.GroupState, error) {
	if err := checkFingerprints(fingerprints); err != nil {
		return nil, err
	}
	groups, err := e.groups(ctx, fingerprints)
	if err != nil {
		return nil, err
	}
	out := make(map[string]exporter.GroupState, len(groups))
	for fp, g := range groups {
		st := exporter.GroupState{FirstSeen: g.FirstSeen, Count: g.Count, Status: g.Status, StatusChanged: g.StatusChanged}
		if g.Regressed { // resolved by a person; occurred since
			st.Status = exporter.StatusResolved
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
