// Package errortrackerexporter is the Collector exporter "errortracker":
// it turns the exception events of OTLP spans, and OTLP log records that
// carry exception.* attributes, into the error tracker's records — masked
// with package maskattr under the APP_ERROR_* settings, fingerprinted with
// the v3 grouping (stack parsers for Go, Python, Java/Kotlin,
// Node.js/JavaScript and .NET; app frames per language), stored in
// ClickHouse and announced by mail.
//
// It is glue: package intake builds the records, package grouping
// fingerprints them, package processor's queues deliver them to the
// ClickHouse store and the mail policy (exporter/smtp), exactly as in a Go
// service.
//
// # One instance, one store
//
// The traces and logs pipelines share one instance per component ID (the
// Collector's shared-component pattern): one mail policy, one set of
// queues. The store belongs to the browse extension
// (browseextension, "errortracker_browse"), which the exporter finds by
// the component ID in Config.Store: the Collector shuts pipelines down
// before extensions, so the store closes after the last record reached it.
//
// # sending_queue and retry_on_failure
//
// The exporter has neither. Consuming a batch is CPU work only — find the
// exceptions, mask, fingerprint — and hands the records to the library's
// bounded queue of each sink (the store, the mail), which batches, retries
// with backoff (ClickHouse not ready yet does not spend the retry budget)
// and counts what it drops. A Collector queue in front would hold the OTLP
// batches, mostly spans without exceptions, to do that cheap work later;
// its retry would re-run it against records already queued. queue_size
// bounds the library's queues instead. Nothing on the consume path makes a
// network call.
//
// # logs/dup
//
// An exception sent both as a span event and as a log record
// (OTEL_SEMCONV_EXCEPTION_SIGNAL_OPT_IN=logs/dup) gets one occurrence id
// from both (package intake): the store's distinct-id counts count it
// once, across pipelines, batches and Collector instances.
package errortrackerexporter
