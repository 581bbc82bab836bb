package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	etexporter "github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/exporter/clickhouse"
	"github.com/errortracker/errortracker/internal/testenv"
)

// secrets are the values sender.js puts where secrets go; none may reach
// a table, a mail, a page or the upstream.
var secrets = []string{
	"resource-secret-apikey-0001", "url-secret-token-0002", "header-secret-bearer-0003",
	"attr-secret-password-0004", "status-secret-0005", "log-secret-password-0006",
}

// nodePath is where scripts/services.sh (need_node_otel) installed the
// OpenTelemetry JS SDK.
func nodePath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("ERRORTRACKER_TEST_NODE_PATH")
	if p == "" {
		if testenv.InCI() {
			t.Fatal("ERRORTRACKER_TEST_NODE_PATH is not set: run scripts/test.sh, which installs the OpenTelemetry JS SDK")
		}
		t.Skip("ERRORTRACKER_TEST_NODE_PATH is not set (bash -c 'source scripts/services.sh; need_node_otel' installs it)")
	}
	return p
}

// upstream is a real OTLP/HTTP peer that keeps what the distribution
// forwards to it.
type upstream struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	u.mu.Lock()
	u.bodies = append(u.bodies, b)
	u.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(http.StatusOK)
}

func (u *upstream) all() []byte {
	u.mu.Lock()
	defer u.mu.Unlock()
	return bytes.Join(u.bodies, nil)
}

// collector is the distribution running as a process.
type collector struct {
	cmd    *exec.Cmd
	output bytes.Buffer
}

func buildCollector(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "otelcol-errortracker")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func startCollector(t *testing.T, bin string, env map[string]string) *collector {
	t.Helper()
	c := &collector{cmd: exec.Command(bin, "--config=../errortracker.yaml")}
	c.cmd.Env = os.Environ()
	for k, v := range env {
		c.cmd.Env = append(c.cmd.Env, k+"="+v)
	}
	c.cmd.Stdout, c.cmd.Stderr = &c.output, &c.output
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = c.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = c.cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("collector output:\n%s", c.output.String())
		}
	})
	browse := "http://" + env["BROWSE_ADDR"] + "/dev/error/"
	for deadline := time.Now().Add(60 * time.Second); ; {
		if resp, err := http.Get(browse); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				return c
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the collector's pages did not answer at %s", browse)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func addr(t *testing.T) string { return fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)) }

// TestNodeSDKThroughTheDistribution: a Node.js program using the official
// OpenTelemetry JS SDK sends its exceptions (span events, some also as
// logs/dup log records) to the distribution, running as a process against
// the real ClickHouse and a real SMTP server.
func TestNodeSDKThroughTheDistribution(t *testing.T) {
	nodeModules := nodePath(t)
	chAddr := testenv.ClickHouseAddr(t)
	chHTTP := testenv.ClickHouseHTTPAddr(t)
	inbox := testenv.StartPlainInbox(t)
	up, upURL := startUpstream(t)

	db := fmt.Sprintf("et_e2e_%d", time.Now().UnixNano())
	env := collectorEnv(t, upURL, chAddr, db, inbox)
	startCollector(t, buildCollector(t), env)

	sent := runSender(t, nodeModules, "http://"+env["OTLP_HTTP_ENDPOINT"], "")

	// The store, read through the library.
	ctx := context.Background()
	store, err := clickhouse.New(ctx, clickhouse.Config{Addrs: []string{chAddr}, Database: db, WaitForServer: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Shutdown(context.Background()) })
	want := map[string]uint64{ // by exception.type: one group per throw site, exact counts
		"Error":       uint64(sent["loadUser"]),
		"TypeError":   uint64(sent["chargeCard"]),
		"SyntaxError": uint64(sent["parseSettings"]),
	}
	groups, got := waitForGroups(t, store, 10)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("groups by type and count: %v, want %v (logs/dup pairs: %d, each counted once)", got, want, sent["dup"])
	}

	// A mail per new group, and no more.
	mails := inbox.WaitFor(t, len(want))
	time.Sleep(time.Second)
	if n := len(inbox.Messages()); n != len(want) {
		t.Errorf("%d mails for %d new groups", n, len(want))
	}

	// The pages: 401 without credentials; with them, the list names every group.
	prefix := "http://" + env["BROWSE_ADDR"] + "/dev/error"
	get := func(path string, auth bool) (int, string) {
		req, _ := http.NewRequest("GET", prefix+path, nil)
		if auth {
			req.SetBasicAuth("ops", "browse-pass")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, p := range []string{"/", "/api/exceptions"} {
		if code, _ := get(p, false); code != http.StatusUnauthorized {
			t.Errorf("GET %s without credentials: %d, want 401", p, code)
		}
	}
	var pages strings.Builder
	code, list := get("/", true)
	if code != http.StatusOK {
		t.Fatalf("GET / with credentials: %d", code)
	}
	pages.WriteString(list)
	for _, g := range groups {
		if !strings.Contains(list, g.Fingerprint) {
			t.Errorf("the list does not link group %s (%s)", g.Fingerprint, g.Type)
		}
		for _, p := range []string{"/" + g.Fingerprint, "/api/exceptions/" + g.Fingerprint + "/occurrences"} {
			_, body := get(p, true)
			pages.WriteString(body)
		}
	}

	// No secret anywhere: every table, every mail, every page, the upstream.
	var tables strings.Builder
	names := chQuery(t, chHTTP, "SELECT name FROM system.tables WHERE database = '"+db+"'")
	for name := range strings.FieldsSeq(names) {
		tables.WriteString(chQuery(t, chHTTP, "SELECT * FROM "+db+"."+name+" FORMAT TSV"))
	}
	var mailText strings.Builder
	for _, m := range inbox.Messages() {
		mailText.Write(m.Data)
	}
	_ = mails
	for where, text := range map[string]string{"tables": tables.String(), "mail": mailText.String(), "pages": pages.String(), "upstream": string(up.all())} {
		if text == "" {
			t.Errorf("%s: nothing to check", where)
		}
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s holds the secret %q", where, s)
			}
		}
	}
	if !strings.Contains(tables.String(), "checkout-node") {
		t.Error("the tables do not hold the service")
	}
	// The logs/dup twins did arrive, as rows of their own with their
	// twin's id: the counts above drop them, not the transport.
	rows := strings.Fields(chQuery(t, chHTTP, "SELECT count(), uniqExact(id) FROM "+db+".occurrences FORMAT TSV"))
	wantRows := fmt.Sprint(sent["loadUser"] + sent["chargeCard"] + sent["parseSettings"] + sent["dup"])
	wantIDs := fmt.Sprint(sent["loadUser"] + sent["chargeCard"] + sent["parseSettings"])
	if len(rows) != 2 || rows[0] != wantRows || rows[1] != wantIDs {
		t.Errorf("occurrence rows and distinct ids: %v, want %s and %s", rows, wantRows, wantIDs)
	}
}

