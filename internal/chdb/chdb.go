//go:build cgo

package chdb

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>
#include <stddef.h>
#include <stdint.h>

// The parts of chdb.h (chDB 26.x) that this package calls; the handles
// are opaque.
typedef struct { void *internal_data; } chdb_result;
typedef struct chdb_connection_ { void *internal_data; } *chdb_connection;

static void call_set_signal_handlers(void *f, int enabled) { ((void (*)(int))f)(enabled); }
static chdb_connection *call_connect(void *f, int argc, char **argv) {
	return ((chdb_connection *(*)(int, char **))f)(argc, argv);
}
static chdb_result *call_query(void *f, chdb_connection c, const char *q, size_t ql, const char *fmt, size_t fl) {
	return ((chdb_result *(*)(chdb_connection, const char *, size_t, const char *, size_t))f)(c, q, ql, fmt, fl);
}
static const char *call_error(void *f, chdb_result *r) { return ((const char *(*)(chdb_result *))f)(r); }
static char *call_buffer(void *f, chdb_result *r) { return ((char *(*)(chdb_result *))f)(r); }
static size_t call_length(void *f, chdb_result *r) { return ((size_t (*)(chdb_result *))f)(r); }
static void call_destroy(void *f, chdb_result *r) { ((void (*)(chdb_result *))f)(r); }
static const char *call_version(void *f) { return ((const char *(*)(void))f)(); }
// chdb_query_analysis_v1 of chdb.h: a versioned report, sized by the
// caller.
typedef struct {
	uint32_t struct_size;
	uint32_t statement_count;
	uint32_t flags;
	uint32_t query_class;
} chdb_query_analysis_v1;
static int call_classify(void *f, chdb_connection c, const char *q, size_t ql, chdb_query_analysis_v1 *out) {
	out->struct_size = sizeof(*out);
	return ((int (*)(chdb_connection, const char *, size_t, const char *, size_t, chdb_query_analysis_v1 *))f)(c, q, ql, NULL, 0, out);
}
static void call_close(void *f, chdb_connection *c) { ((void (*)(chdb_connection *))f)(c); }
static int call_shutdown(void *f) { return ((int (*)(void))f)(); }
*/
import "C"

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"unsafe"
)

// Engine is the process's chDB engine. Its methods are safe for concurrent
// use; chDB runs one statement of a connection at a time.
type Engine struct {
	dir  string
	conn *C.chdb_connection

	query, resultError, buffer, length, destroy, close, shutdown, classify unsafe.Pointer
	version                                                                string
	mu                                                                     sync.Mutex
}

var (
	openMu  sync.Mutex
	opened  *Engine
	tempDir string // made by OpenTemp, removed by Shutdown
)

// OpenTemp returns the process's engine, started on a temporary directory
// that Shutdown removes if no test opened it yet: for tests in several
// packages of one binary that each want the engine.
func OpenTemp(lib string) (*Engine, error) {
	openMu.Lock()
	if opened != nil {
		openMu.Unlock()
		return Open(lib, opened.dir)
	}
	if tempDir == "" {
		dir, err := os.MkdirTemp("", "chdb-")
		if err != nil {
			openMu.Unlock()
			return nil, fmt.Errorf("chdb: %w", err)
		}
		tempDir = dir
	}
	dir := tempDir
	openMu.Unlock()
	return Open(lib, dir)
}

