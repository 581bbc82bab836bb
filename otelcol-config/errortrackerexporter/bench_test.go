package errortrackerexporter_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/errortracker/errortracker/internal/testenv"
	"github.com/errortracker/errortracker/otelcol-config/errortrackerexporter"
	"github.com/errortracker/errortracker/otelcol-config/errortrackerexporter/browseextension"
	"github.com/errortracker/errortracker/otelcol-config/errortrackerexporter/maskprocessor"
)

const spansPerBatch = 1000

// traffic is a batch of a Node service's server spans, 1% of which carry
// an exception (a stack, an id in the message); every span has request
// attributes, one of them a secret.
func traffic(seq int, exceptions bool) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "checkout-node")
	rs.Resource().Attributes().PutStr("telemetry.sdk.language", "nodejs")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	now := pcommon.NewTimestampFromTime(time.Now())
	for i := range spansPerBatch {
		s := spans.AppendEmpty()
		s.SetName("POST /orders")
		s.SetTraceID(pcommon.TraceID{byte(seq), byte(seq >> 8), byte(seq >> 16), byte(i), byte(i >> 8), 1})
		s.SetSpanID(pcommon.SpanID{byte(i), byte(i >> 8), 2})
		s.SetStartTimestamp(now)
		s.SetEndTimestamp(now)
		a := s.Attributes()
		a.PutStr("http.request.method", "POST")
		a.PutStr("http.route", "/orders")
		a.PutStr("url.path", "/orders")
		a.PutInt("http.response.status_code", 200)
		a.PutStr("http.request.header.authorization", "Bearer abcdefghijklmnop")
		if exceptions && i%100 == 0 {
			ev := s.Events().AppendEmpty()
			ev.SetName("exception")
			ev.SetTimestamp(now)
			ev.Attributes().PutStr("exception.type", "TypeError")
			ev.Attributes().PutStr("exception.message", fmt.Sprintf("order %d has no items", seq*spansPerBatch+i))
			ev.Attributes().PutStr("exception.stacktrace", nodeStack)
		}
	}
	return td
}

// BenchmarkPipeline measures spans per second through the distribution's
// traces pipeline, errortracker_mask then an exporter: the no-op exporter,
// then the errortracker exporter with its store on the real ClickHouse
// (delivery is asynchronous, but on a small machine the store's inserts
// and the ClickHouse server share the cores with the pipeline), and with
// the store down ("store-down": the same exporter, its ClickHouse address
// closed, so the queues fill and drop, counted): the consume path alone.
// The throughput ratio is errortracker's spans/s over nop's (target ≥
// 0.90). The -no-exceptions pair runs the same traffic without any
// exception: what the exporter costs every other span.
func BenchmarkPipeline(b *testing.B) {
	ctx := context.Background()
	for _, name := range []string{"nop", "errortracker", "errortracker-store-down", "nop-no-exceptions", "errortracker-no-exceptions"} {
		exceptions := !strings.HasSuffix(name, "-no-exceptions")
		b.Run(name, func(b *testing.B) {
			var exp consumer.Traces
			if strings.HasPrefix(name, "nop") {
				f := exportertest.NewNopFactory()
				e, err := f.CreateTraces(ctx, exportertest.NewNopSettings(f.Type()), f.CreateDefaultConfig())
				if err != nil {
					b.Fatal(err)
				}
				exp = e
			} else {
				chAddr := testenv.ClickHouseAddr(b)
				if name == "errortracker-store-down" {
					chAddr = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(b)) // nothing listens there
				}
				exp = startExporter(b, chAddr)
			}
			mf := maskprocessor.NewFactory()
			mp, err := mf.CreateTraces(ctx, processortest.NewNopSettings(mf.Type()), mf.CreateDefaultConfig(), exp)
			if err != nil {
				b.Fatal(err)
			}
			batches := make([]ptrace.Traces, 64)
			for i := range batches {
				batches[i] = traffic(i, exceptions)
			}
			b.ReportAllocs()
			seq := 0
			for b.Loop() {
				b.StopTimer()
				td := ptrace.NewTraces()
				batches[seq%len(batches)].CopyTo(td) // the mask processor changes its batch
				seq++
				b.StartTimer()
				if err := mp.ConsumeTraces(ctx, td); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(seq*spansPerBatch)/b.Elapsed().Seconds(), "spans/s")
		})
	}
}

// startExporter starts the browse extension (the store) and the
// errortracker traces exporter, stopped when the benchmark ends.
func startExporter(b *testing.B, chAddr string) consumer.Traces {
	ctx := context.Background()
	ef := browseextension.NewFactory()
	ecfg := ef.CreateDefaultConfig().(*browseextension.Config)
	ecfg.Endpoint = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(b))
	ecfg.ClickHouse.Addr = chAddr
	ecfg.ClickHouse.Database = fmt.Sprintf("et_bench_%d", time.Now().UnixNano())
	ext, err := ef.Create(ctx, extensiontest.NewNopSettings(ef.Type()), ecfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := ext.Start(ctx, host{}); err != nil {
		b.Fatal(err)
	}
	f := errortrackerexporter.NewFactory()
	te, err := f.CreateTraces(ctx, exportertest.NewNopSettings(f.Type()), f.CreateDefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	if err := te.Start(ctx, host{component.MustNewID(browseextension.TypeStr): ext}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		// With the store down, Shutdown waits for its deadline: what is
		// queued cannot be delivered.
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = te.Shutdown(ctx)
		_ = ext.Shutdown(ctx)
	})
	return te
}
