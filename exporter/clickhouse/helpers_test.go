package clickhouse_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/goleak"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/exporter/clickhouse"
	"github.com/errortracker/errortracker/internal/chdb"
	"github.com/errortracker/errortracker/internal/testenv"
)

func TestMain(m *testing.M) {
	// The replay and cluster tests start chDB's engine, which must stop before
	// the race detector's exit handler runs.
	goleak.VerifyTestMain(m, goleak.Cleanup(func(int) {
		if err := chdb.Shutdown(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}))
}

// newExporter connects to the shared test server with a database of the
// test's own, dropped when the test ends.
func newExporter(t *testing.T, cfg clickhouse.Config) *clickhouse.Exporter {
	t.Helper()
	return newExporterCtx(t, context.Background(), cfg)
}

// newExporterCtx is newExporter with the context for New, which may carry
// a recorder (internal/chtap).
func newExporterCtx(t *testing.T, ctx context.Context, cfg clickhouse.Config) *clickhouse.Exporter {
	t.Helper()
	if len(cfg.Addrs) == 0 {
		cfg.Addrs = []string{testenv.ClickHouseAddr(t)}
	}
	if cfg.Database == "" {
		cfg.Database = testDatabase(t)
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	e, err := clickhouse.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return e
}

// testDatabase returns a database name unique to this test run.
func testDatabase(t *testing.T) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, t.Name())
	if len(name) > 40 {
		name = name[:40]
	}
	return "t_" + name + "_" + hex.EncodeToString(b[:])
}

// record builds a record of group fp at time at.
func record(fp string, at time.Time, mutate ...func(*exporter.Record)) exporter.Record {
	var id [16]byte
	_, _ = rand.Read(id[:])
	r := exporter.Record{
		ID:          hex.EncodeToString(id[:]),
		Fingerprint: fp,
		Grouping:    `message "boom in ` + fp + `"`,
		Time:        at,
		Type:        "*errors.errorString",
		Message:     "boom in " + fp,
		Stacktrace:  "main.handler(...)\n\t/app/main.go:42\n",
		Service:     "checkout",
		Environment: "test",
		Host:        "shop.example.com",
		Method:      "GET",
		Path:        "/orders/42",
		Route:       "/orders/{id}",
		StatusCode:  500,
		Attributes:  []attribute.KeyValue{attribute.String("http.request.method", "GET"), attribute.String("url.query", "token=**************")},
		Extras:      []attribute.KeyValue{attribute.String("id", "1234")},
		Resource:    []attribute.KeyValue{attribute.String("service.name", "checkout")},
	}
	for _, m := range mutate {
		m(&r)
	}
	return r
}

func export(t *testing.T, e *clickhouse.Exporter, recs ...exporter.Record) {
	t.Helper()
	if err := e.Export(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
}

func fps(page exporter.GroupPage) string {
	var out []string
	for _, g := range page.Groups {
		out = append(out, g.Fingerprint)
	}
	return strings.Join(out, ",")
}

func mustList(t *testing.T, e *clickhouse.Exporter, q exporter.GroupQuery) exporter.GroupPage {
	t.Helper()
	page, err := e.ListGroups(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return page
}
