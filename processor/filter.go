package processor

import (
	"strings"

	"github.com/errortracker/errortracker/exporter"
)

// Filter reports whether a record is not a bug and should not be exported.
// It sees the masked record, fingerprint included. Errors recorded with
// span.RecordError keep only their type name and message, so filters match
// on those rather than on error values.
type Filter func(exporter.Record) bool

// IgnoreCanceled drops context.Canceled, alone or wrapped with %w: a client
// that went away is not a bug.
func IgnoreCanceled(r exporter.Record) bool {
	return hasCause(r.Message, "context canceled")
}

// IgnoreAbortHandler drops http.ErrAbortHandler, the panic net/http uses to
// abort a response on purpose.
func IgnoreAbortHandler(r exporter.Record) bool {
	return hasCause(r.Message, "net/http: abort Handler")
}

// hasCause reports whether msg is cause, or ends with it as the innermost
// error of a "…: cause" chain.
func hasCause(msg, cause string) bool {
	return msg == cause || strings.HasSuffix(msg, ": "+cause)
}
