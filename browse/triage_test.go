package browse_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/errortracker/errortracker/browse"
	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/exporter/clickhouse"
)

// triageStore is the real store, which must keep the workflow for these
// tests.
func triageStore(t *testing.T) (*clickhouse.Exporter, exporter.Triage) {
	t.Helper()
	s := newStore(t)
	tr, ok := any(s).(exporter.Triage)
	if !ok {
		t.Fatal("the ClickHouse store does not implement exporter.Triage")
	}
	return s, tr
}

// export stores one occurrence of fp in release version at the time given.
func export(t *testing.T, s *clickhouse.Exporter, fp, version string, at time.Time) {
	t.Helper()
	r := record(fp, at, "order failed in "+fp)
	r.ServiceVersion = version
	if err := s.Export(context.Background(), []exporter.Record{r}); err != nil {
		t.Fatal(err)
	}
}

// apiGroup is what the tests read of a group in the API.
type apiGroup struct {
	Fingerprint  string   `json:"fingerprint"`
	Count        int      `json:"count"`
	Status       string   `json:"status"`
	Regressed    bool     `json:"regressed"`
	RegressedIn  string   `json:"regressed_in"`
	Woke         bool     `json:"woke"`
	FirstRelease string   `json:"first_release"`
	LastRelease  string   `json:"last_release"`
	Merged       []string `json:"merged"`
	MergedInto   string   `json:"merged_into"`
	Ignore       *struct {
		Until *time.Time `json:"until"`
		Count uint64     `json:"count"`
		Rate  *struct {
			Count  uint64 `json:"count"`
			Window string `json:"window"`
		} `json:"rate"`
	} `json:"ignore"`
	Change *struct {
		Status    string    `json:"status"`
		InRelease string    `json:"in_release"`
		By        string    `json:"by"`
		At        time.Time `json:"at"`
	} `json:"change"`
}

type apiDetail struct {
	Group    apiGroup `json:"group"`
	Releases []struct {
		Version string `json:"version"`
		Count   int    `json:"count"`
	} `json:"releases"`
	Error string `json:"error"`
}

