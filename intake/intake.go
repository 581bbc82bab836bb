package intake

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/grouping"
	"github.com/errortracker/errortracker/scope"
)

// Span is where exceptions were recorded: a span, or the span a log record
// names (Name empty when unknown). Every attribute is masked already.
type Span struct {
	// Name is the span's name: a server span's route.
	Name string
	// TraceID and SpanID locate the span; a record outside any span (both
	// invalid) gets a random occurrence id.
	TraceID trace.TraceID
	SpanID  trace.SpanID
	// Attributes are the span's attributes: the request data, and the
	// scope's extras under scope.ExtraPrefix.
	Attributes []attribute.KeyValue
	// Resource holds the resource's attributes.
	Resource []attribute.KeyValue
}

// Exception is one exception recorded in a span: the attributes of an
// "exception" span event, or of a log record. Attributes are masked
// already.
type Exception struct {
	// Time is when it was recorded: the event's or the log record's time.
	Time time.Time
	// Attributes are the exception.* attributes and any others, which
	// become the record's extras.
	Attributes []attribute.KeyValue
	// Body is a log record's string body, the message of a record whose
	// attributes carry none.
	Body string
}

// Context is a span read once for the records of its exceptions. It counts
// the exceptions it built records for, per message, for the occurrence
// ids: use one Context for the exception events of a span, and one for
// the log records of a span. It is not safe for concurrent use.
type Context struct {
	name     string
	traceID  trace.TraceID
	spanID   trace.SpanID
	attrs    []attribute.KeyValue // without extras
	extras   []attribute.KeyValue // ExtraPrefix removed
	resource []attribute.KeyValue
	language grouping.Language
	seen     []seenMessage
}

type seenMessage struct {
	message string
	n       int
}

// NewContext reads s for the records of its exceptions.
func NewContext(s Span) *Context {
	c := &Context{name: s.Name, traceID: s.TraceID, spanID: s.SpanID, resource: s.Resource}
	if len(s.Attributes) > 0 {
		c.attrs = make([]attribute.KeyValue, 0, len(s.Attributes)) // one allocation, not one per growth
	}
	for _, kv := range s.Attributes {
		if k, ok := strings.CutPrefix(string(kv.Key), scope.ExtraPrefix); ok {
			c.extras = setKV(c.extras, attribute.KeyValue{Key: attribute.Key(k), Value: kv.Value})
			continue
		}
		c.attrs = append(c.attrs, kv)
	}
	for _, kv := range s.Resource {
		if kv.Key == semconv.TelemetrySDKLanguageKey {
			c.language = grouping.Language(kv.Value.Emit())
		}
	}
	return c
}

// SetName changes the span name of the records built from now on: a log
// record learns its span's name when the span ends.
func (c *Context) SetName(name string) { c.name = name }

