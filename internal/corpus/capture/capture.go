// Package capture reports the corpus app's errors the way the context asks:
// through package scope, span.RecordError with or without a stack, or a
// log record through the slog bridge. It stands for the many ways real
// services record errors, and sits outside the app's packages, like a
// library would.
package capture

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"go.opentelemetry.io/otel/trace"

	"github.com/errortracker/errortracker/scope"
)

// Via names a way of recording an error.
type Via string

// The ways of recording an error.
const (
	Scope            Via = "scope"              // scope.CaptureException / CapturePanic
	RecordError      Via = "record_error"       // span.RecordError, the SDK's default: no stack
	RecordErrorStack Via = "record_error_stack" // span.RecordError(err, trace.WithStackTrace(true))
	Slog             Via = "slog"               // slog through the otelslog bridge: no stack
)

type viaKey struct{}
type loggerKey struct{}

// With returns ctx that records errors via v, logging with logger.
func With(ctx context.Context, v Via, logger *slog.Logger) context.Context {
	return context.WithValue(context.WithValue(ctx, viaKey{}, v), loggerKey{}, logger)
}

// ViaOf returns the way ctx records errors.
func ViaOf(ctx context.Context) Via {
	v, _ := ctx.Value(viaKey{}).(Via)
	return v
}

// Message records a message through package scope's CaptureMessage, or
// else as an error, the way ctx asks.
func Message(ctx context.Context, msg string) {
	if ViaOf(ctx) == Scope {
		scope.CaptureMessage(ctx, msg)
		return
	}
	Error(ctx, errors.New(msg))
}

// Error records err on the span in ctx the way ctx asks.
func Error(ctx context.Context, err error) {
	switch v := ViaOf(ctx); v {
	case Scope:
		scope.CaptureException(ctx, err)
	case RecordError:
		trace.SpanFromContext(ctx).RecordError(err)
	case RecordErrorStack:
		trace.SpanFromContext(ctx).RecordError(err, trace.WithStackTrace(true))
	case Slog:
		logger, _ := ctx.Value(loggerKey{}).(*slog.Logger)
		logger.ErrorContext(ctx, "request failed",
			"exception.type", scope.ExceptionType(err), "exception.message", err.Error())
	default:
		panic(fmt.Sprintf("capture: no way of recording in the context (%q)", v))
	}
}

// Panic records a value recovered from a panic. Call it from the deferred
// function that recovered, so that the stack holds the panicking frames.
func Panic(ctx context.Context, recovered any) {
	if ViaOf(ctx) == Scope {
		scope.CapturePanic(ctx, recovered)
		return
	}
	Error(ctx, fmt.Errorf("%v", recovered))
}

// Track runs a background job and records what it returns or raises: with
// package scope's Track, or the way a service without it would, by calling
// the job and recording its error or recovered panic.
func Track(ctx context.Context, job func(context.Context) error) {
	if ViaOf(ctx) == Scope {
		_ = scope.Track(ctx, job, scope.Silent())
		return
	}
	defer func() {
		if r := recover(); r != nil {
			Panic(ctx, r)
		}
	}()
	if err := job(ctx); err != nil {
		Error(ctx, err)
	}
}
