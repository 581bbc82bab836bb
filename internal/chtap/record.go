package chtap

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Kind says how the store sent a statement.
type Kind int

// The kinds of statement.
const (
	// Exec is a statement without a result: DDL, ALTER, INSERT … SELECT.
	Exec Kind = iota
	// Query reads rows (Query, QueryRow, Select).
	Query
	// Insert is a batch insert (PrepareBatch); its rows are in Rows.
	Insert
)

// Statement is one statement as the store sent it.
type Statement struct {
	Kind Kind
	// SQL is the text as the store wrote it, with ? for each of Args.
	SQL  string
	Args []any
	// Rows are the rows appended to an Insert batch, in order.
	Rows [][]any
	// Err is the server's answer: nil when the statement succeeded.
	Err error
	// Returned counts the rows the store read back from a Query; -1 when
	// it did not read them to the end.
	Returned int
}

// Recorder records the statements sent through the connections it wraps.
// It is safe for concurrent use, as the store queries from several
// goroutines at once.
type Recorder struct {
	mu    sync.Mutex
	stmts []*Statement
}

// Wrap returns conn recording into r; pass it to With.
func (r *Recorder) Wrap(conn driver.Conn) driver.Conn { return &recConn{Conn: conn, r: r} }

// Statements returns a copy of what was recorded, in the order the store
// sent it.
func (r *Recorder) Statements() []Statement {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Statement, len(r.stmts))
	for i, s := range r.stmts {
		out[i] = *s
	}
	return out
}

// add records s at the moment it is sent, so that the order is the one in
// which the server saw the statements.
func (r *Recorder) add(s *Statement) *Statement {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stmts = append(r.stmts, s)
	return s
}

// update changes a recorded statement under the lock.
func (r *Recorder) update(s *Statement, f func(*Statement)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(s)
}

// recConn records every statement; what it does not override (Ping, Stats,
// Close, ServerVersion) sends nothing worth replaying.
type recConn struct {
	driver.Conn
	r *Recorder
}

func (c *recConn) Exec(ctx context.Context, query string, args ...any) error {
	s := c.r.add(&Statement{Kind: Exec, SQL: query, Args: args, Returned: -1})
	err := c.Conn.Exec(ctx, query, args...)
	c.r.update(s, func(s *Statement) { s.Err = err })
	return err
}

func (c *recConn) Query(ctx context.Context, query string, args ...any) (driver.Rows, error) {
	s := c.r.add(&Statement{Kind: Query, SQL: query, Args: args, Returned: -1})
	rows, err := c.Conn.Query(ctx, query, args...)
	if err != nil {
		c.r.update(s, func(s *Statement) { s.Err = err })
		return nil, err
	}
	return &recRows{Rows: rows, r: c.r, s: s}, nil
}

func (c *recConn) QueryRow(ctx context.Context, query string, args ...any) driver.Row {
	s := c.r.add(&Statement{Kind: Query, SQL: query, Args: args, Returned: -1})
	return &recRow{Row: c.Conn.QueryRow(ctx, query, args...), r: c.r, s: s}
}

func (c *recConn) Select(ctx context.Context, dest any, query string, args ...any) error {
	s := c.r.add(&Statement{Kind: Query, SQL: query, Args: args, Returned: -1})
	err := c.Conn.Select(ctx, dest, query, args...)
	c.r.update(s, func(s *Statement) { s.Err = err })
	return err
}

func (c *recConn) AsyncInsert(ctx context.Context, query string, wait bool, args ...any) error {
	s := c.r.add(&Statement{Kind: Exec, SQL: query, Args: args, Returned: -1})
	err := c.Conn.AsyncInsert(ctx, query, wait, args...) //nolint:staticcheck // recorded as the store calls it
	c.r.update(s, func(s *Statement) { s.Err = err })
	return err
}

func (c *recConn) PrepareBatch(ctx context.Context, query string, opts ...driver.PrepareBatchOption) (driver.Batch, error) {
	s := c.r.add(&Statement{Kind: Insert, SQL: query, Returned: -1})
	b, err := c.Conn.PrepareBatch(ctx, query, opts...)
	if err != nil {
		c.r.update(s, func(s *Statement) { s.Err = err })
		return nil, err
	}
	return &recBatch{Batch: b, r: c.r, s: s}, nil
}

type recRows struct {
	driver.Rows
	r *Recorder
	s *Statement
	n int
}

func (r *recRows) Next() bool {
	if r.Rows.Next() {
		r.n++
		return true
	}
	err := r.Rows.Err()
	r.r.update(r.s, func(s *Statement) {
		s.Err = err
		if err == nil {
			s.Returned = r.n
		}
	})
	return false
}

