package maskprocessor

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/errortracker/errortracker/maskattr"
	"github.com/errortracker/errortracker/otelcol-config/errortrackerexporter/internal/otlpattr"
)

// TypeStr is the processor's type in a Collector configuration.
const TypeStr = "errortracker_mask"

// NewFactory returns the processor's factory.
func NewFactory() processor.Factory {
	return processor.NewFactory(component.MustNewType(TypeStr), func() component.Config { return &Config{} },
		processor.WithTraces(createTraces, component.StabilityLevelAlpha),
		processor.WithLogs(createLogs, component.StabilityLevelAlpha))
}

var mutates = processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: true})

func createTraces(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	m, err := maskattr.New(cfg.(*Config).rules())
	if err != nil {
		return nil, fmt.Errorf("errortracker_mask: %w", err)
	}
	return processorhelper.NewTraces(ctx, set, cfg, next, (&masker{m: m}).traces, mutates)
}

func createLogs(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	m, err := maskattr.New(cfg.(*Config).rules())
	if err != nil {
		return nil, fmt.Errorf("errortracker_mask: %w", err)
	}
	return processorhelper.NewLogs(ctx, set, cfg, next, (&masker{m: m}).logs, mutates)
}

type masker struct{ m *maskattr.Masker }

func (k *masker) attrs(m pcommon.Map) { otlpattr.MaskMap(m, k.m.KeyValue) }

func (k *masker) traces(_ context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		k.attrs(rs.Resource().Attributes())
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for s := 0; s < spans.Len(); s++ {
				span := spans.At(s)
				k.attrs(span.Attributes())
				if d := span.Status().Message(); d != "" {
					if masked, changed := k.m.String(d); changed {
						span.Status().SetMessage(masked)
					}
				}
				events := span.Events()
				for e := 0; e < events.Len(); e++ {
					k.attrs(events.At(e).Attributes())
				}
				links := span.Links()
				for l := 0; l < links.Len(); l++ {
					k.attrs(links.At(l).Attributes())
				}
			}
		}
	}
	return td, nil
}

func (k *masker) logs(_ context.Context, ld plog.Logs) (plog.Logs, error) {
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		k.attrs(rl.Resource().Attributes())
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for l := 0; l < lrs.Len(); l++ {
				lr := lrs.At(l)
				k.attrs(lr.Attributes())
				if lr.Body().Type() == pcommon.ValueTypeStr {
					if masked, changed := k.m.String(lr.Body().Str()); changed {
						lr.Body().SetStr(masked)
					}
				}
			}
		}
	}
	return ld, nil
}
