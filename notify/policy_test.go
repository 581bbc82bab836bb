package notify_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/internal/testenv"
	"github.com/errortracker/errortracker/notify"
)

// Expect: a new group, seen three times, sends one mail and one webhook
// request, both saying "first seen in 1.4.0"; the webhook's request is
// signed, and its id is the same one a second policy on the same store
// would claim (it sends nothing).
func TestNewGroupNotifiesOnceOnBothTransports(t *testing.T) {
	in := testenv.StartInbox(t)
	r := startReceiver(t)
	store := newStore(t)
	p := newPolicy(t, notify.Config{Store: store, BaseURL: "https://shop.example.com/dev/error"}, transports(t, in, r)...)
	t0 := time.Now().Add(-time.Minute)
	for i := range 3 {
		occur(t, store, p, rec("fp-new", "1.4.0", t0.Add(time.Duration(i)*time.Second)))
	}
	other := newPolicy(t, notify.Config{Store: sameStore(t, store)}, transports(t, in, r)...) // a second instance
	occur(t, nil, other, rec("fp-new", "1.4.0", t0.Add(5*time.Second)))

	mail := testenv.ParseMail(t, in.WaitFor(t, 1)[0])
	hooks := r.waitFor(t, 1)
	quiet()
	if n, m := len(in.Messages()), len(r.hooks()); n != 1 || m != 1 {
		t.Fatalf("%d mails and %d webhook requests, want 1 and 1", n, m)
	}
	for _, part := range []string{mail.Text, mail.HTML} {
		if !strings.Contains(part, "first seen in 1.4.0") {
			t.Errorf("mail lacks %q:\n%s", "first seen in 1.4.0", part)
		}
	}
	h := hooks[0]
	if h.Event != notify.EventNew || h.Group.FirstRelease != "1.4.0" || !strings.Contains(h.Summary, "first seen in 1.4.0") ||
		h.Group.Fingerprint != "fp-new" || h.Link != "https://shop.example.com/dev/error/fp-new" || len(h.ID) != 32 ||
		time.Since(h.SentAt) > time.Minute {
		t.Errorf("webhook body: %s", h.Raw)
	}
	if r.refused != 0 {
		t.Errorf("%d requests failed the signature check", r.refused)
	}
}

