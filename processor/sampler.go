package processor

import sdktrace "go.opentelemetry.io/otel/sdk/trace"

// Sampler wraps a sampler so that errors survive sampling. With a ratio
// sampler, spans the sampler drops are not recording, and span.RecordError
// on them is lost: every tracker built on spans undercounts. Sampler turns
// the base sampler's Drop into RecordOnly: the span records, this processor
// sees its exceptions, and the span is still not sampled, so the SDK's
// batch and simple span processors do not export it. Exported volume stays
// what the base sampler decided; the cost is recording every span (see the
// benchmark BenchmarkSampler).
//
//	sdktrace.NewTracerProvider(
//		sdktrace.WithSampler(processor.Sampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.01)))),
//		sdktrace.WithSpanProcessor(p),
//	)
//
// Processors that p wraps see the record-only spans in OnEnd, as with any
// RecordOnly decision; they should export only sampled spans, as the SDK's
// do.
func Sampler(base sdktrace.Sampler) sdktrace.Sampler {
	return recordEverything{base: base}
}

type recordEverything struct {
	base sdktrace.Sampler
}

func (s recordEverything) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	r := s.base.ShouldSample(p)
	if r.Decision == sdktrace.Drop {
		r.Decision = sdktrace.RecordOnly
	}
	return r
}

func (s recordEverything) Description() string {
	return "RecordEverything{" + s.base.Description() + "}"
}
