package browse_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"go.opentelemetry.io/otel/attribute"

	"github.com/errortracker/errortracker/browse"
	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/internal/testenv"
)

// TestInBrowser drives the pages in a real headless Chromium: the list,
// paging, the detail page, resolve and delete from the buttons, stored XSS
// that stays inert, and 401 without credentials. With
// ERRORTRACKER_SCREENSHOTS=DIR it also saves the screenshots the README
// shows.
func TestInBrowser(t *testing.T) {
	chromium := testenv.ChromiumPath(t)
	s := newStore(t)
	fill(t, s, 6)
	xss := []string{`<script>alert(1)</script>`, `"><img src=x onerror=alert(1)>`}
	for i, p := range xss {
		r := record(fmt.Sprintf("xss%d", i), time.Now(), p)
		r.Extras = append(r.Extras, attribute.String("comment", p))
		if err := s.Export(context.Background(), []exporter.Record{r}); err != nil {
			t.Fatal(err)
		}
	}
	h, err := browse.New(s, browse.Config{PageSize: 5, Authorize: browse.BasicAuth("admin", "pw")})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/dev/error/", h)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	base := srv.URL + "/dev/error/"

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.WindowSize(1280, 900))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()

	// The first Run starts the browser: no timeout on its context.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	// Without credentials the server challenges; headless Chromium, which
	// cannot show the password prompt, reports exactly that.
	if _, err := chromedp.Run(ctx, chromedp.NavigateResponse(base)); err == nil || !strings.Contains(err.Error(), "ERR_INVALID_AUTH_CREDENTIALS") {
		t.Errorf("without credentials: %v, want the browser to be asked for credentials", err)
	}

	var dialogs atomic.Int32
	events := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range events {
			if err != nil {
				return
			}
			dialogs.Add(1)
		}
	}()
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:pw"))
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": auth}}); err != nil {
		t.Fatal(err)
	}

	run := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		actx, acancel := context.WithTimeout(ctx, 20*time.Second)
		defer acancel()
		if err := chromedp.Do(actx, actions...); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	count := func(selector string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", selector)))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	text := func(selector string) string {
		t.Helper()
		actx, acancel := context.WithTimeout(ctx, 20*time.Second)
		defer acancel()
		s, err := chromedp.Run(actx, chromedp.Text(chromedp.CSS(selector)))
		if err != nil {
			t.Fatalf("text of %s: %v", selector, err)
		}
		return s
	}
	shots := os.Getenv("ERRORTRACKER_SCREENSHOTS")
	screenshot := func(name string) {
		if shots == "" {
			return
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(shots, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The list shows the groups, newest first, five a page.
	run("list", chromedp.Navigate(base), chromedp.WaitVisible(chromedp.CSS("table.groups")))
	if n := count("tr.group"); n != 5 {
		t.Errorf("first page shows %d groups, want 5", n)
	}
	if count("a.newer") != 0 || count("a.older") != 1 {
		t.Error("the first page links only to older errors")
	}
	screenshot("list.png")
	// On a phone the table folds into lines and nothing overflows sideways.
	run("phone", chromedp.EmulateViewport(390, 844), chromedp.Navigate(base), chromedp.WaitVisible(chromedp.CSS("table.groups")))
	if wide, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("document.documentElement.scrollWidth > window.innerWidth + 1")); err != nil || wide {
		t.Errorf("the list scrolls sideways on a phone (%v)", err)
	}
	screenshot("list-phone.png")
	run("desktop", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(base), chromedp.WaitVisible(chromedp.CSS("table.groups")))
	run("older", chromedp.Click(chromedp.CSS("a.older")), chromedp.WaitVisible(chromedp.CSS("a.newer")))
	if n := count("tr.group"); n != 3 {
		t.Errorf("second page shows %d groups, want 3", n)
	}
	run("newer", chromedp.Click(chromedp.CSS("a.newer")), chromedp.WaitVisible(chromedp.CSS("a.older")))

	// The stored XSS payloads stay text.
	for i, p := range xss {
		run("xss detail", chromedp.Navigate(fmt.Sprintf("%sxss%d", base, i)), chromedp.WaitVisible(chromedp.CSS("#message")))
		if got := text("#message"); got != p {
			t.Errorf("message shown as %q, want the payload as text", got)
		}
		if n := count("#extras img, #extras script, main img, main script"); n != 0 {
			t.Errorf("the payload made %d elements", n)
		}
	}
	run("list with payloads", chromedp.Navigate(base+"?q=alert"), chromedp.WaitVisible(chromedp.CSS("table.groups")))
	if n := count("tr.group"); n != 2 {
		t.Errorf("search for the payloads shows %d groups", n)
	}

	// The detail page shows the stack with the app's frames set apart.
	run("detail", chromedp.Navigate(base+"g03"), chromedp.WaitVisible(chromedp.CSS("#stack")))
	if count("#stack li.app") != 1 || count("#stack li.lib") != 1 {
		t.Errorf("stack: %d app frames, %d library frames", count("#stack li.app"), count("#stack li.lib"))
	}
	// The middleware's recover and the runtime's panic are folded, closed.
	if count("#stack li.folded") != 1 || count("#stack li.folded details[open]") != 0 || !strings.Contains(text("#stack li.folded summary"), "2 frames") {
		t.Errorf("stack: %d folded runs (%q), want the tracker's and the runtime's 2 frames folded and closed",
			count("#stack li.folded"), text("#stack li.folded summary"))
	}
	screenshot("detail.png")

	// Resolve and delete from the buttons.
	run("resolve", chromedp.Click(chromedp.CSS("#action-resolve")), chromedp.WaitVisible(chromedp.CSS("#action-reopen")))
	if got := text("#status"); got != "resolved" {
		t.Errorf("status after resolve: %q", got)
	}
	run("delete", chromedp.Click(chromedp.CSS("#action-delete")), chromedp.WaitVisible(chromedp.CSS("table.groups")))
	if n := count(`tr.group[data-fingerprint="g03"]`); n != 0 {
		t.Error("the deleted group is still listed")
	}
	if _, _, err := s.GetGroup(context.Background(), "g03"); err == nil {
		t.Error("the deleted group is still in the store")
	}
	if n := dialogs.Load(); n != 0 {
		t.Errorf("%d JavaScript dialogs opened", n)
	}
}
