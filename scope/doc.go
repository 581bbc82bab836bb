// Package scope is the capture API of the error tracker: request scopes with
// extras, CaptureException, CaptureMessage, CapturePanic, Track, and an HTTP
// middleware that recovers panics.
//
// Every capture becomes an OpenTelemetry span event named "exception" with
// the semantic-convention attributes exception.type, exception.message and
// exception.stacktrace, on the span in the context. A processor registered on
// the TracerProvider (package processor) masks it, groups it and stores it.
// Plain span.RecordError events travel the same way; this package adds what
// RecordError lacks: the whole stack rather than the SDK's 2048-byte cut,
// the meaningful type of a wrapped error rather than *fmt.wrapError, a span
// when the context has none (a background job), and extras.
//
// # Usage
//
//	mux.Handle("/", otelhttp.NewHandler(scope.Middleware(app), "app"))
//
//	func handler(w http.ResponseWriter, r *http.Request) {
//		ctx, s := scope.New(r.Context())
//		s.SetExtra("order_id", 1234)
//		if err := place(ctx); err != nil {
//			scope.CaptureException(ctx, err)
//		}
//	}
//
// Inside the middleware, a ServeMux's route names the server span ("GET
// /orders/{id}") and becomes its http.route. A job a handler starts,
//
//	go scope.Track(context.WithoutCancel(r.Context()), sendReceipt)
//
// is recorded after its request ended too, on a span named after the job's
// function (the provider of the request's span starts it; no global
// provider is needed), with the function on top of its stack. A capture
// that no provider records is reported with slog, once per scope.
//
// Extras set on a scope reach the span that was current when the scope was
// opened, the spans started later in its context (the processor copies them
// on start), and every exception captured in it. They are attributes named
// ExtraPrefix+key, masked like every other attribute.
//
// # Baggage
//
// Extras stay in the process unless the application opts in to
// [NewPropagator], which sends them to downstream services as W3C baggage.
// Baggage leaves the process in clear text, in every outgoing request, to
// every service downstream, so put there only what they may see; the
// propagator masks values by the processor's rules before they leave.
// Incoming baggage is untrusted input: the processor copies it onto spans only
// for keys the application allows.
package scope