// runSender runs sender.js against the distribution at tracesURL (and
// logsURL for the log records, when not empty) and returns its summary.
func runSender(t *testing.T, nodeModules, tracesURL, logsURL string) map[string]int {
	t.Helper()
	node := exec.Command("node", "testdata/node/sender.js")
	node.Env = append(os.Environ(), "NODE_PATH="+nodeModules, "OTLP_HTTP_URL="+tracesURL, "OTLP_LOGS_URL="+logsURL)
	var nodeErr bytes.Buffer
	node.Stderr = &nodeErr
	out, err := node.Output()
	if err != nil {
		t.Fatalf("node sender.js: %v\n%s%s", err, out, nodeErr.String())
	}
	var sent map[string]int
	if err := json.Unmarshal(out, &sent); err != nil {
		t.Fatalf("sender's summary %q: %v", out, err)
	}
	return sent
}

// waitForGroups waits until the groups count total occurrences (or 30 s),
// and returns them with their counts by type; two groups of one type (one
// throw site split) fail the test.
func waitForGroups(t *testing.T, store *clickhouse.Exporter, total uint64) ([]etexporter.Group, map[string]uint64) {
	t.Helper()
	var groups []etexporter.Group
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		page, err := store.ListGroups(context.Background(), etexporter.GroupQuery{PageSize: 50})
		var sum uint64
		for _, g := range page.Groups {
			sum += g.Count
		}
		if err == nil && sum >= total || time.Now().After(deadline) {
			groups = page.Groups
			break
		}
	}
	got := map[string]uint64{}
	for _, g := range groups {
		if _, dup := got[g.Type]; dup {
			t.Errorf("two groups of type %s: one throw site split", g.Type)
		}
		got[g.Type] = g.Count
	}
	return groups, got
}

// chQuery runs a query over ClickHouse's HTTP interface.
func chQuery(t *testing.T, httpAddr, q string) string {
	t.Helper()
	resp, err := http.Post("http://"+httpAddr+"/?"+url.Values{"query": {q}}.Encode(), "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s", q, b)
	}
	return string(b)
}