// post sends a JSON body (empty: none) as a same-origin client would.
func (c *client) post(path, body string) (*http.Response, string) {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.srv.URL+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// detailOf reads GET {prefix}/api/exceptions/{fp}.
func (c *client) detailOf(fp string) apiDetail {
	c.t.Helper()
	resp, body := c.get("/dev/error/api/exceptions/" + url.PathEscape(fp))
	var d apiDetail
	if err := json.Unmarshal([]byte(body), &d); err != nil || resp.StatusCode != http.StatusOK {
		c.t.Fatalf("GET %s: %d %v: %s", fp, resp.StatusCode, err, body)
	}
	return d
}

// listed returns the fingerprints of a list query, in order.
func (c *client) listed(query string) []string {
	c.t.Helper()
	resp, body := c.get("/dev/error/api/exceptions?" + query)
	var l struct {
		Groups []apiGroup `json:"groups"`
	}
	if err := json.Unmarshal([]byte(body), &l); err != nil || resp.StatusCode != http.StatusOK {
		c.t.Fatalf("list ?%s: %d %v: %s", query, resp.StatusCode, err, body)
	}
	var fps []string
	for _, g := range l.Groups {
		fps = append(fps, g.Fingerprint)
	}
	slices.Sort(fps)
	return fps
}

func adminServer(t *testing.T, s exporter.Store) *client {
	c := newServer(t, s, withAuth(browse.Config{}))
	c.user, c.pass = "admin", "pw"
	return c
}

// Every action of the API, each with its answer, who made it, and what
// the store then holds.
func TestTriageAPI(t *testing.T) {
	s, _ := triageStore(t)
	past := time.Now().Add(-time.Hour)
	export(t, s, "a", "1.0", past)
	export(t, s, "a", "1.1", past.Add(time.Minute))
	export(t, s, "b", "1.1", past.Add(2*time.Minute))
	export(t, s, "c", "1.0", past.Add(3*time.Minute))
	c := adminServer(t, s)

	// Releases: first and last, the group's list, and the list's filters.
	d := c.detailOf("a")
	if d.Group.FirstRelease != "1.0" || d.Group.LastRelease != "1.1" || len(d.Releases) != 2 || d.Releases[0].Version != "1.1" {
		t.Errorf("releases of a: first %q last %q, list %+v; want 1.0, 1.1 and both, newest first", d.Group.FirstRelease, d.Group.LastRelease, d.Releases)
	}
	if d.Group.Change != nil || d.Group.Status != "open" || d.Group.Merged == nil {
		t.Errorf("a fresh group: %+v, want open, no change, merged []", d.Group)
	}
	for query, want := range map[string]string{"release=1.1": "a b", "release=1.0": "a c", "new_in_release=1.1": "b",
		"new_in_release=1.0": "a c", "release=9.9": ""} {
		if got := strings.Join(c.listed(query), " "); got != want {
			t.Errorf("?%s lists %q, want %q", query, got, want)
		}
	}

	// Resolve in the next release, by the Basic user.
	resp, body := c.post("/dev/error/api/exceptions/c/resolve", `{"in_release": "next"}`)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"status":"resolved"`) {
		t.Fatalf("resolve in next release: %d %s", resp.StatusCode, body)
	}
	d = c.detailOf("c")
	if d.Group.Change == nil || d.Group.Change.InRelease != "next" || d.Group.Change.By != "admin" || time.Since(d.Group.Change.At) > time.Minute {
		t.Errorf("change after resolve: %+v, want in_release next by admin, now", d.Group.Change)
	}
	export(t, s, "c", "1.0", time.Now()) // an old pod: stays resolved
	if d = c.detailOf("c"); d.Group.Status != "resolved" {
		t.Errorf("an occurrence of a release seen before: %s, want resolved", d.Group.Status)
	}
	export(t, s, "c", "2.0", time.Now().Add(time.Second))
	if d = c.detailOf("c"); d.Group.Status != "open" || !d.Group.Regressed || d.Group.RegressedIn != "2.0" {
		t.Errorf("an occurrence of a new release: %+v, want open, regressed in 2.0", d.Group)
	}

	// Ignore, each condition, as the API shows it back.
	for _, tc := range []struct{ body, check string }{
		{`{}`, "forever"},
		{`{"until": "` + time.Now().Add(48*time.Hour).UTC().Format(time.RFC3339) + `"}`, "until"},
		{`{"rate": {"count": 100, "window": "1h"}}`, "rate"},
		{`{"count": 2}`, "count"},
	} {
		resp, body := c.post("/dev/error/api/exceptions/b/ignore", tc.body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("ignore %s: %d %s", tc.body, resp.StatusCode, body)
		}
		g := c.detailOf("b").Group
		ok := g.Status == "ignored" && g.Ignore != nil && g.Change != nil && g.Change.By == "admin"
		switch tc.check {
		case "forever":
			ok = ok && g.Ignore.Until == nil && g.Ignore.Count == 0 && g.Ignore.Rate == nil
		case "until":
			ok = ok && g.Ignore.Until != nil && g.Ignore.Until.After(time.Now().Add(47*time.Hour))
		case "rate":
			ok = ok && g.Ignore.Rate != nil && g.Ignore.Rate.Count == 100 && g.Ignore.Rate.Window == "1h"
		case "count":
			ok = ok && g.Ignore.Count == 2
		}
		if !ok {
			t.Errorf("after ignore %s: %s", tc.body, c.get2("/dev/error/api/exceptions/b"))
		}
	}
	if got := strings.Join(c.listed("status=ignored"), " "); got != "b" {
		t.Errorf("?status=ignored lists %q, want b", got)
	}
	// Two more occurrences wake it.
	export(t, s, "b", "1.1", time.Now().Add(time.Second))
	if g := c.detailOf("b").Group; g.Status != "ignored" {
		t.Errorf("1 of 2 occurrences: %s, want still ignored", g.Status)
	}
	export(t, s, "b", "1.1", time.Now().Add(2*time.Second))
	if g := c.detailOf("b").Group; g.Status != "open" || !g.Woke || g.Ignore != nil {
		t.Errorf("2 of 2 occurrences: %+v, want open and woke, no ignore shown", g)
	}
	if resp, body := c.post("/dev/error/api/exceptions/b/reopen", ""); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"status":"open"`) {
		t.Errorf("reopen: %d %s", resp.StatusCode, body)
	}

	// Merge b into a: b's GET answers with a, the list shows a only.
	resp, body = c.post("/dev/error/api/exceptions/b/merge", `{"into": "a"}`)
	var merged apiDetail
	if err := json.Unmarshal([]byte(body), &merged); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("merge: %d %s", resp.StatusCode, body)
	}
	if merged.Group.Fingerprint != "a" || merged.Group.MergedInto != "a" {
		t.Errorf("merge answers with %+v, want the target a", merged.Group)
	}
	d = c.detailOf("b")
	if d.Group.Fingerprint != "a" || d.Group.MergedInto != "a" || !slices.Contains(d.Group.Merged, "b") || d.Group.Count != 5 {
		t.Errorf("GET of the part: %+v, want the target a, merged_into a, merged [b], count 2+3", d.Group)
	}
	if got := strings.Join(c.listed(""), " "); got != "a c" {
		t.Errorf("the list after the merge: %q, want a c", got)
	}
	resp, body = c.post("/dev/error/api/exceptions/b/unmerge", "")
	if resp.StatusCode != http.StatusOK || c.detailOf("b").Group.Fingerprint != "b" || len(c.detailOf("a").Group.Merged) != 0 {
		t.Errorf("unmerge: %d %s", resp.StatusCode, body)
	}
	if got := strings.Join(c.listed(""), " "); got != "a b c" {
		t.Errorf("the list after the unmerge: %q, want a b c", got)
	}

	// Every existing route still works: resolve and reopen without a
	// body, DELETE.
	for _, act := range []string{"resolve", "reopen"} {
		if resp, body := c.post("/dev/error/api/exceptions/a/"+act, ""); resp.StatusCode != http.StatusOK {
			t.Errorf("%s without a body: %d %s", act, resp.StatusCode, body)
		}
	}
}

