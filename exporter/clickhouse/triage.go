package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/errortracker/errortracker/exporter"
)

var _ exporter.Triage = (*Exporter)(nil)

// stateColumns are the columns of group_state a Change is written to and
// read from, in this order (see stateRow.values and queries/triage.sql).
const stateColumns = "status, changed_ns, in_next_release, ignore_until_ns, ignore_count, ignore_rate_count, ignore_rate_window_ns, actor"

// stateRow is one row of group_state: a Change on a group. The newest
// version wins at read time.
type stateRow struct {
	fingerprint string
	change      exporter.Change
	version     uint64
}

func (r stateRow) values() []any {
	c := r.change
	return []any{r.fingerprint, string(c.Status), nanos(c.At), boolByte(c.InNextRelease), nanos(c.Ignore.Until),
		c.Ignore.Count, c.Ignore.Rate.Count, uint64(max(c.Ignore.Rate.Window, 0)), c.By, r.version}
}

// nanos is t in Unix nanoseconds, 0 for the zero time.
func nanos(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(max(t.UnixNano(), 0))
}

// insertStates appends state rows in one INSERT.
func (e *Exporter) insertStates(ctx context.Context, rows ...stateRow) error {
	if e.schema.Cluster != "" {
		// The state must be readable as soon as this returns.
		ctx = ch.Context(ctx, ch.WithSettings(syncInsert))
	}
	batch, err := e.conn.PrepareBatch(ctx, "INSERT INTO "+e.schema.DB+".group_state (fingerprint, "+stateColumns+", version)")
	if err != nil {
		return err
	}
	for _, row := range rows {
		if err := batch.Append(row.values()...); err != nil {
			_ = batch.Abort()
			return err
		}
	}
	return batch.Send()
}

// readStates reads the newest Change of the given groups, or with none
// given, of every group whose outcome its summary cannot decide (a
// resolve in the next release, an ignore until a count or a rate).
func (e *Exporter) readStates(ctx context.Context, fps []string) (map[string]exporter.Change, error) {
	out := map[string]exporter.Change{}
	query, args := e.sql("states", sqlData{Of: true}), []any{inSet(fps)}
	if fps == nil {
		query, args = e.sql("states", sqlData{}), nil
	}
	err := e.scanRows(ctx, func(rows driver.Rows) error {
		var fp, status, by string
		var at, until, count, rateCount, rateWindow uint64
		var next uint8
		if err := rows.Scan(&fp, &status, &at, &next, &until, &count, &rateCount, &rateWindow, &by); err != nil {
			return err
		}
		out[fp] = exporter.Change{
			Status: exporter.Status(status), InNextRelease: next != 0, By: by, At: fromNanos(at),
			Ignore: exporter.Ignore{Until: fromNanos(until), Count: count,
				Rate: exporter.Rate{Count: rateCount, Window: time.Duration(rateWindow)}},
		}
		return nil
	}, query, args...)
	return out, err
}

// quiet tells a change whose outcome needs the facts after it: an open
// group is open whatever happens.
func quiet(c exporter.Change) bool {
	return c.Status == exporter.StatusResolved || c.Status == exporter.StatusIgnored
}

