package smtp_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/exporter/clickhouse"
	"github.com/errortracker/errortracker/exporter/smtp"
	"github.com/errortracker/errortracker/internal/testenv"
	"github.com/errortracker/errortracker/processor"
	"github.com/errortracker/errortracker/scope"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func mailConfig(in *testenv.Inbox) smtp.Config {
	return smtp.Config{
		Addr:          in.Addr,
		Username:      testenv.InboxUser,
		Password:      testenv.InboxPassword,
		TLS:           smtp.TLSStartTLS,
		RootCAs:       in.Roots,
		Sender:        "tracker@example.com",
		Recipients:    []string{"ops@example.com", "dev@example.com"},
		SubjectPrefix: "[shop]",
		BaseURL:       "https://shop.example.com/dev/error",
	}
}

func newMailer(t *testing.T, cfg smtp.Config) *smtp.Exporter {
	t.Helper()
	e, err := smtp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Shutdown(context.Background()) })
	return e
}

// pipeline is the app side: a TracerProvider whose processor masks and
// hands records to the mail exporter.
func pipeline(t *testing.T, opts ...processor.Option) *sdktrace.TracerProvider {
	t.Helper()
	p, err := processor.New(processor.Config{}, append([]processor.Option{processor.WithFlushInterval(10 * time.Millisecond),
		processor.WithRetry(processor.RetryConfig{Initial: 20 * time.Millisecond, Max: 100 * time.Millisecond, MaxElapsed: 20 * time.Second})}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp
}

func captureLogin(tp *sdktrace.TracerProvider) {
	ctx, span := tp.Tracer("shop").Start(context.Background(), "POST /login", trace.WithAttributes(
		attribute.String("http.request.method", "POST"),
		attribute.String("server.address", "shop.example.com"),
		attribute.String("url.path", "/login"),
		attribute.String("url.query", "next=/cart&token=tok-hunter2"),
		attribute.StringSlice("http.request.form.password", []string{"hunter2"}),
	))
	ctx, s := scope.New(ctx)
	s.SetExtra("user_id", 1234)
	s.SetExtra("session_token", "hunter2-session")
	scope.CaptureException(ctx, errors.New("login failed for bob: password=hunter2"))
	span.End()
}

func TestMailContentsAndMasking(t *testing.T) {
	in := testenv.StartInbox(t)
	mailer := newMailer(t, mailConfig(in))
	tp := pipeline(t, processor.WithExporter(mailer))
	captureLogin(tp)
	if err := tp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	msgs := in.WaitFor(t, 1)
	m := msgs[0]
	if m.From != "tracker@example.com" || strings.Join(m.To, ",") != "ops@example.com,dev@example.com" {
		t.Errorf("envelope from %q to %v", m.From, m.To)
	}
	if m.User != testenv.InboxUser || !m.WithTLS {
		t.Errorf("sent as %q, TLS %v: want AUTH over STARTTLS", m.User, m.WithTLS)
	}
	if strings.Contains(string(m.Data), "hunter2") {
		t.Errorf("a secret reached the mail:\n%s", m.Data)
	}
	p := testenv.ParseMail(t, m)
	want := "[shop] [POST] shop.example.com/login *errors.errorString: login failed for bob: password=**************"
	if p.Subject != want {
		t.Errorf("subject\n got %q\nwant %q", p.Subject, want)
	}
	for _, h := range []string{"Date", "Message-ID", "From", "To", "MIME-Version"} {
		if p.Header.Get(h) == "" {
			t.Errorf("no %s header", h)
		}
	}
	if _, err := p.Header.Date(); err != nil {
		t.Errorf("Date: %v", err)
	}
	if !strings.HasSuffix(p.Header.Get("Message-ID"), "@example.com>") || p.Header.Get("To") != "ops@example.com, dev@example.com" {
		t.Errorf("Message-ID %q To %q", p.Header.Get("Message-ID"), p.Header.Get("To"))
	}
	for _, part := range []struct{ name, body string }{{"text", p.Text}, {"html", p.HTML}} {
		for _, want := range []string{"login failed for bob", "user_id", "1234", "session_token", "**************",
			"https://shop.example.com/dev/error/", "smtp_test.captureLogin", "url.query", "Occurrences"} {
			if !strings.Contains(part.body, want) {
				t.Errorf("%s part lacks %q:\n%s", part.name, want, part.body)
			}
		}
	}
	if testing.Verbose() { // a sample for the documentation
		t.Logf("subject: %s\n--- text ---\n%s\n--- html ---\n%s", p.Subject, p.Text, p.HTML)
	}
	if !strings.Contains(p.HTML, "<pre") || strings.Contains(p.HTML, "<script") {
		t.Errorf("html part:\n%s", p.HTML)
	}
}

func TestThreeOccurrencesOneMail(t *testing.T) {
	in := testenv.StartInbox(t)
	mailer := newMailer(t, mailConfig(in))
	tp := pipeline(t, processor.WithExporter(mailer))
	for i := 0; i < 3; i++ {
		captureLogin(tp)
		if err := tp.ForceFlush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	in.WaitFor(t, 1) // the mail goes out from the transport's queue, after Export
	time.Sleep(100 * time.Millisecond)
	if n := len(in.Messages()); n != 1 {
		t.Errorf("three occurrences of one group sent %d mails, want 1", n)
	}
}

func rec(fp string, at time.Time) exporter.Record {
	return exporter.Record{
		ID: fmt.Sprintf("%s-%d", fp, at.UnixNano()), Fingerprint: fp, Time: at,
		Type: "*errors.errorString", Message: "boom " + fp, Service: "checkout", Method: "GET", Host: "shop.example.com", Path: "/x",
	}
}

func recs(fp string, n int, from time.Time) []exporter.Record {
	out := make([]exporter.Record, n)
	for i := range out {
		out[i] = rec(fp, from.Add(time.Duration(i)*time.Millisecond))
	}
	return out
}

// newStore connects to the shared test ClickHouse with a database of the
// test's own.
func newStore(t *testing.T) *clickhouse.Exporter {
	t.Helper()
	db := fmt.Sprintf("t_mail_%d", time.Now().UnixNano())
	s, err := clickhouse.New(context.Background(), clickhouse.Config{Addrs: []string{testenv.ClickHouseAddr(t)}, Database: db})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s
}

// The store remembers: a restarted app, or a second instance, does not
// announce a group the store already holds.
func TestRestartAndSecondInstanceDoNotAnnounceAgain(t *testing.T) {
	in := testenv.StartInbox(t)
	store := newStore(t)
	cfg := mailConfig(in)
	cfg.Store = store
	ctx := context.Background()
	t0 := time.Now().Add(-time.Minute)

	first := newMailer(t, cfg)
	batch := []exporter.Record{rec("fp-a", t0)}
	if err := store.Export(ctx, batch); err != nil { // whichever exporter runs first
		t.Fatal(err)
	}
	if err := first.Export(ctx, batch); err != nil {
		t.Fatal(err)
	}
	in.WaitFor(t, 1)

	restarted := newMailer(t, cfg) // a new process: empty memory
	batch = []exporter.Record{rec("fp-a", t0.Add(time.Second))}
	if err := restarted.Export(ctx, batch); err != nil { // mail exporter first this time
		t.Fatal(err)
	}
	if err := store.Export(ctx, batch); err != nil {
		t.Fatal(err)
	}
	second := newMailer(t, cfg) // another instance
	batch = []exporter.Record{rec("fp-a", t0.Add(2*time.Second))}
	if err := second.Export(ctx, batch); err != nil {
		t.Fatal(err)
	}
	// A group new to the store is still announced by the restarted one.
	if err := restarted.Export(ctx, []exporter.Record{rec("fp-b", t0.Add(3*time.Second))}); err != nil {
		t.Fatal(err)
	}
	msgs := in.WaitFor(t, 2)
	time.Sleep(100 * time.Millisecond)
	if n := len(in.Messages()); n != 2 {
		t.Fatalf("%d mails, want 2 (fp-a once, fp-b once)", n)
	}
	if !strings.Contains(testenv.ParseMail(t, msgs[1]).Subject, "boom fp-b") {
		t.Errorf("second mail: %q", testenv.ParseMail(t, msgs[1]).Subject)
	}
}

func TestRegressionMail(t *testing.T) {
	in := testenv.StartInbox(t)
	store := newStore(t)
	cfg := mailConfig(in)
	cfg.Store = store
	ctx := context.Background()
	mailer := newMailer(t, cfg)
	t0 := time.Now().Add(-time.Minute)
	batch := []exporter.Record{rec("fp-r", t0)}
	for _, e := range []exporter.Exporter{store, mailer} {
		if err := e.Export(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	in.WaitFor(t, 1)
	if err := store.Resolve(ctx, "fp-r"); err != nil {
		t.Fatal(err)
	}
	later := []exporter.Record{rec("fp-r", time.Now().Add(time.Second))}
	if err := mailer.Export(ctx, later); err != nil {
		t.Fatal(err)
	}
	msgs := in.WaitFor(t, 2)
	if s := testenv.ParseMail(t, msgs[1]).Subject; !strings.HasPrefix(s, "[shop] [regression] [GET]") {
		t.Errorf("regression subject %q", s)
	}
	// Once per resolve.
	if err := mailer.Export(ctx, []exporter.Record{rec("fp-r", time.Now().Add(2*time.Second))}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(in.Messages()); n != 2 {
		t.Errorf("%d mails, want 2", n)
	}
}

func TestThresholds(t *testing.T) {
	in := testenv.StartInbox(t)
	cfg := mailConfig(in)
	cfg.ThresholdInterval = time.Millisecond
	mailer := newMailer(t, cfg)
	ctx := context.Background()
	t0 := time.Now()
	send := func(n int) {
		t.Helper()
		if err := mailer.Export(ctx, recs("fp-t", n, t0)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	send(1)  // new
	send(9)  // 10
	send(89) // 99: nothing
	send(1)  // 100
	send(1)  // 101: nothing
	msgs := in.WaitFor(t, 3)
	time.Sleep(50 * time.Millisecond)
	if n := len(in.Messages()); n != 3 {
		t.Fatalf("%d mails, want new + 10 + 100", n)
	}
	for i, want := range []string{"[shop] [GET]", "[shop] [10 occurrences]", "[shop] [100 occurrences]"} {
		if s := testenv.ParseMail(t, msgs[i]).Subject; !strings.HasPrefix(s, want) {
			t.Errorf("mail %d subject %q, want it to start with %q", i, s, want)
		}
	}

	// At most one threshold mail per interval.
	cfg.ThresholdInterval = time.Hour
	slow := newMailer(t, cfg)
	for _, n := range []int{1, 9, 90} {
		if err := slow.Export(ctx, recs("fp-slow", n, t0)); err != nil {
			t.Fatal(err)
		}
	}
	in.WaitFor(t, 5)
	time.Sleep(50 * time.Millisecond)
	if n := len(in.Messages()); n != 5 {
		t.Errorf("%d mails, want 5: the 100 mail waits for the interval", n)
	}
}

func TestDigest(t *testing.T) {
	in := testenv.StartInbox(t)
	cfg := mailConfig(in)
	cfg.DigestAfter = 3
	cfg.DigestWindow = 300 * time.Millisecond
	mailer := newMailer(t, cfg)
	var batch []exporter.Record
	for i := 0; i < 8; i++ {
		batch = append(batch, rec(fmt.Sprintf("fp-%d", i), time.Now()))
	}
	if err := mailer.Export(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	msgs := in.WaitFor(t, 4)
	time.Sleep(400 * time.Millisecond)
	if n := len(in.Messages()); n != 4 {
		t.Fatalf("%d mails, want 3 alone and 1 digest", n)
	}
	seen := map[string]int{}
	for _, m := range msgs {
		body := testenv.ParseMail(t, m).Text
		for i := 0; i < 8; i++ {
			seen[fmt.Sprintf("fp-%d", i)] += strings.Count(body, fmt.Sprintf("boom fp-%d\n", i))
		}
	}
	for fp, n := range seen {
		if n != 1 {
			t.Errorf("%s announced %d times, want exactly once", fp, n)
		}
	}
	if s := testenv.ParseMail(t, msgs[3]).Subject; s != "[shop] 5 more new errors" {
		t.Errorf("digest subject %q", s)
	}
}

// The server is down at first: the mail arrives after a retry, and the
// app is never blocked meanwhile.
func TestServerDownThenUp(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens now
	cert, roots := testenv.SelfSigned(t)
	cfg := smtp.Config{Addr: addr, TLS: smtp.TLSStartTLS, RootCAs: roots, Username: testenv.InboxUser, Password: testenv.InboxPassword,
		Sender: "tracker@example.com", Recipients: []string{"ops@example.com"}, DialTimeout: time.Second}
	mailer := newMailer(t, cfg)
	tp := pipeline(t, processor.WithExporter(mailer))
	start := time.Now()
	captureLogin(tp)
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("capture took %v with the mail server down", d)
	}
	time.Sleep(300 * time.Millisecond) // a few failed tries
	l, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port taken meanwhile: %v", err)
	}
	in := testenv.StartInboxOn(t, l, cert, roots)
	msgs := in.WaitFor(t, 1)
	if !strings.Contains(testenv.ParseMail(t, msgs[0]).Subject, "login failed") {
		t.Errorf("subject %q", testenv.ParseMail(t, msgs[0]).Subject)
	}
}

func TestHeaderInjectionAndUTF8Subject(t *testing.T) {
	in := testenv.StartInbox(t)
	mailer := newMailer(t, mailConfig(in))
	r := rec("fp-i", time.Now())
	r.Message = "Zahlung fehlgeschlagen für Jürgen\r\nBcc: evil@example.net\r\n\r\nbody"
	if err := mailer.Export(context.Background(), []exporter.Record{r}); err != nil {
		t.Fatal(err)
	}
	m := in.WaitFor(t, 1)[0]
	p := testenv.ParseMail(t, m)
	if p.Header.Get("Bcc") != "" || strings.Join(m.To, ",") != "ops@example.com,dev@example.com" {
		t.Fatalf("header injected: Bcc %q, to %v", p.Header.Get("Bcc"), m.To)
	}
	if !strings.Contains(p.Subject, "für Jürgen Bcc: evil@example.net body") {
		t.Errorf("subject %q", p.Subject)
	}
	if raw := string(m.Data); !strings.Contains(raw, "Subject: =?utf-8?") {
		t.Errorf("UTF-8 subject not encoded:\n%s", raw[:strings.Index(raw, "\r\n\r\n")])
	}
	long := rec("fp-long", time.Now())
	long.Message = strings.Repeat("x", 1000)
	if err := mailer.Export(context.Background(), []exporter.Record{long}); err != nil {
		t.Fatal(err)
	}
	if s := testenv.ParseMail(t, in.WaitFor(t, 2)[1]).Subject; len([]rune(s)) > 200 {
		t.Errorf("subject of %d runes", len([]rune(s)))
	}
}

func TestConfigErrors(t *testing.T) {
	_, err := smtp.New(smtp.Config{
		Addr: "mail.example.com", TLS: "ssl", Sender: "tracker@example.com\r\nBcc: x@example.net",
		Recipients: []string{"not an address"}, BaseURL: "/relative",
	})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"server address", `TLS mode "ssl"`, "sender", `"not an address" is not an e-mail address`, "base URL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	_, err = smtp.New(smtp.Config{Addr: "mail.example.com:25", TLS: smtp.TLSNone, Username: "u", Password: "p",
		Sender: "a@example.com", Recipients: []string{"b@example.com"}})
	if err == nil || !strings.Contains(err.Error(), "clear text") {
		t.Errorf("password in clear text to a remote server: %v", err)
	}
}

// An upgrade of the fingerprint gives old errors new fingerprints: the mail
// policy reads the groups of the previous ones, even before the store has
// carried them over, and announces no old error as new.
func TestFingerprintUpgradeAnnouncesNothingOld(t *testing.T) {
	in := testenv.StartInbox(t)
	store := newStore(t)
	cfg := mailConfig(in)
	cfg.Store = store
	ctx := context.Background()
	t0 := time.Now().Add(-time.Hour)

	before := newMailer(t, cfg)
	batch := []exporter.Record{rec("v1-open", t0), rec("v1-resolved", t0)}
	for _, e := range []exporter.Exporter{store, before} {
		if err := e.Export(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	in.WaitFor(t, 2)
	if err := store.Resolve(ctx, "v1-resolved"); err != nil {
		t.Fatal(err)
	}

	after := newMailer(t, cfg) // the upgraded process
	upgraded := func(fp, previous string) exporter.Record {
		r := rec(fp, time.Now())
		r.PreviousFingerprint = previous
		return r
	}
	batch = []exporter.Record{upgraded("v2-open", "v1-open"), upgraded("v2-resolved", "v1-resolved"), upgraded("v2-new", "v1-unknown")}
	if err := after.Export(ctx, batch); err != nil { // before the store carries anything over
		t.Fatal(err)
	}
	msgs := in.WaitFor(t, 4)
	time.Sleep(100 * time.Millisecond)
	var subjects []string
	for _, m := range in.Messages()[2:] {
		subjects = append(subjects, testenv.ParseMail(t, m).Subject)
	}
	sort.Strings(subjects)
	if len(in.Messages()) != 4 || !strings.Contains(subjects[0], "boom v2-new") || strings.Contains(subjects[0], "[regression]") ||
		!strings.Contains(subjects[1], "[regression]") || !strings.Contains(subjects[1], "boom v2-resolved") {
		t.Errorf("%d mails; after the upgrade %q, want v2-new announced and v2-resolved as a regression, nothing for v2-open", len(msgs), subjects)
	}
}