// get2 is get's body alone, for messages.
func (c *client) get2(path string) string { _, b := c.get(path); return b }

// Bad bodies are 400 with what is wrong, unknown groups 404, and nothing
// changes.
func TestTriageAPIErrors(t *testing.T) {
	s, _ := triageStore(t)
	fill(t, s, 2)
	c := adminServer(t, s)
	for _, tc := range []struct {
		path, body string
		code       int
		want       string
	}{
		{"g00/ignore", `{"count": 3, "until": "2099-01-01T00:00:00Z"}`, 400, "one condition at a time"},
		{"g00/ignore", `{"rate": {"count": 3, "window": "soon"}}`, 400, `rate window \"soon\"`},
		{"g00/ignore", `{"until": "next week"}`, 400, "RFC 3339"},
		{"g00/ignore", `{"forever": true}`, 400, `unknown field \"forever\"`},
		{"g00/ignore", `{"count": 1`, 400, "body:"},
		{"g00/resolve", `{"in_release": "soon"}`, 400, "in_release"},
		{"g00/merge", `{}`, 400, "into"},
		{"g00/merge", `{"into": "g00"}`, 400, "into itself"},
		{"g00/reopen", `{"in_release": "next"}`, 400, "not a field of reopen"},
		{"g00/snooze", `{}`, 404, "no action"},
		{"nope/resolve", ``, 404, "no such error group"},
		{"nope/ignore", `{}`, 404, "no such error group"},
		{"nope/merge", `{"into": "g00"}`, 404, "no such error group"},
		{"g00/merge", `{"into": "nope"}`, 404, "no such error group"},
		{"g00/unmerge", ``, 404, "is not merged into another group"},
		{"bulk", `{"action": "resolve", "fingerprints": ["g00", "nope"]}`, 404, `no such error group: [\"nope\"]`},
		{"bulk", `{"action": "merge", "fingerprints": ["g00"]}`, 400, `action \"merge\": want resolve, ignore or delete`},
		{"bulk", `{"action": "resolve", "fingerprints": []}`, 400, "select at least one"},
		{"bulk", `{"action": "resolve"}`, 400, "select at least one"},
		{"bulk", `{"action": "delete", "fingerprints": ["g00"], "count": 2}`, 400, "count is not a field of delete"},
		{"bulk", `{"action": "ignore", "fingerprints": ["g00"], "rate": {"count": 2, "window": "-1h"}}`, 400, "rate window"},
		{"bulk", `{"action": "ignore", "fingerprints": ["g00"], "groups": ["g01"]}`, 400, `unknown field \"groups\"`},
		{"bulk", `{"action": "resolve", "fingerprints": ` + manyFingerprints(exporter.MaxPageSize+1) + `}`, 400, "at most 500 at once"},
	} {
		resp, body := c.post("/dev/error/api/exceptions/"+tc.path, tc.body)
		if resp.StatusCode != tc.code || !strings.Contains(body, tc.want) || !strings.Contains(body, `"error"`) {
			t.Errorf("POST %s %.80s: %d %.200s, want %d saying %q", tc.path, tc.body, resp.StatusCode, body, tc.code, tc.want)
		}
	}
	for _, fp := range []string{"g00", "g01"} {
		if g := c.detailOf(fp).Group; g.Status != "open" || g.Change != nil {
			t.Errorf("%s changed by refused requests: %+v", fp, g)
		}
	}
	resp, body := c.post("/dev/error/api/exceptions/bulk", `{"action": "resolve", "fingerprints": [`+strings.Repeat(`"`+strings.Repeat("f", 250)+`",`, 1100)+`"x"]}`)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("a body over the bound: %d %.200s, want 413", resp.StatusCode, body)
	}
	// Cross-origin requests are refused before any handler runs, bulk too.
	for _, path := range []string{"g00/ignore", "g00/merge", "bulk"} {
		resp, _ := c.do("POST", "/dev/error/api/exceptions/"+path, nil, "Origin", "https://evil.example.net", "Sec-Fetch-Site", "cross-site")
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site %s: %d, want 403", path, resp.StatusCode)
		}
	}
}

