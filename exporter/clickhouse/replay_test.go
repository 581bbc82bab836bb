package clickhouse

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
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
// session, with the values the store bound, on three databases at once:
//
//   - chDB (ClickHouse 26.x, in-process) over the modern single-server
//     DDL, which a current server gets;
//   - chDB over the DDL the recording server got, as on a server that was
//     upgraded under an existing schema;
//   - the test server itself, through its HTTP interface, as the reference.
//
// Every statement must run on all three, every read must return what the
// reference returns (in the same order where the statement orders), and
// as many rows as the store read while recording.
//
// What this cannot check: the native protocol (chDB has no listener, the
// replay sends text), and the cluster and replicated DDL. Point
// ERRORTRACKER_TEST_CLICKHOUSE_ADDR at a current server to run the session
// itself, migrations included, on it.
func TestReplayOnCurrentClickHouse(t *testing.T) {
	addr := testenv.ClickHouseAddr(t)
	httpAddr := testenv.ClickHouseHTTPAddr(t)
	lib := testenv.ChDBLibrary(t)

	stmts, db := recordBrowseSession(t, addr)
	for i, s := range stmts {
		if s.Err != nil {
			t.Errorf("statement %d failed on the recording server: %v\n  %.300s", i+1, s.Err, s.SQL)
		}
	}

	// The sorted lists' snapshot, the change log and a page read from
	// them must be in the session, or the replay says nothing of them.
	for _, part := range []string{"INSERT INTO " + db + ".group_order", "INSERT INTO " + db + ".group_changes", "(fingerprint IN (SELECT fingerprint FROM " + db + ".group_order"} {
		if !slices.ContainsFunc(stmts, func(s chtap.Statement) bool { return strings.Contains(s.SQL, part) }) {
			t.Errorf("the session sent no statement with %q", part)
		}
	}

	engine, err := chdb.OpenTemp(lib)
	if err != nil {
		t.Fatal(err)
	}
	chdbQuery := func(text string) (string, error) { return engine.Query(text, "TabSeparated") }
	// The store waits for its mutations; the replay lets chDB wait.
	if _, err := chdbQuery("SET mutations_sync = 2"); err != nil {
		t.Fatal(err)
	}
	// The cluster's setting is not in a single server's session.
	for name, value := range syncInsert {
		if _, err := chdbQuery(fmt.Sprintf("SET %s = %v", name, value)); err != nil {
			t.Errorf("chDB %s does not take the setting the store sends in cluster mode: %v", engine.Version(), err)
		}
	}
	server := &httpServer{addr: httpAddr, client: &http.Client{Transport: &http.Transport{}}}
	defer server.client.CloseIdleConnections()
	targets := []*replayTarget{
		{name: "the test server " + server.version(t), db: db + "_ref", query: server.query, settle: server.waitMutations},
		{name: "chDB " + engine.Version(), db: db + "_modern", modern: true, query: chdbQuery},
		{name: "chDB " + engine.Version() + " under the recorded DDL", db: db + "_kept", query: chdbQuery},
	}
	ran, failed, differed := replay(t, db, stmts, targets)
	t.Logf("replayed %d statements of a browse session on %d databases (%s): %d failed, %d answered otherwise than the reference",
		len(stmts), len(targets), engine.Version(), failed, differed)
	if ran == 0 {
		t.Error("nothing replayed")
	}
}

// TestClusterDDLParsesOnCurrentClickHouse checks the cluster and
// replicated DDL of current servers with chDB's parser: it cannot run
// without a cluster and ZooKeeper, which the cluster test has on 18.16
// only.
func TestClusterDDLParsesOnCurrentClickHouse(t *testing.T) {
	engine, err := chdb.OpenTemp(testenv.ChDBLibrary(t))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, o := range []schemaOptions{
		{DB: "errortracker", Cluster: "shards", Modern: true},
		{DB: "errortracker", Cluster: "shards", Replicated: true, Modern: true},
	} {
		ms, err := migrations(o)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			for _, s := range m.statements {
				n++
				if err := engine.Parse(s); err != nil {
					t.Errorf("%s: %v\n  %.400s", m.name, err, s)
				}
			}
		}
	}
	t.Logf("chDB %s parsed the %d statements of the cluster and replicated DDL", engine.Version(), n)
}

