// Package bench compares the error tracker with the bare OpenTelemetry SDK
// and with sentry-go, in one `go test -bench . -benchmem` run. It is a module
// of its own so that sentry-go never becomes a dependency of the library.
package bench
