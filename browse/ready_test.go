package browse_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/errortracker/errortracker/browse"
	"github.com/errortracker/errortracker/exporter/clickhouse"
	"github.com/errortracker/errortracker/internal/testenv"
)

// Until the store has connected (the app started before ClickHouse), every
// page and the API answer 503 with the reason, to those allowed to see it.
func TestPagesSayTheStoreIsNotReady(t *testing.T) {
	port := testenv.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	s, err := clickhouse.New(context.Background(), clickhouse.Config{Addrs: []string{addr}, Database: "t_browse_ready", DialTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	c := newServer(t, s, withAuth(browse.Config{}))

	if resp, body := c.get("/dev/error/"); resp.StatusCode != 401 || strings.Contains(body, addr) {
		t.Errorf("without credentials: %d %q", resp.StatusCode, body)
	}
	c.user, c.pass = "admin", "pw"
	for _, path := range []string{"/dev/error/", "/dev/error/somefingerprint", "/dev/error/api/exceptions"} {
		resp, body := c.get(path)
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s: %d (Retry-After %q), want 503", path, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		if !strings.Contains(body, "not ready") || !strings.Contains(body, addr) || !strings.Contains(body, "connection refused") {
			t.Errorf("%s: the page does not say why: %s", path, body)
		}
	}

	testenv.StartClickHouse(t, testenv.ClickHouseConfig{TCPPort: port})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := s.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if resp, body := c.get("/dev/error/api/exceptions"); resp.StatusCode != 200 {
		t.Errorf("once ready: %d %s", resp.StatusCode, body)
	}
}
