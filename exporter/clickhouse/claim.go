package clickhouse

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/errortracker/errortracker/exporter"
)

// ClaimSettle is how long Claim waits between writing its claim and
// reading who won: longer than a claim's insert may take and than the
// clocks of the claiming hosts may disagree. ClickHouse has no atomic
// compare-and-set (18.16 has no transactions, no keeper-backed inserts), so
// the earliest claim wins and every claimant waits for the earlier ones to
// become visible before it reads.
const ClaimSettle = time.Second

// MaxClaimKey bounds the length of a claim key in bytes.
const MaxClaimKey = 1024

// maxWon bounds the claims an exporter remembers having won; past it, it
// forgets them and asks the store again, which answers the same.
const maxWon = 100_000

// claims is the exporter's side of Claim: who it is, and what it won.
type claims struct {
	once  sync.Once
	owner string

	mu  sync.Mutex
	won map[string]struct{}
}

func (c *claims) id() string {
	c.once.Do(func() {
		var b [16]byte
		_, _ = rand.Read(b[:]) // never fails (crypto/rand's documentation)
		c.owner = hex.EncodeToString(b[:])
	})
	return c.owner
}

func (c *claims) has(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.won[key]
	return ok
}

func (c *claims) add(keys []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.won == nil || len(c.won)+len(keys) > maxWon {
		c.won = make(map[string]struct{}, len(keys))
	}
	for _, k := range keys {
		c.won[k] = struct{}{}
	}
}

var _ exporter.Claimer = (*Exporter)(nil)

// Claim takes each key for this exporter unless another exporter — another
// process, another app instance, a Collector beside this one — took it
// first, and returns the keys this exporter holds, in the order given. A
// key stays taken for good: claim "announce the new group F" once, and of
// all the instances that ask, across restarts, exactly one is told yes (or,
// in the rare case below, none). The same exporter asking again is told yes
// again, so a caller may retry what it claimed.
//
// It blocks for about ClaimSettle plus two queries, whatever the number of
// keys: claim a batch's keys in one call. It honours ctx; an error (the
// store unreachable, or not ready: exporter.ErrNotReady) means nothing is
// known to be held, and the caller should hold back and retry.
//
// How: each claimant inserts (key, owner, its clock) and, ClaimSettle after
// its clock, reads every claim of the key; the earliest (by time, then
// owner) wins. A claimant whose own insert took longer than ClaimSettle
// cannot tell whether an earlier reader missed it, so it holds the key
// only if nobody else claimed it at all. This assumes the claimants'
// clocks agree within ClaimSettle, and on a cluster inserts through the
// Distributed table synchronously (insert_distributed_sync), which Claim
// sets. What can go wrong is that nobody holds a key (two slow claimants),
// never that two do.
func (e *Exporter) Claim(ctx context.Context, keys ...string) ([]string, error) {
	var ask []string
	seen := map[string]bool{}
	for _, k := range keys {
		if k == "" || len(k) > MaxClaimKey {
			return nil, fmt.Errorf("clickhouse: claim key of %d bytes: %w (want 1 to %d)", len(k), exporter.ErrInvalid, MaxClaimKey)
		}
		if !seen[k] && !e.claims.has(k) {
			ask = append(ask, k)
		}
		seen[k] = true
	}
	if len(ask) > 0 {
		won, err := e.claim(ctx, ask)
		if err != nil {
			return nil, err
		}
		e.claims.add(won)
	}
	var out []string
	for _, k := range keys {
		if seen[k] && e.claims.has(k) {
			out = append(out, k)
			seen[k] = false
		}
	}
	return out, nil
}

func (e *Exporter) claim(ctx context.Context, keys []string) ([]string, error) {
	owner := e.claims.id()
	if e.schema.Cluster != "" {
		ctx = ch.Context(ctx, ch.WithSettings(ch.Settings{"insert_distributed_sync": 1}))
	}
	start := time.Now()
	batch, err := e.conn.PrepareBatch(ctx, "INSERT INTO "+e.schema.DB+".claims (key, owner, claimed_ns)")
	if err != nil {
		return nil, classify(fmt.Errorf("clickhouse: claim: %w", err))
	}
	for _, k := range keys {
		if err := batch.Append(k, owner, uint64(start.UnixNano())); err != nil {
			_ = batch.Abort()
			return nil, fmt.Errorf("clickhouse: claim %q: %w", k, err)
		}
	}
	if err := batch.Send(); err != nil {
		return nil, classify(fmt.Errorf("clickhouse: claim %d keys: %w", len(keys), err))
	}
	late := time.Since(start) > ClaimSettle
	if wait := time.Until(start.Add(ClaimSettle)); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("clickhouse: claim: %w", ctx.Err())
		}
	}
	type first struct {
		owner  string
		ns     uint64
		others bool // someone other than this exporter claimed the key
	}
	firsts := map[string]*first{}
	err = e.scanRows(ctx, func(rows driver.Rows) error {
		var k, o string
		var ns uint64
		if err := rows.Scan(&k, &o, &ns); err != nil {
			return err
		}
		f := firsts[k]
		if f == nil {
			f = &first{owner: o, ns: ns}
			firsts[k] = f
		} else if ns < f.ns || ns == f.ns && o < f.owner {
			f.owner, f.ns = o, ns
		}
		if o != owner {
			f.others = true
		}
		return nil
	}, "SELECT key, owner, claimed_ns FROM "+e.schema.DB+".claims WHERE has(?, key)", keys)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: read claims: %w", err)
	}
	var won []string
	for _, k := range keys {
		if f := firsts[k]; f != nil && f.owner == owner && (!late || !f.others) {
			won = append(won, k)
		}
	}
	return won, nil
}
