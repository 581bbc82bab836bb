package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/errortracker/errortracker/exporter"
)

// The list sorted by first seen or by count would merge every group's
// summary on every request: 190–220 ms at a million groups. Instead a
// background job takes a snapshot of each order's first groups now and
// then (group_order), and every insert logs the groups it changed
// (group_changes). A page is then read among the snapshot's first groups
// and the groups changed since the snapshot, which is exact:
//
//   - a group that did not change since the snapshot keeps the place it had
//     in it, so every unchanged group that ranks before the snapshot's M-th
//     group is among the snapshot's first M;
//   - every changed group is read whole, wherever it now ranks;
//   - so the groups read that rank before the M-th (by their keys now)
//     are exactly the list's first groups, and when they fill the page,
//     the page is right. When they do not (a filter that keeps few of
//     them), the list reads every group, as it did before.
//
// The snapshot is taken on one server only; a cluster reads every group.
const (
	// DefaultSortSnapshotInterval is how often the snapshots are taken.
	DefaultSortSnapshotInterval = time.Minute
	// sortSnapshotSize is how many groups of each order a snapshot keeps:
	// the pages beyond it read every group.
	sortSnapshotSize = 10_000
	// sortSnapshotMaxAge: an older snapshot (the job failing, or no
	// instance running it) is not used.
	sortSnapshotMaxAge = 10 * time.Minute
	// maxChangedGroups bounds the groups changed since the snapshot that a
	// page reads whole; past it the list reads every group.
	maxChangedGroups = 50_000
	// changeClockMargin covers the clocks of the instances that log
	// changes and the one that took the snapshot disagreeing.
	changeClockMargin = 5 * time.Second
	// sortKeep is how long snapshots and the change log are kept, in
	// whole hours (their partitions).
	sortKeep = 2 * time.Hour
)

// snapshotOrder is one order the snapshots keep: its keys, which the
// list's order uses too, before the fingerprint that breaks ties.
type snapshotOrder struct {
	sort exporter.Sort
	keys string
}

// orderBy is the order's ORDER BY.
func (o snapshotOrder) orderBy() string { return o.keys + ", fingerprint" }

// snapshotOrders are the orders the snapshots keep; the list by last seen
// reads recent windows instead (see ListGroups).
var snapshotOrders = []snapshotOrder{
	{exporter.SortFirstSeen, "first_ns DESC"},
	{exporter.SortCount, "n DESC, last_ns DESC"},
}

func orderFor(s exporter.Sort) (snapshotOrder, bool) {
	for _, o := range snapshotOrders {
		if o.sort == s {
			return o, true
		}
	}
	return snapshotOrder{}, false
}

// sortKey is a group's place in an order, as a snapshot stored it.
type sortKey struct {
	fingerprint        string
	n, firstNs, lastNs uint64
}

// before is the condition that a group (columns fpCol, n, first_ns,
// last_ns) ranks strictly before k in the order.
func (o snapshotOrder) before(k sortKey, fpCol string) (string, []any) {
	if o.sort == exporter.SortFirstSeen {
		return "(first_ns > ? OR (first_ns = ? AND " + fpCol + " < ?))", []any{k.firstNs, k.firstNs, k.fingerprint}
	}
	return "(n > ? OR (n = ? AND (last_ns > ? OR (last_ns = ? AND " + fpCol + " < ?))))",
		[]any{k.n, k.n, k.lastNs, k.lastNs, k.fingerprint}
}

// logChanges records that the records' groups changed now. It runs after
// the records are stored, so that a snapshot that missed them finds their
// groups here; it tries three times, and a failure leaves the groups at
// their old place in these two orders until the next snapshot.
func (e *Exporter) logChanges(ctx context.Context, records []exporter.Record) error {
	if e.schema.Cluster != "" || e.cfg.SortSnapshotInterval < 0 {
		return nil
	}
	seen := make(map[string]bool, len(records))
	var err error
	for try := range 3 {
		if try > 0 {
			select {
			case <-ctx.Done():
				return errors.Join(err, ctx.Err())
			case <-time.After(time.Duration(try) * 100 * time.Millisecond):
			}
		}
		now := uint64(time.Now().UnixNano())
		var batch driver.Batch
		if batch, err = e.conn.PrepareBatch(ctx, "INSERT INTO "+e.schema.DB+".group_changes (changed_ns, fingerprint)"); err != nil {
			continue
		}
		clear(seen)
		for i := range records {
			fp := records[i].Fingerprint
			if seen[fp] {
				continue
			}
			seen[fp] = true
			if err = batch.Append(now, fp); err != nil {
				_ = batch.Abort()
				return err
			}
		}
		if err = batch.Send(); err == nil {
			return nil
		}
	}
	return err
}

