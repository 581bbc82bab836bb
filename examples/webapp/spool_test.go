package main_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/errortracker/errortracker/internal/testenv"
)

// app is one run of the example app as a process.
type app struct {
	t      *testing.T
	cmd    *exec.Cmd
	logs   *syncBuffer
	exited chan error
	base   string
}

func startApp(t *testing.T, bin string, env ...string) *app {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	a := &app{t: t, cmd: exec.Command(bin), logs: &syncBuffer{}, exited: make(chan error, 1), base: "http://" + addr}
	a.cmd.Env = append(append(os.Environ(), "ADDR="+addr, "APP_ERROR_BROWSE_USER=admin", "APP_ERROR_BROWSE_PASSWORD=pw"), env...)
	a.cmd.Stdout, a.cmd.Stderr = a.logs, a.logs
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { a.exited <- a.cmd.Wait() }()
	t.Cleanup(func() { a.kill() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		if body, code := fetch(t, a.base+"/", false); code == 200 && strings.TrimSpace(body) == "No Exception!" {
			return a
		}
		select {
		case err := <-a.exited:
			a.exited <- err
			t.Fatalf("webapp exited: %v\n%s", err, a.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("webapp did not answer within 30 s\n%s", a.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill ends the app with SIGKILL, as the OOM killer or a deploy gone
// wrong does: no shutdown, no flush.
func (a *app) kill() {
	_ = a.cmd.Process.Signal(syscall.SIGKILL)
	err := <-a.exited
	a.exited <- err
}

// fail sends n requests that each capture an error.
func (a *app) fail(from, n int) {
	a.t.Helper()
	for i := from; i < from+n; i++ {
		if _, code := fetch(a.t, a.base+"/value-error?amount="+strconv.Itoa(i), false); code != 500 {
			a.t.Fatalf("request %d: %d", i, code)
		}
	}
}

// count reads the /value-error group's count from the JSON API; 0 while
// there is none or the store is not ready.
func (a *app) count() uint64 {
	a.t.Helper()
	body, code := fetch(a.t, a.base+"/dev/error/api/exceptions", true)
	if code != 200 {
		return 0
	}
	var list struct {
		Groups []struct {
			Path  string `json:"path"`
			Count uint64 `json:"count"`
		} `json:"groups"`
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		a.t.Fatalf("%v: %s", err, body)
	}
	for _, g := range list.Groups {
		if g.Path == "/value-error" {
			return g.Count
		}
	}
	return 0
}

// waitCount waits until the JSON API counts want, and fails on more.
func (a *app) waitCount(want uint64) {
	a.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := a.count()
		if got == want {
			return
		}
		if got > want || time.Now().After(deadline) {
			a.t.Fatalf("the JSON API counts %d, want %d\n%s", got, want, a.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// chQuery runs a query on the server's HTTP interface.
func chQuery(t *testing.T, httpPort int, q string) string {
	t.Helper()
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/", httpPort), "text/plain", strings.NewReader(q))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %s", q, b)
	}
	return strings.TrimSpace(string(b))
}

// Kill during an outage: ClickHouse is frozen, 300 failing requests are
// served, the app is killed with SIGKILL; ClickHouse resumes and the app
// restarts on the same spool. The JSON API counts all 300 plus the 20
// before, exactly, and so do the distinct ids in occurrences. Then a
// second outage ends with a torn spool tail (the last record cut in half,
// as a kill in the middle of a write leaves it): it is skipped and
// counted, and every record before it arrives.
func TestKillDuringOutageLosesNothing(t *testing.T) {
	bin := build(t)
	ch := testenv.StartClickHouse(t, testenv.ClickHouseConfig{})
	spoolDir := filepath.Join(t.TempDir(), "spool")
	env := []string{
		"CLICKHOUSE_ADDR=" + fmt.Sprintf("127.0.0.1:%d", ch.Config.TCPPort), "CLICKHOUSE_DATABASE=spooled",
		"APP_ERROR_SPOOL_DIR=" + spoolDir, "OTEL_SERVICE_NAME=webapp-spool",
	}
	a := startApp(t, bin, env...)
	a.fail(0, 20)
	a.waitCount(20)

	ch.Freeze(t)
	thawed := false
	defer func() {
		if !thawed {
			ch.Thaw(t)
		}
	}()
	a.fail(20, 300)
	// The spool commits every 100 ms (W); wait past it, then kill.
	time.Sleep(500 * time.Millisecond)
	a.kill()
	ch.Thaw(t)
	thawed = true

	b := startApp(t, bin, env...)
	b.waitCount(320)
	if ids := chQuery(t, ch.Config.HTTPPort, "SELECT uniqExact(id) FROM spooled.occurrences WHERE path = '/value-error'"); ids != "320" {
		t.Errorf("distinct occurrence ids: %s, want 320", ids)
	}
	// A second process on the same spool, as in a rolling restart: it
	// waits for the lock (5 s), then runs on memory alone and says so.
	d := startApp(t, bin, env...)
	if !strings.Contains(d.logs.String(), "on memory alone") {
		t.Errorf("the second process did not say it runs without the spool:\n%s", d.logs.String())
	}
	d.kill()
	time.Sleep(300 * time.Millisecond) // the cursors are saved at the next commit
	b.kill()

	// A torn tail.
	a = startApp(t, bin, env...)
	a.waitCount(320)
	ch.Freeze(t)
	thawed = false
	a.fail(320, 10)
	time.Sleep(500 * time.Millisecond)
	a.kill()
	segs, _ := filepath.Glob(filepath.Join(spoolDir, "*.seg"))
	if len(segs) == 0 {
		t.Fatal("no spool segment after the second outage")
	}
	last := segs[len(segs)-1]
	st, err := os.Stat(last)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(last, st.Size()-20); err != nil {
		t.Fatal(err)
	}
	ch.Thaw(t)
	thawed = true
	c := startApp(t, bin, env...)
	c.waitCount(329)
	if !strings.Contains(c.logs.String(), "torn tail skipped") {
		t.Errorf("the restarted app did not report the torn tail:\n%s", c.logs.String())
	}
	time.Sleep(time.Second)
	if got := c.count(); got != 329 {
		t.Errorf("count %d after the torn tail, want 329", got)
	}
}