// Record builds the record of one exception, and what grouping reads of
// it: the message of the meaningful error that package scope recorded
// (scope.TypeMessageKey), which is part of Message already, and the
// stack's language (the resource's telemetry.sdk.language). The record's
// ID is its occurrence id (see the package doc); its fingerprint is not
// set: see [Fingerprint].
func (c *Context) Record(e Exception) (r exporter.Record, g grouping.Exception) {
	r = exporter.Record{
		Time:       e.Time,
		SpanName:   c.name,
		TraceID:    c.traceID,
		SpanID:     c.spanID,
		Attributes: c.attrs,
		Resource:   c.resource,
		Extras:     append([]attribute.KeyValue(nil), c.extras...),
	}
	// Event attribute keys are not de-duplicated by the SDK: the last wins.
	for _, kv := range e.Attributes {
		switch kv.Key {
		case semconv.ExceptionTypeKey:
			r.Type = kv.Value.Emit()
		case semconv.ExceptionMessageKey:
			r.Message = kv.Value.Emit()
		case semconv.ExceptionStacktraceKey:
			r.Stacktrace = kv.Value.Emit()
		case scope.EscapedKey:
			r.Escaped = kv.Value.AsBool()
		case scope.FingerprintKey:
			r.Fingerprint = kv.Value.Emit()
		case scope.TypeMessageKey:
			g.TypeMessage = kv.Value.Emit()
		default:
			r.Extras = setKV(r.Extras, kv)
		}
	}
	if r.Message == "" {
		r.Message = e.Body
	}
	FromResource(&r, c.resource)
	var port string
	for _, kv := range c.attrs {
		switch kv.Key {
		case semconv.ServerAddressKey:
			r.Host = kv.Value.Emit()
		case semconv.ServerPortKey:
			port = kv.Value.Emit()
		case semconv.HTTPRequestMethodKey, "http.method":
			r.Method = kv.Value.Emit()
		case semconv.URLPathKey:
			r.Path = kv.Value.Emit()
		case semconv.HTTPRouteKey:
			r.Route = kv.Value.Emit()
		case semconv.HTTPResponseStatusCodeKey, "http.status_code":
			r.StatusCode = int(kv.Value.AsInt64())
		}
	}
	if r.Host != "" && port != "" && port != "80" && port != "443" {
		r.Host += ":" + port
	}
	r.ID = c.occurrenceID(r.Message)
	g.Language = c.language
	boundRecord(&r, MaxRecordBytes)
	return r, g
}

// MaxRecordBytes bounds a record's message, stack and attributes together.
// Each value is bounded already when it is masked (4 KiB an attribute by
// default), but a span may carry a hundred of them: past this total the
// span's attributes, then the extras, are left out, largest first, and the
// extra errortracker.dropped_attributes counts them.
const MaxRecordBytes = 256 << 10

// DroppedAttributesKey is the extra that counts the attributes a record
// left out to stay within MaxRecordBytes.
const DroppedAttributesKey = attribute.Key("errortracker.dropped_attributes")

// boundRecord leaves out attributes of r until it fits max bytes. The
// slices are copied, never written: records of one span share them.
func boundRecord(r *exporter.Record, max int) {
	size := len(r.Message) + len(r.Stacktrace)
	for _, kvs := range [][]attribute.KeyValue{r.Attributes, r.Extras, r.Resource} {
		for _, kv := range kvs {
			size += kvSize(kv)
		}
	}
	if size <= max {
		return
	}
	dropped := 0
	for _, kvs := range []*[]attribute.KeyValue{&r.Attributes, &r.Extras} {
		if size <= max {
			break
		}
		kept := slices.Clone(*kvs)
		// Largest first, so that the fewest go.
		order := make([]int, len(kept))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int { return kvSize(kept[b]) - kvSize(kept[a]) })
		gone := make([]bool, len(kept))
		for _, i := range order {
			if size <= max {
				break
			}
			size -= kvSize(kept[i])
			gone[i], dropped = true, dropped+1
		}
		out := kept[:0]
		for i, kv := range kept {
			if !gone[i] {
				out = append(out, kv)
			}
		}
		*kvs = out
	}
	r.Extras = append(r.Extras, DroppedAttributesKey.Int(dropped))
}

// kvSize is what an attribute weighs in a record.
func kvSize(kv attribute.KeyValue) int {
	n := len(kv.Key)
	switch kv.Value.Type() {
	case attribute.STRING:
		n += len(kv.Value.AsString())
	case attribute.STRINGSLICE:
		for _, s := range kv.Value.AsStringSlice() {
			n += len(s)
		}
	default:
		n += len(kv.Value.Emit())
	}
	return n
}

// occurrenceID is the id of the next exception with this message in the
// span.
func (c *Context) occurrenceID(message string) string {
	if !c.traceID.IsValid() || !c.spanID.IsValid() {
		return RandomID()
	}
	for i := range c.seen {
		if c.seen[i].message == message {
			c.seen[i].n++
			return OccurrenceID(c.traceID, c.spanID, message, c.seen[i].n)
		}
	}
	c.seen = append(c.seen, seenMessage{message: message})
	return OccurrenceID(c.traceID, c.spanID, message, 0)
}