func manyFingerprints(n int) string {
	fps := make([]string, n)
	for i := range fps {
		fps[i] = fmt.Sprintf("fp%04d", i)
	}
	b, _ := json.Marshal(fps)
	return string(b)
}

// Bulk actions: two groups resolved, ignored (with a condition) and
// deleted, each in one request; a deleted target takes its parts along.
func TestBulkAPI(t *testing.T) {
	s, _ := triageStore(t)
	fill(t, s, 4)
	c := adminServer(t, s)
	resp, body := c.post("/dev/error/api/exceptions/bulk", `{"action": "resolve", "fingerprints": ["g00", "g01", "g00"], "in_release": "next"}`)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"fingerprints":["g00","g01"]`) {
		t.Fatalf("bulk resolve: %d %s", resp.StatusCode, body)
	}
	for _, fp := range []string{"g00", "g01"} {
		if g := c.detailOf(fp).Group; g.Status != "resolved" || g.Change == nil || g.Change.InRelease != "next" || g.Change.By != "admin" {
			t.Errorf("%s after bulk resolve: %+v", fp, g)
		}
	}
	if g := c.detailOf("g02").Group; g.Status != "open" {
		t.Errorf("an unselected group: %s", g.Status)
	}
	resp, body = c.post("/dev/error/api/exceptions/bulk", `{"action": "ignore", "fingerprints": ["g01", "g02"], "rate": {"count": 50, "window": "10m"}}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("bulk ignore: %d %s", resp.StatusCode, body)
	}
	for _, fp := range []string{"g01", "g02"} {
		if g := c.detailOf(fp).Group; g.Status != "ignored" || g.Ignore == nil || g.Ignore.Rate == nil || g.Ignore.Rate.Window != "10m" {
			t.Errorf("%s after bulk ignore: %s", fp, c.get2("/dev/error/api/exceptions/"+fp))
		}
	}
	if resp, body := c.post("/dev/error/api/exceptions/g03/merge", `{"into": "g02"}`); resp.StatusCode != http.StatusOK {
		t.Fatalf("merge: %d %s", resp.StatusCode, body)
	}
	resp, body = c.post("/dev/error/api/exceptions/bulk", `{"action": "delete", "fingerprints": ["g00", "g02"]}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("bulk delete: %d %s", resp.StatusCode, body)
	}
	for _, fp := range []string{"g00", "g02", "g03"} {
		if resp, _ := c.get("/dev/error/api/exceptions/" + fp); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s after deleting g00 and g02 (g03 merged into it): %d, want 404", fp, resp.StatusCode)
		}
	}
	if got := strings.Join(c.listed(""), " "); got != "g01" {
		t.Errorf("left after the bulk delete: %q, want g01", got)
	}
}

// Who made a change: Config.Actor for other authorizers, the Basic user
// under BasicAuth, api otherwise — never a Basic name nobody checked.
func TestTriageActor(t *testing.T) {
	s, _ := triageStore(t)
	fill(t, s, 1)
	for _, tc := range []struct {
		name string
		cfg  browse.Config
		hdr  []string
		want string
	}{
		{"BasicAuth", browse.Config{Authorize: browse.BasicAuth("carol", "pw")}, nil, "carol"},
		{"Actor hook", browse.Config{Authorize: func(*http.Request) bool { return true },
			Actor: func(r *http.Request) string { return r.Header.Get("X-Forwarded-User") }}, []string{"X-Forwarded-User", "dave"}, "dave"},
		{"open authorizer, unchecked Basic name", browse.Config{Authorize: func(*http.Request) bool { return true }}, nil, exporter.ActorAPI},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newServer(t, s, tc.cfg)
			c.user, c.pass = "carol", "pw"
			resp, body := c.do("POST", "/dev/error/api/exceptions/g00/ignore", nil, tc.hdr...)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("ignore: %d %s", resp.StatusCode, body)
			}
			var d apiDetail
			if err := json.Unmarshal([]byte(body), &d); err != nil || d.Group.Change == nil || d.Group.Change.By != tc.want {
				t.Errorf("by: %s, want %q", body, tc.want)
			}
		})
	}
}

// The group's page: every action as a form with its token, and what it
// did shown back; the list's one bulk form with one token.
func TestTriagePages(t *testing.T) {
	s, _ := triageStore(t)
	past := time.Now().Add(-time.Hour)
	for i, fp := range []string{"p0", "p1", "p2", "p3"} {
		export(t, s, fp, "1.0", past.Add(time.Duration(i)*time.Second))
	}
	export(t, s, "p0", "1.1", past.Add(time.Minute))
	c := adminServer(t, s)

	_, page := c.get("/dev/error/p0")
	for _, want := range []string{`id="action-resolve"`, `id="action-resolve-next"`, `id="action-ignore"`, `id="action-ignore-until"`,
		`id="action-ignore-count"`, `id="action-ignore-rate"`, `id="action-merge"`, `id="action-delete"`, `id="releases"`,
		`<code>1.0</code>`, `<code>1.1</code>`, "first seen in <strong>1.0</strong>, last in <strong>1.1</strong>"} {
		if !strings.Contains(page, want) {
			t.Errorf("the group's page lacks %s", want)
		}
	}
	if strings.Contains(page, `id="action-reopen"`) {
		t.Error("an open group offers reopen")
	}
	tokenOf := func(page, action string) string {
		m := regexp.MustCompile(`action="[^"]*/` + action + `">\s*<input type="hidden" name="token" value="([^"]+)"`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no %s form", action)
		}
		return m[1]
	}
	post := func(path string, form url.Values, wantCode int, wantLocation string) {
		t.Helper()
		resp, body := c.do("POST", path, form, "Sec-Fetch-Site", "same-origin")
		if resp.StatusCode != wantCode || resp.Header.Get("Location") != wantLocation {
			t.Fatalf("POST %s %v: %d to %q, want %d to %q: %.300s", path, form, resp.StatusCode, resp.Header.Get("Location"), wantCode, wantLocation, body)
		}
	}
	// Ignore until 3 more occurrences, from its form.
	post("/dev/error/p0/ignore", url.Values{"token": {tokenOf(page, "ignore")}, "count": {"3"}}, http.StatusSeeOther, "/dev/error/p0")
	_, page = c.get("/dev/error/p0")
	for _, want := range []string{`id="status">ignored<`, `id="condition">until 3 more occurrences<`, `ignored until 3 more occurrences by <span id="changed-by">admin</span>`, `id="action-reopen"`} {
		if !strings.Contains(page, want) {
			t.Errorf("after ignore, the page lacks %s", want)
		}
	}
	if strings.Contains(page, `id="action-ignore"`) {
		t.Error("an ignored group offers ignore")
	}
	// A token of one action or group does not do another.
	post("/dev/error/p0/ignore", url.Values{"token": {tokenOf(page, "resolve")}}, http.StatusForbidden, "")
	post("/dev/error/p1/resolve", url.Values{"token": {tokenOf(page, "resolve")}}, http.StatusForbidden, "")
	// A bad condition from a form is a 400 page saying why.
	resp, body := c.do("POST", "/dev/error/p1/ignore", url.Values{"token": {tokenOf(c.get2("/dev/error/p1"), "ignore")}, "until": {"2020-01-01T00:00"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "that time has passed") {
		t.Errorf("ignore until a past time: %d", resp.StatusCode)
	}
	// Resolve in the next release, then the page says so.
	page = c.get2("/dev/error/p1")
	post("/dev/error/p1/resolve", url.Values{"token": {tokenOf(page, "resolve")}, "in_release": {"next"}}, http.StatusSeeOther, "/dev/error/p1")
	if page = c.get2("/dev/error/p1"); !strings.Contains(page, "resolved in the next release by") {
		t.Error("the page does not say resolved in the next release")
	}
	// Merge p2 into p1: the redirect goes to the target, which lists the
	// part; the part's page says it was merged and offers to unmerge.
	page = c.get2("/dev/error/p2")
	post("/dev/error/p2/merge", url.Values{"token": {tokenOf(page, "merge")}, "into": {"p1"}}, http.StatusSeeOther, "/dev/error/p1")
	if page = c.get2("/dev/error/p1"); !strings.Contains(page, `<li data-fingerprint="p2">`) {
		t.Error("the target does not list its part")
	}
	part := c.get2("/dev/error/p2")
	if !strings.Contains(part, `id="merged-notice"`) || !strings.Contains(part, `action="/dev/error/p2/unmerge"`) || !strings.Contains(part, `action="/dev/error/p1/delete"`) {
		t.Error("the part's page does not show the target with the notice")
	}
	post("/dev/error/p2/unmerge", url.Values{"token": {tokenOf(part, "unmerge")}}, http.StatusSeeOther, "/dev/error/p2")
	if page = c.get2("/dev/error/p2"); strings.Contains(page, `id="merged-notice"`) || !strings.Contains(page, `action="/dev/error/p2/resolve"`) {
		t.Error("after unmerge the part is not its own group again")
	}

	// The list: filters, the bulk form with one token, checkboxes.
	list := c.get2("/dev/error/?status=open&release=1.0")
	for _, want := range []string{`name="release" value="1.0"`, `name="new_in_release"`, `<option value="ignored"`, `id="bulk-resolve"`,
		`id="bulk-ignore"`, `id="bulk-delete"`, `name="fp" value="p2"`, `name="back" value="release=1.0&amp;status=open"`} {
		if !strings.Contains(list, want) {
			t.Errorf("the list lacks %s", want)
		}
	}
	if n := strings.Count(list, `name="token"`); n != 1 {
		t.Errorf("the list has %d tokens, want one for the bulk form", n)
	}
	bulk := regexp.MustCompile(`name="token" value="([^"]+)"`).FindStringSubmatch(list)[1]
	post("/dev/error/bulk", url.Values{"token": {bulk}, "action": {"resolve"}, "fp": {"p2", "p3"}, "back": {"release=1.0&status=open&evil=//x"}},
		http.StatusSeeOther, "/dev/error/?evil=%2F%2Fx&release=1.0&status=open")
	for _, fp := range []string{"p2", "p3"} {
		if g := c.detailOf(fp).Group; g.Status != "resolved" || g.Change == nil || g.Change.By != "admin" {
			t.Errorf("%s after the bulk form: %+v", fp, g)
		}
	}
	if !strings.Contains(list, `formaction="/dev/error/bulk?in_release=next"`) {
		t.Error("the list lacks resolve in next release")
	}
	post("/dev/error/bulk?in_release=next", url.Values{"token": {bulk}, "action": {"resolve"}, "fp": {"p2", "p3"}}, http.StatusSeeOther, "/dev/error/")
	for _, fp := range []string{"p2", "p3"} {
		if g := c.detailOf(fp).Group; g.Status != "resolved" || g.Change == nil || g.Change.InRelease != "next" {
			t.Errorf("%s after the bulk form's resolve in next release: %+v", fp, g)
		}
	}
	post("/dev/error/bulk?in_release=next", url.Values{"token": {bulk}, "action": {"delete"}, "fp": {"p2", "p3"}}, http.StatusBadRequest, "")
	post("/dev/error/bulk", url.Values{"token": {bulk}, "action": {"ignore"}, "fp": {"p2", "p3"}}, http.StatusSeeOther, "/dev/error/")
	if got := strings.Join(c.listed("status=ignored"), " "); got != "p0 p2 p3" {
		t.Errorf("ignored after the bulk ignore: %q", got)
	}
	post("/dev/error/bulk", url.Values{"token": {tokenOf(c.get2("/dev/error/p3"), "delete")}, "action": {"delete"}, "fp": {"p3"}}, http.StatusForbidden, "")
	post("/dev/error/bulk", url.Values{"token": {bulk}, "action": {"delete"}}, http.StatusBadRequest, "")
	post("/dev/error/bulk", url.Values{"token": {bulk}, "action": {"merge"}, "fp": {"p3"}}, http.StatusBadRequest, "")
	if resp, _ := c.do("POST", "/dev/error/bulk", url.Values{"token": {bulk}, "action": {"delete"}, "fp": {"p3"}}, "Sec-Fetch-Site", "cross-site"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a cross-site bulk form: %d", resp.StatusCode)
	}
	post("/dev/error/bulk", url.Values{"token": {bulk}, "action": {"delete"}, "fp": {"p2", "p3"}}, http.StatusSeeOther, "/dev/error/")
	if got := strings.Join(c.listed(""), " "); got != "p0 p1" {
		t.Errorf("left after the bulk delete: %q, want p0 p1", got)
	}
}