type recRow struct {
	driver.Row
	r *Recorder
	s *Statement
}

func (r *recRow) Scan(dest ...any) error {
	err := r.Row.Scan(dest...)
	r.r.update(r.s, func(s *Statement) {
		switch {
		case err == nil:
			s.Returned = 1
		case errors.Is(err, sql.ErrNoRows):
			s.Returned = 0
		default:
			s.Err = err
		}
	})
	return err
}

type recBatch struct {
	driver.Batch
	r *Recorder
	s *Statement
}

func (b *recBatch) Append(v ...any) error {
	err := b.Batch.Append(v...)
	if err == nil {
		row := append([]any(nil), v...)
		b.r.update(b.s, func(s *Statement) { s.Rows = append(s.Rows, row) })
	}
	return err
}

func (b *recBatch) Send() error {
	err := b.Batch.Send()
	b.r.update(b.s, func(s *Statement) { s.Err = err })
	return err
}

// Text renders s as one statement with its values written in as literals,
// the way a ClickHouse client would send it as text: a batch insert becomes
// INSERT … VALUES. It knows the Go types the store binds; any other is an
// error, so that a new one cannot be replayed wrongly.
func (s Statement) Text() (string, error) {
	if s.Kind == Insert {
		var b strings.Builder
		b.WriteString(strings.TrimSpace(s.SQL))
		b.WriteString(" VALUES")
		for i, row := range s.Rows {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(" (")
			for j, v := range row {
				if j > 0 {
					b.WriteString(", ")
				}
				lit, err := Literal(v)
				if err != nil {
					return "", fmt.Errorf("chtap: row %d, column %d: %w", i+1, j+1, err)
				}
				b.WriteString(lit)
			}
			b.WriteByte(')')
		}
		return b.String(), nil
	}
	return Bind(s.SQL, s.Args...)
}

// Bind replaces each ? outside quotes and back-quotes with the next
// argument as a literal.
func Bind(query string, args ...any) (string, error) {
	var b strings.Builder
	var quote byte
	next := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == '\\' && i+1 < len(query) {
				b.WriteByte(c)
				i++
				c = query[i]
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '`' || c == '"':
			quote = c
		case c == '?':
			if next >= len(args) {
				return "", fmt.Errorf("chtap: more ? than the %d arguments in %.80s", len(args), query)
			}
			lit, err := Literal(args[next])
			if err != nil {
				return "", fmt.Errorf("chtap: argument %d: %w", next+1, err)
			}
			next++
			b.WriteString(lit)
			continue
		}
		b.WriteByte(c)
	}
	if next != len(args) {
		return "", fmt.Errorf("chtap: %d arguments for %d ? in %.80s", len(args), next, query)
	}
	return b.String(), nil
}

// Literal writes v as a ClickHouse literal. A time is written as
// toDateTime(unix seconds), as the native protocol sends it: the same
// instant whatever the server's time zone. A ch.GroupSet is a list for
// IN (?), without brackets.
func Literal(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return quote(v), nil
	case bool:
		if v {
			return "1", nil
		}
		return "0", nil
	case int:
		return strconv.FormatInt(int64(v), 10), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case int32:
		return strconv.FormatInt(int64(v), 10), nil
	case uint8:
		return strconv.FormatUint(uint64(v), 10), nil
	case uint16:
		return strconv.FormatUint(uint64(v), 10), nil
	case uint32:
		return strconv.FormatUint(uint64(v), 10), nil
	case uint64:
		return strconv.FormatUint(v, 10), nil
	case time.Time:
		return "toDateTime(" + strconv.FormatInt(v.Unix(), 10) + ")", nil
	case []string:
		return list(len(v), func(i int) (string, error) { return quote(v[i]), nil }, "[", "]")
	case []uint64:
		return list(len(v), func(i int) (string, error) { return strconv.FormatUint(v[i], 10), nil }, "[", "]")
	case ch.GroupSet:
		return list(len(v.Value), func(i int) (string, error) { return Literal(v.Value[i]) }, "", "")
	}
	return "", fmt.Errorf("no literal for %T", v)
}

func list(n int, item func(int) (string, error), open, close string) (string, error) {
	parts := make([]string, n)
	for i := range parts {
		s, err := item(i)
		if err != nil {
			return "", err
		}
		parts[i] = s
	}
	return open + strings.Join(parts, ", ") + close, nil
}

// quote writes a string literal; only the backslash and the quote need
// escaping, every other byte is taken as it is.
func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
