package processor

import (
	"context"
	"errors"
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
	DropDuplicate    = "duplicate"       // a log record of an exception its span recorded too
	DropNotSpooled   = "not_spooled"     // the spool's writer fell behind (a stalled disk): kept in memory only, not dropped from it
	DropSpoolFull    = "spool_full"      // the oldest records in the spool, past its byte bound
	DropSpoolTorn    = "spool_torn"      // a torn or corrupt segment tail found on start (at least one record each)
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
	var errs []error
	counter := func(name, unit, desc string) metric.Int64Counter {
		c, err := meter.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	m.captured = counter("errortracker.records.captured", "{record}", "Exception records extracted from spans.")
	m.dropped = counter("errortracker.records.dropped", "{record}", "Records not delivered to an exporter, by reason.")
	m.exported = counter("errortracker.records.exported", "{record}", "Records an exporter accepted, by exporter.")
	m.failures = counter("errortracker.export.failures", "{call}", "Failed Export calls, retried or not, by exporter.")
	m.masked = counter("errortracker.values.masked", "{value}", "Attribute values masked before leaving the process.")
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("processor: metrics: %w", err)
	}
	return &m, nil
}

func (m *metrics) drop(n int, reason string) {
	if n > 0 {
		m.dropped.Add(context.Background(), int64(n), metric.WithAttributes(attribute.String("reason", reason)))
	}
}