// A store without exporter.Triage keeps what it always did; the new
// actions answer 501 and the pages do not offer them.
func TestWithoutTriage(t *testing.T) {
	s := newStore(t)
	fill(t, s, 2)
	plain := struct{ exporter.Store }{s} // the real store, seen through the older interface
	c := adminServer(t, plain)
	for _, tc := range []struct{ path, body string }{
		{"g00/ignore", `{}`}, {"g00/merge", `{"into": "g01"}`}, {"g00/unmerge", ``}, {"g00/resolve", `{"in_release": "next"}`},
		{"bulk", `{"action": "resolve", "fingerprints": ["g00", "g01"]}`},
	} {
		resp, body := c.post("/dev/error/api/exceptions/"+tc.path, tc.body)
		if resp.StatusCode != http.StatusNotImplemented || !strings.Contains(body, "exporter.Triage") {
			t.Errorf("POST %s: %d %s, want 501 saying why", tc.path, resp.StatusCode, body)
		}
	}
	for _, q := range []string{"release=1.0", "new_in_release=1.0"} {
		if resp, _ := c.get("/dev/error/api/exceptions?" + q); resp.StatusCode != http.StatusNotImplemented {
			t.Errorf("?%s: %d, want 501", q, resp.StatusCode)
		}
	}
	if resp, body := c.post("/dev/error/api/exceptions/g00/resolve", ""); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"status":"resolved"`) {
		t.Errorf("resolve: %d %s", resp.StatusCode, body)
	}
	if resp, body := c.get("/dev/error/api/exceptions/g00"); resp.StatusCode != http.StatusOK || strings.Contains(body, `"releases"`) {
		t.Errorf("GET: %d %s, want no releases", resp.StatusCode, body)
	}
	page := c.get2("/dev/error/g00")
	list := c.get2("/dev/error/")
	for _, absent := range []string{`id="action-ignore"`, `id="action-merge"`, `id="action-resolve-next"`, `id="bulk"`, `name="fp"`, `name="release"`} {
		if strings.Contains(page, absent) || strings.Contains(list, absent) {
			t.Errorf("the pages offer %s", absent)
		}
	}
	if !strings.Contains(page, `id="action-reopen"`) || !strings.Contains(page, `id="action-delete"`) {
		t.Error("the resolved group's page lacks reopen or delete")
	}
}

// A full page of groups (MaxPageSize) is one bulk request and one store
// call; one more is refused before the store is asked.
func TestBulkAtTheBound(t *testing.T) {
	s, _ := triageStore(t)
	now := time.Now().Add(-time.Hour)
	var recs []exporter.Record
	var fps []string
	for i := range exporter.MaxPageSize {
		fp := fmt.Sprintf("fp%04d", i)
		fps = append(fps, fp)
		recs = append(recs, record(fp, now.Add(time.Duration(i)*time.Millisecond), "order failed"))
	}
	if err := s.Export(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	c := newServer(t, s, withAuth(browse.Config{PageSize: exporter.MaxPageSize}))
	c.user, c.pass = "admin", "pw"
	body, _ := json.Marshal(map[string]any{"action": "resolve", "fingerprints": fps})
	start := time.Now()
	resp, out := c.post("/dev/error/api/exceptions/bulk", string(body))
	took := time.Since(start)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("bulk resolve of %d: %d %.300s", len(fps), resp.StatusCode, out)
	}
	t.Logf("bulk resolve of %d groups: %s", len(fps), took)
	if n := len(c.listed("status=resolved")); n != exporter.MaxPageSize {
		t.Errorf("%d groups resolved, want %d", n, exporter.MaxPageSize)
	}
	body, _ = json.Marshal(map[string]any{"action": "delete", "fingerprints": append(fps, "one-more")})
	if resp, out := c.post("/dev/error/api/exceptions/bulk", string(body)); resp.StatusCode != http.StatusBadRequest || !strings.Contains(out, "at most 500") {
		t.Errorf("bulk delete of %d: %d %s", len(fps)+1, resp.StatusCode, out)
	}
	if n := len(c.listed("")); n != exporter.MaxPageSize {
		t.Errorf("%d groups left after a refused delete, want all %d", n, exporter.MaxPageSize)
	}
}
