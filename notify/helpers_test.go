package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/exporter/clickhouse"
	"github.com/errortracker/errortracker/exporter/smtp"
	"github.com/errortracker/errortracker/internal/testenv"
	"github.com/errortracker/errortracker/notify"
	"github.com/errortracker/errortracker/notify/webhook"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const secret = "webhook-test-secret"

// hook is what the receiver got: a verified request's body.
type hook struct {
	Event        notify.Event `json:"event"`
	ID           string       `json:"id"`
	SentAt       time.Time    `json:"sent_at"`
	Summary      string       `json:"summary"`
	Link         string       `json:"link"`
	Group        hookGroup    `json:"group"`
	Groups       []hookGroup  `json:"groups"`
	Raw          []byte       `json:"-"`
	SignatureRaw string       `json:"-"`
}

type hookGroup struct {
	Fingerprint    string  `json:"fingerprint"`
	Message        string  `json:"message"`
	ServiceVersion string  `json:"service_version"`
	Count          uint64  `json:"count"`
	FirstRelease   string  `json:"first_release"`
	RegressedIn    string  `json:"regressed_in"`
	LastHour       uint64  `json:"last_hour"`
	Baseline       float64 `json:"baseline"`
	Link           string  `json:"link"`
}

// receiver is a webhook receiver on loopback: a real HTTP server that
// verifies each request's signature as a user's receiver would, and
// keeps the verified ones. A request whose signature fails is answered
// 401 and counted.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	got     []hook
	refused int
}

func startReceiver(t *testing.T) *receiver {
	t.Helper()
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		sig := req.Header.Get(webhook.SignatureHeader)
		r.mu.Lock()
		defer r.mu.Unlock()
		if !webhook.Verify(secret, body, sig) {
			r.refused++
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var h hook
		if err := json.Unmarshal(body, &h); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h.Raw, h.SignatureRaw = body, sig
		r.got = append(r.got, h)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) hooks() []hook {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hook(nil), r.got...)
}

// waitFor waits until the receiver holds n requests.
func (r *receiver) waitFor(t *testing.T, n int) []hook {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if h := r.hooks(); len(h) >= n {
			return h
		}
		if time.Now().After(deadline) {
			t.Fatalf("receiver holds %d requests after 10 s, want %d", len(r.hooks()), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func mailConfig(in *testenv.Inbox) smtp.Config {
	return smtp.Config{
		Addr: in.Addr, Username: testenv.InboxUser, Password: testenv.InboxPassword, TLS: smtp.TLSStartTLS, RootCAs: in.Roots,
		Sender: "tracker@example.com", Recipients: []string{"ops@example.com"}, SubjectPrefix: "[shop]",
	}
}

// fastRetry keeps the tests' retries short.
var fastRetry = notify.Retry{Initial: 20 * time.Millisecond, Max: 100 * time.Millisecond, MaxElapsed: 20 * time.Second}

// transports builds the SMTP and webhook notifiers of a test.
func transports(t *testing.T, in *testenv.Inbox, r *receiver) []notify.Notifier {
	t.Helper()
	var out []notify.Notifier
	if in != nil {
		m, err := smtp.NewNotifier(mailConfig(in))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	if r != nil {
		w, err := webhook.New(webhook.Config{URL: r.URL + "/hook", Secret: secret})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, w)
	}
	return out
}

func newPolicy(t *testing.T, cfg notify.Config, notifiers ...notify.Notifier) *notify.Policy {
	t.Helper()
	if cfg.Retry == (notify.Retry{}) {
		cfg.Retry = fastRetry
	}
	p, err := notify.New(cfg, notifiers...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = p.Shutdown(ctx)
	})
	return p
}

// newStore connects to the shared test ClickHouse with a database of the
// test's own.
func newStore(t *testing.T) *clickhouse.Exporter {
	t.Helper()
	db := fmt.Sprintf("t_notify_%d", time.Now().UnixNano())
	s, err := clickhouse.New(context.Background(), clickhouse.Config{Addrs: []string{testenv.ClickHouseAddr(t)}, Database: db})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s
}

// triage returns the store's workflow, or skips the test while the store
// does not implement it yet.
func triage(t *testing.T, s exporter.Store) exporter.Triage {
	t.Helper()
	tr, ok := s.(exporter.Triage)
	if !ok {
		t.Skip("the ClickHouse store does not implement exporter.Triage yet")
	}
	return tr
}

var seq int

func rec(fp, version string, at time.Time) exporter.Record {
	seq++
	return exporter.Record{
		ID: fmt.Sprintf("%s-%d-%d", fp, at.UnixNano(), seq), Fingerprint: fp, Time: at, ServiceVersion: version,
		Type: "*errors.errorString", Message: "boom " + fp, Service: "checkout", Method: "GET", Host: "shop.example.com", Path: "/x",
	}
}

// occur hands a batch to the store and then to the policy, as the
// processor's two exporters would (in either order; here the store first).
func occur(t *testing.T, store exporter.Exporter, p *notify.Policy, recs ...exporter.Record) {
	t.Helper()
	ctx := context.Background()
	if store != nil {
		if err := store.Export(ctx, recs); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Export(ctx, recs); err != nil {
		t.Fatal(err)
	}
}

// quiet waits for what should not come to have time to.
func quiet() { time.Sleep(300 * time.Millisecond) }

// hangingServer accepts connections and never answers.
func hangingServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + l.Addr().String() + "/hook"
}

// refusingURL is a loopback URL nothing listens on.
func refusingURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/hook"
}

// sameStore opens another store on the database of s: another process's,
// which claims as another owner.
func sameStore(t *testing.T, s *clickhouse.Exporter) *clickhouse.Exporter {
	t.Helper()
	o, err := clickhouse.New(context.Background(), clickhouse.Config{Addrs: []string{testenv.ClickHouseAddr(t)}, Database: s.Database()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Shutdown(context.Background()) })
	return o
}
