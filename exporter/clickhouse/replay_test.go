package clickhouse

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/errortracker/errortracker/browse"
	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/internal/chdb"
	"github.com/errortracker/errortracker/internal/chtap"
	"github.com/errortracker/errortracker/internal/testenv"
)

// TestReplayOnCurrentClickHouse records every statement the store sends
// to the test server (Debian's 18.16 in scripts/test.sh) during a full
// browse session — the pages, the JSON API, every filter, sort and action,
// a carry-over, a regression, deletes and retention — and replays the
// session on chDB (ClickHouse 26.x, in-process) over the modern DDL of a
// single server, with the values the store bound. Every statement must
// run on both, and every read must return as many rows on both.
//
// What this cannot check: the native protocol (chDB has no listener; the
// replay sends text), and the cluster and replicated DDL. Point
// ERRORTRACKER_TEST_CLICKHOUSE_ADDR at a current server to run the session
// itself, migrations included, on it.
func TestReplayOnCurrentClickHouse(t *testing.T) {
	addr := testenv.ClickHouseAddr(t)
	lib := testenv.ChDBLibrary(t)

	stmts, db := recordBrowseSession(t, addr)
	for i, s := range stmts {
		if s.Err != nil {
			t.Errorf("statement %d failed on the recording server: %v\n  %.300s", i+1, s.Err, s.SQL)
		}
	}

	engine, err := chdb.Open(lib, t.TempDir(), "--mutations_sync=2")
	if err != nil {
		t.Fatal(err)
	}
	ran, failed, mismatched := replay(t, engine, db, stmts)
	t.Logf("replayed %d statements of a browse session on chDB %s: %d failed, %d returned other row counts", ran, engine.Version(), failed, mismatched)
}

// replay runs stmts on engine: the modern single-server DDL where the
// session ran its migrations, every other statement as recorded.
func replay(t *testing.T, engine *chdb.Engine, db string, stmts []chtap.Statement) (ran, failed, mismatched int) {
	t.Helper()
	// The recorded migrations are those of the recording server's version;
	// the replay creates the schema a current server gets instead.
	migrationDDL := map[string]bool{}
	for _, modern := range []bool{false, true} {
		ms, err := migrations(schemaOptions{DB: db, Modern: modern})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			for _, s := range m.statements {
				migrationDDL[s] = true
			}
		}
	}
	modern, err := migrations(schemaOptions{DB: db, Modern: true})
	if err != nil {
		t.Fatal(err)
	}
	run := func(text string, want int) {
		ran++
		out, err := engine.Query(text, "TabSeparated")
		if err != nil {
			failed++
			t.Errorf("chDB %s rejects: %.400v\n  %.600s", engine.Version(), err, text)
			return
		}
		if got := strings.Count(out, "\n"); want >= 0 && got != want {
			mismatched++
			t.Errorf("chDB %s returned %d rows, the recording server %d:\n  %.600s", engine.Version(), got, want, text)
		}
	}
	migrated := false
	for _, s := range stmts {
		if s.Kind == chtap.Exec && migrationDDL[s.SQL] {
			if !migrated {
				for _, m := range modern {
					for _, ddl := range m.statements {
						run(ddl, -1)
					}
				}
				migrated = true
			}
			continue
		}
		text, err := s.Text()
		if err != nil {
			t.Errorf("cannot render %.200s: %v", s.SQL, err)
			continue
		}
		want := -1
		if s.Kind == chtap.Query && s.Err == nil {
			want = s.Returned
		}
		run(text, want)
	}
	if !migrated {
		t.Error("the session ran no migration: the replay did not run the modern DDL")
	}
	return ran, failed, mismatched
}

