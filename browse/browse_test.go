package browse_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/goleak"

	"github.com/errortracker/errortracker/browse"
	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/exporter/clickhouse"
	"github.com/errortracker/errortracker/internal/testenv"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// stack is a panic's stack as package scope records it: the middleware's
// recover and the runtime's panic on top of the app's frame.
const stack = "github.com/errortracker/errortracker/scope.(*middleware).ServeHTTP.func1(...)\n\t/src/scope/middleware.go:80\n" +
	"runtime.gopanic(...)\n\t/usr/local/go/src/runtime/panic.go:785\n" +
	"github.com/errortracker/errortracker/browse_test.handler(...)\n\t/app/handler.go:42\n" +
	"net/http.HandlerFunc.ServeHTTP(...)\n\t/usr/local/go/src/net/http/server.go:2294\n"

// newStore connects to the shared test ClickHouse with a database of the
// test's own.
func newStore(t *testing.T) *clickhouse.Exporter {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	s, err := clickhouse.New(context.Background(), clickhouse.Config{Addrs: []string{testenv.ClickHouseAddr(t)},
		Database: "t_browse_" + hex.EncodeToString(b[:])})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s
}

func record(fp string, at time.Time, message string) exporter.Record {
	var id [16]byte
	_, _ = rand.Read(id[:])
	r := exporter.Record{
		ID: hex.EncodeToString(id[:]), Fingerprint: fp, Time: at, Type: "*app.OrderError", Message: message,
		Grouping:   `message "order <num> failed"`,
		Stacktrace: stack, Service: "checkout", Environment: "prod", Host: "shop.example.com", Method: "GET",
		Path: "/orders/42", Route: "/orders/{id}", StatusCode: 500,
		Attributes: []attribute.KeyValue{attribute.String("url.query", "token=**************")},
		Extras:     []attribute.KeyValue{attribute.String("id", "1234")},
	}
	r.TraceID[0], r.SpanID[0] = 0xab, 0xcd
	return r
}

