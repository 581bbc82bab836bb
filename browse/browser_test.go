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
	testenv.ChromiumPath(t)
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
	b := newBrowser(t, s, browse.Config{PageSize: 5, Authorize: browse.BasicAuth("admin", "pw")}, false)
	base, run, count, text, screenshot := b.base, b.run, b.count, b.text, b.screenshot
	ctx := b.ctx

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
}

// browser is a headless Chromium on a test server of the pages, logged in
// as admin.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
}

// newBrowser serves the pages over the store and starts Chromium. Unless
// skipAuthCheck, it first checks that without credentials the server
// challenges. At the end of the test no JavaScript dialog may have
// opened.
func newBrowser(t *testing.T, s exporter.Store, cfg browse.Config, skipAuthCheck bool) *browser {
	t.Helper()
	chromium := testenv.ChromiumPath(t)
	h, err := browse.New(s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/dev/error/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	base := srv.URL + "/dev/error/"

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.WindowSize(1280, 900))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancel)

	// The first Run starts the browser: no timeout on its context.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	if !skipAuthCheck {
		// Without credentials the server challenges; headless Chromium, which
		// cannot show the password prompt, reports exactly that.
		if _, err := chromedp.Run(ctx, chromedp.NavigateResponse(base)); err == nil || !strings.Contains(err.Error(), "ERR_INVALID_AUTH_CREDENTIALS") {
			t.Errorf("without credentials: %v, want the browser to be asked for credentials", err)
		}
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
	t.Cleanup(func() {
		if n := dialogs.Load(); n != 0 {
			t.Errorf("%d JavaScript dialogs opened", n)
		}
	})
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:pw"))
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": auth}}); err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, ctx: ctx, base: base}
}

// run runs the actions, failing the test after 20 s.
func (b *browser) run(name string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	actx, acancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer acancel()
	if err := chromedp.Do(actx, actions...); err != nil {
		b.t.Fatalf("%s: %v", name, err)
	}
}

// count is the number of elements the selector finds.
func (b *browser) count(selector string) int {
	b.t.Helper()
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", selector)))
	if err != nil {
		b.t.Fatal(err)
	}
	return n
}

