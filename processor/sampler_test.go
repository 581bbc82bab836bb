package processor_test

import (
	"context"
	"errors"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/errortracker/errortracker/processor"
)

// With a 1% sampler, every error is counted while the exported spans stay
// at about 1%.
func TestSamplerKeepsEveryError(t *testing.T) {
	const spans = 2000
	for _, tc := range []struct {
		name        string
		wrap        bool
		wantRecords func(int) bool
	}{
		{"bare 1% sampler loses errors", false, func(n int) bool { return n < spans/10 }},
		{"wrapped: every error counted", true, func(n int) bool { return n == spans }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exported := tracetest.NewInMemoryExporter()
			rec := &recorder{}
			p, err := processor.New(processor.Config{}, processor.WithNext(sdktrace.NewSimpleSpanProcessor(exported)), processor.WithExporter(rec))
			if err != nil {
				t.Fatal(err)
			}
			sampler := sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.01))
			if tc.wrap {
				sampler = processor.Sampler(sampler)
			}
			tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler), sdktrace.WithSpanProcessor(p))
			tr := tp.Tracer("test")
			for i := 0; i < spans; i++ {
				ctx, span := tr.Start(context.Background(), "request")
				_, child := tr.Start(ctx, "query")
				child.RecordError(errors.New("deadlock detected"))
				child.End()
				span.End()
			}
			if err := tp.ForceFlush(context.Background()); err != nil {
				t.Fatal(err)
			}
			defer tp.Shutdown(context.Background())
			n := len(rec.Records())
			if !tc.wantRecords(n) {
				t.Errorf("%d of %d errors recorded", n, spans)
			}
			// Parent and child of each sampled trace: about 2% of spans.
			if got := len(exported.GetSpans()); got < 10 || got > 100 {
				t.Errorf("%d spans exported of %d, want about 1%% of the traces", got, 2*spans)
			}
		})
	}
	if d := processor.Sampler(sdktrace.AlwaysSample()).Description(); d != "RecordEverything{AlwaysOnSampler}" {
		t.Errorf("description %q", d)
	}
}
