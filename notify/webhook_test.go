package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/internal/testenv"
	"github.com/errortracker/errortracker/notify"
	"github.com/errortracker/errortracker/notify/webhook"
	"github.com/errortracker/errortracker/processor"
	"github.com/errortracker/errortracker/scope"
)

func note(fp string) notify.Notification {
	r := rec(fp, "1.4.0", time.Date(2026, 11, 29, 1, 2, 3, 0, time.UTC))
	return notify.Notification{Event: notify.EventNew, ID: "0123456789abcdef0123456789abcdef", Time: r.Time,
		Groups: []notify.Group{{Fingerprint: fp, Record: r, Count: 1, FirstSeen: r.Time, LastSeen: r.Time, FirstRelease: "1.4.0",
			Link: "https://shop.example.com/dev/error/" + fp}}}
}

// Expect: a request the receiver gets verifies under the secret; the
// same body with one byte changed, or under another secret, does not; the
// id and sent_at are inside the signed body.
func TestSignatureVerifiesAndTamperingFails(t *testing.T) {
	r := startReceiver(t)
	w, err := webhook.New(webhook.Config{URL: r.URL, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Notify(context.Background(), note("fp-sig")); err != nil {
		t.Fatal(err)
	}
	h := r.waitFor(t, 1)[0]
	if !webhook.Verify(secret, h.Raw, h.SignatureRaw) || !strings.HasPrefix(h.SignatureRaw, "sha256=") || len(h.SignatureRaw) != 7+64 {
		t.Fatalf("signature %q does not verify", h.SignatureRaw)
	}
	if h.ID != "0123456789abcdef0123456789abcdef" || h.SentAt.IsZero() {
		t.Errorf("id %q and sent_at %v not in the signed body", h.ID, h.SentAt)
	}
	tampered := bytes.Replace(h.Raw, []byte("boom fp-sig"), []byte("boom fp-siG"), 1)
	if bytes.Equal(tampered, h.Raw) {
		t.Fatal("the test did not change the body")
	}
	if webhook.Verify(secret, tampered, h.SignatureRaw) {
		t.Error("a tampered body verifies")
	}
	if webhook.Verify("another secret", h.Raw, h.SignatureRaw) {
		t.Error("the body verifies under another secret")
	}
	// A receiver that checks refuses what a wrong secret signed: 401 is
	// permanent, not retried.
	bad, err := webhook.New(webhook.Config{URL: r.URL, Secret: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	if err := bad.Notify(context.Background(), note("fp-bad")); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("wrongly signed request: %v, want a 401 error", err)
	}
	if r.refused != 1 || len(r.hooks()) != 1 {
		t.Errorf("receiver refused %d and kept %d requests, want 1 and 1", r.refused, len(r.hooks()))
	}
}

// Expect: the slack format's body is a JSON object with the one key
// "text", as Slack's incoming webhooks take it ({"text": "Hello, World!"}
// in https://docs.slack.dev/tools/java-slack-sdk/guides/incoming-webhooks)
// and Mattermost's too (https://developers.mattermost.com/integrate/webhooks/incoming/,
// which translates Slack's <url|text> links:
// https://developers.mattermost.com/integrate/slash-commands/slack);
// &, < and > of the error are escaped as Slack's formatting guide asks
// (https://api.slack.com/messaging/composing/formatting, "Escaping
// text"), so an error cannot mention <!channel>; the link is Slack's
// <url|text>. It reaches a real receiver, signed when a secret is set.
func TestSlackBody(t *testing.T) {
	r := startReceiver(t)
	w, err := webhook.New(webhook.Config{URL: r.URL, Format: webhook.FormatSlack, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	n := note("fp-slack")
	n.Groups[0].Record.Message = "<!channel> a & b > c"
	body, err := w.Body(n, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var shape map[string]any
	if err := json.Unmarshal(body, &shape); err != nil {
		t.Fatal(err)
	}
	text, ok := shape["text"].(string)
	if len(shape) != 1 || !ok {
		t.Fatalf("slack body %s: want exactly {\"text\": string}", body)
	}
	want := "New error: [checkout] GET shop.example.com/x *errors.errorString: &lt;!channel&gt; a &amp; b &gt; c\n" +
		"first seen in 1.4.0 · 1 occurrences\n<https://shop.example.com/dev/error/fp-slack|Open this error>"
	if text != want {
		t.Errorf("slack text\n got %q\nwant %q", text, want)
	}
	if err := w.Notify(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	if got := r.waitFor(t, 1)[0]; !strings.HasPrefix(string(got.Raw), `{"text":`) {
		t.Errorf("received %s", got.Raw)
	}
	if _, err := webhook.New(webhook.Config{URL: r.URL, Format: "teams"}); err == nil || !strings.Contains(err.Error(), "want json or slack") {
		t.Errorf("unknown format: %v", err)
	}
}

// Expect: with the webhook refusing connections, and another hanging for
// its whole timeout, span.End stays fast and the mail of the same error
// arrives at once; Shutdown returns by its deadline and counts the
// webhook's notifications as dropped.
func TestDownWebhookDelaysNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		url  func(*testing.T) string
	}{{"refusing", refusingURL}, {"hanging", hangingServer}} {
		t.Run(tc.name, func(t *testing.T) {
			in := testenv.StartInbox(t)
			w, err := webhook.New(webhook.Config{URL: tc.url(t), Secret: secret, Timeout: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			mailer := transports(t, in, nil)[0]
			pol, err := notify.New(notify.Config{Retry: notify.Retry{Initial: 50 * time.Millisecond, Max: 100 * time.Millisecond, MaxElapsed: time.Hour}}, w, mailer)
			if err != nil {
				t.Fatal(err)
			}
			p, err := processor.New(processor.Config{}, processor.WithExporter(pol), processor.WithFlushInterval(10*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))
			var slowest time.Duration
			for i := range 20 {
				ctx, span := tp.Tracer("shop").Start(context.Background(), "GET /x", trace.WithAttributes(attribute.Int("n", i)))
				scope.CaptureException(ctx, fmt.Errorf("checkout failed: %s", []string{"payment declined", "stock missing"}[i%2]))
				start := time.Now()
				span.End()
				slowest = max(slowest, time.Since(start))
			}
			// Waiting on the webhook would take its timeout, a minute; the
			// bound tells that from not waiting with room for a loaded CI
			// machine (how fast span.End is, is the benchmarks' business).
			if slowest > time.Second {
				t.Errorf("span.End took up to %v with the webhook down", slowest)
			}
			start := time.Now()
			in.WaitFor(t, 2) // two groups
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("the mails took %v with the webhook down", d)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			start = time.Now()
			err = tp.Shutdown(ctx)
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("Shutdown took %v with a 300 ms deadline (err %v)", d, err)
			}
			st := pol.Stats()
			if st[0].Sent != 0 || st[0].Dropped == 0 || st[1].Sent != 2 {
				t.Errorf("stats %+v: want the webhook's dropped, two mails sent", st)
			}
		})
	}
}

// Expect: a receiver that answers 429 with Retry-After: 1 gets the same
// notification (same id) again no sooner than a second later, although
// the policy's own backoff starts at 20 ms; a 500 is retried at the
// policy's pace.
func TestWebhookHonoursRetryAfter(t *testing.T) {
	var mu sync.Mutex
	var times []time.Time
	var ids []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var doc struct {
			ID string `json:"id"`
		}
		_ = json.NewDecoder(r.Body).Decode(&doc)
		mu.Lock()
		defer mu.Unlock()
		times, ids = append(times, time.Now()), append(ids, doc.ID)
		switch len(times) {
		case 1:
			w.Header().Set("Retry-After", "1")
			http.Error(w, "slow down", http.StatusTooManyRequests)
		case 2:
			http.Error(w, "oops", http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	w, err := webhook.New(webhook.Config{URL: srv.URL, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	p := newPolicy(t, notify.Config{}, w)
	if err := p.Export(context.Background(), []exporter.Record{rec("fp-429", "1.0", time.Now())}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(times)
		mu.Unlock()
		if n >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d attempts within 10 s, want 3", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if d := times[1].Sub(times[0]); d < time.Second {
		t.Errorf("retried %v after a Retry-After of 1 s", d)
	}
	if d := times[2].Sub(times[1]); d > 500*time.Millisecond {
		t.Errorf("retried %v after a 500, want the policy's short backoff", d)
	}
	if ids[0] == "" || ids[0] != ids[1] || ids[1] != ids[2] {
		t.Errorf("ids %q: want one id on every attempt", ids)
	}
}
