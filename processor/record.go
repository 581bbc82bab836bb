package processor

import (
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"strings"

	"time"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/scope"
)

// spanContext is what a record takes from the span (or log record) it
// came from, read once per span.
type spanContext struct {
	name     string
	traceID  trace.TraceID
	spanID   trace.SpanID
	attrs    []attribute.KeyValue // masked, without extras
	extras   []attribute.KeyValue // masked, ExtraPrefix removed
	resource []attribute.KeyValue // masked
}

func newSpanContext(name string, sc trace.SpanContext, attrs, resource []attribute.KeyValue) *spanContext {
	c := &spanContext{name: name, traceID: sc.TraceID(), spanID: sc.SpanID(), resource: resource}
	for _, kv := range attrs {
		if k, ok := strings.CutPrefix(string(kv.Key), scope.ExtraPrefix); ok {
			c.extras = setKV(c.extras, attribute.KeyValue{Key: attribute.Key(k), Value: kv.Value})
			continue
		}
		c.attrs = append(c.attrs, kv)
	}
	return c
}

// newRecord builds the record of one masked exception: the attributes of
// an exception span event, or of a log record. It returns apart the
// message of the meaningful error that package scope recorded for
// grouping (scope.TypeMessageKey), which is part of Message already.
func (sc *spanContext) newRecord(at time.Time, eventAttrs []attribute.KeyValue) (r exporter.Record, typeMessage string) {
	r = exporter.Record{
		ID:         newID(),
		Time:       at,
		SpanName:   sc.name,
		TraceID:    sc.traceID,
		SpanID:     sc.spanID,
		Attributes: sc.attrs,
		Resource:   sc.resource,
		Extras:     append([]attribute.KeyValue(nil), sc.extras...),
	}
	// Event attribute keys are not de-duplicated by the SDK: the last wins.
	for _, kv := range eventAttrs {
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
			typeMessage = kv.Value.Emit()
		default:
			r.Extras = setKV(r.Extras, kv)
		}
	}
	for _, kv := range sc.resource {
		switch kv.Key {
		case semconv.ServiceNameKey:
			r.Service = kv.Value.Emit()
		case semconv.ServiceVersionKey:
			r.ServiceVersion = kv.Value.Emit()
		case semconv.DeploymentEnvironmentNameKey, "deployment.environment":
			r.Environment = kv.Value.Emit()
		}
	}
	var port string
	for _, kv := range sc.attrs {
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
	return r, typeMessage
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

// newID returns 128 random bits in hex: unique across processes, so a store
// can drop a batch that arrived twice. math/rand/v2's top-level source is
// ChaCha8 seeded by the runtime from the operating system's entropy, which
// makes collisions as unlikely as crypto/rand's, without a system call on
// span.End().
func newID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	return hex.EncodeToString(b[:])
}
