package processor

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

const instrumentationName = "github.com/errortracker/errortracker/processor"

// Reasons for dropping a record, the "reason" attribute of
// errortracker.records.dropped.
const (
	DropQueueFull    = "queue_full"      // an exporter's queue was full
	DropNotInit      = "not_initialised" // the buffer before Init was full
	DropShutdown     = "shutdown"        // captured after Shutdown, or not delivered before its deadline
	DropExportFailed = "export_failed"   // retries ran out, or the error was permanent
	DropFiltered     = "filtered"        // a Filter said it is not a bug
)

type metrics struct {
	captured metric.Int64Counter
	dropped  metric.Int64Counter
	exported metric.Int64Counter
	failures metric.Int64Counter
	masked   metric.Int64Counter
}

func newMetrics(mp metric.MeterProvider) (*metrics, error) {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	meter := mp.Meter(instrumentationName)
	var m metrics
	var err error
	if m.captured, err = meter.Int64Counter("errortracker.records.captured", metric.WithUnit("{record}"),
		metric.WithDescription("Exception records extracted from spans.")); err != nil {
		return nil, fmt.Errorf("processor: metric: %w", err)
	}
	if m.dropped, err = meter.Int64Counter("errortracker.records.dropped", metric.WithUnit("{record}"),
		metric.WithDescription("Records not delivered to an exporter, by reason.")); err != nil {
		return nil, fmt.Errorf("processor: metric: %w", err)
	}
	if m.exported, err = meter.Int64Counter("errortracker.records.exported", metric.WithUnit("{record}"),
		metric.WithDescription("Records an exporter accepted, by exporter.")); err != nil {
		return nil, fmt.Errorf("processor: metric: %w", err)
	}
	if m.failures, err = meter.Int64Counter("errortracker.export.failures", metric.WithUnit("{call}"),
		metric.WithDescription("Failed Export calls, retried or not, by exporter.")); err != nil {
		return nil, fmt.Errorf("processor: metric: %w", err)
	}
	if m.masked, err = meter.Int64Counter("errortracker.values.masked", metric.WithUnit("{value}"),
		metric.WithDescription("Attribute values masked before leaving the process.")); err != nil {
		return nil, fmt.Errorf("processor: metric: %w", err)
	}
	return &m, nil
}

func (m *metrics) drop(n int, reason string) {
	if n > 0 {
		m.dropped.Add(context.Background(), int64(n), metric.WithAttributes(attribute.String("reason", reason)))
	}
}
