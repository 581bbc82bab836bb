package main_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/exporter/clickhouse"
	"github.com/errortracker/errortracker/internal/testenv"
)

// The secrets the test plants; none may leave the app unmasked.
var secrets = []string{"hunter2-password", "s3cr3t-value", "tok-4711-secret"}

// otlpSink is an OTLP/HTTP receiver that keeps the raw request bodies.
type otlpSink struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (s *otlpSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.bodies = append(s.bodies, b)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(http.StatusOK)
}

func (s *otlpSink) all() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Join(s.bodies, nil)
}

// TestWebapp starts the example binary against the test ClickHouse, a real
// SMTP server on loopback and an OTLP receiver, drives every route over
// HTTP, and checks what the store, the mail and OTLP received.
func TestWebapp(t *testing.T) {
	chAddr := testenv.ClickHouseAddr(t)
	chHTTP := testenv.ClickHouseHTTPAddr(t)
	inbox := testenv.StartPlainInbox(t)
	sink := &otlpSink{}
	otlp := httptest.NewServer(sink)
	defer otlp.Close()

	bin := build(t)
	db := fmt.Sprintf("t_webapp_%d", time.Now().UnixNano())
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"ADDR="+addr, "CLICKHOUSE_ADDR="+chAddr, "CLICKHOUSE_DATABASE="+db,
		"SMTP_ADDR="+inbox.Addr, "SMTP_USERNAME="+testenv.InboxUser, "SMTP_PASSWORD="+testenv.InboxPassword,
		"APP_ERROR_SEND_NOTIFICATION=true", "APP_ERROR_RECIPIENT_EMAIL=ops@example.com",
		"APP_ERROR_EMAIL_SENDER=tracker@example.com", "APP_ERROR_SUBJECT_PREFIX=[webapp]",
		"APP_ERROR_BROWSE_USER=admin", "APP_ERROR_BROWSE_PASSWORD=pw",
		"OTEL_EXPORTER_OTLP_ENDPOINT="+otlp.URL, "OTEL_SERVICE_NAME=webapp-e2e",
	)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Kill()
		<-exited
	}()

	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.TrimSpace(string(body)) == "No Exception!" {
				break
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("webapp exited: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("webapp did not answer within 30 s\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}

	status := func(method, path string, form url.Values) int {
		t.Helper()
		var resp *http.Response
		var err error
		if method == http.MethodPost {
			resp, err = http.PostForm(base+path, form)
		} else {
			resp, err = http.Get(base + path)
		}
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, req := range []struct {
		method, path string
		form         url.Values
		want         int
	}{
		{"GET", "/value-error?amount=12&token=" + secrets[2], nil, 500},
		{"GET", "/value-error?amount=7", nil, 500},
		{"POST", "/value-error", url.Values{"amount": {"x"}}, 500},
		{"POST", "/post-view", url.Values{"username": {"bob"}, "password": {secrets[0]}, "secret": {secrets[1]}}, 500},
		{"GET", "/panic", nil, 500},
		{"GET", "/message", nil, 200},
		{"GET", "/scope", nil, 500},
	} {
		if got := status(req.method, req.path, req.form); got != req.want {
			t.Errorf("%s %s = %d, want %d", req.method, req.path, got, req.want)
		}
	}

	// The pages list the groups, behind basic auth.
	req, _ := http.NewRequest(http.MethodGet, base+"/dev/error/", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
		t.Errorf("browse without credentials: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	// A graceful stop flushes the store, the mail and OTLP.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		exited <- err
		if err != nil {
			t.Fatalf("webapp stopped with %v\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("webapp did not stop within 30 s\n%s", logs.String())
	}

	store, err := clickhouse.New(context.Background(), clickhouse.Config{Addrs: []string{chAddr}, Database: db})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Shutdown(context.Background())
	ctx := context.Background()
	page, err := store.ListGroups(ctx, exporter.GroupQuery{PageSize: 50})
	if err != nil {
		t.Fatal(err)
	}
	groups := map[string]exporter.Group{}
	for _, g := range page.Groups {
		groups[g.Path] = g
	}
	if len(page.Groups) != 5 {
		t.Errorf("%d groups, want 5 (value-error, post-view, panic, message, scope): %+v", len(page.Groups), page.Groups)
	}
	if g := groups["/value-error"]; g.Count != 3 {
		t.Errorf("/value-error GET, GET, POST: count %d, want one group of 3", g.Count)
	}
	latest := func(path string) exporter.Record {
		t.Helper()
		_, r, err := store.GetGroup(ctx, groups[path].Fingerprint)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return r
	}
	attrs := func(r exporter.Record) map[string]string {
		m := map[string]string{}
		for _, kv := range append(r.Attributes, r.Extras...) {
			m[string(kv.Key)] = kv.Value.Emit()
		}
		return m
	}
	post := attrs(latest("/post-view"))
	if post["http.request.form.username"] != `["bob"]` || post["http.request.form.password"] != "**************" || post["http.request.form.secret"] != "**************" {
		t.Errorf("/post-view context: %v", post)
	}
	sc := attrs(latest("/scope"))
	if sc["id"] != "1234" || sc["email"] != "example@example.com" {
		t.Errorf("/scope extras: %v", sc)
	}
	if p := latest("/panic"); !strings.Contains(p.Stacktrace, "main.panicView") || !p.Escaped || groups["/panic"].Type != "runtime.plainError" && !strings.HasPrefix(groups["/panic"].Type, "runtime.") {
		t.Errorf("/panic: type %q escaped %v stack:\n%s", groups["/panic"].Type, p.Escaped, p.Stacktrace)
	}
	if m := groups["/message"]; m.Message != "Something went wrong!" {
		t.Errorf("/message: %q", m.Message)
	}

	// Every new group announced by mail exactly once, with the prefix.
	mails := inbox.Messages()
	if len(mails) != len(page.Groups) {
		t.Errorf("%d mails for %d groups", len(mails), len(page.Groups))
	}
	for _, g := range page.Groups {
		n := 0
		for _, m := range mails {
			p := testenv.ParseMail(t, m)
			if !strings.HasPrefix(p.Subject, "[webapp] ") {
				t.Errorf("subject without the prefix: %q", p.Subject)
			}
			if strings.Contains(p.Text, groups[g.Path].Fingerprint) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("group %s (%s) announced %d times, want once", g.Path, g.Message, n)
		}
	}

	// No secret anywhere: not in any table, not in a mail, not over OTLP.
	if len(sink.all()) == 0 {
		t.Error("nothing arrived over OTLP")
	}
	var tables []string
	for _, table := range []string{"occurrences", "groups", "group_counts", "group_state"} {
		tables = append(tables, clickhouseDump(t, chHTTP, db+"."+table))
	}
	var mailText []string
	for _, m := range mails {
		mailText = append(mailText, string(m.Data))
	}
	for _, s := range secrets {
		for where, text := range map[string]string{"ClickHouse": strings.Join(tables, "\n"), "mail": strings.Join(mailText, "\n"), "OTLP": string(sink.all())} {
			if strings.Contains(text, s) {
				t.Errorf("the secret %q reached %s", s, where)
			}
		}
	}
	if !strings.Contains(tables[0], "bob") {
		t.Error("the dump of occurrences lacks even the user name: the check above would prove nothing")
	}
}

// clickhouseDump returns a table's whole content as text, through the HTTP
// interface (aggregate states included: their strings show raw).
func clickhouseDump(t *testing.T, httpAddr, table string) string {
	t.Helper()
	resp, err := http.Post("http://"+httpAddr+"/", "text/plain", strings.NewReader("SELECT * FROM "+table+" FORMAT TabSeparated"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("dump %s: %s", table, b)
	}
	return string(b)
}

// build compiles the example into a temporary directory.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "webapp")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// TestConfigurationMistakeIsOneLine: a bad setting stops the app with one
// clear line and a failure status, not a stack trace.
func TestConfigurationMistakeIsOneLine(t *testing.T) {
	bin := build(t)
	for _, tc := range []struct {
		env  []string
		want string
	}{
		{[]string{"APP_ERROR_RECIPIENT_EMAIL=ops@example.com", "APP_ERROR_SEND_NOTIFICATION=maybe"}, "APP_ERROR_EMAIL_SENDER"},
		{[]string{"APP_ERROR_URL_PREFIX=dev/error"}, "must start with /"},
	} {
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), tc.env...)
		out, err := cmd.CombinedOutput()
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if err == nil || len(lines) != 1 || !strings.HasPrefix(lines[0], "webapp: configuration: ") || !strings.Contains(lines[0], tc.want) {
			t.Errorf("%v: exit %v, output:\n%s", tc.env, err, out)
		}
	}
}
