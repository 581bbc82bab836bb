// Package browseextension is the Collector extension "errortracker_browse":
// it owns the error tracker's ClickHouse store and serves the browse pages
// and the JSON API over it (package browse), so that a fleet with no Go
// service runs one binary: receive OTLP, store, mail, browse.
//
// The errortracker exporter finds the store through this extension by its
// component ID. The Collector starts extensions before pipelines and shuts
// them down after, so the store is open before the first record and closes
// after the last one was exported.
package browseextension
