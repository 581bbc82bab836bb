package clickhouse

import (
	"context"
	"fmt"
	"slices"
	"sync"

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
// state of the groups its records had under the previous way of grouping
// (Record.Previous, merged by exporter.CarryOver): after an upgrade of the fingerprint, an old error
// keeps its age, and a resolved one that happens again is a regression, not
// a new group. It writes a summary row holding only first_seen, merged by
// min, the old groups' release rows under the new fingerprint, and a copy
// of the state row with its version (a state's version is its time), so a
// later resolve or reopen of the new group still wins. All are idempotent,
// so a repeat after a restart or by a second instance changes nothing.
func (e *Exporter) carryOver(ctx context.Context, records []exporter.Record) error {
	previous := map[string][]string{} // new fingerprint → old ones
	var news, olds []string
	for i := range records {
		r := &records[i]
		if e.carried.has(r.Fingerprint) {
			continue
		}
		for _, old := range r.Previous() {
			if slices.Contains(previous[r.Fingerprint], old) {
				continue
			}
			if previous[r.Fingerprint] == nil {
				news = append(news, r.Fingerprint)
			}
			previous[r.Fingerprint] = append(previous[r.Fingerprint], old)
			olds = append(olds, old)
		}
	}
	if len(news) == 0 {
		return nil
	}
	states, err := e.GroupStates(ctx, olds)
	if err != nil {
		return fmt.Errorf("read previous groups: %w", err)
	}
	var firstFPs []string
	var firstNs []uint64
	var stateRows []stateRow
	var fromFPs, toFPs []string // the releases of fromFPs[i] carry to toFPs[i]
	for _, fp := range news {
		st, ok := exporter.CarryOver(states, fp, previous[fp])
		if !ok {
			continue
		}
		for _, old := range previous[fp] {
			if _, known := states[old]; known {
				fromFPs, toFPs = append(fromFPs, old), append(toFPs, fp)
			}
		}
		if !st.FirstSeen.IsZero() {
			firstFPs, firstNs = append(firstFPs, fp), append(firstNs, uint64(st.FirstSeen.UnixNano()))
		}
		if c := st.Change; c.Status != "" {
			// A state's version is its time, so a later change of the
			// new group still wins.
			stateRows = append(stateRows, stateRow{fingerprint: fp, change: c, version: nanos(c.At)})
		} else if st.Status != "" {
			c := exporter.Change{Status: st.Status, At: st.StatusChanged}
			stateRows = append(stateRows, stateRow{fingerprint: fp, change: c, version: nanos(c.At)})
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
	if len(fromFPs) > 0 {
		// The old groups' releases, as their aggregate states (which
		// merge to the same result however often they are copied): a
		// release the old group had seen is not new to the new one, so
		// a carried resolve in the next release does not regress on it.
		err := e.conn.Exec(ctx, "INSERT INTO "+e.schema.DB+".group_releases (fingerprint, release, first_seen, last_seen, occurrences)"+
			" SELECT new_fp, release, first_seen, last_seen, occurrences FROM "+e.schema.DB+".group_releases"+
			" ALL INNER JOIN (SELECT ? AS olds, ? AS news, arrayJoin(arrayEnumerate(olds)) AS i, olds[i] AS fingerprint, news[i] AS new_fp) AS pairs USING fingerprint"+
			" WHERE fingerprint IN (?)",
			fromFPs, toFPs, inSet(fromFPs))
		if err != nil {
			return fmt.Errorf("carry releases over: %w", err)
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
