package errortrackerexporter_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	etexporter "github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/internal/testenv"
	"github.com/errortracker/errortracker/otelcol-config/errortrackerexporter"
	"github.com/errortracker/errortracker/otelcol-config/errortrackerexporter/browseextension"
)

// host hands the extensions to the exporters, as the Collector does.
type host map[component.ID]component.Component

func (h host) GetExtensions() map[component.ID]component.Component { return h }

const nodeStack = "TypeError: order 4711 has no items\n" +
	"    at check (/srv/shop/orders.js:2:28)\n" +
	"    at place (/srv/shop/orders.js:3:32)\n" +
	"    at Layer.handle (/srv/shop/node_modules/express/lib/router/layer.js:95:5)\n"

// TestTracesAndLogsShareOneTracker runs the traces and logs exporters of
// one component ID against a real ClickHouse (the store owned by the
// browse extension): the span event and its logs/dup log record count
// once, a secret never reaches the store, and the group is announced once
// by mail.
func TestTracesAndLogsShareOneTracker(t *testing.T) {
	ctx := context.Background()
	inbox := testenv.StartPlainInbox(t)
	db := fmt.Sprintf("et_component_%d", time.Now().UnixNano())

	extFactory := browseextension.NewFactory()
	extCfg := extFactory.CreateDefaultConfig().(*browseextension.Config)
	extCfg.Endpoint = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	extCfg.ClickHouse.Addr = testenv.ClickHouseAddr(t)
	extCfg.ClickHouse.Database = db
	ext, err := extFactory.Create(ctx, extensiontest.NewNopSettings(extFactory.Type()), extCfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ext.Start(ctx, host{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ext.Shutdown(context.Background()) })
	h := host{component.MustNewID(browseextension.TypeStr): ext}

	f := errortrackerexporter.NewFactory()
	cfg := f.CreateDefaultConfig().(*errortrackerexporter.Config)
	cfg.SendNotification = true
	cfg.RecipientEmail = "oncall@example.com"
	cfg.EmailSender = "tracker@example.com"
	cfg.SMTP.Addr = inbox.Addr
	cfg.SMTP.Username, cfg.SMTP.Password = testenv.InboxUser, testenv.InboxPassword
	// And a webhook, as a Slack-less team sets one: a receiver on
	// loopback that verifies the signature and keeps what it is sent.
	const hookSecret = "whsec-component-test"
	hooks := testenv.StartHooks(t, hookSecret)
	cfg.Webhook = errortrackerexporter.WebhookConfig{URL: hooks.URL, Secret: hookSecret}
	set := exportertest.NewNopSettings(f.Type())
	te, err := f.CreateTraces(ctx, set, cfg)
	if err != nil {
		t.Fatal(err)
	}
	le, err := f.CreateLogs(ctx, set, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []component.Component{te, le} {
		if err := c.Start(ctx, h); err != nil {
			t.Fatal(err)
		}
	}

	traceID := pcommon.TraceID{1, 2, 3, 4}
	spanID := pcommon.SpanID{5, 6, 7, 8}
	now := time.Now()
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "shop-node")
	rs.Resource().Attributes().PutStr("telemetry.sdk.language", "nodejs")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	for i := range 2 { // a span without exceptions, then one with
		span := spans.AppendEmpty()
		span.SetName("POST /orders")
		span.SetTraceID(traceID)
		span.SetSpanID(pcommon.SpanID{5, 6, 7, byte(7 + i)}) // the second is spanID
		span.Attributes().PutStr("http.request.header.authorization", "Bearer abc.def.ghi")
		span.Attributes().PutStr("url.full", "https://shop.example.com/orders?token=tok-123456789")
		if i == 1 {
			ev := span.Events().AppendEmpty()
			ev.SetName("exception")
			ev.SetTimestamp(pcommon.NewTimestampFromTime(now))
			ev.Attributes().PutStr("exception.type", "TypeError")
			ev.Attributes().PutStr("exception.message", "order 4711 has no items")
			ev.Attributes().PutStr("exception.stacktrace", nodeStack)
			ev.Attributes().PutStr("password", "hunter2-very-secret")
		}
	}
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "shop-node")
	rl.Resource().Attributes().PutStr("telemetry.sdk.language", "nodejs")
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetTraceID(traceID)
	lr.SetSpanID(spanID)
	lr.SetTimestamp(pcommon.NewTimestampFromTime(now.Add(2 * time.Millisecond)))
	lr.Attributes().PutStr("exception.type", "TypeError")
	lr.Attributes().PutStr("exception.message", "order 4711 has no items")
	lr.Attributes().PutStr("exception.stacktrace", nodeStack)
	lr.Attributes().PutStr("password", "hunter2-very-secret")

	if err := te.ConsumeTraces(ctx, td); err != nil {
		t.Fatal(err)
	}
	if err := le.ConsumeLogs(ctx, ld); err != nil {
		t.Fatal(err)
	}
	// The pipelines shut down first: the tracker delivers what it holds.
	for _, c := range []component.Component{te, le} {
		if err := c.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
	}

	store := ext.(errortrackerexporter.StoreOwner).Store()
	var page etexporter.GroupPage
	deadline := time.Now().Add(30 * time.Second)
	for {
		page, err = store.ListGroups(ctx, etexporter.GroupQuery{})
		if err == nil && len(page.Groups) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil || len(page.Groups) != 1 {
		t.Fatalf("groups %+v, %v", page.Groups, err)
	}
	g := page.Groups[0]
	if g.Count != 1 {
		t.Errorf("the span event and its log record counted %d times, want once", g.Count)
	}
	_, rec, err := store.GetGroup(ctx, g.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rec.Grouping, "orders.js:check") || rec.Service != "shop-node" {
		t.Errorf("record: grouping %q, service %q", rec.Grouping, rec.Service)
	}
	all := fmt.Sprintf("%+v", rec)
	for _, secret := range []string{"hunter2", "abc.def.ghi", "tok-123456789"} {
		if strings.Contains(all, secret) {
			t.Errorf("the stored record holds %q: %s", secret, all)
		}
	}
	mails := inbox.WaitFor(t, 1)
	time.Sleep(500 * time.Millisecond)
	if n := len(inbox.Messages()); n != 1 {
		t.Errorf("%d mails for one new group, want 1", n)
	}
	if strings.Contains(string(mails[0].Data), "hunter2") {
		t.Error("the mail holds the secret")
	}
	hooks.WaitFor(t, 1, 10*time.Second)
	time.Sleep(500 * time.Millisecond) // a second request would come now
	posts := hooks.Bodies()
	if len(posts) != 1 || hooks.Refused() != 0 {
		t.Fatalf("%d verified and %d refused webhook requests for one new group, want 1 and 0", len(posts), hooks.Refused())
	}
	var body struct {
		Event string `json:"event"`
		Group struct {
			Fingerprint, Service string
		} `json:"group"`
	}
	if err := json.Unmarshal(posts[0], &body); err != nil {
		t.Fatalf("webhook body %s: %v", posts[0], err)
	}
	if body.Event != "new" || body.Group.Fingerprint != g.Fingerprint || body.Group.Service != "shop-node" {
		t.Errorf("webhook: %s", posts[0])
	}
	if strings.Contains(string(posts[0]), "hunter2") {
		t.Error("the webhook's body holds the secret")
	}
}