// OccurrenceID is the id of the n-th exception (from 0) with this message
// recorded in a span, the same whether it came as a span event or as a log
// record: see the package doc.
func OccurrenceID(traceID trace.TraceID, spanID trace.SpanID, message string, n int) string {
	// Hashed from a buffer on the stack for most messages: this runs on
	// span.End() for every exception.
	var buf [512]byte
	b := append(append(buf[:0], traceID[:]...), spanID[:]...)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(append(b, 0), message...)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// RandomID returns 128 random bits in hex: unique across processes, so a
// store can drop a batch that arrived twice. math/rand/v2's top-level
// source is ChaCha8 seeded by the runtime from the operating system's
// entropy, which makes collisions as unlikely as crypto/rand's, without a
// system call on span.End().
func RandomID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	return hex.EncodeToString(b[:])
}

// IsException reports whether a log record's attributes make it an
// exception: exception.type or exception.message.
func IsException(attrs []attribute.KeyValue) bool {
	for _, kv := range attrs {
		if kv.Key == semconv.ExceptionTypeKey || kv.Key == semconv.ExceptionMessageKey {
			return true
		}
	}
	return false
}

// Fingerprint sets the record's fingerprint and grouping basis with g,
// unless the caller set one (scope.FingerprintKey), and reports whether it
// did. e is what [Context.Record] returned beside r.
func Fingerprint(g *grouping.Grouper, r *exporter.Record, e grouping.Exception) bool {
	if r.Fingerprint != "" {
		if exporter.CheckFingerprint(r.Fingerprint) != nil {
			// A caller's value no store would accept still names a group.
			r.Fingerprint = grouping.CallerFingerprint(r.Fingerprint)
		}
		r.FingerprintByCaller, r.Grouping = true, "set by the caller"
		return false
	}
	r.Fingerprint, r.Grouping = g.Group(Grouping(r, e))
	return true
}

// Grouping is what grouping reads of a record: its fields, with the
// meaningful error's message and the language from e.
func Grouping(r *exporter.Record, e grouping.Exception) grouping.Exception {
	return grouping.Exception{
		Service:     r.Service,
		Type:        r.Type,
		Message:     r.Message,
		TypeMessage: e.TypeMessage,
		Stacktrace:  r.Stacktrace,
		Span:        r.SpanName,
		IsMessage:   r.Type == scope.MessageType,
		Language:    e.Language,
	}
}

// Complete gives records the fingerprints of the previous ways of
// grouping, which only exporters read: call it off the hot path (the
// processor does on each exporter's goroutine).
func Complete(g *grouping.Grouper, batch []exporter.Record) {
	for i := range batch {
		if r := &batch[i]; r.PreviousFingerprints == nil && !r.FingerprintByCaller {
			r.PreviousFingerprints = g.Previous(Grouping(r, grouping.Exception{}))
			r.PreviousFingerprint = r.PreviousFingerprints[0]
		}
	}
}

// setKV sets kv in kvs, replacing an attribute with the same key.
func setKV(kvs []attribute.KeyValue, kv attribute.KeyValue) []attribute.KeyValue {
	for i := range kvs {
		if kvs[i].Key == kv.Key {
			kvs[i] = kv
			return kvs
		}
	}
	return append(kvs, kv)
}

// FromResource sets a record's service, release (service.version) and
// environment from the resource's semantic-convention attributes;
// deployment.environment, the name before deployment.environment.name,
// counts too.
func FromResource(r *exporter.Record, res []attribute.KeyValue) {
	for _, kv := range res {
		switch kv.Key {
		case semconv.ServiceNameKey:
			r.Service = kv.Value.Emit()
		case semconv.ServiceVersionKey:
			r.ServiceVersion = kv.Value.Emit()
		case semconv.DeploymentEnvironmentNameKey, "deployment.environment":
			r.Environment = kv.Value.Emit()
		}
	}
}