// TestTwoInstancesSplitTheTraffic: two distribution processes, no state of
// their own, one ClickHouse. The Node service's traffic is split between
// them — its spans to one, its log records (the logs/dup copies) to the
// other, then the other way round — and the counts stay exact, the twins
// count once across instances, and each new group is mailed once: the
// instances claim the announcement in the store.
func TestTwoInstancesSplitTheTraffic(t *testing.T) {
	nodeModules := nodePath(t)
	chAddr := testenv.ClickHouseAddr(t)
	inbox := testenv.StartPlainInbox(t)
	_, upURL := startUpstream(t)
	db := fmt.Sprintf("et_scale_%d", time.Now().UnixNano())
	bin := buildCollector(t)
	var urls []string
	for range 2 {
		env := collectorEnv(t, upURL, chAddr, db, inbox)
		env["APP_ERROR_BROWSE_SECRET"] = "one-secret-for-the-fleet"
		env["APP_ERROR_SPOOL_DIR"] = t.TempDir() // one each
		startCollector(t, bin, env)
		urls = append(urls, "http://"+env["OTLP_HTTP_ENDPOINT"])
	}
	var a, b map[string]int
	var wg sync.WaitGroup
	wg.Go(func() { a = runSender(t, nodeModules, urls[0], urls[1]) })
	wg.Go(func() { b = runSender(t, nodeModules, urls[1], urls[0]) })
	wg.Wait()

	store, err := clickhouse.New(context.Background(), clickhouse.Config{Addrs: []string{chAddr}, Database: db, WaitForServer: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Shutdown(context.Background()) })
	want := map[string]uint64{
		"Error":       uint64(a["loadUser"] + b["loadUser"]),
		"TypeError":   uint64(a["chargeCard"] + b["chargeCard"]),
		"SyntaxError": uint64(a["parseSettings"] + b["parseSettings"]),
	}
	_, got := waitForGroups(t, store, want["Error"]+want["TypeError"]+want["SyntaxError"])
	time.Sleep(time.Second) // a twin counted twice would show up late
	_, got = waitForGroups(t, store, 0)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("groups by type and count: %v, want %v", got, want)
	}
	inbox.WaitFor(t, len(want))
	time.Sleep(2 * time.Second)
	// Each new group is announced once. loadUser's group reaches 10
	// occurrences across the two senders, so it may also be mailed once
	// as crossing that threshold, depending on which batch sees the count:
	// that mail is counted apart, and must not come twice either.
	subjects := map[string]int{}
	announced := 0
	for _, m := range inbox.Messages() {
		s := testenv.ParseMail(t, m).Subject
		subjects[s]++
		if !strings.Contains(s, " occurrences] ") && !strings.Contains(s, "[regression] ") {
			announced++
		}
	}
	if announced != len(want) {
		t.Errorf("%d announcements from two instances for %d new groups, want one each: %v", announced, len(want), subjects)
	}
	for s, n := range subjects {
		if n > 1 {
			t.Errorf("mail %q sent %d times by two instances, want once", s, n)
		}
	}
}

// collectorEnv is the environment of a distribution that forwards to
// upstream, stores in database db of the ClickHouse at chAddr, mails to
// inbox and serves its pages to ops, on free loopback ports.
func collectorEnv(t *testing.T, upstream, chAddr, db string, inbox *testenv.Inbox) map[string]string {
	t.Helper()
	return map[string]string{
		"OTLP_GRPC_ENDPOINT":          addr(t),
		"OTLP_HTTP_ENDPOINT":          addr(t),
		"UPSTREAM_OTLP_ENDPOINT":      upstream,
		"CLICKHOUSE_ADDR":             chAddr,
		"CLICKHOUSE_DATABASE":         db,
		"SMTP_ADDR":                   inbox.Addr,
		"SMTP_USERNAME":               testenv.InboxUser,
		"SMTP_PASSWORD":               testenv.InboxPassword,
		"APP_ERROR_SEND_NOTIFICATION": "true",
		"APP_ERROR_RECIPIENT_EMAIL":   "oncall@example.com",
		"APP_ERROR_EMAIL_SENDER":      "tracker@example.com",
		"BROWSE_ADDR":                 addr(t),
		"APP_ERROR_BROWSE_USER":       "ops",
		"APP_ERROR_BROWSE_PASSWORD":   "browse-pass",
	}
}

// startUpstream starts the OTLP/HTTP listener the distributions forward
// to, and returns it with its URL.
func startUpstream(t *testing.T) (*upstream, string) {
	t.Helper()
	up := &upstream{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: up, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return up, "http://" + l.Addr().String()
}