// replayTarget is a database a recorded session is replayed on.
type replayTarget struct {
	name string
	// db replaces the recorded database in every statement.
	db string
	// modern creates the modern single-server DDL where the session ran
	// its migrations; otherwise the recorded DDL runs.
	modern bool
	query  func(text string) (string, error)
	// settle, when set, runs after a mutation: it waits for it to finish,
	// as the store did, where the engine does not wait by itself.
	settle func(db string) error
}

// replay runs stmts on every target, statement by statement, and compares
// their answers with the first target's.
func replay(t *testing.T, recordedDB string, stmts []chtap.Statement, targets []*replayTarget) (ran, failed, differed int) {
	t.Helper()
	// The recorded migrations are those of the recording server's version.
	migrationDDL := map[string]bool{}
	for _, modern := range []bool{false, true} {
		ms, err := migrations(schemaOptions{DB: recordedDB, Modern: modern})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			for _, s := range m.statements {
				migrationDDL[s] = true
			}
		}
	}
	modernDDL := func(db string) []string {
		ms, err := migrations(schemaOptions{DB: db, Modern: true})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range ms {
			out = append(out, m.statements...)
		}
		return out
	}
	migrated := map[*replayTarget]bool{}
	for i, s := range stmts {
		text, err := s.Text()
		if err != nil {
			t.Errorf("cannot render %.200s: %v", s.SQL, err)
			continue
		}
		isDDL := s.Kind == chtap.Exec && migrationDDL[s.SQL]
		var answers []string
		for _, tg := range targets {
			texts := []string{strings.ReplaceAll(text, recordedDB, tg.db)}
			if isDDL && tg.modern {
				texts = nil
				if !migrated[tg] {
					texts = modernDDL(tg.db)
				}
			}
			if isDDL {
				migrated[tg] = true
			}
			var out string
			for _, text := range texts {
				ran++
				if out, err = tg.query(text); err != nil {
					failed++
					t.Errorf("statement %d: %s rejects: %.400v\n  %.600s", i+1, tg.name, err, text)
					break
				}
				if tg.settle != nil && strings.Contains(text, " DELETE WHERE ") {
					if err := tg.settle(tg.db); err != nil {
						t.Fatal(err)
					}
				}
			}
			answers = append(answers, out)
			if got := strings.Count(out, "\n"); err == nil && s.Kind == chtap.Query && s.Err == nil && s.Returned >= 0 && got != s.Returned {
				differed++
				t.Errorf("statement %d: %s returned %d rows, the store read %d while recording:\n  %.600s", i+1, tg.name, got, s.Returned, text)
			}
		}
		if s.Kind != chtap.Query || strings.Contains(s.SQL, "version()") {
			continue // answers of DDL, inserts and version() differ by nature
		}
		for j := 1; j < len(answers); j++ {
			if a, b := comparable(answers[0], s.SQL), comparable(answers[j], s.SQL); a != b {
				differed++
				t.Errorf("statement %d: %s answered\n%s\n%s answered\n%s\n  to %.600s", i+1, targets[0].name, a, targets[j].name, b, text)
			}
		}
	}
	for _, tg := range targets {
		if !migrated[tg] {
			t.Errorf("the session ran no migration, so %s has no schema", tg.name)
		}
	}
	return ran, failed, differed
}

