package smtp_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/internal/testenv"
	"github.com/errortracker/errortracker/processor"
	"github.com/errortracker/errortracker/scope"
)

// collect keeps the records a processor exports.
type collect struct {
	mu   sync.Mutex
	recs []exporter.Record
}

func (c *collect) Export(_ context.Context, recs []exporter.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recs = append(c.recs, recs...)
	return nil
}
func (c *collect) Shutdown(context.Context) error { return nil }

// The errors of a small app, captured where they are met. v2 and v3 group
// them differently: v2 splits the sign-ins by the unquoted user name in the
// wrapping context and merges the two owner checks, which read the same;
// v3 does the opposite.
var (
	errWrongPassword = errors.New("wrong password")
	errNotOwner      = errors.New("not the owner")
)

func checkOwner(user string) error { return fmt.Errorf("check owner %s: %w", user, errNotOwner) }

func signIn(ctx context.Context, user string) {
	scope.CaptureException(ctx, fmt.Errorf("login %s: %w", user, errWrongPassword))
}
func deleteAddress(ctx context.Context) { scope.CaptureException(ctx, checkOwner("dave")) }
func shareList(ctx context.Context)     { scope.CaptureException(ctx, checkOwner("dave")) }

// occurrences captures each error of the app once, through tp.
func occurrences(t *testing.T, tp *sdktrace.TracerProvider) {
	t.Helper()
	for _, f := range []func(context.Context){
		func(ctx context.Context) { signIn(ctx, "alice") },
		func(ctx context.Context) { signIn(ctx, "bob") },
		deleteAddress, shareList,
	} {
		ctx, span := tp.Tracer("app").Start(context.Background(), "GET /account")
		f(ctx)
		span.End()
	}
	if err := tp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// An upgrade from fingerprint v2 to v3, against the real ClickHouse store
// and the real inbox: the groups v2 made were announced and one resolved;
// after the upgrade the same errors, grouped anew, announce nothing as new.
// The v2 group that v3 splits passes its resolved state to both parts,
// which regress; the two v2 groups that v3 merges pass theirs on too.
func TestUpgradeToV3AnnouncesNoOldGroup(t *testing.T) {
	in := testenv.StartInbox(t)
	store := newStore(t)
	cfg := mailConfig(in)
	cfg.Store = store
	ctx := context.Background()

	// What the v2 process stored and mailed: the app's records as v2
	// fingerprinted them (the processor computes v2 for every record).
	seen := &collect{}
	occurrences(t, pipeline(t, processor.WithExporter(seen)))
	var old []exporter.Record
	v2Groups := map[string]bool{}
	for _, r := range seen.recs {
		if len(r.PreviousFingerprints) != 2 {
			t.Fatalf("record %q has previous fingerprints %v, want v2 and v1", r.Message, r.PreviousFingerprints)
		}
		r.Fingerprint, r.PreviousFingerprint, r.PreviousFingerprints = r.PreviousFingerprints[0], r.PreviousFingerprints[1], nil
		r.Time = r.Time.Add(-time.Hour)
		old = append(old, r)
		v2Groups[r.Fingerprint] = true
	}
	if len(v2Groups) != 3 {
		t.Fatalf("v2 made %d groups of the app's errors, want 3 (two sign-ins, one owner check)", len(v2Groups))
	}
	before := newMailer(t, cfg)
	for _, e := range []exporter.Exporter{store, before} {
		if err := e.Export(ctx, old); err != nil {
			t.Fatal(err)
		}
	}
	in.WaitFor(t, 3)
	owner := old[2].Fingerprint // the owner checks' one v2 group
	if err := store.Resolve(ctx, owner); err != nil {
		t.Fatal(err)
	}

	// The upgraded process: v3 through the real pipeline, the same store,
	// a mailer that remembers nothing.
	after := newMailer(t, cfg)
	tp := pipeline(t, processor.WithExporter(store), processor.WithExporter(after))
	occurrences(t, tp)
	in.WaitFor(t, 5)                   // the mails go out from the transport's queue, after Export
	time.Sleep(300 * time.Millisecond) // a mail that should not come has time to
	msgs := in.Messages()[3:]
	var subjects []string
	for _, m := range msgs {
		subjects = append(subjects, testenv.ParseMail(t, m).Subject)
	}
	if len(subjects) != 2 {
		t.Fatalf("after the upgrade %d mails %q, want the two parts of the resolved owner check, as regressions", len(subjects), subjects)
	}
	for _, s := range subjects {
		if !strings.Contains(s, "[regression]") || !strings.Contains(s, "not the owner") {
			t.Errorf("mail %q after the upgrade: want a regression of the owner check, nothing announced as new", s)
		}
	}

	// The store: v3 made three groups, each with the first sighting of the
	// v2 groups it came from.
	var v3 []string
	for _, r := range seen.recs {
		if !contains(v3, r.Fingerprint) {
			v3 = append(v3, r.Fingerprint)
		}
	}
	if len(v3) != 3 {
		t.Fatalf("v3 made %d groups, want 3 (one sign-in, two owner checks)", len(v3))
	}
	states, err := store.GroupStates(ctx, v3)
	if err != nil {
		t.Fatal(err)
	}
	for _, fp := range v3 {
		st := states[fp]
		if st.FirstSeen.After(old[0].Time.Add(time.Minute)) {
			t.Errorf("v3 group %s: first seen %v, want the v2 group's, about %v", fp, st.FirstSeen, old[0].Time)
		}
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// A mail shows the app's frames: the frames of the capture's machinery (the
// middleware's recover, the runtime's panic) are left out and counted.
func TestMailFoldsTheTrackersFrames(t *testing.T) {
	in := testenv.StartInbox(t)
	m := newMailer(t, mailConfig(in))
	r := rec("folded", time.Now())
	r.Stacktrace = "github.com/errortracker/errortracker/scope.(*middleware).ServeHTTP.func1(...)\n\t/src/scope/middleware.go:80\n" +
		"runtime.gopanic(...)\n\t/go/src/runtime/panic.go:785\n" +
		"runtime.panicIndex(...)\n\t/go/src/runtime/panic.go:115\n" +
		"example.com/shop.cartTotal(...)\n\t/src/shop/cart.go:12\n"
	if err := m.Export(context.Background(), []exporter.Record{r}); err != nil {
		t.Fatal(err)
	}
	mail := testenv.ParseMail(t, in.WaitFor(t, 1)[0])
	for _, part := range []string{mail.Text, mail.HTML} {
		if strings.Contains(part, "middleware") || strings.Contains(part, "gopanic") || !strings.Contains(part, "example.com/shop.cartTotal") ||
			!strings.Contains(part, "3 frames of the error tracker") {
			t.Errorf("mail part shows the machinery or lacks the app's frame:\n%s", part)
		}
	}
}
