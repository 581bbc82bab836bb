package clickhouse_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/exporter/clickhouse"
	"github.com/errortracker/errortracker/internal/testenv"
	"github.com/errortracker/errortracker/processor"
)

// stack2KB is a realistic 2 KB Go stack trace.
var stack2KB = func() string {
	var b strings.Builder
	for i := 0; b.Len() < 2048; i++ {
		fmt.Fprintf(&b, "github.com/acme/shop/orders.(*Service).step%d(...)\n\t/src/shop/orders/service.go:%d\n", i, 100+i)
	}
	return b.String()[:2048]
}()

// BenchmarkInsert compares the raw clickhouse-go batch insert of
// occurrence rows with records going end to end: span.End() → processor →
// exporter → rows countable in ClickHouse. Both report rows/s.
func BenchmarkInsert(b *testing.B) {
	addr := testenv.ClickHouseAddr(b)
	b.Run("raw-clickhouse-go", func(b *testing.B) {
		e := benchExporter(b, addr)
		conn, err := ch.Open(&ch.Options{Addr: []string{addr}})
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		db := e.Database()
		insert := "INSERT INTO " + db + ".occurrences (id, fingerprint, time, time_ns, type, message, stacktrace, escaped, service, service_version, environment, span_name, trace_id, span_id, host, method, path, route, status_code, attributes.key, attributes.value, extras.key, extras.value, resource.key, resource.value)"
		ctx := context.Background()
		const batchRows = 10_000
		keys, values := []string{"http.request.method", "url.path"}, []string{"GET", "/orders/42"}
		b.ResetTimer()
		batch, err := conn.PrepareBatch(ctx, insert)
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < b.N; i++ {
			now := time.Now()
			if err := batch.Append(strconv.Itoa(i), "fp"+strconv.Itoa(i%100), now, uint64(now.UnixNano()), "*errors.errorString",
				"order 42 failed", stack2KB, uint8(0), "checkout", "1.0", "bench", "GET /orders/{id}", "0af7651916cd43dd8448eb211c80319c",
				"b7ad6b7169203331", "shop.example.com", "GET", "/orders/42", "/orders/{id}", uint16(500),
				keys, values, []string{"id"}, []string{"1234"}, []string{"service.name"}, []string{"checkout"}); err != nil {
				b.Fatal(err)
			}
			if (i+1)%batchRows == 0 {
				if err := batch.Send(); err != nil {
					b.Fatal(err)
				}
				if batch, err = conn.PrepareBatch(ctx, insert); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := batch.Send(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		checkRows(b, conn, db, b.N)
	})
	b.Run("end-to-end", func(b *testing.B) {
		e := benchExporter(b, addr)
		var opts []processor.Option
		if v := os.Getenv("ERRORTRACKER_BENCH_BATCH"); v != "" {
			n, _ := strconv.Atoi(v)
			opts = append(opts, processor.WithBatchSize(n))
		}
		p, err := processor.New(processor.Config{}, append(opts, processor.WithExporter(e))...)
		if err != nil {
			b.Fatal(err)
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))
		defer tp.Shutdown(context.Background())
		tr := tp.Tracer("bench")
		attrs := trace.WithAttributes(
			semconv.ExceptionType("*errors.errorString"), semconv.ExceptionMessage("order 42 failed"),
			semconv.ExceptionStacktrace(stack2KB), attribute.String("id", "1234"))
		spanAttrs := trace.WithAttributes(attribute.String("http.request.method", "GET"), attribute.String("url.path", "/orders/42"))
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			_, span := tr.Start(context.Background(), "GET /orders/{id}", spanAttrs)
			span.AddEvent(semconv.ExceptionEventName, attrs)
			span.End()
			// The processor drops rather than block; a throughput test
			// must not outrun its queue, so it waits every 20,000.
			if (i+1)%20_000 == 0 {
				if err := p.ForceFlush(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := p.ForceFlush(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		conn, err := ch.Open(&ch.Options{Addr: []string{addr}})
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		checkRows(b, conn, e.Database(), b.N)
	})
}

func benchExporter(b *testing.B, addr string) *clickhouse.Exporter {
	b.Helper()
	e, err := clickhouse.New(context.Background(), clickhouse.Config{Addrs: []string{addr}, Database: "bench_insert_" + strconv.FormatInt(time.Now().UnixNano(), 36)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		conn, err := ch.Open(&ch.Options{Addr: []string{addr}})
		if err == nil {
			_ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+e.Database())
			conn.Close()
		}
		_ = e.Shutdown(context.Background())
	})
	return e
}

// checkRows makes sure the benchmark measured rows that really landed.
func checkRows(b *testing.B, conn driver.Conn, db string, want int) {
	b.Helper()
	var n uint64
	if err := conn.QueryRow(context.Background(), "SELECT count() FROM "+db+".occurrences").Scan(&n); err != nil {
		b.Fatal(err)
	}
	if n != uint64(want) {
		b.Fatalf("%d rows in ClickHouse, want %d", n, want)
	}
}

// BenchmarkListGroups measures the browse page's queries over a store of
// ERRORTRACKER_BENCH_ROWS occurrences (default 1,000,000) in
// ERRORTRACKER_BENCH_GROUPS groups (default 20,000) over 30 days, with the
// list as it read every group before (default-raw) in the same run. The data is generated by the server once per size and kept
// in database bench_list_<rows> for later runs. For 10 million:
//
//	ERRORTRACKER_BENCH_ROWS=10000000 go test -run '^$' -bench ListGroups -count 6 ./exporter/clickhouse
func BenchmarkListGroups(b *testing.B) {
	addr := testenv.ClickHouseAddr(b)
	rows := 1_000_000
	if v := os.Getenv("ERRORTRACKER_BENCH_ROWS"); v != "" {
		var err error
		if rows, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	groups := 20_000
	if v := os.Getenv("ERRORTRACKER_BENCH_GROUPS"); v != "" {
		var err error
		if groups, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	db := fmt.Sprintf("bench_list_%d", rows)
	if groups != 20_000 {
		db = fmt.Sprintf("bench_list_%d_%d", rows, groups)
	}
	e, err := clickhouse.New(context.Background(), clickhouse.Config{Addrs: []string{addr}, Database: db, RetentionDays: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Shutdown(context.Background())
	loadGroups(b, addr, db, rows, groups)
	ctx := context.Background()
	conn, err := ch.Open(&ch.Options{Addr: []string{addr}})
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	// The sorted lists read a snapshot and the groups changed since it: a
	// snapshot now, and a thousand groups changed since (logged only, so
	// that the loaded occurrences stay as they are).
	if err := e.TakeSortSnapshot(ctx); err != nil {
		b.Fatal(err)
	}
	if err := conn.Exec(ctx, fmt.Sprintf("INSERT INTO %s.group_changes (changed_ns, fingerprint) SELECT toUInt64(%d), concat('fp', toString(number * 997 %% %d)) FROM numbers(1000)",
		db, time.Now().UnixNano(), groups)); err != nil {
		b.Fatal(err)
	}
	// A team resolved 2% of the groups over the months (one in 50), and
	// ignores a hundred, some until a count.
	nowNs := time.Now().UnixNano()
	for _, stmt := range []string{
		fmt.Sprintf("INSERT INTO %s.group_state (fingerprint, status, changed_ns, version) SELECT concat('fp', toString(number * 50)), 'resolved', toUInt64(%d), toUInt64(%d) FROM numbers(%d)", db, nowNs, nowNs, groups/50),
		fmt.Sprintf("INSERT INTO %s.group_state (fingerprint, status, changed_ns, ignore_count, version) SELECT concat('fp', toString(number * 50 + 1)), 'ignored', toUInt64(%d), number %% 2 * 10, toUInt64(%d) FROM numbers(100)", db, nowNs, nowNs),
	} {
		if err := conn.Exec(ctx, stmt); err != nil {
			b.Fatal(err)
		}
	}
	// The same lists reading every group, as before the snapshots.
	everyGroup, err := clickhouse.New(ctx, clickhouse.Config{Addrs: []string{addr}, Database: db, RetentionDays: -1, SortSnapshotInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer everyGroup.Shutdown(ctx)
	for _, bc := range []struct {
		name  string
		q     exporter.GroupQuery
		raw   string               // instead of q, a query as the list ran before it read recent windows first
		store *clickhouse.Exporter // instead of e
	}{
		{name: "default"},
		{name: "default-raw", raw: "SELECT fingerprint FROM (SELECT fingerprint, maxMerge(last_seen) AS last_ns FROM " + db + ".groups GROUP BY fingerprint) ORDER BY last_ns DESC, fingerprint LIMIT 0, 21"},
		{name: "search", q: exporter.GroupQuery{Search: "timeout"}},
		{name: "by-count", q: exporter.GroupQuery{Sort: exporter.SortCount}},
		{name: "by-count-every-group", q: exporter.GroupQuery{Sort: exporter.SortCount}, store: everyGroup},
		{name: "by-count-page-50", q: exporter.GroupQuery{Sort: exporter.SortCount, Page: 50}},
		{name: "by-first-seen", q: exporter.GroupQuery{Sort: exporter.SortFirstSeen}},
		{name: "by-first-seen-every-group", q: exporter.GroupQuery{Sort: exporter.SortFirstSeen}, store: everyGroup},
		{name: "filtered-by-service", q: exporter.GroupQuery{Service: "svc3"}},
		{name: "open", q: exporter.GroupQuery{Status: exporter.StatusOpen}},
		{name: "resolved", q: exporter.GroupQuery{Status: exporter.StatusResolved}},
		{name: "ignored", q: exporter.GroupQuery{Status: exporter.StatusIgnored}},
	} {
		b.Run(fmt.Sprintf("rows=%d/groups=%d/%s", rows, groups, bc.name), func(b *testing.B) {
			for b.Loop() {
				if bc.raw != "" {
					rows, err := conn.Query(ctx, bc.raw)
					if err != nil {
						b.Fatal(err)
					}
					n := 0
					for rows.Next() {
						n++
					}
					if err := errors.Join(rows.Err(), rows.Close()); err != nil || n == 0 {
						b.Fatal(err, n)
					}
					continue
				}
				store := e
				if bc.store != nil {
					store = bc.store
				}
				page, err := store.ListGroups(ctx, bc.q)
				if err != nil {
					b.Fatal(err)
				}
				if len(page.Groups) == 0 {
					b.Fatal("no groups")
				}
			}
		})
	}
}

// loadGroups fills db.occurrences with n generated rows in the given
// number of groups, unless it holds them already.
func loadGroups(b *testing.B, addr, db string, n, groups int) {
	b.Helper()
	// The groups; times spread over 30 days; one group in 50 times out.
	loadOccurrences(b, addr, db, n, func(off, size int) string {
		return fmt.Sprintf(`INSERT INTO %[1]s.occurrences (id, fingerprint, time, time_ns, type, message, stacktrace, service, environment, host, method, path, route)
SELECT toString(number), concat('fp', toString(number %% %[4]d)), toDateTime(ts), ts * 1000000000,
    concat('*app.Error', toString(number %% 37)),
    if(number %% 50 = 0, concat('upstream timeout after ', toString(number %% 997), 'ms'), concat('order ', toString(number), ' not found')),
    'main.handler(...)', concat('svc', toString(number %% 7)), 'prod', 'shop.example.com', 'GET',
    concat('/orders/', toString(number %% 1000)), '/orders/{id}'
FROM (SELECT number, toUInt64(now()) - (number * 7919 %% 2592000) AS ts FROM numbers(%[2]d, %[3]d))`, db, off, size, groups)
	})
}

// loadOccurrences fills db.occurrences with n rows that insert(offset,
// size) makes, a million at a time, unless it holds n rows already, and
// merges the summaries as a live store's background merges would.
func loadOccurrences(b *testing.B, addr, db string, n int, insert func(off, size int) string) {
	b.Helper()
	conn, err := ch.Open(&ch.Options{Addr: []string{addr}, ReadTimeout: 30 * time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	var have uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM "+db+".occurrences").Scan(&have); err != nil {
		b.Fatal(err)
	}
	if have == uint64(n) {
		return
	}
	for _, table := range []string{"occurrences", "groups", "group_counts", "group_releases"} {
		if err := conn.Exec(ctx, "TRUNCATE TABLE "+db+"."+table); err != nil {
			b.Fatal(err)
		}
	}
	start := time.Now()
	const chunk = 1_000_000
	for off := 0; off < n; off += chunk {
		if err := conn.Exec(ctx, insert(off, min(chunk, n-off))); err != nil {
			b.Fatal(err)
		}
	}
	// The steady state of a live store, whose background merges have
	// caught up: one summary row per group.
	for _, table := range []string{"groups", "group_counts", "group_releases"} {
		if err := conn.Exec(ctx, "OPTIMIZE TABLE "+db+"."+table+" FINAL"); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("loaded %d rows in %v", n, time.Since(start).Round(time.Second))
}

// BenchmarkGroupPage measures a group's page over one group of
// ERRORTRACKER_BENCH_ROWS occurrences (default 1,000,000) spread over 30
// days, generated by the server once per size and kept in database
// bench_group_<rows>: the page's reads (the group and its latest
// occurrence, the first page of occurrences), a later page by cursor, and
// next to them the raw approach — the whole group sorted, by offset.
//
//	go test -run '^$' -bench GroupPage -count 6 ./exporter/clickhouse
func BenchmarkGroupPage(b *testing.B) {
	addr := testenv.ClickHouseAddr(b)
	rows := 1_000_000
	if v := os.Getenv("ERRORTRACKER_BENCH_ROWS"); v != "" {
		var err error
		if rows, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	db := fmt.Sprintf("bench_group_%d", rows)
	e, err := clickhouse.New(context.Background(), clickhouse.Config{Addrs: []string{addr}, Database: db, RetentionDays: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Shutdown(context.Background())
	loadOneGroup(b, addr, db, rows)
	ctx := context.Background()
	// A cursor half-way through the group, for a later page.
	cursor := ""
	for range 5 {
		_, next, err := e.OccurrencesBefore(ctx, "noisy", cursor, 100)
		if err != nil {
			b.Fatal(err)
		}
		cursor = next
	}
	conn, err := ch.Open(&ch.Options{Addr: []string{addr}})
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	for _, bc := range []struct {
		name string
		run  func() error
	}{
		{"page", func() error {
			if _, _, err := e.GetGroup(ctx, "noisy"); err != nil {
				return err
			}
			_, _, err := e.ListOccurrences(ctx, "noisy", 1, 20)
			return err
		}},
		{"later-page-by-cursor", func() error {
			_, _, err := e.OccurrencesBefore(ctx, "noisy", cursor, 20)
			return err
		}},
		{"raw-whole-group-by-offset", func() error {
			rows, err := conn.Query(ctx, "SELECT id, time_ns FROM "+db+".occurrences WHERE fingerprint = 'noisy' ORDER BY time_ns DESC, id LIMIT 1 BY id LIMIT 500, 21")
			if err != nil {
				return err
			}
			for rows.Next() {
			}
			return errors.Join(rows.Err(), rows.Close())
		}},
	} {
		b.Run(fmt.Sprintf("rows=%d/%s", rows, bc.name), func(b *testing.B) {
			for b.Loop() {
				if err := bc.run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkListGroupsTriage measures what the workflow costs the list:
// the store of BenchmarkListGroups (ERRORTRACKER_BENCH_ROWS occurrences in
// ERRORTRACKER_BENCH_GROUPS groups), of which 1,000 are resolved, 1,000
// ignored until 1,000 more occurrences, and 100 merged into 10 targets.
// The default list then reads the merge map and maps the merged groups'
// rows to their targets; the status filters apply the rules to the 2,000
// groups with a state.
func BenchmarkListGroupsTriage(b *testing.B) {
	addr := testenv.ClickHouseAddr(b)
	rows, groups := 1_000_000, 20_000
	for _, v := range []struct {
		env string
		n   *int
	}{{"ERRORTRACKER_BENCH_ROWS", &rows}, {"ERRORTRACKER_BENCH_GROUPS", &groups}} {
		if s := os.Getenv(v.env); s != "" {
			var err error
			if *v.n, err = strconv.Atoi(s); err != nil {
				b.Fatal(err)
			}
		}
	}
	if groups < 3000 {
		b.Fatalf("%d groups: the benchmark needs 3000", groups)
	}
	db := fmt.Sprintf("bench_triage_%d_%d", rows, groups)
	ctx := context.Background()
	e, err := clickhouse.New(ctx, clickhouse.Config{Addrs: []string{addr}, Database: db, RetentionDays: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Shutdown(ctx)
	loadGroups(b, addr, db, rows, groups)
	fpRange := func(from, to int) []string {
		var out []string
		for i := from; i < to; i++ {
			out = append(out, "fp"+strconv.Itoa(i))
		}
		return out
	}
	if err := e.SetState(ctx, fpRange(0, 1000), exporter.Change{Status: exporter.StatusResolved}); err != nil {
		b.Fatal(err)
	}
	if err := e.SetState(ctx, fpRange(1000, 2000), exporter.Change{Status: exporter.StatusIgnored, Ignore: exporter.Ignore{Count: 1000}}); err != nil {
		b.Fatal(err)
	}
	for t := range 10 {
		if err := e.Merge(ctx, "fp"+strconv.Itoa(2000+t), fpRange(2010+10*t, 2020+10*t), ""); err != nil {
			b.Fatal(err)
		}
	}
	for _, bc := range []struct {
		name string
		run  func() error
	}{
		{"default", func() error { _, err := e.ListGroups(ctx, exporter.GroupQuery{}); return err }},
		{"open", func() error {
			_, err := e.ListGroups(ctx, exporter.GroupQuery{Status: exporter.StatusOpen})
			return err
		}},
		{"resolved", func() error {
			_, err := e.ListGroups(ctx, exporter.GroupQuery{Status: exporter.StatusResolved})
			return err
		}},
		{"ignored", func() error {
			_, err := e.ListGroups(ctx, exporter.GroupQuery{Status: exporter.StatusIgnored})
			return err
		}},
		{"by-count", func() error { _, err := e.ListGroups(ctx, exporter.GroupQuery{Sort: exporter.SortCount}); return err }},
		{"target", func() error { _, _, err := e.GetGroup(ctx, "fp2000"); return err }},
	} {
		b.Run(fmt.Sprintf("rows=%d/groups=%d/%s", rows, groups, bc.name), func(b *testing.B) {
			for b.Loop() {
				if err := bc.run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// loadOneGroup fills db.occurrences with n generated occurrences of one
// group, unless it holds them already.
func loadOneGroup(b *testing.B, addr, db string, n int) {
	b.Helper()
	loadOccurrences(b, addr, db, n, func(off, size int) string {
		return fmt.Sprintf(`INSERT INTO %[1]s.occurrences (id, fingerprint, time, time_ns, type, message, stacktrace, service, environment, host, method, path, route)
SELECT toString(number), 'noisy', toDateTime(intDiv(ns, 1000000000)), ns, '*app.Error', concat('order ', toString(number), ' not found'),
    'main.handler(...)', 'checkout', 'prod', 'shop.example.com', 'GET', concat('/orders/', toString(number %% 1000)), '/orders/{id}'
FROM (SELECT number, toUInt64(now()) * 1000000000 - (number * 7919 %% 2592000000) * 1000000 AS ns FROM numbers(%[2]d, %[3]d))`, db, off, size)
	})
}
