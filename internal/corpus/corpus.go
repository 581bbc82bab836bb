// Package corpus makes the labelled exception events that measure grouping:
// it runs the scenarios of package shop — real Go code failing in real ways
// — under real OpenTelemetry SDKs, records each error the four ways
// services do (package scope, span.RecordError with and without a stack,
// the slog bridge), and keeps every exception event with the label its
// scenario gave it.
package corpus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	"go.opentelemetry.io/contrib/bridges/otelslog"
	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/errortracker/errortracker/internal/corpus/capture"
	"github.com/errortracker/errortracker/internal/corpus/shop"
	"github.com/errortracker/errortracker/scope"
)

// AppPackage is the corpus app's package path: its frames are the app's.
const AppPackage = "github.com/errortracker/errortracker/internal/corpus/shop"

// Event is one exception event with its label.
type Event struct {
	Label   string `json:"label"`
	Service string `json:"service"`
	Via     string `json:"via"`
	Span    string `json:"span,omitempty"` // the name of the recording span, or of the span a record was logged in
	Type    string `json:"type"`
	Message string `json:"message"`
	// TypeMessage is scope.TypeMessageKey: the meaningful error's own
	// message, where wrapping added context.
	TypeMessage string `json:"type_message,omitempty"`
	Stacktrace  string `json:"stacktrace,omitempty"`
}

// Ways returns the four ways of recording an error, in the order the
// agreement table lists them.
func Ways() []capture.Via {
	return []capture.Via{capture.Scope, capture.RecordErrorStack, capture.RecordError, capture.Slog}
}

// Generate runs every scenario, recording its errors the one way its code
// does, and returns its events in order. dir is a scratch directory for
// the files the scenarios read.
func Generate(ctx context.Context, dir string) ([]Event, error) {
	return generate(ctx, dir, func(sc shop.Scenario) []run {
		via := sc.Via
		if via == "" {
			via = capture.Scope
		}
		runs := make([]run, sc.Runs)
		for i := range runs {
			runs[i] = run{i, via}
		}
		return runs
	})
}

// GenerateAllWays runs every scenario recording its errors each of the
// four ways, runs times each: the same error at the same line, for the
// table of how the ways agree.
func GenerateAllWays(ctx context.Context, dir string, runs int) ([]Event, error) {
	return generate(ctx, dir, func(sc shop.Scenario) []run {
		var out []run
		for _, via := range Ways() {
			for i := range runs {
				out = append(out, run{i, via})
			}
		}
		return out
	})
}

type run struct {
	i   int
	via capture.Via
}

func generate(ctx context.Context, dir string, plan func(shop.Scenario) []run) ([]Event, error) {
	c := &collector{labels: make(map[trace.TraceID]occurrence)}
	services := make(map[string]*instrumented)
	defer func() {
		for _, in := range services {
			_ = in.tp.Shutdown(context.Background())
			_ = in.lp.Shutdown(context.Background())
		}
	}()
	var order []trace.TraceID
	for _, sc := range shop.Scenarios() {
		name := sc.Service
		if name == "" {
			name = "shop"
		}
		in := services[name]
		if in == nil {
			in = newInstrumented(name, c)
			services[name] = in
		}
		s, stop := shop.New(in.tp.Tracer("shop"), dir)
		for _, r := range plan(sc) {
			rctx, span := in.tp.Tracer("corpus").Start(ctx, "occurrence")
			c.label(span.SpanContext().TraceID(), occurrence{label: sc.Label, service: name, via: r.via})
			order = append(order, span.SpanContext().TraceID())
			rctx, _ = scope.New(rctx, scope.WithTracerProvider(in.tp))
			sc.Run(capture.With(rctx, r.via, in.logger), s, r.i)
			span.End()
		}
		stop()
	}
	for _, in := range services {
		if err := errors.Join(in.tp.ForceFlush(ctx), in.lp.ForceFlush(ctx)); err != nil {
			return nil, err
		}
	}
	var events []Event
	for _, id := range order {
		got := c.events[id]
		if len(got) != 1 {
			o := c.labels[id]
			return nil, fmt.Errorf("corpus: %q recorded via %s made %d exception events, want 1", o.label, o.via, len(got))
		}
		events = append(events, got[0])
	}
	return events, nil
}

