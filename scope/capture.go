package scope

import (
	"context"
	"fmt"
	"reflect"
	"runtime"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// MessageType is the exception.type of the events that [CaptureMessage]
// records.
const MessageType = "message"

// EscapedKey marks an exception that escaped the span's scope: a panic.
const EscapedKey = attribute.Key("exception.escaped")

// FingerprintKey is the event attribute that names an exception's group.
// Pass [Fingerprint] to a capture call to choose the group yourself.
const FingerprintKey = attribute.Key("exception.fingerprint")

// Fingerprint returns the extra that puts a captured exception into the
// group named by parts, whatever its message and stack:
//
//	scope.CaptureException(ctx, err, scope.Fingerprint("payments", "timeout"))
//
// The same name from any service is the same group.
func Fingerprint(parts ...string) attribute.KeyValue {
	return FingerprintKey.String(strings.Join(parts, "/"))
}

const tracerName = "github.com/errortracker/errortracker/scope"

// CaptureException records err on the span in ctx, like the Python
// library's capture_exception: exception.type is the type of the first
// error in a %w or errors.Join chain that is not a mere wrapper, the stack
// is the caller's whole stack, and extras are added to the event. With no
// recording span in ctx it starts and ends a short span, so the error is
// recorded outside a request too; that span comes from the provider of the
// scope in ctx (WithTracerProvider) or else from otel.GetTracerProvider(),
// so register the provider globally or open a scope with it. It never
// blocks and does nothing for a nil error.
func CaptureException(ctx context.Context, err error, extras ...attribute.KeyValue) {
	if err == nil {
		return
	}
	capture(ctx, "CaptureException", ExceptionType(err), err.Error(), stack(3), false, extras)
}

// CaptureMessage records a message as an exception event of type
// [MessageType], like the Python library's capture_message.
func CaptureMessage(ctx context.Context, msg string, extras ...attribute.KeyValue) {
	capture(ctx, "CaptureMessage", MessageType, msg, stack(3), false, extras)
}

// CapturePanic records a value returned by recover(), with the stack of the
// panicking goroutine, marks the exception as escaped and sets the span's
// status to Error. Call it from the deferred function that recovered, so
// that the stack still holds the frames that panicked.
func CapturePanic(ctx context.Context, recovered any, extras ...attribute.KeyValue) {
	if recovered == nil {
		return
	}
	typ, msg := panicTypeMessage(recovered)
	capture(ctx, "CapturePanic", typ, msg, stack(3), true, extras)
}

// LogArgs returns the exception attributes of err — exception.type,
// exception.message and the caller's stack as exception.stacktrace — as
// arguments for a log/slog call, which the OpenTelemetry slog bridge
// (otelslog) turns into the attributes of a log record:
//
//	logger.ErrorContext(ctx, "payment failed", scope.LogArgs(err)...)
//
// The bridge carries only what the call gives it; without a stack, a
// logged panic or bare sentinel cannot be told by where it happened.
func LogArgs(err error) []any {
	if err == nil {
		return nil
	}
	return []any{
		string(semconv.ExceptionTypeKey), ExceptionType(err),
		string(semconv.ExceptionMessageKey), err.Error(),
		string(semconv.ExceptionStacktraceKey), stack(3),
	}
}

// ExceptionType returns the exception.type recorded for err: the type of
// the first error along its Unwrap chain that is not a generic wrapper
// (*fmt.wrapError, *fmt.wrapErrors, *errors.joinError), written as the SDK's
// RecordError writes types. For errors.Join and multi-%w errors the first
// branch is followed.
func ExceptionType(err error) string {
	for {
		if !isGenericWrapper(err) {
			return typeName(err)
		}
		var next error
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			next = u.Unwrap()
		case interface{ Unwrap() []error }:
			if errs := u.Unwrap(); len(errs) > 0 {
				next = errs[0]
			}
		}
		if next == nil {
			return typeName(err)
		}
		err = next
	}
}

func isGenericWrapper(err error) bool {
	switch typeName(err) {
	case "*fmt.wrapError", "*fmt.wrapErrors", "*errors.joinError":
		return true
	}
	return false
}