// recordBrowseSession runs a browse session against the server at addr
// with a new database and returns what the store sent, in order.
func recordBrowseSession(t *testing.T, addr string) ([]chtap.Statement, string) {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	db := "t_replay_" + hex.EncodeToString(b[:])
	rec := &chtap.Recorder{}
	ctx, cancel := context.WithTimeout(chtap.With(context.Background(), rec.Wrap), 2*time.Minute)
	defer cancel()
	store, err := New(ctx, Config{Addrs: []string{addr}, Database: db, RetentionDays: 30})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			if err := store.Shutdown(context.Background()); err != nil {
				t.Errorf("shutdown: %v", err)
			}
		}
	}
	defer stop()
	// The retention loop's first run reads while the session writes; wait
	// for it, so that the replay's order is the order the server saw.
	waitFor(t, rec, "FROM "+db+".group_counts WHERE day <")

	now := time.Now().UTC().Truncate(time.Second)
	checkout := func(at time.Time, mutate ...func(*exporter.Record)) exporter.Record {
		r := replayRecord("checkout-db", at)
		for _, m := range mutate {
			m(&r)
		}
		return r
	}
	search := func(r *exporter.Record) {
		r.Fingerprint, r.Service, r.Environment, r.Type = "search-timeout", "search", "staging", "context.deadlineExceededError"
		r.Message = "context deadline exceeded after 5s: query 'it''s' \\ \"q\" ü\nsecond line"
	}
	batch := []exporter.Record{
		checkout(now.Add(-3 * time.Hour)),
		checkout(now.Add(-2 * time.Hour)),
		checkout(now.Add(-2*time.Hour), search),
		checkout(now.Add(-90*time.Minute), func(r *exporter.Record) { r.Fingerprint, r.Message = "to-delete-api", "gone soon" }),
		checkout(now.Add(-80*time.Minute), func(r *exporter.Record) { r.Fingerprint, r.Message = "to-delete-page", "gone soon too" }),
		// Beyond retention: its day partitions are dropped.
		checkout(now.Add(-40*24*time.Hour), func(r *exporter.Record) { r.Fingerprint = "ancient" }),
		checkout(now.Add(-35*24*time.Hour), func(r *exporter.Record) { r.Fingerprint = "ancient" }),
	}
	batch = append(batch, batch[0]) // a retried batch stores a record twice
	exportAll(t, store, batch...)
	// A newer fingerprint of the checkout error carries its group over.
	exportAll(t, store, checkout(now.Add(-time.Hour), func(r *exporter.Record) {
		r.Fingerprint, r.PreviousFingerprint = "checkout-db-v2", "checkout-db"
	}))

	h, err := browse.New(store, browse.Config{PageSize: 2, Authorize: func(*http.Request) bool { return true }})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(browse.DefaultURLPrefix+"/", h)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := &sessionClient{t: t, base: srv.URL + browse.DefaultURLPrefix}

	lists := func() {
		for _, params := range []string{
			"", "status=open", "status=resolved", "service=checkout", "env=staging", "type=context.deadlineExceededError",
			"q=deadline", "q=" + url.QueryEscape("it's"), "sort=first_seen", "sort=count", "sort=last_seen&page=2", "page=3",
			"status=open&service=checkout&env=prod&sort=count", "status=resolved&q=boom&sort=first_seen",
		} {
			c.expect("GET", "/?"+params, nil, http.StatusOK)
			c.expect("GET", "/api/exceptions?"+params, nil, http.StatusOK)
		}
	}
	lists()
	for _, fp := range []string{"checkout-db", "checkout-db-v2", "search-timeout"} {
		c.expect("GET", "/"+fp, nil, http.StatusOK)
		c.expect("GET", "/api/exceptions/"+fp, nil, http.StatusOK)
		c.expect("GET", "/api/exceptions/"+fp+"/occurrences", nil, http.StatusOK)
		c.expect("GET", "/api/exceptions/"+fp+"/occurrences?page=2", nil, http.StatusOK)
	}
	c.expect("GET", "/no-such-group", nil, http.StatusNotFound)

	// A person resolves a group on its page, and another through the API.
	c.action("checkout-db-v2", "resolve")
	c.expect("POST", "/api/exceptions/search-timeout/resolve", nil, http.StatusOK)
	if body := c.expect("GET", "/api/exceptions?status=resolved", nil, http.StatusOK); !strings.Contains(body, `"checkout-db-v2"`) ||
		!strings.Contains(body, `"search-timeout"`) {
		t.Errorf("status=resolved lacks the resolved groups: %.500s", body)
	}
	lists()
	// It happens again: a regression, open again.
	time.Sleep(10 * time.Millisecond)
	exportAll(t, store, checkout(time.Now(), func(r *exporter.Record) { r.Fingerprint = "checkout-db-v2" }))
	if body := c.expect("GET", "/api/exceptions/checkout-db-v2", nil, http.StatusOK); !strings.Contains(body, `"regressed":true`) {
		t.Errorf("no regression: %.500s", body)
	}
	c.action("checkout-db-v2", "resolve")
	c.action("checkout-db-v2", "reopen")
	c.expect("POST", "/api/exceptions/search-timeout/reopen", nil, http.StatusOK)
	c.expect("POST", "/api/exceptions/search-timeout/resolve", nil, http.StatusOK)

	// Deletes: the API's and the page's; a later occurrence starts afresh.
	c.expect("DELETE", "/api/exceptions/to-delete-api", nil, http.StatusNoContent)
	c.action("to-delete-page", "delete")
	c.expect("GET", "/api/exceptions/to-delete-api", nil, http.StatusNotFound)
	exportAll(t, store, checkout(time.Now(), func(r *exporter.Record) { r.Fingerprint = "to-delete-page" }))
	lists()

	dropped, err := store.ApplyRetention(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(dropped) < 2 {
		t.Errorf("retention dropped %v, want the ancient group's two days", dropped)
	}
	lists()
	stop()
	return rec.Statements(), db
}

