package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/errortracker/errortracker/internal/testenv"
)

// An error tracker must never keep the app from starting: the example app
// starts while its ClickHouse is down, its errors wait, the pages say why
// they cannot show them yet, and once ClickHouse is up both errors arrive.
func TestWebappStartsBeforeClickHouse(t *testing.T) {
	bin := build(t)
	chPort := testenv.FreePort(t)
	chAddr := fmt.Sprintf("127.0.0.1:%d", chPort)
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"ADDR="+addr, "CLICKHOUSE_ADDR="+chAddr, "CLICKHOUSE_DATABASE=webapp_early",
		"APP_ERROR_BROWSE_USER=admin", "APP_ERROR_BROWSE_PASSWORD=pw", "OTEL_SERVICE_NAME=webapp-early",
	)
	var logs syncBuffer
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
		if body, code := fetch(t, base+"/", false); code == 200 && strings.TrimSpace(body) == "No Exception!" {
			break
		}
		select {
		case err := <-exited:
			exited <- err // for the deferred Kill's wait
			t.Fatalf("webapp exited with ClickHouse down: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("webapp did not answer within 30 s with ClickHouse down\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, path := range []string{"/value-error?amount=3", "/panic"} {
		if _, code := fetch(t, base+path, false); code != 500 {
			t.Errorf("%s: %d, want 500", path, code)
		}
	}
	if body, code := fetch(t, base+"/dev/error/", true); code != 503 || !strings.Contains(body, "not ready") || !strings.Contains(body, chAddr) {
		t.Errorf("the pages with ClickHouse down: %d\n%s", code, body)
	}

	testenv.StartClickHouse(t, testenv.ClickHouseConfig{TCPPort: chPort})
	var list struct {
		Groups []struct {
			Path  string `json:"path"`
			Count uint64 `json:"count"`
		} `json:"groups"`
	}
	deadline = time.Now().Add(90 * time.Second)
	for {
		body, code := fetch(t, base+"/dev/error/api/exceptions", true)
		if code == 200 {
			if err := json.Unmarshal([]byte(body), &list); err != nil {
				t.Fatalf("%v: %s", err, body)
			}
			if len(list.Groups) == 2 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the errors captured before ClickHouse started did not arrive within 90 s: %d %s\n%s", code, body, logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	paths := map[string]uint64{}
	for _, g := range list.Groups {
		paths[g.Path] = g.Count
	}
	if paths["/value-error"] != 1 || paths["/panic"] != 1 {
		t.Errorf("groups %v, want /value-error and /panic once each", paths)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		exited <- err
		if err != nil {
			t.Errorf("webapp stopped with %v\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("webapp did not stop within 30 s\n%s", logs.String())
	}
}

// fetch GETs url, with the pages' credentials when auth is set.
func fetch(t *testing.T, url string, auth bool) (string, int) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth {
		req.SetBasicAuth("admin", "pw")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err.Error(), 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), resp.StatusCode
}

// syncBuffer is a bytes.Buffer that the app's output and the test can
// share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