// typeName formats a type as the SDK's span.RecordError does, so that the
// two ways of recording an error agree.
func typeName(v any) string {
	t := reflect.TypeOf(v)
	if t.PkgPath() == "" { // pointers, builtins and other unnamed types
		return t.String()
	}
	return t.PkgPath() + "." + t.Name()
}

func panicTypeMessage(recovered any) (typ, msg string) {
	if err, ok := recovered.(error); ok {
		return ExceptionType(err), err.Error()
	}
	return "panic(" + typeName(recovered) + ")", fmt.Sprint(recovered)
}

func capture(ctx context.Context, spanName, typ, msg, stack string, escaped bool, extras []attribute.KeyValue) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		ctx, span = tracerProvider(ctx).Tracer(tracerName).Start(ctx, spanName, trace.WithSpanKind(trace.SpanKindInternal))
		defer span.End()
	}
	if s := FromContext(ctx); s != nil {
		// Extras set since the span started are on the scope's span only.
		span.SetAttributes(s.SpanAttributes()...)
	}
	attrs := make([]attribute.KeyValue, 0, 4+len(extras))
	attrs = append(attrs,
		semconv.ExceptionType(typ),
		semconv.ExceptionMessage(msg),
		semconv.ExceptionStacktrace(stack),
	)
	if escaped {
		attrs = append(attrs, EscapedKey.Bool(true))
		span.SetStatus(codes.Error, msg)
	}
	attrs = append(attrs, extras...)
	span.AddEvent(semconv.ExceptionEventName, trace.WithAttributes(attrs...))
}

// stack returns the calling goroutine's stack in the format of a Go panic
// (function line, then a tab and file:line), complete, without the SDK's
// 2048-byte cut, argument values, or program counter offsets. skip counts
// the frames to leave out, runtime.Callers included.
func stack(skip int) string {
	var small [64]uintptr
	pcs := small[:]
	n := runtime.Callers(skip, pcs)
	for n == len(pcs) {
		pcs = make([]uintptr, 2*len(pcs))
		n = runtime.Callers(skip, pcs)
	}
	frames := runtime.CallersFrames(pcs[:n])
	var b strings.Builder
	b.Grow(n * 96)
	for {
		f, more := frames.Next()
		if f.Function != "" {
			b.WriteString(f.Function)
			b.WriteString("(...)\n\t")
			b.WriteString(f.File)
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(f.Line))
			b.WriteByte('\n')
		}
		if !more {
			break
		}
	}
	return b.String()
}

// TrackOption configures [Track].
type TrackOption interface {
	applyTrack(trackConfig) trackConfig
}

type trackConfig struct {
	silent bool
	extras []attribute.KeyValue
}

type trackOptionFunc func(trackConfig) trackConfig

func (f trackOptionFunc) applyTrack(c trackConfig) trackConfig { return f(c) }

// Silent makes [Track] swallow what it recorded: it returns nil instead of
// the error and does not re-panic.
func Silent() TrackOption {
	return trackOptionFunc(func(c trackConfig) trackConfig {
		c.silent = true
		return c
	})
}

// WithExtras adds attributes to what [Track] records, like the Python
// decorator's additional_context.
func WithExtras(extras ...attribute.KeyValue) TrackOption {
	return trackOptionFunc(func(c trackConfig) trackConfig {
		c.extras = append(c.extras, extras...)
		return c
	})
}

// Track runs fn and records the error it returns or the panic it raises,
// like the Python library's track_exception decorator. It returns the error
// and re-panics with the same value, unless [Silent] is given.
func Track(ctx context.Context, fn func(context.Context) error, opts ...TrackOption) (err error) {
	var cfg trackConfig
	for _, o := range opts {
		if o != nil {
			cfg = o.applyTrack(cfg)
		}
	}
	defer func() {
		if r := recover(); r != nil {
			CapturePanic(ctx, r, cfg.extras...)
			if !cfg.silent {
				panic(r)
			}
			err = nil
		}
	}()
	if err = fn(ctx); err != nil {
		CaptureException(ctx, err, cfg.extras...)
		if cfg.silent {
			return nil
		}
	}
	return err
}
