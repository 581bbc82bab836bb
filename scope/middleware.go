package scope

import (
	"net"
	"net/http"
	"strings"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// FormKeyPrefix starts the attribute key of each parsed form field that the
// middleware records: http.request.form.<name>, by analogy with the semantic
// convention http.request.header.<name>.
const FormKeyPrefix = "http.request.form."

// neverRecorded reports the headers that are left out whatever the options
// say: they carry credentials in every request.
func neverRecorded(lowerName string) bool {
	switch lowerName {
	case "cookie", "set-cookie", "authorization", "proxy-authorization":
		return true
	}
	return false
}

// Middleware is NewMiddleware()(next).
func Middleware(next http.Handler) http.Handler {
	return NewMiddleware()(next)
}

// NewMiddleware returns a middleware that opens a [Scope] for each request,
// records the request on the current span, and recovers panics: it records
// them with the whole stack, sets the span's status to Error and answers
// 500 when nothing was written yet. Mount it inside otelhttp, whose span it
// uses:
//
//	otelhttp.NewHandler(scope.NewMiddleware()(mux), "server")
//
// Without otelhttp it starts a server span of its own. A panic with
// http.ErrAbortHandler is passed on unrecorded, as net/http intends.
//
// When the handler it wraps is a Go 1.22 ServeMux, the route the mux
// matched becomes the span's http.route (and the record's Route), and it
// reaches otelhttp, which names the span "GET /orders/{id}" as it does
// without this middleware; a span of its own is named the same way.
//
// It records, like the Python library's context builder: the query string
// (url.query), the allowed headers (http.request.header.<name>), and, when
// the handler parsed a form, its fields (http.request.form.<name>). The
// processor masks them before they leave the process. The options are read
// once, here, not per request.
func NewMiddleware(opts ...Option) func(http.Handler) http.Handler {
	cfg := newConfig(opts)
	headers := make([]headerKey, 0, len(cfg.headers))
	for _, h := range cfg.headers {
		lower := strings.ToLower(h)
		if neverRecorded(lower) {
			continue
		}
		headers = append(headers, headerKey{http.CanonicalHeaderKey(h), attribute.Key("http.request.header." + lower)})
	}
	// One warning about captures nothing records, for all the requests
	// of this middleware, not one a request.
	cfg.warned = new(atomic.Bool)
	return func(next http.Handler) http.Handler {
		return &middleware{next: next, cfg: cfg, headers: headers}
	}
}

type headerKey struct {
	name string
	key  attribute.Key
}

type middleware struct {
	next    http.Handler
	cfg     config
	headers []headerKey
}

func (m *middleware) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	span := trace.SpanFromContext(ctx)
	ownSpan := false
	if !span.IsRecording() {
		tp := m.cfg.tracerProvider
		if tp == nil {
			tp = tracerProvider(ctx)
		}
		ctx, span = tp.Tracer(tracerName).Start(ctx, spanMethod(r.Method), trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(requestBasics(r)...))
		ownSpan = true
		defer span.End()
	}
	ctx, _ = newScope(ctx, m.cfg)
	span.SetAttributes(m.requestAttributes(r)...)

	rw := &responseWriter{ResponseWriter: w}
	outer := r
	r = r.WithContext(ctx)
	defer func() {
		// The mux writes the route it matched into our copy of the
		// request; otelhttp reads it from its own copy, after we return,
		// to name its span. Without this every span would be named "GET"
		// and every record would lack its route.
		if r.Pattern != "" {
			outer.Pattern = r.Pattern
			if route := httpRoute(r.Pattern); route != "" {
				span.SetAttributes(semconv.HTTPRoute(route))
				if ownSpan {
					span.SetName(spanMethod(r.Method) + " " + route)
				}
			}
		}
		if rec := recover(); rec != nil {
			if rec == http.ErrAbortHandler {
				panic(rec)
			}
			CapturePanic(ctx, rec)
			if !rw.wrote {
				http.Error(rw, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
			}
		}
		span.SetAttributes(formAttributes(r)...)
	}()
	m.next.ServeHTTP(rw, r)
}

// httpRoute turns a ServeMux pattern ("GET shop.example.com/orders/{id}")
// into the http.route attribute ("/orders/{id}"), as otelhttp does.
func httpRoute(pattern string) string {
	if i := strings.IndexByte(pattern, '/'); i >= 0 {
		return pattern[i:]
	}
	return ""
}

// spanMethod is the method part of a server span's name as otelhttp writes
// it: a known method in upper case, anything else "HTTP", so that a client
// cannot mint span names.
func spanMethod(method string) string {
	switch m := strings.ToUpper(method); m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return "HTTP"
}

// requestBasics are the attributes otelhttp would have set.
func requestBasics(r *http.Request) []attribute.KeyValue {
	attrs := []attribute.KeyValue{
		semconv.HTTPRequestMethodKey.String(r.Method),
		semconv.URLPath(r.URL.Path),
	}
	if host, _, err := net.SplitHostPort(r.Host); err == nil {
		attrs = append(attrs, semconv.ServerAddress(host))
	} else if r.Host != "" {
		attrs = append(attrs, semconv.ServerAddress(r.Host))
	}
	return attrs
}

func (m *middleware) requestAttributes(r *http.Request) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 1+len(m.headers))
	if r.URL.RawQuery != "" {
		attrs = append(attrs, semconv.URLQuery(r.URL.RawQuery))
	}
	for _, h := range m.headers {
		if v := r.Header.Values(h.name); len(v) > 0 {
			attrs = append(attrs, h.key.StringSlice(v))
		}
	}
	return attrs
}

// formAttributes returns the fields of a form the handler parsed; it parses
// nothing itself, since reading the body is the handler's decision.
func formAttributes(r *http.Request) []attribute.KeyValue {
	form := r.PostForm
	if form == nil {
		form = r.Form
	}
	if len(form) == 0 {
		return nil
	}
	attrs := make([]attribute.KeyValue, 0, len(form))
	for name, values := range form {
		attrs = append(attrs, attribute.StringSlice(FormKeyPrefix+name, values))
	}
	return attrs
}

// responseWriter remembers whether the handler wrote anything, so that a
// recovered panic answers 500 only when it still can.
type responseWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *responseWriter) WriteHeader(code int) {
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the Flusher, Hijacker and
// deadlines of the wrapped writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