// since computes what happened to each group after its change (changes
// are keyed by target: the parts' occurrences count in it): the distinct
// occurrences after it, the latest one, whether an ignore's rate was met,
// and the first release first seen after it. Two indexed reads, of the
// given groups only.
func (e *Exporter) since(ctx context.Context, changes map[string]exporter.Change, m merges) (map[string]exporter.Since, error) {
	out := map[string]exporter.Since{}
	var roots []string
	for fp, c := range changes {
		if quiet(c) {
			roots = append(roots, fp)
		}
	}
	if len(roots) == 0 {
		return out, nil
	}
	slices.Sort(roots)
	members := m.members(roots)
	// Each member's occurrences count after its target's change.
	memberAt := make([]uint64, len(members))
	oldest := uint64(0)
	for i, fp := range members {
		memberAt[i] = nanos(changes[m.root(fp)].At)
		if i == 0 || memberAt[i] < oldest {
			oldest = memberAt[i]
		}
	}
	// The rates of the groups ignored until one, for transform(); none
	// makes them constants.
	var rateFPs []string
	var rateN, rateW []uint64
	for _, fp := range roots {
		r := changes[fp].Ignore.Rate
		if changes[fp].Status == exporter.StatusIgnored && r.Count > 0 {
			rateFPs, rateN, rateW = append(rateFPs, fp), append(rateN, r.Count), append(rateW, uint64(r.Window))
		}
	}
	var rateArgs []any
	if len(rateFPs) > 0 {
		rateArgs = []any{rateFPs, rateN, rateFPs, rateW}
	}
	fpExpr, mapArgs := m.mapExpr(members)
	// The rate is met when some Count consecutive occurrences (sorted by
	// time) span at most the window: t[i+N-1] - t[i] <= window. Only the
	// groups ignored until a rate collect their times.
	query := e.sql("since", sqlData{Map: fpExpr, Rates: len(rateFPs) > 0})
	args := append(append(mapArgs, rateArgs...), inSet(members), uint32(oldest/uint64(time.Second)), members, memberAt)
	err := e.scanRows(ctx, func(rows driver.Rows) error {
		var fp string
		var s exporter.Since
		var last uint64
		var rate uint8
		if err := rows.Scan(&fp, &s.Count, &last, &rate); err != nil {
			return err
		}
		s.Last, s.RateReached = fromNanos(last), rate != 0
		out[fp] = s
		return nil
	}, query, args...)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: occurrences since the change: %w", err)
	}
	// The first release first seen after the change: a release's first
	// sighting is the earliest over the target and its parts. Only a
	// resolve in the next release, or a group that occurred since (for
	// RegressedIn), needs it.
	var need []string
	for _, fp := range roots {
		if changes[fp].InNextRelease || out[fp].Count > 0 {
			need = append(need, fp)
		}
	}
	if len(need) == 0 {
		return out, nil
	}
	firsts := map[string]map[string]uint64{} // target → release → first seen
	err = e.scanRows(ctx, func(rows driver.Rows) error {
		var fp, release string
		var first uint64
		if err := rows.Scan(&fp, &release, &first); err != nil {
			return err
		}
		root := m.root(fp)
		if firsts[root] == nil {
			firsts[root] = map[string]uint64{}
		}
		if f, ok := firsts[root][release]; !ok || first < f {
			firsts[root][release] = first
		}
		return nil
	}, e.sql("since_releases", sqlData{}), inSet(m.members(need)))
	if err != nil {
		return nil, fmt.Errorf("clickhouse: releases since the change: %w", err)
	}
	for _, root := range need {
		at := nanos(changes[root].At)
		var best uint64
		s := out[root]
		for release, first := range firsts[root] {
			if first > at && (s.NewRelease == "" || first < best || first == best && release < s.NewRelease) {
				s.NewRelease, best = release, first
			}
		}
		out[root] = s
	}
	return out, nil
}