// harness starts the frames of the scenario that runs an occurrence: each
// scenario is a closure of its own, so below it every stack would name its
// scenario, which no real service's stack does (it ends in net/http's
// server or in main). They are cut off, with the corpus's own frames below.
const harness = AppPackage + ".Scenarios."

// trimHarness cuts a stack at the scenario's frame.
func trimHarness(stack string) string {
	for i := 0; i < len(stack); {
		if strings.HasPrefix(stack[i:], harness) {
			return stack[:i]
		}
		j := strings.IndexByte(stack[i:], '\n')
		if j < 0 {
			break
		}
		i += j + 1
	}
	return stack
}

// Write writes events as JSON lines.
func Write(w io.Writer, events []Event) error {
	enc := json.NewEncoder(w)
	for _, e := range events {
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	return nil
}

// Read reads JSON lines written by Write.
func Read(r io.Reader) ([]Event, error) {
	var events []Event
	dec := json.NewDecoder(r)
	for {
		var e Event
		if err := dec.Decode(&e); errors.Is(err, io.EOF) {
			return events, nil
		} else if err != nil {
			return nil, fmt.Errorf("corpus: event %d: %w", len(events)+1, err)
		}
		events = append(events, e)
	}
}

type instrumented struct {
	tp     *sdktrace.TracerProvider
	lp     *sdklog.LoggerProvider
	logger *slog.Logger
}

func newInstrumented(service string, c *collector) *instrumented {
	res := resource.NewSchemaless(semconv.ServiceName(service))
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithSpanProcessor(c))
	lp := sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(logCollector{c}))
	return &instrumented{tp: tp, lp: lp, logger: otelslog.NewLogger("shop", otelslog.WithLoggerProvider(lp))}
}

type occurrence struct {
	label, service string
	via            capture.Via
}

// collector keeps the exception events of spans and log records by trace.
type collector struct {
	mu     sync.Mutex
	labels map[trace.TraceID]occurrence
	events map[trace.TraceID][]Event
}

func (c *collector) label(id trace.TraceID, o occurrence) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.labels[id] = o
}

func (c *collector) add(id trace.TraceID, span string, attrs []attribute.KeyValue) {
	c.mu.Lock()
	defer c.mu.Unlock()
	o := c.labels[id]
	e := Event{Label: o.label, Service: o.service, Via: string(o.via), Span: span}
	for _, kv := range attrs {
		switch kv.Key {
		case semconv.ExceptionTypeKey:
			e.Type = kv.Value.Emit()
		case semconv.ExceptionMessageKey:
			e.Message = kv.Value.Emit()
		case semconv.ExceptionStacktraceKey:
			e.Stacktrace = trimHarness(kv.Value.Emit())
		case scope.TypeMessageKey:
			e.TypeMessage = kv.Value.Emit()
		}
	}
	if c.events == nil {
		c.events = make(map[trace.TraceID][]Event)
	}
	c.events[id] = append(c.events[id], e)
}

func (c *collector) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (c *collector) OnEnd(s sdktrace.ReadOnlySpan) {
	for _, ev := range s.Events() {
		if ev.Name == semconv.ExceptionEventName {
			c.add(s.SpanContext().TraceID(), s.Name(), ev.Attributes)
		}
	}
}
func (c *collector) Shutdown(context.Context) error   { return nil }
func (c *collector) ForceFlush(context.Context) error { return nil }

type logCollector struct{ c *collector }

// OnEmit keeps the record with the name of the span it was logged in, as
// the tracker's log processor sees it.
func (l logCollector) OnEmit(ctx context.Context, r *sdklog.Record) error {
	var attrs []attribute.KeyValue
	r.WalkAttributes(func(kv attribute.KeyValue) bool {
		attrs = append(attrs, kv)
		return true
	})
	var span string
	if s, ok := trace.SpanFromContext(ctx).(sdktrace.ReadOnlySpan); ok {
		span = s.Name()
	}
	l.c.add(r.TraceID(), span, attrs)
	return nil
}
func (l logCollector) Enabled(context.Context, sdklog.EnabledParameters) bool { return true }
func (l logCollector) Shutdown(context.Context) error                         { return nil }
func (l logCollector) ForceFlush(context.Context) error                       { return nil }
