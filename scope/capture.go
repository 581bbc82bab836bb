package scope

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"unicode/utf8"

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

// TypeMessageKey is the event attribute that holds the message of the
// error that exception.type names, when the errors wrapping it (fmt.Errorf
// with %w, errors.Join) added their own context to exception.message: the
// error's own words, which group it, apart from the context around it
// ("login alice: " in "login alice: wrong password"), which varies with
// the data. Package scope records it; the processor reads it for grouping
// and does not store it apart.
const TypeMessageKey = attribute.Key("exception.type_message")

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
// scope in ctx (WithTracerProvider), else from the provider of the span in
// ctx — a request's span that has ended still names it, so a job a handler
// started is recorded — else from otel.GetTracerProvider(). A capture that
// none of them records is reported with slog, once per scope. It never
// blocks and does nothing for a nil error.
func CaptureException(ctx context.Context, err error, extras ...attribute.KeyValue) {
	if err == nil {
		return
	}
	typ, msg, typeMsg := describe(err)
	capture(ctx, "CaptureException", typ, msg, typeMsg, stack(3), false, extras)
}

// CaptureMessage records a message as an exception event of type
// [MessageType], like the Python library's capture_message.
func CaptureMessage(ctx context.Context, msg string, extras ...attribute.KeyValue) {
	capture(ctx, "CaptureMessage", MessageType, msg, "", stack(3), false, extras)
}

// CapturePanic records a value returned by recover(), with the stack of the
// panicking goroutine, marks the exception as escaped and sets the span's
// status to Error. Call it from the deferred function that recovered, so
// that the stack still holds the frames that panicked.
func CapturePanic(ctx context.Context, recovered any, extras ...attribute.KeyValue) {
	if recovered == nil {
		return
	}
	typ, msg, typeMsg := panicTypeMessage(recovered)
	capture(ctx, "CapturePanic", typ, msg, typeMsg, stack(3), true, extras)
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
	typ, msg, typeMsg := describe(err)
	msg, typeMsg = capText(msg), capText(typeMsg)
	args := []any{
		string(semconv.ExceptionTypeKey), typ,
		string(semconv.ExceptionMessageKey), msg,
		string(semconv.ExceptionStacktraceKey), stack(3),
	}
	if typeMsg != "" {
		args = append(args, string(TypeMessageKey), typeMsg)
	}
	return args
}

// ExceptionType returns the exception.type recorded for err: the type of
// the first error along its Unwrap chain that is not a generic wrapper
// (*fmt.wrapError, *fmt.wrapErrors, *errors.joinError), written as the SDK's
// RecordError writes types. For errors.Join and multi-%w errors the first
// branch is followed.
func ExceptionType(err error) string {
	return typeName(meaningful(err))
}

// meaningful returns the error whose type ExceptionType names.
func meaningful(err error) error {
	for {
		if !isGenericWrapper(err) {
			return err
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
			return err
		}
		err = next
	}
}