// Open loads the library at lib and starts the engine with its data in
// dir; args are further chdb_connect arguments, such as query-level
// settings ("--mutations_sync=2"). A second call returns the same engine,
// and fails if it names another library or directory: chDB cannot start
// twice in one process.
func Open(lib, dir string, args ...string) (*Engine, error) {
	openMu.Lock()
	defer openMu.Unlock()
	if opened != nil {
		if opened.conn == nil {
			return nil, fmt.Errorf("chdb: the engine was shut down; it cannot start twice in one process")
		}
		if opened.dir != dir {
			return nil, fmt.Errorf("chdb: the engine already runs on %s, not %s: one data directory per process", opened.dir, dir)
		}
		return opened, nil
	}
	clib := C.CString(lib)
	defer C.free(unsafe.Pointer(clib))
	h := C.dlopen(clib, C.RTLD_NOW|C.RTLD_LOCAL)
	if h == nil {
		return nil, fmt.Errorf("chdb: load %s: %s", lib, C.GoString(C.dlerror()))
	}
	syms := map[string]unsafe.Pointer{}
	for _, name := range []string{"chdb_set_signal_handlers_enabled", "chdb_connect", "chdb_query_n", "chdb_result_error",
		"chdb_result_buffer", "chdb_result_length", "chdb_destroy_query_result", "chdb_version", "chdb_close_conn", "chdb_shutdown", "chdb_classify_query_n"} {
		cname := C.CString(name)
		p := C.dlsym(h, cname)
		C.free(unsafe.Pointer(cname))
		if p == nil {
			return nil, fmt.Errorf("chdb: %s has no %s: a chDB older than 26.x?", lib, name)
		}
		syms[name] = p
	}
	// The Go runtime owns the process's signals (it turns SIGSEGV into
	// panics and preempts goroutines with SIGURG); chDB must not take them.
	C.call_set_signal_handlers(syms["chdb_set_signal_handlers_enabled"], 0)
	argv := append([]string{"chdb", "--path=" + dir}, args...)
	cargv := make([]*C.char, len(argv))
	for i, a := range argv {
		cargv[i] = C.CString(a)
	}
	conn := C.call_connect(syms["chdb_connect"], C.int(len(cargv)), &cargv[0])
	for _, a := range cargv {
		C.free(unsafe.Pointer(a))
	}
	if conn == nil || *conn == nil {
		return nil, fmt.Errorf("chdb: cannot start the engine on %s (arguments %s)", dir, strings.Join(args, " "))
	}
	e := &Engine{
		dir: dir, conn: conn,
		query: syms["chdb_query_n"], resultError: syms["chdb_result_error"], buffer: syms["chdb_result_buffer"],
		length: syms["chdb_result_length"], destroy: syms["chdb_destroy_query_result"],
		close: syms["chdb_close_conn"], shutdown: syms["chdb_shutdown"], classify: syms["chdb_classify_query_n"],
		version: C.GoString(C.call_version(syms["chdb_version"])),
	}
	opened = e
	return e, nil
}

// Shutdown closes the engine's connection, if one was opened, which shuts
// the engine down, and asks chDB to join its threads. A test binary that opened it must call Shutdown before it
// exits (from TestMain): the race detector's exit handler crashes on
// engine threads that still run. After it, Open fails. It also removes
// OpenTemp's directory.
func Shutdown() error {
	openMu.Lock()
	defer openMu.Unlock()
	e := opened
	if e == nil {
		return removeTemp()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.conn != nil {
		C.call_close(e.close, e.conn)
		e.conn = nil
	}
	// Closing the last connection shuts the engine down. chdb_shutdown
	// then joins the threads that are left; chDB 26.7.3 reports that some
	// could not be stopped every time, even with nothing running (measured
	// over ten seconds of retries), so its answer is not waited for.
	C.call_shutdown(e.shutdown)
	return removeTemp()
}

// removeTemp removes OpenTemp's directory; openMu is held.
func removeTemp() error {
	if tempDir == "" {
		return nil
	}
	err := os.RemoveAll(tempDir)
	tempDir = ""
	if err != nil {
		return fmt.Errorf("chdb: %w", err)
	}
	return nil
}

// Parse reports whether the engine's parser takes query as one statement,
// without running it: for statements that need what an in-process engine
// lacks, such as a cluster and ZooKeeper for ON CLUSTER.
func (e *Engine) Parse(query string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.conn == nil {
		return fmt.Errorf("chdb: the engine was shut down")
	}
	cq := C.CBytes([]byte(query))
	defer C.free(cq)
	var a C.chdb_query_analysis_v1
	if C.call_classify(e.classify, *e.conn, (*C.char)(cq), C.size_t(len(query)), &a) != 0 {
		return fmt.Errorf("chdb: cannot classify the statement")
	}
	const unknown = 4 // CHDB_QUERY_UNKNOWN: did not parse
	if a.query_class == unknown || a.statement_count != 1 {
		return fmt.Errorf("chdb %s does not parse it as one statement (%d statements, class %d)", e.version, a.statement_count, a.query_class)
	}
	return nil
}

// Version is the library's version, such as 26.7.3.
func (e *Engine) Version() string { return e.version }

// Query runs one statement and returns its output in format (for example
// "TabSeparated"), or the engine's error message as an error.
func (e *Engine) Query(query, format string) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.conn == nil {
		return "", fmt.Errorf("chdb: the engine was shut down")
	}
	cq := C.CBytes([]byte(query))
	cf := C.CBytes([]byte(format))
	defer C.free(cq)
	defer C.free(cf)
	r := C.call_query(e.query, *e.conn, (*C.char)(cq), C.size_t(len(query)), (*C.char)(cf), C.size_t(len(format)))
	if r == nil {
		return "", fmt.Errorf("chdb: no result")
	}
	defer C.call_destroy(e.destroy, r)
	if msg := C.call_error(e.resultError, r); msg != nil {
		return "", fmt.Errorf("chdb: %s", strings.TrimSpace(C.GoString(msg)))
	}
	n := C.call_length(e.length, r)
	if n == 0 {
		return "", nil
	}
	return C.GoStringN(C.call_buffer(e.buffer, r), C.int(n)), nil
}