// fill stores n groups, g00 oldest.
func fill(t *testing.T, s *clickhouse.Exporter, n int) {
	t.Helper()
	var recs []exporter.Record
	now := time.Now().Add(-time.Hour)
	for i := 0; i < n; i++ {
		recs = append(recs, record(fmt.Sprintf("g%02d", i), now.Add(time.Duration(i)*time.Second), fmt.Sprintf("order %d failed", i)))
	}
	if err := s.Export(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
}

type client struct {
	t    *testing.T
	srv  *httptest.Server
	user string
	pass string
}

func newServer(t *testing.T, store exporter.Store, cfg browse.Config) *client {
	t.Helper()
	h, err := browse.New(store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	prefix := "/" + strings.Trim(cfg.URLPrefix, "/")
	if prefix == "/" {
		prefix = browse.DefaultURLPrefix
	}
	mux := http.NewServeMux()
	mux.Handle(prefix+"/", h)
	mux.Handle(prefix, h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &client{t: t, srv: srv}
}

func withAuth(cfg browse.Config) browse.Config {
	cfg.Authorize = browse.BasicAuth("admin", "pw")
	return cfg
}

// do sends a request; headers are pairs.
func (c *client) do(method, path string, body url.Values, headers ...string) (*http.Response, string) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(body.Encode())
	}
	req, err := http.NewRequest(method, c.srv.URL+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (c *client) get(path string) (*http.Response, string) { return c.do(http.MethodGet, path, nil) }

func TestDeniedByDefault(t *testing.T) {
	s := newStore(t)
	fill(t, s, 1)
	c := newServer(t, s, browse.Config{})
	for _, req := range []struct{ method, path string }{
		{"GET", "/dev/error/"}, {"GET", "/dev/error"}, {"GET", "/dev/error/g00"},
		{"POST", "/dev/error/g00/delete"}, {"GET", "/dev/error/api/exceptions"}, {"DELETE", "/dev/error/api/exceptions/g00"},
	} {
		resp, body := c.do(req.method, req.path, url.Values{})
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s %s = %d, want 401", req.method, req.path, resp.StatusCode)
		}
		if strings.Contains(body, "order 0 failed") {
			t.Errorf("%s %s leaked data", req.method, req.path)
		}
	}
	if _, _, err := s.GetGroup(context.Background(), "g00"); err != nil {
		t.Errorf("the denied delete deleted: %v", err)
	}
}

func TestBasicAuth(t *testing.T) {
	s := newStore(t)
	c := newServer(t, s, withAuth(browse.Config{}))
	resp, _ := c.get("/dev/error/")
	if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), `Basic realm="error tracker"`) {
		t.Errorf("no credentials: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	c.user, c.pass = "admin", "wrong"
	if resp, _ := c.get("/dev/error/"); resp.StatusCode != 401 {
		t.Errorf("wrong password: %d", resp.StatusCode)
	}
	c.pass = "pw"
	if resp, _ := c.get("/dev/error/"); resp.StatusCode != 200 {
		t.Errorf("right password: %d", resp.StatusCode)
	}
}

var linkRE = regexp.MustCompile(`class="(newer|older)" href="([^"]*)"`)

// The Python library's paging case: page size 5, 21 groups.
func TestPaging(t *testing.T) {
	s := newStore(t)
	fill(t, s, 21)
	c := newServer(t, s, withAuth(browse.Config{PageSize: 5}))
	c.user, c.pass = "admin", "pw"
	path := "/dev/error/"
	for page := 1; page <= 5; page++ {
		resp, body := c.get(path)
		if resp.StatusCode != 200 {
			t.Fatalf("page %d: %d", page, resp.StatusCode)
		}
		links := map[string]string{}
		for _, m := range linkRE.FindAllStringSubmatch(body, -1) {
			links[m[1]] = strings.ReplaceAll(m[2], "&amp;", "&")
		}
		_, newer := links["newer"]
		_, older := links["older"]
		if newer != (page > 1) || older != (page < 5) {
			t.Errorf("page %d links: newer %v older %v", page, newer, older)
		}
		rows := strings.Count(body, `class="group"`)
		if want := map[bool]int{true: 1, false: 5}[page == 5]; rows != want {
			t.Errorf("page %d shows %d groups, want %d", page, rows, want)
		}
		if page == 1 && !strings.Contains(body, `data-fingerprint="g20"`) {
			t.Error("page 1 lacks the newest group")
		}
		path = links["older"]
	}
}

func TestDetailActionsAndDelete(t *testing.T) {
	s := newStore(t)
	fill(t, s, 2)
	c := newServer(t, s, withAuth(browse.Config{TraceURL: "https://traces.example.com/trace/{trace_id}"}))
	c.user, c.pass = "admin", "pw"
	resp, body := c.get("/dev/error/g01")
	if resp.StatusCode != 200 {
		t.Fatalf("detail: %d %s", resp.StatusCode, body)
	}
	for _, want := range []string{"order 1 failed", `<li class="app"><code class="fn">github.com/errortracker/errortracker/browse_test.handler</code>`,
		`<li class="lib"><code class="fn">net/http.HandlerFunc.ServeHTTP</code>`, "token=**************", "<code>id</code>",
		`href="https://traces.example.com/trace/ab000000000000000000000000000000"`, "/app/handler.go:42",
		`<td id="grouping">message &#34;order &lt;num&gt; failed&#34;</td>`} {
		if !strings.Contains(body, want) {
			t.Errorf("detail lacks %q", want)
		}
	}
	token := regexp.MustCompile(`action="/dev/error/g01/resolve">\s*<input type="hidden" name="token" value="([^"]+)"`).FindStringSubmatch(body)
	if token == nil {
		t.Fatalf("no resolve form:\n%s", body)
	}
	if resp, _ := c.do("POST", "/dev/error/g01/resolve", url.Values{}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("resolve without a token: %d, want 403", resp.StatusCode)
	}
	if resp, _ := c.do("POST", "/dev/error/g01/resolve", url.Values{"token": {token[1]}}, "Sec-Fetch-Site", "cross-site"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site resolve: %d, want 403", resp.StatusCode)
	}
	resp, _ = c.do("POST", "/dev/error/g01/resolve", url.Values{"token": {token[1]}}, "Sec-Fetch-Site", "same-origin")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/dev/error/g01" {
		t.Fatalf("resolve: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if g, _, _ := s.GetGroup(context.Background(), "g01"); g.Status != exporter.StatusResolved {
		t.Errorf("status after resolve: %s", g.Status)
	}
	_, body = c.get("/dev/error/g01")
	del := regexp.MustCompile(`action="/dev/error/g01/delete">\s*<input type="hidden" name="token" value="([^"]+)"`).FindStringSubmatch(body)
	if del == nil || !strings.Contains(body, `id="action-reopen"`) {
		t.Fatal("a resolved group offers reopen and delete")
	}
	resp, _ = c.do("POST", "/dev/error/g01/delete", url.Values{"token": {del[1]}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/dev/error/" {
		t.Fatalf("delete: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := c.get("/dev/error/g01"); resp.StatusCode != 404 {
		t.Errorf("deleted group: %d, want 404", resp.StatusCode)
	}
	if _, body := c.get("/dev/error/"); strings.Contains(body, "g01") || !strings.Contains(body, "g00") {
		t.Error("list after delete")
	}
}

func TestCustomPrefix(t *testing.T) {
	s := newStore(t)
	fill(t, s, 1)
	c := newServer(t, s, withAuth(browse.Config{URLPrefix: "/ops/errors/"}))
	c.user, c.pass = "admin", "pw"
	for _, p := range []string{"/ops/errors", "/ops/errors/"} {
		resp, body := c.get(p)
		if resp.StatusCode != 200 || !strings.Contains(body, `href="/ops/errors/g00"`) || !strings.Contains(body, `href="/ops/errors/static/style.css"`) {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
	if resp, _ := c.get("/ops/errors/static/style.css"); resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
		t.Errorf("stylesheet: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if resp, _ := c.get("/dev/error/"); resp.StatusCode != 404 {
		t.Errorf("default prefix answered %d", resp.StatusCode)
	}
}

func TestStoredXSSIsInert(t *testing.T) {
	s := newStore(t)
	payloads := []string{`<script>alert(1)</script>`, `"><img src=x onerror=alert(1)>`}
	for i, p := range payloads {
		r := record(fmt.Sprintf("x%d", i), time.Now(), p)
		r.Type = p
		r.Extras = []attribute.KeyValue{attribute.String(p, p)}
		if err := s.Export(context.Background(), []exporter.Record{r}); err != nil {
			t.Fatal(err)
		}
	}
	c := newServer(t, s, withAuth(browse.Config{}))
	c.user, c.pass = "admin", "pw"
	for _, path := range []string{"/dev/error/", "/dev/error/x0", "/dev/error/x1", "/dev/error/?q=%3Cscript%3E"} {
		resp, body := c.get(path)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		for _, p := range payloads {
			if strings.Contains(body, p) {
				t.Errorf("%s renders %q unescaped", path, p)
			}
		}
		if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") && !strings.Contains(body, "&lt;img src=x onerror=alert(1)&gt;") {
			t.Errorf("%s does not show the payload as text", path)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe") {
			t.Errorf("CSP %q", csp)
		}
		for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"} {
			if resp.Header.Get(h) != want {
				t.Errorf("%s: %s = %q", path, h, resp.Header.Get(h))
			}
		}
	}
}

func TestBadParameters(t *testing.T) {
	s := newStore(t)
	c := newServer(t, s, withAuth(browse.Config{}))
	c.user, c.pass = "admin", "pw"
	for _, q := range []string{"page=0", "page=abc", "sort=name", "status=gone", "q=" + url.QueryEscape("a\x00b")} {
		resp, body := c.get("/dev/error/?" + q)
		if resp.StatusCode != 400 || !strings.Contains(body, `id="error-message"`) {
			t.Errorf("?%s: %d", q, resp.StatusCode)
		}
		resp, body = c.get("/dev/error/api/exceptions?" + q)
		var e struct{ Error string }
		if resp.StatusCode != 400 || json.Unmarshal([]byte(body), &e) != nil || e.Error == "" {
			t.Errorf("api ?%s: %d %s", q, resp.StatusCode, body)
		}
	}
	if resp, body := c.get("/dev/error/api/exceptions/nope"); resp.StatusCode != 404 || !strings.Contains(body, `"error"`) {
		t.Errorf("unknown group: %d %s", resp.StatusCode, body)
	}
}

func TestJSONAPI(t *testing.T) {
	s := newStore(t)
	fill(t, s, 3)
	c := newServer(t, s, withAuth(browse.Config{PageSize: 2}))
	c.user, c.pass = "admin", "pw"
	resp, body := c.get("/dev/error/api/exceptions?sort=first_seen")
	var list struct {
		Groups []struct {
			Fingerprint string `json:"fingerprint"`
			Count       int    `json:"count"`
			Status      string `json:"status"`
		} `json:"groups"`
		HasNext bool `json:"has_next"`
	}
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &list) != nil {
		t.Fatalf("list: %d %s", resp.StatusCode, body)
	}
	if len(list.Groups) != 2 || !list.HasNext || list.Groups[0].Fingerprint != "g02" || list.Groups[0].Count != 1 || list.Groups[0].Status != "open" {
		t.Errorf("list = %+v", list)
	}
	resp, body = c.get("/dev/error/api/exceptions/g00")
	if resp.StatusCode != 200 || !strings.Contains(body, `"latest":{"id":`) || !strings.Contains(body, `"key":"id","value":"1234"`) ||
		!strings.Contains(body, `"grouping":"message \"order \u003cnum\u003e failed\""`) {
		t.Errorf("group: %d %s", resp.StatusCode, body)
	}
	if resp, body := c.get("/dev/error/api/exceptions/g00/occurrences"); resp.StatusCode != 200 || !strings.Contains(body, `"occurrences":[{`) {
		t.Errorf("occurrences: %d %s", resp.StatusCode, body)
	}
	if resp, body := c.do("POST", "/dev/error/api/exceptions/g00/resolve", nil); resp.StatusCode != 200 || !strings.Contains(body, `"status":"resolved"`) {
		t.Errorf("resolve: %d %s", resp.StatusCode, body)
	}
	if resp, body := c.do("POST", "/dev/error/api/exceptions/g00/reopen", nil); resp.StatusCode != 200 || !strings.Contains(body, `"status":"open"`) {
		t.Errorf("reopen: %d %s", resp.StatusCode, body)
	}
	if resp, _ := c.do("POST", "/dev/error/api/exceptions/g00/resolve", nil, "Origin", "https://evil.example.net", "Sec-Fetch-Site", "cross-site"); resp.StatusCode != 403 {
		t.Errorf("cross-site API resolve: %d", resp.StatusCode)
	}
	if resp, _ := c.do("DELETE", "/dev/error/api/exceptions/g00", nil); resp.StatusCode != 204 {
		t.Errorf("delete: %d", resp.StatusCode)
	}
	if resp, _ := c.get("/dev/error/api/exceptions/g00"); resp.StatusCode != 404 {
		t.Errorf("after delete: %d", resp.StatusCode)
	}
	if resp, _ := c.do("GET", "/dev/error/api/exceptions/g01/resolve", nil); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET of an action: %d, want 405", resp.StatusCode)
	}
}

func TestNewRejectsNoStore(t *testing.T) {
	if _, err := browse.New(nil, browse.Config{}); err == nil {
		t.Error("no error without a store")
	}
}

// The list shows a bounded excerpt of a long message; the group's page
// shows all of it.
func TestListShowsAnExcerpt(t *testing.T) {
	s := newStore(t)
	long := "upstream said: " + strings.Repeat("very long body ", 20000) + "END-OF-MESSAGE"
	if err := s.Export(context.Background(), []exporter.Record{record("long", time.Now(), long)}); err != nil {
		t.Fatal(err)
	}
	c := newServer(t, s, withAuth(browse.Config{}))
	c.user, c.pass = "admin", "pw"
	resp, list := c.get(browse.DefaultURLPrefix)
	if resp.StatusCode != http.StatusOK || len(list) > 20_000 || strings.Contains(list, "END-OF-MESSAGE") || !strings.Contains(list, "upstream said: very long body") {
		t.Errorf("list: status %d, %d bytes, want the start of the message only", resp.StatusCode, len(list))
	}
	resp, detail := c.get(browse.DefaultURLPrefix + "/long")
	if resp.StatusCode != http.StatusOK || !strings.Contains(detail, "END-OF-MESSAGE") {
		t.Errorf("detail: status %d, want the whole message", resp.StatusCode)
	}
}

// The occurrences API pages by cursor: next until there is none, every
// occurrence once; a cursor the store never gave is a 400.
func TestOccurrencesAPIByCursor(t *testing.T) {
	s := newStore(t)
	var recs []exporter.Record
	now := time.Now().Add(-time.Minute)
	for i := range 30 {
		recs = append(recs, record("paged", now.Add(-time.Duration(i)*time.Minute), fmt.Sprintf("order %d failed", i)))
	}
	if err := s.Export(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	c := newServer(t, s, withAuth(browse.Config{PageSize: 20}))
	c.user, c.pass = "admin", "pw"
	seen := map[string]bool{}
	path := browse.DefaultURLPrefix + "/api/exceptions/paged/occurrences"
	for round := 0; ; round++ {
		resp, body := c.get(path)
		var page struct {
			Occurrences []struct {
				ID string `json:"id"`
			} `json:"occurrences"`
			Next    string `json:"next"`
			HasNext bool   `json:"has_next"`
		}
		if err := json.Unmarshal([]byte(body), &page); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d, %v: %s", resp.StatusCode, err, body)
		}
		for _, o := range page.Occurrences {
			seen[o.ID] = true
		}
		if page.Next == "" || round > 3 {
			break
		}
		path = browse.DefaultURLPrefix + "/api/exceptions/paged/occurrences?cursor=" + url.QueryEscape(page.Next)
	}
	if len(seen) != 30 {
		t.Errorf("walked %d occurrences, want 30", len(seen))
	}
	if resp, _ := c.get(browse.DefaultURLPrefix + "/api/exceptions/paged/occurrences?cursor=bogus"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a bad cursor: %d", resp.StatusCode)
	}
}