// describe returns what an exception event says of err: its type and
// message, and the meaningful error's own message where wrapping changed
// it (TypeMessageKey).
func describe(err error) (typ, msg, typeMsg string) {
	m := meaningful(err)
	typ, msg = typeName(m), err.Error()
	if m != err {
		if typeMsg = m.Error(); typeMsg == msg {
			typeMsg = ""
		}
	}
	return typ, msg, typeMsg
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

func panicTypeMessage(recovered any) (typ, msg, typeMsg string) {
	if err, ok := recovered.(error); ok {
		return describe(err)
	}
	return "panic(" + typeName(recovered) + ")", fmt.Sprint(recovered), ""
}

// maxCapturedBytes caps a message and a stack at capture: the processor
// bounds them further (32 KiB and 64 KiB by default) after masking, and
// needs only a margin past its bound, not the whole of a 10 MB message.
const maxCapturedBytes = 1 << 20

// capText cuts s to maxCapturedBytes without splitting a UTF-8 sequence.
func capText(s string) string {
	if len(s) <= maxCapturedBytes {
		return s
	}
	n := maxCapturedBytes
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func capture(ctx context.Context, spanName, typ, msg, typeMsg, stack string, escaped bool, extras []attribute.KeyValue) {
	msg, typeMsg, stack = capText(msg), capText(typeMsg), capText(stack)
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		var ok bool
		if ctx, span, ok = startSpan(ctx, spanName); !ok {
			warnUnrecorded(ctx, typ)
			return
		}
		defer span.End()
	}
	if s := FromContext(ctx); s != nil {
		// Extras set since the span started are on the scope's span only.
		span.SetAttributes(s.SpanAttributes()...)
	}
	attrs := make([]attribute.KeyValue, 0, 5+len(extras))
	attrs = append(attrs,
		semconv.ExceptionType(typ),
		semconv.ExceptionMessage(msg),
		semconv.ExceptionStacktrace(stack),
	)
	if typeMsg != "" {
		attrs = append(attrs, TypeMessageKey.String(typeMsg))
	}
	if escaped {
		attrs = append(attrs, EscapedKey.Bool(true))
		span.SetStatus(codes.Error, msg)
	}
	attrs = append(attrs, extras...)
	span.AddEvent(semconv.ExceptionEventName, trace.WithAttributes(attrs...))
}

// startSpan starts the span of a capture whose context has no recording
// span, from the first provider that records it (see tracerProviders).
func startSpan(ctx context.Context, name string) (context.Context, trace.Span, bool) {
	for _, tp := range tracerProviders(ctx) {
		sctx, span := tp.Tracer(tracerName).Start(ctx, name, trace.WithSpanKind(trace.SpanKindInternal))
		if span.IsRecording() {
			return sctx, span, true
		}
		span.End()
	}
	return ctx, nil, false
}

// warnUnrecorded says that a capture was lost, once per scope tree (a
// middleware's scopes share one), and every time outside a scope, since
// nothing else would tell. It logs the type only: the message may hold a
// secret that nothing has masked.
func warnUnrecorded(ctx context.Context, typ string) {
	if s := FromContext(ctx); s != nil && s.warned != nil && s.warned.Swap(true) {
		return
	}
	slog.Default().WarnContext(ctx, "error tracker: an exception was captured but no TracerProvider records it: "+
		"pass the provider with scope.WithTracerProvider or register it with otel.SetTracerProvider "+
		"(a sampler that drops spans loses them too: wrap it in processor.Sampler)", "exception.type", typ)
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
//
// A span Track starts (when ctx has no recording span, as in a background
// job) is named after fn's function, and an error fn returned is recorded
// with fn's function as the top frame of its stack, so that the record
// says which job failed and is grouped by it.
func Track(ctx context.Context, fn func(context.Context) error, opts ...TrackOption) (err error) {
	var cfg trackConfig
	for _, o := range opts {
		if o != nil {
			cfg = o.applyTrack(cfg)
		}
	}
	defer func() {
		if r := recover(); r != nil {
			name, _ := trackedFunc(fn)
			typ, msg, typeMsg := panicTypeMessage(r)
			// The stack is the panicking goroutine's: fn's frames are in it.
			capture(ctx, name, typ, msg, typeMsg, stack(2), true, cfg.extras)
			if !cfg.silent {
				panic(r)
			}
			err = nil
		}
	}()
	if err = fn(ctx); err != nil {
		name, frame := trackedFunc(fn)
		// fn has returned, so its frame is no longer on the stack: write
		// it on top of Track's caller's, in the format of stack.
		typ, msg, typeMsg := describe(err)
		capture(ctx, name, typ, msg, typeMsg, frame+stack(3), false, cfg.extras)
		if cfg.silent {
			return nil
		}
	}
	return err
}

// trackedFunc returns the name of fn's function ("shop.chargeOrder",
// "shop.(*Worker).Run" for a method value) and its frame in the format of
// stack, with the file and line where the function starts.
func trackedFunc(fn func(context.Context) error) (name, frame string) {
	f := runtime.FuncForPC(reflect.ValueOf(fn).Pointer())
	if f == nil {
		return "Track", ""
	}
	name = strings.TrimSuffix(f.Name(), "-fm")
	file, line := f.FileLine(f.Entry())
	return name, name + "(...)\n\t" + file + ":" + strconv.Itoa(line) + "\n"
}
