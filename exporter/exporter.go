package exporter

import (
	"context"
	"errors"
)

// Exporter receives batches of records.
//
// Export is called from one goroutine per exporter, never concurrently with
// itself, and never on the goroutine that ended a span. It may block until
// ctx is done. A returned error makes the processor retry the same batch
// with backoff, unless the error wraps [ErrPermanent]; the batch may
// therefore arrive more than once, and a store should drop copies by
// [Record.ID]. The slice and the records belong to the callee only for the
// duration of the call.
//
// Shutdown is called once, after the last Export; it releases resources
// and honours ctx.
type Exporter interface {
	Export(ctx context.Context, records []Record) error
	Shutdown(ctx context.Context) error
}

// ErrPermanent marks an export error that retrying cannot fix (a record the
// store rejects, a configuration error): wrap it with %w, or use
// [Permanent], and the processor drops the batch instead of retrying.
var ErrPermanent = errors.New("permanent export error")

// ErrNotReady marks an error of an exporter or store that is still
// connecting to its server (in the background, with backoff): wrap it with
// %w and say why. The processor keeps such a batch, and the records queued
// behind it, and retries without spending its retry budget; the browse
// pages answer 503 Service Unavailable with the reason.
var ErrNotReady = errors.New("the error store is not ready yet")

// Permanent wraps err so that [errors.Is](err, ErrPermanent) holds.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string   { return e.err.Error() }
func (e *permanentError) Unwrap() []error { return []error{e.err, ErrPermanent} }
