package clickhouse_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/exporter/clickhouse"
	"github.com/errortracker/errortracker/internal/testenv"
)

// An app must start while its ClickHouse is down: New returns at once, the
// store says why it is not ready, and once the server is up the exporter
// connects, migrates and takes what waited.
func TestNewWhileTheServerIsDown(t *testing.T) {
	port := testenv.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	start := time.Now()
	e, err := clickhouse.New(context.Background(), clickhouse.Config{Addrs: []string{addr}, Database: testDatabase(t), DialTimeout: time.Second})
	if err != nil {
		t.Fatalf("New with the server down: %v", err)
	}
	defer e.Shutdown(context.Background())
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("New took %v with the server down", d)
	}
	if err := e.Ready(); !errors.Is(err, exporter.ErrNotReady) || !strings.Contains(err.Error(), addr) {
		t.Errorf("Ready() = %v, want ErrNotReady naming %s", err, addr)
	}
	rec := record("fp-early", time.Now())
	if err := e.Export(context.Background(), []exporter.Record{rec}); !errors.Is(err, exporter.ErrNotReady) || errors.Is(err, exporter.ErrPermanent) {
		t.Errorf("Export before ready = %v, want a retryable ErrNotReady", err)
	}
	if _, err := e.ListGroups(context.Background(), exporter.GroupQuery{}); !errors.Is(err, exporter.ErrNotReady) {
		t.Errorf("ListGroups before ready = %v", err)
	}
	if _, _, err := e.GetGroup(context.Background(), "fp-early"); !errors.Is(err, exporter.ErrNotReady) {
		t.Errorf("GetGroup before ready = %v", err)
	}

	testenv.StartClickHouse(t, testenv.ClickHouseConfig{TCPPort: port})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := e.WaitReady(ctx); err != nil {
		t.Fatalf("not ready after the server started: %v", err)
	}
	export(t, e, rec)
	if page := mustList(t, e, exporter.GroupQuery{}); fps(page) != "fp-early" {
		t.Errorf("groups %q", fps(page))
	}
}

// Mistakes in the configuration are still reported at once, server or not;
// WaitForServer restores the failing New.
func TestNewReportsMistakesAtOnce(t *testing.T) {
	port := testenv.FreePort(t)
	_, err := clickhouse.New(context.Background(), clickhouse.Config{Addrs: []string{"127.0.0.1"}, Database: "bad-name"})
	if err == nil || !strings.Contains(err.Error(), "invalid configuration") || !strings.Contains(err.Error(), "bad-name") {
		t.Errorf("bad configuration: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err = clickhouse.New(ctx, clickhouse.Config{Addrs: []string{fmt.Sprintf("127.0.0.1:%d", port)}, DialTimeout: time.Second, WaitForServer: true})
	if err == nil || !strings.Contains(err.Error(), "cannot reach") {
		t.Errorf("WaitForServer with the server down: %v", err)
	}
	// A server that answers and refuses is a mistake too, not an outage.
	_, err = clickhouse.New(context.Background(), clickhouse.Config{Addrs: []string{testenv.ClickHouseAddr(t)}, Username: "nobody", Password: "wrong"})
	if err == nil {
		t.Error("a wrong user was accepted")
	}
}

// Shutdown stops the background connection at once, leaving no goroutine
// (TestMain checks).
func TestShutdownWhileConnecting(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	e, err := clickhouse.New(context.Background(), clickhouse.Config{Addrs: []string{addr}, DialTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(700 * time.Millisecond) // a retry or two
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := e.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if err := e.WaitReady(context.Background()); !errors.Is(err, exporter.ErrNotReady) {
		t.Errorf("WaitReady after Shutdown = %v", err)
	}
}
