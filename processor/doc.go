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
// # Memory bounds
//
// Each exporter's queue, and the buffer that waits for Init, holds at
// most WithQueueSize records (65,536) and WithQueueBytes bytes of them (64
// MiB), counting a record's strings and attributes and a fixed overhead
// per record; the batch an exporter is working on counts until it is done.
// Without a spool a full queue drops the newest records: those already
// queued may be in the batch in flight, and dropping at the tail takes
// nothing back that was promised.
//
// # Spool
//
// [WithSpool] (or APP_ERROR_SPOOL_DIR) puts a disk spool under the queues,
// so that a restart, a deploy or an OOM kill during a store outage loses
// nothing accepted. It is one append-only log for all exporters, in
// segment files with a CRC-32C per record, and a cursor per exporter under
// the exporter's stable name (its type, "#2" for a second of one type).
//
//   - span.End() writes nothing: it numbers the records and hands them to
//     the spool's writer, which writes and fsyncs them every 100 ms (a
//     group commit). A record accepted is durable against SIGKILL within W
//     = the commit interval plus one commit's write, about 100 ms; a power
//     cut may lose the same window, as long as the disk honours fsync.
//     When the disk stalls, the writer falls behind: past 65,536 records
//     waiting, new ones stay in memory only (counted as not_spooled).
//   - Only records are written: masked data, never a raw span.
//   - A record leaves the spool when every exporter's cursor has passed
//     it: after its export succeeded, or was refused as permanent. A batch
//     whose retries run out goes back to the spool: the exporter reads it
//     again, with a fresh retry budget, once its queue is empty, so an
//     outage longer than the budget loses nothing either; at Shutdown it
//     stays for the next start.
//   - A full queue spills: the exporter reads what does not fit from the
//     spool once its queue is empty, so with a spool no queue drops.
//   - On start each exporter reads the spool from its cursor again. The
//     ClickHouse store counts distinct occurrence ids, so a replayed record
//     counts once, and the mail policy claims every mail in the store
//     before sending it (clickhouse.Exporter.Claim), so a replay never
//     mails twice.
//   - A torn or corrupt tail (a kill during a write) is skipped, logged
//     and counted (spool_torn); the records before it are delivered.
//   - Past APP_ERROR_SPOOL_MAX_BYTES (256 MiB) the oldest segment is
//     removed and what it held that an exporter still needed is counted
//     (spool_full). The spool drops the oldest, unlike the memory queue,
//     because a log can only be cut at its head; the newest records are
//     also those a person most wants to see.
//   - A second process on the same directory (a rolling restart) waits up
//     to 5 s for the lock (flock), then runs on memory alone and logs it;
//     it never stops the app.
//
// # Crashes
//
// [WithCrashCapture] points the runtime's crash output
// (runtime/debug.SetCrashOutput) at a file, and the next start reports an
// unrecovered panic in any goroutine, a fatal error or a stack overflow as
// one record; [MonitorCrashes] is the opt-in monitor process that also
// keeps a fatal error's first line.
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
// TracerProvider: its Shutdown stops this processor and returns by its
// deadline, in two phases — it exports what is queued within the deadline,
// then, once every exporter's goroutine has stopped, shuts the exporters
// down, stores last (the ClickHouse store closes its connections, so stop
// serving the browse pages before), and then the processors it wraps. What
// was not exported stays in the spool, if there is one. An exporter that
// ignores its context cannot hold Shutdown past the deadline; see
// [Processor.Shutdown] for what is left running then.
//
// # Self-observability
//
// Counters, through the OpenTelemetry metrics API (WithMeterProvider):
// errortracker.records.captured, errortracker.records.dropped (by reason),
// errortracker.records.exported and errortracker.export.failures (by
// exporter), errortracker.values.masked.
package processor