// waitFor waits until the recorder has seen a statement containing part.
func waitFor(t *testing.T, rec *chtap.Recorder, part string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, s := range rec.Statements() {
			if strings.Contains(s.SQL, part) && (s.Returned >= 0 || s.Err != nil) {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no statement with %q within 30 s", part)
}

func exportAll(t *testing.T, e *Exporter, recs ...exporter.Record) {
	t.Helper()
	if err := e.Export(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
}

// replayRecord is an occurrence with every field set, values that need
// escaping included.
func replayRecord(fp string, at time.Time) exporter.Record {
	var id [16]byte
	_, _ = rand.Read(id[:])
	r := exporter.Record{
		ID: hex.EncodeToString(id[:]), Fingerprint: fp, Grouping: `message "dial tcp <addr>: connection refused"`,
		Time: at, Type: "*net.OpError", Message: "dial tcp 10.0.0.7:5432: connection refused",
		Stacktrace: "main.checkout(...)\n\t/app/checkout.go:42\nnet/http.HandlerFunc.ServeHTTP(...)\n\t/usr/local/go/src/net/http/server.go:2294\n",
		Escaped:    true, Service: "checkout", ServiceVersion: "1.4.2", Environment: "prod", SpanName: "POST /checkout",
		Host: "shop.example.com", Method: "POST", Path: "/checkout", Route: "/checkout", StatusCode: 500,
		Attributes: []attribute.KeyValue{attribute.String("url.query", "token=**************"), attribute.Int("retry", 2)},
		Extras:     []attribute.KeyValue{attribute.String("cart", `{"items": 3, "note": "it's \\ fine"}`)},
		Resource:   []attribute.KeyValue{attribute.String("service.name", "checkout")},
	}
	r.TraceID[0], r.SpanID[0] = 0xab, 0xcd
	return r
}

type sessionClient struct {
	t    *testing.T
	base string
}

// expect sends a request and checks its status code.
func (c *sessionClient) expect(method, path string, form url.Values, code int) string {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != code {
		c.t.Errorf("%s %s = %d, want %d: %.300s", method, path, resp.StatusCode, code, b)
	}
	return string(b)
}

var formRE = regexp.MustCompile(`action="[^"]*/([a-z]+)">\s*<input type="hidden" name="token" value="([^"]+)"`)

// action submits one of a group's forms as a browser would: the token
// comes from the group's page.
func (c *sessionClient) action(fp, act string) {
	c.t.Helper()
	page := c.expect("GET", "/"+fp, nil, http.StatusOK)
	for _, m := range formRE.FindAllStringSubmatch(page, -1) {
		if m[1] == act {
			c.expect("POST", "/"+fp+"/"+act, url.Values{"token": {html.UnescapeString(m[2])}}, http.StatusSeeOther)
			return
		}
	}
	c.t.Errorf("the page of %s has no %s form", fp, act)
}
