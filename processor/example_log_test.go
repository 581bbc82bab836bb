package processor_test

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/contrib/bridges/otelslog"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/errortracker/errortracker/processor"
	"github.com/errortracker/errortracker/scope"
)

// An error logged through log/slog and the OpenTelemetry slog bridge
// reaches the same pipeline as span events: masked, fingerprinted, and in
// the same group as the span event of the same error. The bridge carries
// what the slog call gives it, so the call names the exception attributes:
// scope.LogArgs does, with the stack.
func ExampleProcessor_LogProcessor() {
	p, err := processor.New(processor.Config{}, processor.WithExporter(printer{}))
	if err != nil {
		panic(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(p.LogProcessor()))
	logger := otelslog.NewLogger("shop", otelslog.WithLoggerProvider(lp))

	err = errors.New("charge card: declined")
	// scope.LogArgs gives exception.type, exception.message and the stack.
	logger.ErrorContext(context.Background(), "payment failed", append(scope.LogArgs(err), "card_token", "tok_4242")...)

	_ = lp.ForceFlush(context.Background())
	_ = tp.Shutdown(context.Background())
	fmt.Println("done")
	// Output:
	// *errors.errorString: charge card: declined
	//   card_token=**************
	// done
}
