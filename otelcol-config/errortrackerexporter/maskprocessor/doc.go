// Package maskprocessor is the Collector processor "errortracker_mask": it
// masks traces and logs with package maskattr — the Go processor's rules
// under the same APP_ERROR_* settings — so that what any exporter after it
// forwards is masked as a Go service masks it: span, event, link and
// resource attributes, span status descriptions (which JavaScript code
// often fills with err.message; the contrib redaction processor leaves
// them), log record attributes and string bodies. Keys are never changed;
// span names are left as they are, as in Go.
//
// Place it first in every pipeline, before every exporter.
package maskprocessor