// text is the text of the first element the selector finds.
func (b *browser) text(selector string) string {
	b.t.Helper()
	actx, acancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer acancel()
	s, err := chromedp.Run(actx, chromedp.Text(chromedp.CSS(selector)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", selector, err)
	}
	return s
}

// screenshot saves the page as name under ERRORTRACKER_SCREENSHOTS, if
// set.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	shots := os.Getenv("ERRORTRACKER_SCREENSHOTS")
	if shots == "" {
		return
	}
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(shots, name), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// TestTriageInBrowser drives the workflow's buttons in a real headless
// Chromium, with no JavaScript on the pages: bulk resolve, ignore and
// delete of selected groups from the list (one by keyboard only), and on a
// group's page resolve in the next release, reopen, the three ignore
// conditions, merge and unmerge. With ERRORTRACKER_SCREENSHOTS=DIR it also
// saves triage-list.png and triage-detail.png.
func TestTriageInBrowser(t *testing.T) {
	testenv.ChromiumPath(t)
	s, tr := triageStore(t)
	past := time.Now().Add(-3 * time.Hour)
	for i := range 6 {
		fp := fmt.Sprintf("t%d", i)
		export(t, s, fp, "1.4.0", past.Add(time.Duration(i)*time.Minute))
	}
	export(t, s, "t0", "1.4.1", past.Add(time.Hour))
	export(t, s, "t0", "1.5.0", past.Add(2*time.Hour))
	b := newBrowser(t, s, browse.Config{Authorize: browse.BasicAuth("admin", "pw")}, true)
	status := func(fp string) string {
		t.Helper()
		return b.text(fmt.Sprintf(`tr.group[data-fingerprint=%q] .status`, fp))
	}
	row := func(fp string) string { return fmt.Sprintf(`tr.group[data-fingerprint=%q]`, fp) }

	// Select two groups, resolve them: both shown resolved, the others not.
	b.run("list", chromedp.Navigate(b.base), chromedp.WaitVisible(chromedp.CSS("#bulk")))
	b.run("bulk resolve",
		chromedp.Click(chromedp.CSS("#select-t1")), chromedp.Click(chromedp.CSS("#select-t2")),
		chromedp.Click(chromedp.CSS("#bulk-resolve")),
		chromedp.WaitVisible(chromedp.CSS(row("t2")+" .status.resolved")))
	if status("t1") != "resolved" || status("t2") != "resolved" || status("t3") != "open" {
		t.Errorf("after bulk resolve: t1 %s, t2 %s, t3 %s; want resolved, resolved, open", status("t1"), status("t2"), status("t3"))
	}
	if n := b.count("input[name=fp]:checked"); n != 0 {
		t.Errorf("%d boxes still checked after the action", n)
	}
	b.run("bulk resolve in next release",
		chromedp.Click(chromedp.CSS("#select-t4")), chromedp.Click(chromedp.CSS("#select-t5")),
		chromedp.Click(chromedp.CSS("#bulk-resolve-next")),
		chromedp.WaitVisible(chromedp.CSS(row("t5")+" .status.resolved")))
	if st, err := s.GroupStates(context.Background(), []string{"t4", "t5"}); err != nil || !st["t4"].Change.InNextRelease || !st["t5"].Change.InNextRelease {
		t.Errorf("after bulk resolve in next release: %+v %v", st, err)
	}
	// The same by keyboard alone: focus, space to check, Enter on the
	// button.
	b.run("bulk ignore by keyboard",
		chromedp.Focus(chromedp.CSS("#select-t1")), chromedp.KeyEvent(" "),
		chromedp.Focus(chromedp.CSS("#select-t3")), chromedp.KeyEvent(" "),
		chromedp.Focus(chromedp.CSS("#bulk-ignore")), chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.CSS(row("t3")+" .status.ignored")))
	if status("t1") != "ignored" || status("t3") != "ignored" || status("t2") != "resolved" {
		t.Errorf("after bulk ignore: t1 %s, t3 %s, t2 %s; want ignored, ignored, resolved", status("t1"), status("t3"), status("t2"))
	}
	b.run("filter ignored", chromedp.Navigate(b.base+"?status=ignored"), chromedp.WaitVisible(chromedp.CSS("#bulk")))
	if n := b.count("tr.group"); n != 2 {
		t.Errorf("the ignored filter shows %d groups, want 2", n)
	}
	// Delete two; the list comes back with the filter it had.
	b.run("bulk delete",
		chromedp.Click(chromedp.CSS("#select-t1")), chromedp.Click(chromedp.CSS("#select-t3")),
		chromedp.Click(chromedp.CSS("#bulk-delete")),
		chromedp.WaitNotPresent(chromedp.CSS(row("t3"))))
	if loc, err := chromedp.Run(b.ctx, chromedp.Location()); err != nil || !strings.HasSuffix(loc, "/dev/error/?status=ignored") {
		t.Errorf("after bulk delete at %q (%v), want the ignored list again", loc, err)
	}
	for _, fp := range []string{"t1", "t3"} {
		if _, _, err := s.GetGroup(context.Background(), fp); err == nil {
			t.Errorf("%s is still in the store after the bulk delete", fp)
		}
	}
	b.run("release filter", chromedp.Navigate(b.base+"?new_in_release=1.4.0"), chromedp.WaitVisible(chromedp.CSS("#bulk")))
	if n := b.count("tr.group"); n != 4 {
		t.Errorf("new in 1.4.0 shows %d groups, want 4 (t0, t2, t4, t5)", n)
	}

	// The group's page: resolve in the next release, then reopen.
	b.run("detail", chromedp.Navigate(b.base+"t0"), chromedp.WaitVisible(chromedp.CSS("#releases")))
	if n := b.count("#releases tbody tr"); n != 3 {
		t.Errorf("the page lists %d releases, want 3", n)
	}
	b.run("resolve next", chromedp.Click(chromedp.CSS("#action-resolve-next")), chromedp.WaitVisible(chromedp.CSS("#action-reopen")))
	if got := b.text("#change"); b.text("#status") != "resolved" || !strings.HasPrefix(got, "resolved in the next release by admin") {
		t.Errorf("after resolve in next release: %q, %q", b.text("#status"), got)
	}
	reopen := func() {
		t.Helper()
		b.run("reopen", chromedp.Click(chromedp.CSS("#action-reopen")), chromedp.WaitVisible(chromedp.CSS("#status.open")))
		if got := b.text("#status"); got != "open" {
			t.Errorf("after reopen: %q", got)
		}
	}
	reopen()
	// Ignore, with each condition from its own form.
	in2days := time.Now().UTC().Add(48 * time.Hour).Truncate(time.Minute)
	for _, tc := range []struct {
		name    string
		fill    []chromedp.Action[chromedp.Void]
		button  string
		wantCon string
	}{
		{"count", []chromedp.Action[chromedp.Void]{chromedp.SendKeys(chromedp.CSS("#ignore-count"), "5")}, "#action-ignore-count", "until 5 more occurrences"},
		{"rate", []chromedp.Action[chromedp.Void]{chromedp.SendKeys(chromedp.CSS("#ignore-rate-count"), "10"),
			chromedp.SetValue(chromedp.CSS("#ignore-rate-window"), "10m")}, "#action-ignore-rate", "until 10 occurrences within 10m"},
		{"until", []chromedp.Action[chromedp.Void]{chromedp.SetValue(chromedp.CSS("#ignore-until"), in2days.Format("2006-01-02T15:04"))},
			"#action-ignore-until", "until " + in2days.Format("2006-01-02 15:04:05 UTC")},
		{"forever", nil, "#action-ignore", "forever"},
	} {
		steps := append([]chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS("#ignore-menu summary"))}, tc.fill...)
		steps = append(steps, chromedp.Click(chromedp.CSS(tc.button)), chromedp.WaitVisible(chromedp.CSS("#status.ignored")))
		b.run("ignore "+tc.name, steps...)
		if got := b.text("#condition"); got != tc.wantCon {
			t.Errorf("ignore %s: condition %q, want %q", tc.name, got, tc.wantCon)
		}
		if tc.name != "forever" {
			reopen()
		}
	}

	// Merge t5 into t0 from t5's page; t0 lists it; t5's page is t0's with
	// a notice; unmerge from the notice.
	b.run("merge", chromedp.Navigate(b.base+"t5"), chromedp.WaitVisible(chromedp.CSS("#merge-menu")),
		chromedp.Click(chromedp.CSS("#merge-menu summary")), chromedp.SendKeys(chromedp.CSS("#merge-into"), "t0"),
		chromedp.Click(chromedp.CSS("#action-merge")), chromedp.WaitVisible(chromedp.CSS(`#parts li[data-fingerprint="t5"]`)))
	if loc, _ := chromedp.Run(b.ctx, chromedp.Location()); !strings.HasSuffix(loc, "/dev/error/t0") {
		t.Errorf("after merge at %q, want the target's page", loc)
	}
	b.run("the page with its menus open, for the screenshot", chromedp.Navigate(b.base+"t0"), chromedp.WaitVisible(chromedp.CSS("#parts")),
		chromedp.Click(chromedp.CSS("#action-reopen")), chromedp.WaitVisible(chromedp.CSS("#status.open")),
		chromedp.Click(chromedp.CSS("#ignore-menu summary")), chromedp.EmulateViewport(1280, 1200))
	b.screenshot("triage-detail.png")
	// On a phone, the page with both menus open does not scroll sideways.
	b.run("phone", chromedp.EmulateViewport(390, 844), chromedp.Navigate(b.base+"t0"), chromedp.WaitVisible(chromedp.CSS("#merge-menu")),
		chromedp.Click(chromedp.CSS("#ignore-menu summary")), chromedp.Click(chromedp.CSS("#merge-menu summary")))
	if wide, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool]("document.documentElement.scrollWidth > window.innerWidth + 1")); err != nil || wide {
		culprits, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll("main *")).filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).map(e => e.tagName + "#" + e.id + "." + e.className).slice(0, 10).join(" ")`))
		t.Errorf("the group's page scrolls sideways on a phone (%v): %s", err, culprits)
	}
	b.run("part", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(b.base+"t5"), chromedp.WaitVisible(chromedp.CSS("#merged-notice")))
	if got := b.text("#count"); got != "4" {
		t.Errorf("the merged group counts %s occurrences, want 3 + 1", got)
	}
	b.run("unmerge", chromedp.Click(chromedp.CSS("#action-unmerge")), chromedp.WaitNotPresent(chromedp.CSS("#merged-notice")))
	if got := b.text("#count"); got != "1" {
		t.Errorf("t5 unmerged counts %s, want 1", got)
	}
	b.run("t0 again", chromedp.Navigate(b.base+"t0"), chromedp.WaitVisible(chromedp.CSS("#status")))
	if n := b.count("#parts li"); n != 0 {
		t.Errorf("t0 still lists %d parts after the unmerge", n)
	}

	// The list as a team sees it: a regression, an ignore with its
	// condition, a merge, releases, a selection.
	ctx := context.Background()
	if err := tr.SetState(ctx, []string{"t0"}, exporter.Change{Status: exporter.StatusResolved, InNextRelease: true, By: "admin"}); err != nil {
		t.Fatal(err)
	}
	export(t, s, "t0", "1.6.0", time.Now().Add(time.Second))
	if err := tr.SetState(ctx, []string{"t4"}, exporter.Change{Status: exporter.StatusIgnored, By: "admin",
		Ignore: exporter.Ignore{Rate: exporter.Rate{Count: 100, Window: time.Hour}}}); err != nil {
		t.Fatal(err)
	}
	if err := tr.Merge(ctx, "t0", []string{"t5"}, "admin"); err != nil {
		t.Fatal(err)
	}
	b.run("list for the screenshot", chromedp.Navigate(b.base), chromedp.WaitVisible(chromedp.CSS("#bulk")),
		chromedp.Click(chromedp.CSS("#select-t2")), chromedp.Click(chromedp.CSS("#select-t4")))
	if got := b.text(row("t0") + " .flag"); got != "regressed in 1.6.0" {
		t.Errorf("t0 in the list: %q, want regressed in 1.6.0", got)
	}
	b.screenshot("triage-list.png")
}
