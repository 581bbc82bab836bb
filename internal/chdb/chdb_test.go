package chdb_test

import (
	"strings"
	"testing"

	"github.com/errortracker/errortracker/internal/chdb"
	"github.com/errortracker/errortracker/internal/testenv"
)

// TestEngine checks the binding: a result, an error with the engine's
// message, and one engine per process.
func TestEngine(t *testing.T) {
	lib := testenv.ChDBLibrary(t)
	dir := t.TempDir()
	e, err := chdb.Open(lib, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(e.Version(), "26.") {
		t.Errorf("version %q, want 26.x", e.Version())
	}
	out, err := e.Query("SELECT version(), 'a\\tb', 1 + 1", "TabSeparated")
	if err != nil || !strings.HasSuffix(out, "\ta\\tb\t2\n") {
		t.Errorf("query = %q, %v", out, err)
	}
	if _, err := e.Query("SELECT nope()", "TabSeparated"); err == nil || !strings.Contains(err.Error(), "UNKNOWN_FUNCTION") {
		t.Errorf("unknown function: %v", err)
	}
	if err := e.Parse("ALTER TABLE d.t_local ON CLUSTER c DELETE WHERE fp = 'x'"); err != nil {
		t.Errorf("parse ON CLUSTER: %v", err)
	}
	for _, bad := range []string{"SELEC 1", "SELECT 1; SELECT 2", "SELECT (1"} {
		if err := e.Parse(bad); err == nil {
			t.Errorf("Parse(%q) = nil, want an error", bad)
		}
	}
	if again, err := chdb.Open(lib, dir); err != nil || again != e {
		t.Errorf("second Open = %p, %v; want the same engine", again, err)
	}
	if _, err := chdb.Open(lib, t.TempDir()); err == nil {
		t.Error("a second data directory in one process must fail")
	}
}
