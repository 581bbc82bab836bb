// Package intake builds exporter.Records from an OpenTelemetry-neutral view
// of where exceptions were recorded: a span and its exception events, or a
// log record that carries exception.* attributes. The Go processor feeds
// it from the SDK's read-only spans and log records; the Collector's
// errortracker exporter feeds it from OTLP (pdata). Both get the same
// records, the same fingerprints and the same occurrence ids.
//
// Everything given to the intake is masked already: it builds, it does
// not mask (package maskattr does, in the caller, once per span).
//
// # Occurrence ids and logs/dup
//
// An instrumentation that migrates exceptions from span events to log
// records (OTEL_SEMCONV_EXCEPTION_SIGNAL_OPT_IN=logs/dup) sends each one
// twice. A record of a span (both ids valid) therefore gets an id derived
// from the trace id, the span id, the message, and how many exceptions
// with that message the same span recorded before it: the n-th span event
// with a message and the n-th log record with it in the same span share
// one id, so a store that counts distinct ids counts the pair once,
// whichever pipeline, batch or Collector instance each half took. "Close"
// means "in the same span": timestamps are not compared (a span event and
// its log record are stamped by two clocks reads apart, and any window
// would split pairs at its edge). The type is not compared either: Go's
// span.RecordError writes the outermost wrapper where package scope and a
// log call write the meaningful type. A record outside any span has a
// random id.
//
// Span events are numbered by their span's [Context]; log records, which
// arrive one by one, by an [Ordinals] that lives as long as the process.
// So the counts stay exact when one process sees a span's log records;
// when the log records of one span are split between two Collector
// instances, the n-th of each instance takes the same id, and repeats of
// one message in that span may count once per instance rather than once
// per occurrence.
package intake