// comparable is a statement's answer in a form that two engines agree on:
// the rows as sent where the statement orders them, else sorted.
func comparable(out, sql string) string {
	if strings.Contains(sql, "ORDER BY") {
		return out
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// httpServer sends statements to a ClickHouse server's HTTP interface, the
// way the replay reaches the test server with text.
type httpServer struct {
	addr   string
	client *http.Client
}

func (s *httpServer) query(text string) (string, error) {
	resp, err := s.client.Post("http://"+s.addr+"/", "text/plain", strings.NewReader(text))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return string(body), nil
}

func (s *httpServer) version(t *testing.T) string {
	v, err := s.query("SELECT version()")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(v)
}

// waitMutations waits until db has no mutation left to do, as the store's
// Delete does.
func (s *httpServer) waitMutations(db string) error {
	deadline := time.Now().Add(time.Minute)
	for {
		out, err := s.query("SELECT count() FROM system.mutations WHERE database = '" + db + "' AND is_done = 0")
		if err != nil {
			return err
		}
		if strings.TrimSpace(out) == "0" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("mutations of %s not done within a minute", db)
		}
		time.Sleep(20 * time.Millisecond)
	}
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
	store, err := New(ctx, Config{Addrs: []string{addr}, Database: db, RetentionDays: 30, SortSnapshotInterval: time.Hour})
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
	// So for the sorted list's first snapshot (of no groups).
	waitFor(t, rec, "FROM "+db+".group_changes WHERE changed_ns <")

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
	// The lists by first seen and by count read a snapshot and the groups
	// changed since: one taken now, and a group changed after it.
	if err := store.TakeSortSnapshot(ctx); err != nil {
		t.Fatal(err)
	}
	exportAll(t, store, checkout(now.Add(-50*time.Minute), search))

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

	triageSession(t, store, now)
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

// triageSession runs the store's triage operations directly, so that
// their statements are replayed whatever the pages offer: every ignore
// condition, a resolve in the next release, the release filters, a merge
// and what reads it, an unmerge and a bulk delete.
func triageSession(t *testing.T, store *Exporter, now time.Time) {
	t.Helper()
	ctx := context.Background()
	version := func(fp, v string) exporter.Record {
		r := replayRecord(fp, time.Now())
		r.ServiceVersion = v
		return r
	}
	exportAll(t, store, version("ign-rate", "1.4.2"), version("ign-count", "1.4.2"), version("ign-until", "1.4.2"),
		version("next", "1.4.2"), version("part", "1.4.1"), version("bulk-1", "1.4.3"), version("bulk-2", "1.4.3"))
	for fp, c := range map[string]exporter.Change{
		"ign-rate":  {Status: exporter.StatusIgnored, By: "ann", Ignore: exporter.Ignore{Rate: exporter.Rate{Count: 2, Window: time.Minute}}},
		"ign-count": {Status: exporter.StatusIgnored, Ignore: exporter.Ignore{Count: 2}},
		"ign-until": {Status: exporter.StatusIgnored, Ignore: exporter.Ignore{Until: now.Add(time.Hour)}},
		"next":      {Status: exporter.StatusResolved, InNextRelease: true},
	} {
		if err := store.SetState(ctx, []string{fp}, c); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(10 * time.Millisecond)
	exportAll(t, store, version("ign-rate", "1.4.2"), version("ign-rate", "1.4.2"), version("ign-count", "1.4.2"),
		version("next", "1.4.2"), version("next", "1.5.0"))
	if err := store.Merge(ctx, "checkout-db", []string{"part"}, "ann"); err != nil {
		t.Fatal(err)
	}
	exportAll(t, store, version("part", "1.5.0"))
	for _, q := range []exporter.GroupQuery{
		{}, {Status: exporter.StatusIgnored}, {Status: exporter.StatusOpen}, {Status: exporter.StatusResolved, Sort: exporter.SortCount},
		{Release: "1.4.2"}, {NewInRelease: "1.4.3"}, {Release: "1.5.0", Sort: exporter.SortFirstSeen}, {Search: "refused", Service: "checkout"},
	} {
		if _, err := store.ListGroups(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if g, _, err := store.GetGroup(ctx, "part"); err != nil || g.MergedInto != "checkout-db" {
		t.Errorf("a part: %+v, %v", g, err)
	}
	if _, _, err := store.ListOccurrences(ctx, "checkout-db", 2, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Releases(ctx, "checkout-db"); err != nil {
		t.Fatal(err)
	}
	if _, err := store.GroupStates(ctx, []string{"part", "ign-rate", "ign-count", "next"}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.HourlyCounts(ctx, []string{"part", "checkout-db"}, 1); err != nil {
		t.Fatal(err)
	}
	if err := store.Unmerge(ctx, "part", "ann"); err != nil {
		t.Fatal(err)
	}
	if err := store.DeleteGroups(ctx, []string{"bulk-1", "bulk-2"}); err != nil {
		t.Fatal(err)
	}
}
