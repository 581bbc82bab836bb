package main_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/errortracker/errortracker/internal/testenv"
)

// POST /crash: a goroutine panics and the process dies. After a restart on
// the same APP_ERROR_SPOOL_DIR the crash is a group within seconds, with
// the panic message and the goroutine's stack, mailed once; a further
// restart reports it no more.
func TestCrashRouteReportedAfterRestart(t *testing.T) {
	bin := build(t)
	inbox := testenv.StartPlainInbox(t)
	env := []string{
		"CLICKHOUSE_ADDR=" + testenv.ClickHouseAddr(t), "CLICKHOUSE_DATABASE=" + fmt.Sprintf("t_crash_%d", time.Now().UnixNano()),
		"APP_ERROR_SPOOL_DIR=" + filepath.Join(t.TempDir(), "spool"), "OTEL_SERVICE_NAME=webapp-crash",
		"SMTP_ADDR=" + inbox.Addr, "SMTP_USERNAME=" + testenv.InboxUser, "SMTP_PASSWORD=" + testenv.InboxPassword,
		"APP_ERROR_SEND_NOTIFICATION=true", "APP_ERROR_RECIPIENT_EMAIL=ops@example.com", "APP_ERROR_EMAIL_SENDER=tracker@example.com",
	}
	a := startApp(t, bin, env...)
	resp, err := http.PostForm(a.base+"/crash", url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	select {
	case err := <-a.exited:
		a.exited <- err
		if err == nil || !strings.Contains(a.logs.String(), "unrecovered panic in a background goroutine") {
			t.Fatalf("the app did not crash: %v\n%s", err, a.logs.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the app still runs 10 s after POST /crash")
	}

	b := startApp(t, bin, env...)
	start := time.Now()
	var group struct {
		Fingerprint string `json:"fingerprint"`
		Count       uint64 `json:"count"`
		Message     string `json:"message"`
	}
	for group.Fingerprint == "" {
		body, code := fetch(t, b.base+"/dev/error/api/exceptions", true)
		if code == 200 {
			var list struct {
				Groups []json.RawMessage `json:"groups"`
			}
			if err := json.Unmarshal([]byte(body), &list); err != nil {
				t.Fatal(err)
			}
			for _, g := range list.Groups {
				if strings.Contains(string(g), "unrecovered panic") {
					_ = json.Unmarshal(g, &group)
				}
			}
		}
		if time.Since(start) > 20*time.Second {
			t.Fatalf("no crash group 20 s after the restart: %d %s\n%s", code, body, b.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("the crash was a group %v after the restart", time.Since(start).Round(time.Millisecond))
	body, _ := fetch(t, b.base+"/dev/error/api/exceptions/"+group.Fingerprint, true)
	var detail struct {
		Latest struct {
			Type       string `json:"type"`
			Stacktrace string `json:"stacktrace"`
			Escaped    bool   `json:"escaped"`
			Service    string `json:"service"`
		} `json:"latest"`
	}
	if err := json.Unmarshal([]byte(body), &detail); err != nil {
		t.Fatal(err)
	}
	l := detail.Latest
	if group.Message != "unrecovered panic in a background goroutine" || l.Type != "panic" || !l.Escaped || l.Service != "webapp-crash" ||
		!strings.Contains(l.Stacktrace, "main.crashView.func1") {
		t.Errorf("crash group: %+v\n%+v", group, l)
	}
	inbox.WaitFor(t, 1)

	b.kill()
	c := startApp(t, bin, env...)
	time.Sleep(3 * time.Second)
	body, _ = fetch(t, c.base+"/dev/error/api/exceptions/"+group.Fingerprint, true)
	if !strings.Contains(body, `"count":1`) {
		t.Errorf("after a further restart: %s", body)
	}
	if n := len(inbox.Messages()); n != 1 {
		t.Errorf("%d mails, want the crash's one", n)
	}
}

// With CRASH_MONITOR=1 the monitor reports the crash at once: the
// occurrence is stored before the app starts again, and a restart does not
// count it twice.
func TestCrashMonitorReportsAtOnce(t *testing.T) {
	bin := build(t)
	db := fmt.Sprintf("t_crashmon_%d", time.Now().UnixNano())
	env := []string{
		"CLICKHOUSE_ADDR=" + testenv.ClickHouseAddr(t), "CLICKHOUSE_DATABASE=" + db,
		"APP_ERROR_SPOOL_DIR=" + filepath.Join(t.TempDir(), "spool"), "OTEL_SERVICE_NAME=webapp-crash",
	}
	a := startApp(t, bin, append(env, "CRASH_MONITOR=1")...)
	resp, err := http.PostForm(a.base+"/crash", url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	select {
	case err := <-a.exited:
		a.exited <- err
	case <-time.After(40 * time.Second):
		t.Fatalf("the monitor still runs 40 s after POST /crash\n%s", a.logs.String())
	}
	q := "SELECT uniqExact(id) FROM " + db + ".occurrences WHERE message = 'unrecovered panic in a background goroutine' AND escaped = 1"
	if n := chQueryAddr(t, testenv.ClickHouseHTTPAddr(t), q); n != "1" {
		t.Fatalf("occurrences stored by the monitor: %s, want 1\n%s", n, a.logs.String())
	}
	b := startApp(t, bin, env...)
	time.Sleep(2 * time.Second)
	b.kill()
	if n := chQueryAddr(t, testenv.ClickHouseHTTPAddr(t), q); n != "1" {
		t.Errorf("after a restart: %s distinct occurrences, want 1", n)
	}
}

// chQueryAddr runs a query on a server's HTTP interface at addr.
func chQueryAddr(t *testing.T, addr, q string) string {
	t.Helper()
	resp, err := http.Post("http://"+addr+"/", "text/plain", strings.NewReader(q))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = io.Copy(&b, resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %s", q, b.String())
	}
	return strings.TrimSpace(b.String())
}
