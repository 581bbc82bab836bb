package clickhouse_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/exporter/clickhouse"
)

// Of three exporters on one database claiming the same keys at once, one
// holds each key; the holder is told yes again, a later exporter (a
// restarted process) is told no.
func TestClaimOnceAcrossExporters(t *testing.T) {
	db := testDatabase(t)
	var es []*clickhouse.Exporter
	for range 3 {
		es = append(es, newExporter(t, clickhouse.Config{Database: db}))
	}
	keys := []string{"new/fp-a", "new/fp-b", "threshold/fp-a/10"}
	ctx := context.Background()
	held := make([][]string, len(es))
	var wg sync.WaitGroup
	errs := make(chan error, len(es))
	for i, e := range es {
		wg.Go(func() {
			h, err := e.Claim(ctx, keys...)
			held[i] = h
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range keys {
		n := 0
		for _, h := range held {
			if slices.Contains(h, k) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("key %q held by %d exporters, want 1 (held: %v)", k, n, held)
		}
	}
	for i, e := range es {
		again, err := e.Claim(ctx, keys...)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(again, held[i]) {
			t.Errorf("exporter %d claimed again: %v, first %v", i, again, held[i])
		}
	}
	later := newExporter(t, clickhouse.Config{Database: db})
	if h, err := later.Claim(ctx, append(keys, "new/fp-c")...); err != nil || !slices.Equal(h, []string{"new/fp-c"}) {
		t.Errorf("a later exporter holds %v (%v), want only the key nobody claimed", h, err)
	}
}

func TestClaimRejectsBadKeys(t *testing.T) {
	e := newExporter(t, clickhouse.Config{})
	for _, k := range []string{"", strings.Repeat("k", clickhouse.MaxClaimKey+1)} {
		if _, err := e.Claim(context.Background(), k); !errors.Is(err, exporter.ErrInvalid) {
			t.Errorf("key of %d bytes: %v, want ErrInvalid", len(k), err)
		}
	}
}
