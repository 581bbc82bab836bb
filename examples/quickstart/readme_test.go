package quickstart_test

import (
	"os"
	"strings"
	"testing"
)

// The README's quick start is the code of Example, between its markers:
// what users paste compiles and runs.
func TestREADMEQuickStartIsTheExample(t *testing.T) {
	src, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "// README: quick start begins\n", "// README: quick start ends\n"
	_, rest, ok := strings.Cut(string(src), begin)
	code, _, ok2 := strings.Cut(rest, end)
	if !ok || !ok2 {
		t.Fatalf("example_test.go lacks the markers %q and %q", begin, end)
	}
	imports, _, _ := strings.Cut(string(src[strings.Index(string(src), "import ("):]), ")\n")
	want := strings.TrimSpace(readmeImports(imports) + "\n" + code)

	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Quick start\n")
	if !ok {
		t.Fatal("README.md has no '## Quick start' section")
	}
	_, block, ok := strings.Cut(section, "```go\n")
	got, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 {
		t.Fatal("the quick start section has no Go block")
	}
	if strings.TrimSpace(got) != want {
		t.Errorf("the README's quick start differs from example_test.go; put this in README.md:\n```go\n%s\n```", want)
	}
}

// readmeImports is the example's import block without what only the
// example's own scaffolding uses.
func readmeImports(block string) string {
	var out []string
	for _, line := range strings.Split(block+")", "\n") {
		switch strings.TrimSpace(line) {
		case `"database/sql"`, `"encoding/json"`, `"fmt"`, `"io"`, `"net"`, `"sort"`, `"strconv"`,
			`"github.com/errortracker/errortracker/internal/testenv"`:
			continue
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}
