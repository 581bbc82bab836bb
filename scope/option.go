package scope

import (
	"sync/atomic"

	"go.opentelemetry.io/otel/trace"
)

// Option configures [New] and [NewMiddleware].
type Option interface {
	apply(config) config
}

type config struct {
	tracerProvider trace.TracerProvider
	headers        []string
	warned         *atomic.Bool // shared by the scopes of one middleware
}

type optionFunc func(config) config

func (f optionFunc) apply(c config) config { return f(c) }

func newConfig(opts []Option) config {
	c := config{headers: DefaultHeaders()}
	for _, o := range opts {
		if o != nil {
			c = o.apply(c)
		}
	}
	return c
}

// WithTracerProvider sets the provider of the spans this package starts when
// a capture happens with no recording span in the context (a background job)
// and, for the middleware, when no otelhttp handler wraps it. Without it,
// such a span comes from the provider of the span in the context (also
// after that span ended: a job a handler started outlives its request),
// else from otel.GetTracerProvider(); a capture that none of them records
// is reported once with slog. A nil provider is ignored.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c config) config {
		if tp != nil {
			c.tracerProvider = tp
		}
		return c
	})
}

// WithHeaders replaces the request headers the middleware records (default
// [DefaultHeaders]). Cookie, Set-Cookie, Authorization and
// Proxy-Authorization are never recorded, even when listed.
func WithHeaders(names ...string) Option {
	return optionFunc(func(c config) config {
		c.headers = append([]string(nil), names...)
		return c
	})
}

// DefaultHeaders returns the request headers the middleware records by
// default: those that help reproduce a request and rarely hold secrets.
func DefaultHeaders() []string {
	return []string{
		"Accept", "Accept-Language", "Content-Type", "Content-Length",
		"Referer", "User-Agent", "X-Forwarded-For", "X-Request-Id",
	}
}