// requireGroups rejects invalid fingerprints and reports ErrNotFound,
// naming them, when the store holds any of them not.
func (e *Exporter) requireGroups(ctx context.Context, fps []string) error {
	if err := checkFingerprints(fps); err != nil {
		return err
	}
	if len(fps) == 0 {
		return nil
	}
	var known []string
	if err := e.selectStrings(ctx, &known, e.sql("known", sqlData{}), inSet(fps)); err != nil {
		return fmt.Errorf("clickhouse: find groups: %w", err)
	}
	var missing []string
	for _, fp := range fps {
		if !slices.Contains(known, fp) && !slices.Contains(missing, fp) {
			missing = append(missing, fp)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %q", exporter.ErrNotFound, missing)
	}
	return nil
}

// knownRoots checks that the store holds every fingerprint given (see
// requireGroups) and returns the merge map and the groups they count in,
// each once: a part stands for its target.
func (e *Exporter) knownRoots(ctx context.Context, fps []string) (merges, []string, error) {
	if err := e.requireGroups(ctx, fps); err != nil || len(fps) == 0 {
		return merges{}, nil, err
	}
	m, err := e.readMerges(ctx)
	if err != nil {
		return merges{}, nil, err
	}
	return m, m.roots(fps), nil
}

// SetState records a change on every group given, in one INSERT, all or
// none: an invalid change or fingerprint is ErrInvalid, an unknown
// fingerprint ErrNotFound, and then nothing is written. A merged part
// stands for its target, whose state it shares. An empty By is recorded
// as exporter.ActorAPI, a zero At as now. For a resolve in the next
// release, the releases the groups' stored occurrences were seen in are
// recorded first (see backfillReleases), so that a group older than the
// releases table does not take an old release for a new one.
func (e *Exporter) SetState(ctx context.Context, fingerprints []string, c exporter.Change) error {
	if err := c.Validate(); err != nil {
		return err
	}
	m, roots, err := e.knownRoots(ctx, fingerprints)
	if err != nil || len(roots) == 0 {
		return err
	}
	now := time.Now()
	if c.At.IsZero() {
		c.At = now
	}
	if c.By == "" {
		c.By = exporter.ActorAPI
	}
	if c.InNextRelease {
		if err := e.backfillReleases(ctx, m.members(roots)); err != nil {
			return err
		}
	}
	rows := make([]stateRow, len(roots))
	for i, fp := range roots {
		rows[i] = stateRow{fingerprint: fp, change: c, version: uint64(now.UnixNano())}
	}
	if err := e.insertStates(ctx, rows...); err != nil {
		return fmt.Errorf("clickhouse: set state: %w", err)
	}
	return nil
}

// backfillReleases records the releases of the groups' stored occurrences
// in group_releases. Its aggregates (min, max, uniq of ids) merge to the
// same result however often a row is added, so this is safe to repeat. It
// runs on a person's action only, never on New's path or on ingest.
func (e *Exporter) backfillReleases(ctx context.Context, fps []string) error {
	if e.schema.Cluster != "" {
		ctx = ch.Context(ctx, ch.WithSettings(syncInsert))
	}
	err := e.conn.Exec(ctx, "INSERT INTO "+e.schema.DB+".group_releases (fingerprint, release, first_seen, last_seen, occurrences)"+
		" SELECT fingerprint, toString(service_version) AS release, minState(time_ns), maxState(time_ns), uniqState(id)"+
		" FROM "+e.schema.DB+".occurrences WHERE fingerprint IN (?) GROUP BY fingerprint, release", inSet(fps))
	if err != nil {
		return fmt.Errorf("clickhouse: record releases: %w", err)
	}
	return nil
}

// Resolve marks a group resolved now, by exporter.ActorAPI.
func (e *Exporter) Resolve(ctx context.Context, fingerprint string) error {
	return e.SetState(ctx, []string{fingerprint}, exporter.Change{Status: exporter.StatusResolved, By: exporter.ActorAPI})
}

// Reopen marks a group open now, by exporter.ActorAPI.
func (e *Exporter) Reopen(ctx context.Context, fingerprint string) error {
	return e.SetState(ctx, []string{fingerprint}, exporter.Change{Status: exporter.StatusOpen, By: exporter.ActorAPI})
}

// Releases lists the releases (service.version) of a group and its parts,
// newest first seen first; a part answers for its target. Occurrences
// without a release are left out, and so are those stored before the
// releases table existed (unless a resolve in the next release recorded
// them). Count is approximate above some ten thousand occurrences.
func (e *Exporter) Releases(ctx context.Context, fingerprint string) ([]exporter.Release, error) {
	if err := e.requireGroups(ctx, []string{fingerprint}); err != nil {
		return nil, err
	}
	m, err := e.readMerges(ctx)
	if err != nil {
		return nil, err
	}
	var out []exporter.Release
	err = e.scanRows(ctx, func(rows driver.Rows) error {
		var r exporter.Release
		var first, last uint64
		if err := rows.Scan(&r.Version, &first, &last, &r.Count); err != nil {
			return err
		}
		r.FirstSeen, r.LastSeen = fromNanos(first), fromNanos(last)
		out = append(out, r)
		return nil
	}, e.sql("releases", sqlData{}), inSet(m.members([]string{m.root(fingerprint)})))
	if err != nil {
		return nil, fmt.Errorf("clickhouse: releases: %w", err)
	}
	return out, nil
}

// DeleteGroups deletes the groups, and the parts merged into them, with
// one ALTER … DELETE per table for all of them; a part given stands for
// its target, so the whole merged group goes. Their states become open
// and their parts unmerged, so that a later occurrence of any of them
// starts a group afresh. All or none: an unknown fingerprint is
// ErrNotFound. On a single server it waits until the mutations are done
// (or ctx ends); in cluster mode they finish shortly after.
func (e *Exporter) DeleteGroups(ctx context.Context, fingerprints []string) error {
	m, roots, err := e.knownRoots(ctx, fingerprints)
	if err != nil || len(roots) == 0 {
		return err
	}
	members := m.members(roots)
	set := inSet(members)
	for _, table := range []string{"occurrences", "groups", "group_counts", "group_releases"} {
		stmt := "ALTER TABLE " + e.schema.DB + "." + table + e.schema.Local() + e.schema.OnCluster() + " DELETE WHERE fingerprint IN (?)"
		if err := e.conn.Exec(ctx, stmt, set); err != nil {
			return fmt.Errorf("clickhouse: delete groups: %w", err)
		}
	}
	now := time.Now()
	version := uint64(now.UnixNano())
	states := make([]stateRow, len(members))
	var unmerged []mergeRow
	for i, fp := range members {
		states[i] = stateRow{fingerprint: fp, change: exporter.Change{Status: exporter.StatusOpen, By: exporter.ActorAPI, At: now}, version: version}
		if t, ok := m.target[fp]; ok {
			unmerged = append(unmerged, mergeRow{part: fp, target: t, by: exporter.ActorAPI, at: now})
		}
	}
	if err := errors.Join(e.insertStates(ctx, states...), e.insertMerges(ctx, unmerged...)); err != nil {
		return fmt.Errorf("clickhouse: delete groups: %w", err)
	}
	if e.schema.Cluster != "" {
		return nil
	}
	return e.waitMutations(ctx)
}

// Delete removes a group (and its merged parts); see DeleteGroups.
func (e *Exporter) Delete(ctx context.Context, fingerprint string) error {
	return e.DeleteGroups(ctx, []string{fingerprint})
}