// TakeSortSnapshot records the first groups of the list sorted by first
// seen and by count, and drops the snapshots and change log older than two
// hours. The exporter runs it every Config.SortSnapshotInterval; it is
// exported for tests and benchmarks.
func (e *Exporter) TakeSortSnapshot(ctx context.Context) error {
	if e.schema.Cluster != "" || e.cfg.SortSnapshotInterval < 0 {
		return nil
	}
	// Taken before the groups are read: a group changed while they are
	// read is in the change log after this time.
	taken := time.Now()
	for _, o := range snapshotOrders {
		err := e.conn.Exec(ctx, "INSERT INTO "+e.schema.DB+".group_order (sort, taken_ns, fingerprint, n, first_ns, last_ns)"+
			" SELECT ?, ?, fingerprint, n, first_ns, last_ns FROM ("+
			"SELECT fingerprint, countMerge(rows) AS n, minMerge(first_seen) AS first_ns, maxMerge(last_seen) AS last_ns FROM "+e.schema.DB+".groups"+
			" GROUP BY fingerprint HAVING last_ns > 0 ORDER BY "+o.orderBy()+" LIMIT "+strconv.Itoa(sortSnapshotSize)+")",
			string(o.sort), uint64(taken.UnixNano()))
		if err != nil {
			return fmt.Errorf("clickhouse: snapshot of the list by %s: %w", o.sort, err)
		}
	}
	// Hour partitions wholly older than sortKeep.
	cut := uint64(taken.Add(-sortKeep).UnixNano()) / uint64(time.Hour)
	for _, t := range []struct{ table, column string }{{"group_order", "taken_ns"}, {"group_changes", "changed_ns"}} {
		var parts []string
		if err := e.selectStrings(ctx, &parts, "SELECT DISTINCT toString(intDiv("+t.column+", 3600000000000)) FROM "+e.schema.DB+"."+t.table+
			" WHERE "+t.column+" < ?", cut*uint64(time.Hour)); err != nil {
			return fmt.Errorf("clickhouse: old partitions of %s: %w", t.table, err)
		}
		for _, p := range parts {
			if _, err := strconv.ParseUint(p, 10, 64); err != nil {
				return fmt.Errorf("clickhouse: unexpected partition %q of %s", p, t.table)
			}
			if err := e.conn.Exec(ctx, "ALTER TABLE "+e.schema.DB+"."+t.table+" DROP PARTITION "+p); err != nil {
				return fmt.Errorf("clickhouse: drop partition %s of %s: %w", p, t.table, err)
			}
		}
	}
	return nil
}

// snapshotLoop takes the snapshots until Shutdown.
func (e *Exporter) snapshotLoop() {
	if e.schema.Cluster != "" || e.cfg.SortSnapshotInterval < 0 {
		return
	}
	e.every(e.cfg.SortSnapshotInterval, "clickhouse: snapshot of the sorted list failed; the list reads every group meanwhile", e.TakeSortSnapshot)
}

// snapshotAttempt returns the candidates of a page of the list sorted by
// first seen or by count: the snapshot's first groups and those changed
// since, and the condition that a group ranks before the last snapshot
// group read (nothing when the snapshot holds fewer groups: then every
// group is a candidate, and a short page is the end of the list). It
// reports false when no usable snapshot exists.
//
// Merged groups are read whole too (ListGroups adds them to every read
// that is not of every group): a target's place combines its parts', which
// the snapshot, taken per fingerprint, does not hold. Every other group
// has the place the snapshot gave it.
func (e *Exporter) snapshotAttempt(ctx context.Context, q exporter.GroupQuery, m merges) (listAttempt, bool) {
	o, ok := orderFor(q.Sort)
	if !ok || e.schema.Cluster != "" || e.cfg.SortSnapshotInterval < 0 {
		return listAttempt{}, false
	}
	want := q.Page * q.PageSize // the rows before this page's, and its own
	if want >= sortSnapshotSize {
		return listAttempt{}, false
	}
	// The newest snapshot, and the groups changed since, in one read.
	var taken, changed uint64
	latest := "SELECT max(taken_ns) FROM " + e.schema.DB + ".group_order WHERE sort = ?"
	err := e.scanRows(ctx, func(rows driver.Rows) error { return rows.Scan(&taken, &changed) },
		"SELECT max(taken_ns), (SELECT uniqExact(fingerprint) FROM "+e.schema.DB+".group_changes WHERE changed_ns >= ("+latest+") - ?)"+
			" FROM "+e.schema.DB+".group_order WHERE sort = ?",
		string(o.sort), uint64(changeClockMargin), string(o.sort))
	if err != nil || taken == 0 || time.Since(fromNanos(taken)) > sortSnapshotMaxAge || changed > maxChangedGroups {
		return listAttempt{}, false
	}
	since := taken - uint64(changeClockMargin)
	// Changed groups in the snapshot's first rows may now rank lower: read
	// as many more rows as groups changed.
	read := min(uint64(want)+1+changed, sortSnapshotSize)
	snapshot := "SELECT fingerprint FROM " + e.schema.DB + ".group_order WHERE sort = ? AND taken_ns = ? ORDER BY " + o.orderBy() + " LIMIT " + strconv.FormatUint(read, 10)
	a := listAttempt{
		where: "(fingerprint IN (" + snapshot + ") OR fingerprint IN (SELECT fingerprint FROM " + e.schema.DB + ".group_changes WHERE changed_ns >= ?))",
		args:  []any{string(o.sort), taken, since},
		final: true,
	}
	var last sortKey
	found := false
	err = e.scanRows(ctx, func(rows driver.Rows) error {
		found = true
		return rows.Scan(&last.fingerprint, &last.n, &last.firstNs, &last.lastNs)
	}, "SELECT fingerprint, n, first_ns, last_ns FROM "+e.schema.DB+".group_order WHERE sort = ? AND taken_ns = ? ORDER BY "+o.orderBy()+
		" LIMIT "+strconv.FormatUint(read-1, 10)+", 1", string(o.sort), taken)
	if err != nil {
		return listAttempt{}, false
	}
	if found {
		fpCol := "fingerprint"
		if m.any() {
			fpCol = "t_fp" // see listGroups
		}
		a.having, a.havingArgs = o.before(last, fpCol)
		a.final = false
	}
	return a, true
}
