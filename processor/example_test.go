package processor_test

import (
	"context"
	"errors"
	"fmt"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/processor"
	"github.com/errortracker/errortracker/scope"
)

// printer prints the records it receives.
type printer struct{}

func (printer) Export(_ context.Context, recs []exporter.Record) error {
	for _, r := range recs {
		fmt.Printf("%s: %s\n", r.Type, r.Message)
		for _, kv := range r.Extras {
			fmt.Printf("  %s=%s\n", kv.Key, kv.Value.Emit())
		}
	}
	return nil
}

func (printer) Shutdown(context.Context) error { return nil }

// The processor wraps the processors that export spans (here an in-memory
// exporter standing in for OTLP) and sends exception records to its own
// exporters; both get masked data.
func Example() {
	spans := tracetest.NewInMemoryExporter()
	p, err := processor.New(processor.Config{},
		processor.WithNext(sdktrace.NewSimpleSpanProcessor(spans)),
		processor.WithExporter(printer{}),
	)
	if err != nil {
		panic(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))

	ctx, span := tp.Tracer("shop").Start(context.Background(), "login")
	ctx, s := scope.New(ctx)
	s.SetExtra("user_id", 1234)
	s.SetExtra("session_token", "abc123")
	scope.CaptureException(ctx, errors.New("login failed: password=hunter2"))
	span.End()

	_ = tp.Shutdown(context.Background())
	// Output:
	// *errors.errorString: login failed: password=**************
	//   user_id=1234
	//   session_token=**************
}

// A processor can be registered before its exporters exist, like the Python
// library's init_app: records captured meanwhile are kept and delivered
// when Init attaches the exporters.
func ExampleProcessor_Init() {
	p, err := processor.New(processor.Config{})
	if err != nil {
		panic(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))
	// A background job: no span in the context, so the capture starts one.
	ctx, _ := scope.New(context.Background(), scope.WithTracerProvider(tp))
	scope.CaptureMessage(ctx, "Something went wrong!")

	if err := p.Init(processor.WithExporter(printer{})); err != nil {
		panic(err)
	}
	_ = tp.Shutdown(context.Background())
	// Output:
	// message: Something went wrong!
}
