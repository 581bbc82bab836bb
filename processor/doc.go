// Package processor is the heart of the error tracker: an OpenTelemetry
// SpanProcessor that masks every span before anything else sees it, turns
// its exception events into records, and delivers them to exporters
// (ClickHouse, e-mail) without ever blocking the code that ends the span.
//
// # Usage
//
//	cfg, err := processor.ConfigFromEnv() // the APP_ERROR_* variables
//	if err != nil { ... }
//	p, err := processor.New(cfg,
//		processor.WithNext(sdktrace.NewBatchSpanProcessor(otlpExporter)),
//		processor.WithExporter(store),
//	)
//	if err != nil { ... }
//	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))
//
// Register the processor INSTEAD of the processors it wraps: the SDK hands
// every processor the same read-only span, so a masking processor beside the
// batcher could not protect what the batcher exports. The processor builds
// one masked copy of each span (span, event, link and resource attributes,
// status description) and hands that copy to every wrapped processor.
//
// # Records
//
// Each "exception" event (span.RecordError, or the capture functions of
// package scope) becomes an [exporter.Record] with a fingerprint that groups
// repeats, also written onto the event as exception.fingerprint so other
// back ends can group the same way. The fingerprint ([FingerprintVersion],
// computed by package grouping) is one bug, one root cause at one place:
// the meaningful type and the template of its own message, at the function
// that panicked or the innermost two app functions of the capture stack,
// or, without a stack, the span that recorded it. A caller's
// exception.fingerprint ([scope.Fingerprint]) and [WithGroupingRules]
// override it. Records also carry the fingerprints of the versions it
// replaced (exporter.Record.PreviousFingerprints), from which stores carry
// a group's first
// sighting and resolved state over after an upgrade. Records go to one bounded queue per
// exporter, served by one goroutine that batches by size and time and
// retries failures with exponential backoff and jitter; what a full queue
// drops is counted. A stalled exporter delays no other.
//
// A processor built without exporters keeps records in a bounded buffer
// until [Processor.Init] attaches them, like the Python library's lazy
// init_app.
//
// An exporter that is still connecting (exporter.ErrNotReady, as the
// ClickHouse store answers when the app started before its server) holds
// its batch and its queue for as long as it takes, without spending the
// retry budget.
//
// # Logs
//
// [Processor.LogProcessor] feeds exceptions recorded as log records (slog
// through the otelslog bridge) into the same pipeline. A log record emitted
// in a live span waits for the span's end and is left out when the span
// recorded the same exception: logged and captured counts once.
//
// # Shutdown
//
// Stop the HTTP server first (its requests' spans end), then the
// LoggerProvider (its Shutdown exports the tracker's queue), then the
// TracerProvider: its Shutdown stops this processor, exports what is
// queued within the deadline, shuts the exporters down (the ClickHouse
// store closes its connections, so stop serving the browse pages before)
// and then the processors it wraps.
//
// # Self-observability
//
// Counters, through the OpenTelemetry metrics API (WithMeterProvider):
// errortracker.records.captured, errortracker.records.dropped (by reason),
// errortracker.records.exported and errortracker.export.failures (by
// exporter), errortracker.values.masked.
package processor
