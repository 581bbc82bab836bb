package clickhouse

import (
	"context"
	"io"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// gatedConn is the connection every query of the store goes through: until
// the exporter is ready (connected, schema migrated) each call fails at
// once with the error of Exporter.Ready, which wraps exporter.ErrNotReady,
// instead of waiting for a dial timeout or querying tables that do not
// exist yet. The migrations use the raw connection.
type gatedConn struct {
	driver.Conn
	e *Exporter
}

func (c gatedConn) Select(ctx context.Context, dest any, query string, args ...any) error {
	if err := c.e.Ready(); err != nil {
		return err
	}
	return c.Conn.Select(ctx, dest, query, args...)
}

func (c gatedConn) Query(ctx context.Context, query string, args ...any) (driver.Rows, error) {
	if err := c.e.Ready(); err != nil {
		return nil, err
	}
	return c.Conn.Query(ctx, query, args...)
}

func (c gatedConn) QueryRow(ctx context.Context, query string, args ...any) driver.Row {
	if err := c.e.Ready(); err != nil {
		return errRow{err}
	}
	return c.Conn.QueryRow(ctx, query, args...)
}

func (c gatedConn) PrepareBatch(ctx context.Context, query string, opts ...driver.PrepareBatchOption) (driver.Batch, error) {
	if err := c.e.Ready(); err != nil {
		return nil, err
	}
	return prepareBatch(ctx, c.Conn, query, opts...)
}

// prepareBatch prepares a batch whose context ends with ctx only until the
// batch is sent or aborted. clickhouse-go's Batch.Send watches its context
// from a goroutine and closes the connection's socket when the context
// ends; when the context ends just after Send returned and that goroutine
// had not run yet (a loaded machine), it closes a connection already back
// in the pool, without marking it closed, and the next query on it fails
// with "use of closed network connection". The processor ends each
// export's context as soon as Export returns, and New's callers theirs
// after it: under load, one insert in many broke the next query.
func prepareBatch(ctx context.Context, conn driver.Conn, query string, opts ...driver.PrepareBatchOption) (driver.Batch, error) {
	bctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx)) // keeps ctx's values: settings
	stop := context.AfterFunc(ctx, func() { cancel(context.Cause(ctx)) })
	batch, err := conn.PrepareBatch(bctx, query, opts...)
	if err != nil {
		stop()
		return nil, err
	}
	return guardedBatch{Batch: batch, stop: stop}, nil
}

// guardedBatch stops its context following the caller's once it is sent,
// aborted or closed (see prepareBatch).
type guardedBatch struct {
	driver.Batch
	stop func() bool
}

func (b guardedBatch) Send() error {
	defer b.stop()
	return b.Batch.Send()
}

func (b guardedBatch) Abort() error {
	defer b.stop()
	return b.Batch.Abort()
}

func (b guardedBatch) Close() error {
	defer b.stop()
	return b.Batch.Close()
}

func (c gatedConn) Exec(ctx context.Context, query string, args ...any) error {
	if err := c.e.Ready(); err != nil {
		return err
	}
	return c.Conn.Exec(ctx, query, args...)
}

func (c gatedConn) QueryFormat(ctx context.Context, format, query string, args ...any) (io.ReadCloser, error) {
	if err := c.e.Ready(); err != nil {
		return nil, err
	}
	return c.Conn.QueryFormat(ctx, format, query, args...)
}

func (c gatedConn) InsertFormat(ctx context.Context, format, query string, data io.Reader) error {
	if err := c.e.Ready(); err != nil {
		return err
	}
	return c.Conn.InsertFormat(ctx, format, query, data)
}

//nolint:staticcheck // forwarded only to gate it; nothing here calls it
func (c gatedConn) AsyncInsert(ctx context.Context, query string, wait bool, args ...any) error {
	if err := c.e.Ready(); err != nil {
		return err
	}
	return c.Conn.AsyncInsert(ctx, query, wait, args...)
}

// errRow is the row of a query that was not sent.
type errRow struct{ err error }

func (r errRow) Err() error           { return r.err }
func (r errRow) Scan(...any) error    { return r.err }
func (r errRow) ScanStruct(any) error { return r.err }
