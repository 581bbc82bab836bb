package smtp_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/exporter/clickhouse"
	"github.com/errortracker/errortracker/exporter/smtp"
	"github.com/errortracker/errortracker/internal/testenv"
)

// A kill after the mail went out but before the spool learned it: the
// restarted process replays the same records, whose occurrences the store
// already holds (so the group looks new again), and must not mail again.
// Two instances given the same new group at once mail once between them.
func TestReplayAndTwoInstancesMailOnce(t *testing.T) {
	in := testenv.StartInbox(t)
	store := newStore(t)
	ctx := context.Background()
	t0 := time.Now().Add(-time.Minute)
	batch := []exporter.Record{rec("fp-replay", t0)}
	if err := store.Export(ctx, batch); err != nil {
		t.Fatal(err)
	}
	cfg := mailConfig(in)
	cfg.Store = store
	if err := newMailer(t, cfg).Export(ctx, batch); err != nil {
		t.Fatal(err)
	}
	in.WaitFor(t, 1)

	// The restarted process has a store of its own on the same database.
	cfg.Store = sameStore(t, store)
	if err := newMailer(t, cfg).Export(ctx, batch); err != nil {
		t.Fatal(err)
	}

	// Two instances, one new group, at once.
	both := []exporter.Record{rec("fp-both", t0.Add(time.Second))}
	errs := make(chan error, 2)
	for range 2 {
		c := mailConfig(in)
		c.Store = sameStore(t, store)
		m := newMailer(t, c)
		go func() { errs <- m.Export(ctx, both) }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	in.WaitFor(t, 2)
	time.Sleep(200 * time.Millisecond)
	if n := len(in.Messages()); n != 2 {
		t.Errorf("%d mails, want 2: fp-replay once, fp-both once", n)
	}
}

// Without its store the policy cannot claim: it sends nothing and asks
// for the batch again.
func TestNoMailWhileTheClaimCannotBeMade(t *testing.T) {
	in := testenv.StartInbox(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens: the store connects in the background
	store, err := clickhouse.New(context.Background(), clickhouse.Config{Addrs: []string{addr}, DialTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Shutdown(context.Background()) })
	cfg := mailConfig(in)
	cfg.Store = store
	if err := newMailer(t, cfg).Export(context.Background(), []exporter.Record{rec("fp-x", time.Now())}); err == nil {
		t.Error("Export without the store succeeded")
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(in.Messages()); n != 0 {
		t.Errorf("%d mails sent without a claim", n)
	}
}

// Shutdown returns by its deadline while the digest is being sent to a
// server that never answers.
func TestShutdownHonoursContext(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never speaks
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	e, err := smtp.New(smtp.Config{Addr: l.Addr().String(), TLS: smtp.TLSNone, Sender: "a@example.com", Recipients: []string{"b@example.com"},
		DigestAfter: 1, DigestWindow: time.Hour, SendTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = e.Export(context.Background(), []exporter.Record{rec("fp-1", time.Now())}) }() // stuck on the silent server
	time.Sleep(50 * time.Millisecond)
	_ = e.Export(context.Background(), []exporter.Record{rec("fp-2", time.Now())}) // into the digest, blocked behind it
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = e.Shutdown(ctx)
	if took := time.Since(start); took > time.Second {
		t.Errorf("Shutdown took %v with a 100 ms deadline", took)
	}
	if err == nil {
		t.Error("Shutdown reported success without sending the digest")
	}
}

// sameStore opens another store on the database of s: another process's.
func sameStore(t *testing.T, s *clickhouse.Exporter) *clickhouse.Exporter {
	t.Helper()
	o, err := clickhouse.New(context.Background(), clickhouse.Config{Addrs: []string{testenv.ClickHouseAddr(t)}, Database: s.Database()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Shutdown(context.Background()) })
	return o
}