// Expect: a group ignored until 3 more occurrences sends nothing for the
// first two, one wake-up (mail and webhook) at the third, and nothing for
// a fourth.
func TestIgnoreUntilThreeMoreWakesOnce(t *testing.T) {
	in := testenv.StartInbox(t)
	r := startReceiver(t)
	store := newStore(t)
	tr := triage(t, store)
	p := newPolicy(t, notify.Config{Store: store}, transports(t, in, r)...)
	ctx := context.Background()
	occur(t, store, p, rec("fp-ign", "1.0", time.Now().Add(-time.Minute)))
	in.WaitFor(t, 1)
	r.waitFor(t, 1)
	if err := tr.SetState(ctx, []string{"fp-ign"}, exporter.Change{Status: exporter.StatusIgnored, Ignore: exporter.Ignore{Count: 3}, By: "alice"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	for range 2 {
		occur(t, store, p, rec("fp-ign", "1.0", time.Now()))
	}
	quiet()
	if n, m := len(in.Messages()), len(r.hooks()); n != 1 || m != 1 {
		t.Fatalf("after 2 of 3 occurrences: %d mails, %d webhook requests, want still 1 and 1 (the announcement)", n, m)
	}
	occur(t, store, p, rec("fp-ign", "1.0", time.Now()))
	mail := testenv.ParseMail(t, in.WaitFor(t, 2)[1])
	hooks := r.waitFor(t, 2)
	occur(t, store, p, rec("fp-ign", "1.0", time.Now()))
	quiet()
	if n, m := len(in.Messages()), len(r.hooks()); n != 2 || m != 2 {
		t.Fatalf("%d mails, %d webhook requests, want 2 and 2: one wake-up", n, m)
	}
	if !strings.Contains(mail.Subject, "[woke up]") || !strings.Contains(mail.Text, "ignored until 3 more occurrences") {
		t.Errorf("wake-up mail: %q\n%s", mail.Subject, mail.Text)
	}
	if hooks[1].Event != notify.EventWoke {
		t.Errorf("webhook event %q, want woke", hooks[1].Event)
	}
}

// Expect: resolved in the next release, the group stays quiet for more
// occurrences of the release it was resolved in, and one newer release
// sends one regression, "regressed in 1.1.0", on both transports.
func TestResolveInNextRelease(t *testing.T) {
	in := testenv.StartInbox(t)
	r := startReceiver(t)
	store := newStore(t)
	tr := triage(t, store)
	p := newPolicy(t, notify.Config{Store: store}, transports(t, in, r)...)
	ctx := context.Background()
	occur(t, store, p, rec("fp-rel", "1.0.0", time.Now().Add(-time.Minute)))
	in.WaitFor(t, 1)
	if err := tr.SetState(ctx, []string{"fp-rel"}, exporter.Change{Status: exporter.StatusResolved, InNextRelease: true, By: "bob"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	for range 3 {
		occur(t, store, p, rec("fp-rel", "1.0.0", time.Now())) // old pods of a rolling deploy
	}
	quiet()
	if n, m := len(in.Messages()), len(r.hooks()); n != 1 || m != 1 {
		t.Fatalf("the release it was resolved in: %d mails, %d webhook requests, want 1 and 1 (the announcement)", n, m)
	}
	p2 := newPolicy(t, notify.Config{Store: sameStore(t, store)}, transports(t, in, r)...) // another instance, policy first, store after: the batch is not in the store yet
	occur(t, nil, p2, rec("fp-rel", "1.1.0", time.Now()))
	occur(t, store, p, rec("fp-rel", "1.1.0", time.Now()))
	mail := testenv.ParseMail(t, in.WaitFor(t, 2)[1])
	hooks := r.waitFor(t, 2)
	quiet()
	if n, m := len(in.Messages()), len(r.hooks()); n != 2 || m != 2 {
		t.Fatalf("%d mails, %d webhook requests, want 2 and 2: one regression", n, m)
	}
	if !strings.Contains(mail.Subject, "[regression]") || !strings.Contains(mail.Text, "regressed in 1.1.0") {
		t.Errorf("regression mail: %q\n%s", mail.Subject, mail.Text)
	}
	if hooks[1].Event != notify.EventRegression || hooks[1].Group.RegressedIn != "1.1.0" {
		t.Errorf("regression webhook: %s", hooks[1].Raw)
	}
}

// Expect: a group ignored for ever sends nothing, not even when it
// crosses 10 and 100 occurrences, nor after a restart of the policy.
func TestIgnoredGroupSendsNothing(t *testing.T) {
	in := testenv.StartInbox(t)
	r := startReceiver(t)
	store := newStore(t)
	tr := triage(t, store)
	p := newPolicy(t, notify.Config{Store: store, ThresholdInterval: time.Millisecond}, transports(t, in, r)...)
	ctx := context.Background()
	occur(t, store, p, rec("fp-mute", "1.0", time.Now().Add(-time.Minute)))
	in.WaitFor(t, 1)
	if err := tr.SetState(ctx, []string{"fp-mute"}, exporter.Change{Status: exporter.StatusIgnored, By: "carol"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	var batch []exporter.Record
	for i := range 120 {
		batch = append(batch, rec("fp-mute", "1.0", time.Now().Add(time.Duration(i)*time.Microsecond)))
	}
	occur(t, store, p, batch[:50]...)
	occur(t, store, newPolicy(t, notify.Config{Store: store, ThresholdInterval: time.Millisecond}, transports(t, in, r)...), batch[50:]...)
	quiet()
	if n, m := len(in.Messages()), len(r.hooks()); n != 1 || m != 1 {
		t.Fatalf("%d mails, %d webhook requests, want 1 and 1: the announcement before the ignore, nothing after", n, m)
	}
}

// Expect: after B is merged into A and A resolved, an occurrence of B is
// A's regression: the notification names A and links to A's page, and
// nothing announces B again.
func TestMergedFingerprintSpeaksAsTarget(t *testing.T) {
	r := startReceiver(t)
	store := newStore(t)
	tr := triage(t, store)
	p := newPolicy(t, notify.Config{Store: store, BaseURL: "https://shop.example.com/dev/error"}, transports(t, nil, r)...)
	ctx := context.Background()
	t0 := time.Now().Add(-time.Minute)
	occur(t, store, p, rec("fp-a", "1.0", t0), rec("fp-b", "1.0", t0))
	r.waitFor(t, 2)
	if err := tr.Merge(ctx, "fp-a", []string{"fp-b"}, "dave"); err != nil {
		t.Fatal(err)
	}
	if err := tr.SetState(ctx, []string{"fp-a"}, exporter.Change{Status: exporter.StatusResolved, By: "dave"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	restarted := newPolicy(t, notify.Config{Store: sameStore(t, store), BaseURL: "https://shop.example.com/dev/error"}, transports(t, nil, r)...)
	occur(t, nil, restarted, rec("fp-b", "1.1", time.Now()))
	hooks := r.waitFor(t, 3)
	quiet()
	if n := len(r.hooks()); n != 3 {
		t.Fatalf("%d webhook requests, want 3: A and B announced, then one regression", n)
	}
	h := hooks[2]
	if h.Event != notify.EventRegression || h.Group.Fingerprint != "fp-a" || h.Link != "https://shop.example.com/dev/error/fp-a" || h.Group.RegressedIn != "1.1" {
		t.Errorf("after the merge: %s", h.Raw)
	}
}

// Expect: ignored until a time, an occurrence before it sends nothing and
// the first after it wakes the group once; ignored until 3 within an
// hour, two occurrences send nothing and a batch bringing the third
// within the hour wakes it once.
func TestIgnoreUntilTimeAndRate(t *testing.T) {
	r := startReceiver(t)
	store := newStore(t)
	tr := triage(t, store)
	p := newPolicy(t, notify.Config{Store: store}, transports(t, nil, r)...)
	ctx := context.Background()
	t0 := time.Now().Add(-time.Minute)
	occur(t, store, p, rec("fp-until", "1.0", t0), rec("fp-rate", "1.0", t0))
	r.waitFor(t, 2)
	until := time.Now().Add(400 * time.Millisecond)
	if err := tr.SetState(ctx, []string{"fp-until"}, exporter.Change{Status: exporter.StatusIgnored, Ignore: exporter.Ignore{Until: until}, By: "fay"}); err != nil {
		t.Fatal(err)
	}
	if err := tr.SetState(ctx, []string{"fp-rate"}, exporter.Change{Status: exporter.StatusIgnored,
		Ignore: exporter.Ignore{Rate: exporter.Rate{Count: 3, Window: time.Hour}}, By: "fay"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	occur(t, store, p, rec("fp-until", "1.0", time.Now()), rec("fp-rate", "1.0", time.Now()))
	occur(t, store, p, rec("fp-rate", "1.0", time.Now()))
	quiet()
	if n := len(r.hooks()); n != 2 {
		t.Fatalf("%d requests before the conditions were met, want the 2 announcements", n)
	}
	time.Sleep(time.Until(until) + 10*time.Millisecond)
	occur(t, store, p, rec("fp-until", "1.0", time.Now()), rec("fp-rate", "1.0", time.Now()))
	occur(t, store, p, rec("fp-until", "1.0", time.Now()), rec("fp-rate", "1.0", time.Now()))
	r.waitFor(t, 4)
	quiet()
	woke := map[string]int{}
	for _, h := range r.hooks()[2:] {
		if h.Event == notify.EventWoke {
			woke[h.Group.Fingerprint]++
		}
	}
	if len(r.hooks()) != 4 || woke["fp-until"] != 1 || woke["fp-rate"] != 1 {
		t.Errorf("%d requests, wake-ups %v: want one each", len(r.hooks()), woke)
	}
}
