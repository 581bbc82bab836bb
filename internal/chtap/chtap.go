// Package chtap lets the module's own tests see every statement that the
// ClickHouse store sends, with its values, so that a session recorded on
// one ClickHouse release can be replayed on another (see internal/chdb and
// exporter/clickhouse's replay test).
//
// clickhouse.New passes its connection through the tap that its context
// carries, before its first statement. The package is internal: users
// cannot set a tap, and a context without one changes nothing.
package chtap

import (
	"context"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

type key struct{}

// With returns a copy of ctx that carries wrap. clickhouse.New called with
// it sends every statement through wrap(conn) instead of conn.
func With(ctx context.Context, wrap func(driver.Conn) driver.Conn) context.Context {
	return context.WithValue(ctx, key{}, wrap)
}

// Wrap returns conn wrapped by the tap that ctx carries, or conn itself.
func Wrap(ctx context.Context, conn driver.Conn) driver.Conn {
	if wrap, ok := ctx.Value(key{}).(func(driver.Conn) driver.Conn); ok && wrap != nil {
		return wrap(conn)
	}
	return conn
}
