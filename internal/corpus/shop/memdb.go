package shop

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"strings"
)

// memConnector is a database/sql driver over a fixed in-memory catalogue,
// so that the corpus exercises database/sql's own errors (no rows, scan
// conversions, a closed database) without a server.
type memConnector struct{}

func (memConnector) Connect(context.Context) (driver.Conn, error) { return memConn{}, nil }
func (memConnector) Driver() driver.Driver                        { return memDriver{} }

type memDriver struct{}

func (memDriver) Open(string) (driver.Conn, error) { return memConn{}, nil }

type memConn struct{}

func (memConn) Prepare(query string) (driver.Stmt, error) { return memStmt{query: query}, nil }
func (memConn) Close() error                              { return nil }
func (memConn) Begin() (driver.Tx, error)                 { return nil, errors.New("memdb: no transactions") }

type memStmt struct{ query string }

func (memStmt) Close() error  { return nil }
func (memStmt) NumInput() int { return 1 }
func (memStmt) Exec([]driver.Value) (driver.Result, error) {
	return nil, errors.New("memdb: read only")
}

// Query knows three tables: users with ids 1 to 100, stock, whose
// quantity column holds text for discontinued items, and addresses, which
// nobody has entered yet.
func (s memStmt) Query(args []driver.Value) (driver.Rows, error) {
	switch {
	case strings.Contains(s.query, "FROM users"):
		id, _ := args[0].(int64)
		if id < 1 || id > 100 {
			return &memRows{cols: []string{"name"}}, nil
		}
		return &memRows{cols: []string{"name"}, rows: [][]driver.Value{{"customer"}}}, nil
	case strings.Contains(s.query, "FROM addresses"):
		return &memRows{cols: []string{"line"}}, nil
	case strings.Contains(s.query, "FROM stock"):
		return &memRows{cols: []string{"qty"}, rows: [][]driver.Value{{"n/a"}}}, nil
	}
	return nil, errors.New("memdb: unknown table")
}

type memRows struct {
	cols []string
	rows [][]driver.Value
}

func (r *memRows) Columns() []string { return r.cols }
func (r *memRows) Close() error      { return nil }
func (r *memRows) Next(dest []driver.Value) error {
	if len(r.rows) == 0 {
		return io.EOF
	}
	copy(dest, r.rows[0])
	r.rows = r.rows[1:]
	return nil
}
