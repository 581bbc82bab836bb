package exporter

import (
	"slices"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Record is one exception occurrence: an "exception" span event (or a
// captured message) with the context of the span and resource it came from.
// Every string and attribute in it has been masked before it was built.
//
// The fields cover what the Python error-tracker stored (host, path, method,
// request data, exception name, traceback, time) and what OpenTelemetry adds
// (message, service, trace and span ids, resource).
type Record struct {
	// ID identifies this occurrence; it is random and unique, so a store can
	// drop a copy that a retried batch delivered twice.
	ID string
	// Fingerprint groups occurrences of the same error.
	Fingerprint string
	// PreviousFingerprints are the groups of this occurrence under the ways
	// of grouping that Fingerprint's replaced, newest first (v2, then v1);
	// empty when the caller chose the fingerprint. A store carries the first
	// sighting and state of these groups over to Fingerprint, so an upgrade
	// announces no old error as new, and a group that the new way splits
	// passes its history to every part. Use [Record.Previous] to read them.
	PreviousFingerprints []string
	// PreviousFingerprint is the group of this occurrence under the way of
	// grouping that Fingerprint's replaced.
	//
	// Deprecated: the processor still sets it to the first of
	// PreviousFingerprints; read [Record.Previous], which holds it too.
	PreviousFingerprint string
	// FingerprintByCaller reports that the caller chose Fingerprint
	// (scope.Fingerprint, or an exception.fingerprint attribute on the
	// event): no way of grouping made it, so it has no previous ones.
	FingerprintByCaller bool
	// Grouping says in words what Fingerprint was made of, e.g. `message
	// "load user <num>: sql: no rows in result set"` or `message "runtime
	// error: index out of range [<num>] with length <num>", panicked in
	// shop.cartTotal`: why occurrences share a group.
	Grouping string
	// Time is when the exception was recorded (the event's time).
	Time time.Time

	// Type is exception.type, e.g. "*fs.PathError".
	Type string
	// Message is exception.message.
	Message string
	// Stacktrace is exception.stacktrace, empty when none was recorded.
	Stacktrace string
	// Escaped is exception.escaped: the error left the span's scope (a
	// panic that unwound through it).
	Escaped bool

	// Service is the resource's service.name.
	Service string
	// ServiceVersion is the resource's service.version.
	ServiceVersion string
	// Environment is the resource's deployment.environment.name.
	Environment string

	// SpanName is the name of the span that recorded the exception.
	SpanName string
	// TraceID and SpanID locate that span.
	TraceID trace.TraceID
	SpanID  trace.SpanID

	// Host is server.address (with server.port when not the default), the
	// Python library's host; empty outside a request.
	Host string
	// Method is http.request.method; empty outside a request.
	Method string
	// Path is url.path; empty outside a request.
	Path string
	// Route is http.route, the matched route pattern.
	Route string
	// StatusCode is http.response.status_code, zero when unknown.
	StatusCode int

	// Attributes are the span's attributes: the request data.
	Attributes []attribute.KeyValue
	// Extras are the scope's extras and the attributes given to the capture
	// call: the Python library's additional context.
	Extras []attribute.KeyValue
	// Resource holds the resource's attributes.
	Resource []attribute.KeyValue
}

// Previous returns the record's previous fingerprints: PreviousFingerprints
// and the deprecated PreviousFingerprint, once each, without Fingerprint.
func (r *Record) Previous() []string {
	var out []string
	for _, fp := range append([]string{r.PreviousFingerprint}, r.PreviousFingerprints...) {
		if fp != "" && fp != r.Fingerprint && !slices.Contains(out, fp) {
			out = append(out, fp)
		}
	}
	return out
}
