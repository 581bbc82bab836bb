//go:build !cgo

package chdb

import "errors"

// Engine is the process's chDB engine; without cgo there is none.
type Engine struct{}

// Open fails: loading the library needs cgo.
func Open(lib, dir string, args ...string) (*Engine, error) {
	return nil, errors.New("chdb: built without cgo, which loading libchdb.so needs (CGO_ENABLED=1 and a C compiler)")
}

// Version is empty without cgo.
func (e *Engine) Version() string { return "" }

// Query fails without cgo.
func (e *Engine) Query(query, format string) (string, error) {
	return "", errors.New("chdb: built without cgo")
}

// Shutdown has nothing to stop without cgo.
func Shutdown() error { return nil }

// Parse fails without cgo.
func (e *Engine) Parse(query string) error { return errors.New("chdb: built without cgo") }

// OpenTemp fails: loading the library needs cgo.
func OpenTemp(lib string) (*Engine, error) { return Open(lib, "") }
