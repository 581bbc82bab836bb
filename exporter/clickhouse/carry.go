package clickhouse

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/errortracker/errortracker/exporter"
)

// maxCarried bounds the fingerprints an exporter remembers having carried
// over; past it, it forgets them all and carries again, which is harmless.
const maxCarried = 100_000

// carried remembers the fingerprints whose carry-over is done in this
// process, so that a group costs the queries once.
type carried struct {
	mu  sync.Mutex
	fps map[string]struct{}
}

func (c *carried) has(fp string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.fps[fp]
	return ok
}

func (c *carried) add(fps []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fps == nil || len(c.fps)+len(fps) > maxCarried {
		c.fps = make(map[string]struct{}, len(fps))
	}
	for _, fp := range fps {
		c.fps[fp] = struct{}{}
	}
}

// carryOver gives each fingerprint of the batch the first sighting and the
// state of the groups its records had under the previous way of grouping:
// after an upgrade of the fingerprint, an old error keeps its age, and a
// resolved one that happens again is a regression, not a new group. It
// writes a summary row holding only first_seen, merged by min, and copies
// the latest state row with its version, so a newer resolve or reopen of
// the new group still wins. Both are idempotent, so a repeat after a
// restart or by a second instance changes nothing.
func (e *Exporter) carryOver(ctx context.Context, records []exporter.Record) error {
	previous := map[string]map[string]bool{} // new fingerprint → old ones
	var olds []string
	for i := range records {
		r := &records[i]
		if r.PreviousFingerprint == "" || r.PreviousFingerprint == r.Fingerprint || e.carried.has(r.Fingerprint) {
			continue
		}
		if previous[r.Fingerprint] == nil {
			previous[r.Fingerprint] = map[string]bool{}
		}
		if !previous[r.Fingerprint][r.PreviousFingerprint] {
			previous[r.Fingerprint][r.PreviousFingerprint] = true
			olds = append(olds, r.PreviousFingerprint)
		}
	}
	if len(previous) == 0 {
		return nil
	}
	for _, fp := range olds {
		if err := exporter.CheckFingerprint(fp); err != nil {
			return fmt.Errorf("previous fingerprint: %w", err)
		}
	}

	type state struct {
		status             string
		changedNs, version uint64
	}
	firsts := map[string]uint64{}
	states := map[string]state{}
	set := inSet(olds)
	err := e.scanRows(ctx, func(rows driver.Rows) error {
		var fp string
		var first uint64
		err := rows.Scan(&fp, &first)
		if first > 0 {
			firsts[fp] = first
		}
		return err
	}, "SELECT fingerprint, minMerge(first_seen) FROM "+e.schema.DB+".groups WHERE fingerprint IN (?) GROUP BY fingerprint", set)
	if err != nil {
		return fmt.Errorf("read previous groups: %w", err)
	}
	err = e.scanRows(ctx, func(rows driver.Rows) error {
		var fp string
		var st state
		err := rows.Scan(&fp, &st.status, &st.changedNs, &st.version)
		states[fp] = st
		return err
	}, "SELECT fingerprint, argMax(status, version), argMax(changed_ns, version), max(version) FROM "+e.schema.DB+".group_state"+
		" WHERE fingerprint IN (?) GROUP BY fingerprint", set)
	if err != nil {
		return fmt.Errorf("read previous states: %w", err)
	}

	news := make([]string, 0, len(previous))
	for fp := range previous {
		news = append(news, fp)
	}
	sort.Strings(news)
	var firstFPs []string
	var firstNs []uint64
	var stateRows [][]any
	for _, fp := range news {
		var first uint64
		var latest state
		for old := range previous[fp] {
			if f, ok := firsts[old]; ok && (first == 0 || f < first) {
				first = f
			}
			if st, ok := states[old]; ok && st.version > latest.version {
				latest = st
			}
		}
		if first > 0 {
			firstFPs, firstNs = append(firstFPs, fp), append(firstNs, first)
		}
		if latest.version > 0 {
			stateRows = append(stateRows, []any{fp, latest.status, latest.changedNs, latest.version})
		}
	}
	if len(firstFPs) > 0 {
		// The aggregate state can only be made by a SELECT; the arrays
		// become one row per group.
		err := e.conn.Exec(ctx, "INSERT INTO "+e.schema.DB+".groups (fingerprint, first_seen)"+
			" SELECT fp, minState(ns) FROM (SELECT ? AS fps, ? AS nss, arrayJoin(arrayEnumerate(fps)) AS i, fps[i] AS fp, nss[i] AS ns) GROUP BY fp",
			firstFPs, firstNs)
		if err != nil {
			return fmt.Errorf("carry first sightings over: %w", err)
		}
	}
	if len(stateRows) > 0 {
		if err := e.insertStates(ctx, stateRows...); err != nil {
			return fmt.Errorf("carry states over: %w", err)
		}
	}
	e.carried.add(news)
	return nil
}
