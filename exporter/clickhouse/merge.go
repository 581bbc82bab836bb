package clickhouse

import (
	"context"
	"fmt"
	"slices"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/errortracker/errortracker/exporter"
)

// merges is the merge map as the merges table holds it now: each merged
// part and its target. Occurrences are never rewritten: every read maps a
// part's fingerprint to its target, so an unmerge is exact and a part's
// later occurrences, from any instance, land in the target too.
type merges struct {
	target map[string]string   // part → target (a root: never itself a part)
	parts  map[string][]string // target → its parts, sorted
}

// root returns the group that fp counts in: its target, or fp itself.
func (m merges) root(fp string) string {
	if t, ok := m.target[fp]; ok {
		return t
	}
	return fp
}

// roots maps fingerprints to their roots, each once, in order.
func (m merges) roots(fps []string) []string {
	out := make([]string, 0, len(fps))
	for _, fp := range fps {
		if r := m.root(fp); !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// members returns the given roots and their parts: the fingerprints whose
// rows make up those groups.
func (m merges) members(roots []string) []string {
	out := slices.Clone(roots)
	for _, r := range roots {
		out = append(out, m.parts[r]...)
	}
	return out
}

// any tells whether anything is merged.
func (m merges) any() bool { return len(m.target) > 0 }

// mapExpr is the expression of a row's group, and its arguments: the
// fingerprint itself where none of fps is a part, else transform() of the
// parts among fps to their targets (it works on 18.16 and current
// releases alike).
func (m merges) mapExpr(fps []string) (string, []any) {
	var from, to []string
	for _, fp := range fps {
		if t, ok := m.target[fp]; ok && !slices.Contains(from, fp) {
			from, to = append(from, fp), append(to, t)
		}
	}
	if len(from) == 0 {
		return "fingerprint", nil
	}
	return "transform(fingerprint, ?, ?, fingerprint)", []any{from, to}
}

// allMembers returns every target and part.
func (m merges) allMembers() []string {
	var out []string
	for t, ps := range m.parts {
		out = append(out, t)
		out = append(out, ps...)
	}
	slices.Sort(out)
	return out
}

// readMerges reads the merge map. The table holds one row per merge and
// unmerge, so it stays small; the newest row of a part wins. Chains, which
// Merge never makes but two concurrent merges could, are followed to
// their end (a cycle stops where it closes).
func (e *Exporter) readMerges(ctx context.Context) (merges, error) {
	direct := map[string]string{}
	err := e.scanRows(ctx, func(rows driver.Rows) error {
		var part, target string
		err := rows.Scan(&part, &target)
		direct[part] = target
		return err
	}, e.sql("merges", sqlData{}))
	if err != nil {
		return merges{}, fmt.Errorf("clickhouse: read merges: %w", err)
	}
	m := merges{target: make(map[string]string, len(direct)), parts: map[string][]string{}}
	for part := range direct {
		seen := []string{part}
		t := direct[part]
		for next, ok := direct[t]; ok && !slices.Contains(seen, t); next, ok = direct[t] {
			seen = append(seen, t)
			t = next
		}
		if t == part {
			continue // a cycle through part: it stays itself
		}
		m.target[part] = t
		m.parts[t] = append(m.parts[t], part)
	}
	for _, ps := range m.parts {
		slices.Sort(ps)
	}
	return m, nil
}

// mergeRow is one row of the merges table: a part merged into a target
// (merged) or taken out of it again.
type mergeRow struct {
	part, target string
	merged       bool
	by           string
	at           time.Time
}

// insertMerges appends merge rows in one INSERT.
func (e *Exporter) insertMerges(ctx context.Context, rows ...mergeRow) error {
	if len(rows) == 0 {
		return nil
	}
	if e.schema.Cluster != "" {
		ctx = ch.Context(ctx, ch.WithSettings(syncInsert))
	}
	batch, err := e.conn.PrepareBatch(ctx, "INSERT INTO "+e.schema.DB+".merges (part, target, merged, actor, at_ns, version)")
	if err != nil {
		return err
	}
	version := uint64(time.Now().UnixNano())
	for _, r := range rows {
		if err := batch.Append(r.part, r.target, boolByte(r.merged), r.by, nanos(r.at), version); err != nil {
			_ = batch.Abort()
			return err
		}
	}
	return batch.Send()
}

// Merge merges the parts into the target. A target that is itself a part
// stands for its own target (the merge goes there); a part that has parts
// of its own brings them along, so the map stays one level deep. Merging a
// group into itself is ErrInvalid; an unknown fingerprint is ErrNotFound;
// then nothing is written. An empty by is recorded as exporter.ActorAPI.
// The target's state stays; the parts' own states are kept, unused, for an
// unmerge.
func (e *Exporter) Merge(ctx context.Context, target string, parts []string, by string) error {
	by, err := actor(by)
	if err != nil {
		return err
	}
	if len(parts) == 0 {
		return fmt.Errorf("%w: merge: no groups to merge into %q", exporter.ErrInvalid, target)
	}
	if err := e.requireGroups(ctx, append([]string{target}, parts...)); err != nil {
		return err
	}
	m, err := e.readMerges(ctx)
	if err != nil {
		return err
	}
	root := m.root(target)
	now := time.Now()
	var rows []mergeRow
	for _, p := range parts {
		if m.root(p) == root {
			if p == root {
				return fmt.Errorf("%w: merge: %q into itself", exporter.ErrInvalid, p)
			}
			continue // already in the target
		}
		for _, fp := range append([]string{p}, m.parts[p]...) {
			if !slices.ContainsFunc(rows, func(r mergeRow) bool { return r.part == fp }) {
				rows = append(rows, mergeRow{part: fp, target: root, merged: true, by: by, at: now})
			}
		}
	}
	if err := e.insertMerges(ctx, rows...); err != nil {
		return fmt.Errorf("clickhouse: merge: %w", err)
	}
	return nil
}

// Unmerge takes a part out of its target: its occurrences count as its
// own group again, with the state it had before the merge. A fingerprint
// that is not a merged part is ErrNotFound.
func (e *Exporter) Unmerge(ctx context.Context, part string, by string) error {
	if err := exporter.CheckFingerprint(part); err != nil {
		return err
	}
	by, err := actor(by)
	if err != nil {
		return err
	}
	m, err := e.readMerges(ctx)
	if err != nil {
		return err
	}
	target, ok := m.target[part]
	if !ok {
		return fmt.Errorf("%w: %q is not merged into another group", exporter.ErrNotFound, part)
	}
	if err := e.insertMerges(ctx, mergeRow{part: part, target: target, by: by, at: time.Now()}); err != nil {
		return fmt.Errorf("clickhouse: unmerge: %w", err)
	}
	return nil
}

// actor checks who makes a merge or an unmerge; nobody is exporter.ActorAPI.
func actor(by string) (string, error) {
	if err := exporter.CheckActor(by); err != nil {
		return "", err
	}
	if by == "" {
		return exporter.ActorAPI, nil
	}
	return by, nil
}
