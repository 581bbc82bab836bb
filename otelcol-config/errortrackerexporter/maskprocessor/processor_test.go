package maskprocessor

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"
)

// TestMasksWhatIsForwarded: span, event, link and resource attributes,
// the status description, log attributes and bodies.
func TestMasksWhatIsForwarded(t *testing.T) {
	ctx := context.Background()
	f := NewFactory()
	sink := new(consumertest.TracesSink)
	tp, err := f.CreateTraces(ctx, processortest.NewNopSettings(f.Type()), f.CreateDefaultConfig(), sink)
	if err != nil {
		t.Fatal(err)
	}
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("deploy.api_key", "k-123456789")
	span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.Attributes().PutStr("http.request.header.authorization", "Bearer abcdefghijk")
	span.Attributes().PutStr("url.full", "https://x.example.com/a?token=tok-987654321&page=2")
	span.Attributes().PutInt("http.response.status_code", 500)
	span.Status().SetMessage("login failed: password=hunter2-secret")
	span.Events().AppendEmpty().Attributes().PutStr("password", "hunter2-secret")
	span.Links().AppendEmpty().Attributes().PutStr("session_id", "sess-123456")
	if err := tp.ConsumeTraces(ctx, td); err != nil {
		t.Fatal(err)
	}
	got := sink.AllTraces()[0]
	var text strings.Builder
	s := got.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	for _, m := range []map[string]any{got.ResourceSpans().At(0).Resource().Attributes().AsRaw(), s.Attributes().AsRaw(),
		s.Events().At(0).Attributes().AsRaw(), s.Links().At(0).Attributes().AsRaw()} {
		for k, v := range m {
			text.WriteString(k + "=" + fmt.Sprint(v) + "\n")
		}
	}
	text.WriteString(s.Status().Message())
	for _, secret := range []string{"k-123456789", "abcdefghijk", "tok-987654321", "hunter2", "sess-123456"} {
		if strings.Contains(text.String(), secret) {
			t.Errorf("%q forwarded:\n%s", secret, text.String())
		}
	}
	if !strings.Contains(text.String(), "page=2") || !strings.Contains(text.String(), "http.response.status_code=500") {
		t.Errorf("masked too much:\n%s", text.String())
	}

	logs := new(consumertest.LogsSink)
	lp, err := f.CreateLogs(ctx, processortest.NewNopSettings(f.Type()), f.CreateDefaultConfig(), logs)
	if err != nil {
		t.Fatal(err)
	}
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.Body().SetStr("retrying with Authorization: Bearer abcdefghijk")
	lr.Attributes().PutStr("db.password", "hunter2-secret")
	if err := lp.ConsumeLogs(ctx, ld); err != nil {
		t.Fatal(err)
	}
	out := logs.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	if b := out.Body().Str(); strings.Contains(b, "abcdefghijk") {
		t.Errorf("body forwarded: %q", b)
	}
	if v, _ := out.Attributes().Get("db.password"); strings.Contains(v.Str(), "hunter2") {
		t.Errorf("attribute forwarded: %q", v.Str())
	}
}
