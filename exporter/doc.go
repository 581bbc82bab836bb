// Package exporter holds the data model shared by the error tracker's
// parts: [Record], one exception occurrence as it leaves the processor,
// already masked and fingerprinted, and the [Exporter] interface that the
// ClickHouse store and the e-mail notifier implement.
//
// The processor delivers records to each exporter from a goroutine of its
// own, in batches, and retries a failed Export with backoff; an exporter
// therefore does no queueing of its own and may block in Export for as long
// as the context allows.
package exporter
