package processor_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/processor"
)

// buildCrashProg builds testdata/crashprog, a program that crashes.
func buildCrashProg(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "crashprog")
	if out, err := exec.Command("go", "build", "-o", bin, "./testdata/crashprog").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// crash runs the program and returns its standard error; it must die
// with status 2, as the runtime makes a crash.
func crash(t *testing.T, bin, dir string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{dir}, args...)...)
	cmd.Env = append(os.Environ(), "OTEL_SERVICE_NAME=crashprog", "OTEL_RESOURCE_ATTRIBUTES=service.version=1.2.3,deployment.environment.name=test", "GOTRACEBACK=all")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("crashprog %v: %v, want exit status 2\n%s", args, err, stderr.String())
	}
	return stderr.String()
}

// restart starts a processor on dir as the next start of the app would,
// and returns what it delivered.
func restart(t *testing.T, dir string) []exporter.Record {
	t.Helper()
	rec := &recorder{}
	p, err := processor.New(processor.Config{}, processor.WithCrashCapture(dir), processor.WithExporter(rec))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	return rec.Records()
}

// An unrecovered panic in a goroutine: after a restart it is one record,
// masked, escaped, grouped by the function that panicked, with the crashed
// process's resource and only its own goroutine's stack; delivered once.
func TestCrashOfAPanicReportedOnce(t *testing.T) {
	bin := buildCrashProg(t)
	dir := filepath.Join(t.TempDir(), "crash")
	crash(t, bin, dir, "panic")
	files, _ := filepath.Glob(filepath.Join(dir, "crash-*"))
	if len(files) != 2 {
		t.Fatalf("crash files: %v", files)
	}
	for _, f := range files {
		if st, _ := os.Stat(f); st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", f, st.Mode().Perm())
		}
	}
	recs := restart(t, dir)
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	r := recs[0]
	if r.Type != "panic" || !strings.HasPrefix(r.Message, "load order: bad query token=") || !r.Escaped || r.SpanName != processor.CrashSpanName {
		t.Errorf("record: type %q message %q escaped %v span %q", r.Type, r.Message, r.Escaped, r.SpanName)
	}
	if strings.Contains(r.Message, "hunter2") || strings.Contains(r.Stacktrace, "hunter2") {
		t.Errorf("unmasked secret: %q", r.Message)
	}
	if r.Service != "crashprog" || r.ServiceVersion != "1.2.3" || r.Environment != "test" {
		t.Errorf("resource: %q %q %q", r.Service, r.ServiceVersion, r.Environment)
	}
	if !strings.Contains(r.Stacktrace, "main.loadOrder") || strings.Count(r.Stacktrace, "goroutine ") != 2 { // its header and "created by … in goroutine 1"
		t.Errorf("stack (only the crashing goroutine's):\n%s", r.Stacktrace)
	}
	if !strings.Contains(r.Grouping, "loadOrder") {
		t.Errorf("grouping %q does not name the function that panicked", r.Grouping)
	}
	if again := restart(t, dir); len(again) != 0 {
		t.Errorf("a second restart delivered %d records again", len(again))
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "crash-*")); len(left) != 0 {
		t.Errorf("files left after clean runs: %v", left)
	}
}

// Concurrent map writes, with the crash file alone: the runtime's message
// is missing, the record says so, and the stack is there.
func TestFatalErrorFromTheFileAlone(t *testing.T) {
	bin := buildCrashProg(t)
	dir := t.TempDir()
	stderr := crash(t, bin, dir, "map")
	if !strings.Contains(stderr, "fatal error: concurrent map writes") {
		t.Fatalf("the program did not die of concurrent map writes:\n%.2000s", stderr)
	}
	recs := restart(t, dir)
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	r := recs[0]
	if r.Type != "fatal error" || !strings.Contains(r.Message, "golang/go#76859") || !strings.Contains(r.Stacktrace, "main.main.func") {
		t.Errorf("record: type %q message %q\n%s", r.Type, r.Message, r.Stacktrace)
	}
}

// Concurrent map writes under the monitor: the whole report, message
// included.
func TestFatalErrorUnderTheMonitor(t *testing.T) {
	bin := buildCrashProg(t)
	dir := t.TempDir()
	crash(t, bin, dir, "map", "monitor")
	recs := restart(t, dir)
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	r := recs[0]
	if r.Type != "fatal error" || r.Message != "concurrent map writes" || !strings.Contains(r.Stacktrace, "main.main.func") || r.Service != "crashprog" {
		t.Errorf("record: type %q message %q service %q\n%s", r.Type, r.Message, r.Service, r.Stacktrace)
	}
}

// MonitorCrashesAndReport reports at once: the record is exported when the
// monitor exits, and the next start has nothing left to report.
func TestMonitorReportsAtOnce(t *testing.T) {
	bin := buildCrashProg(t)
	dir := t.TempDir()
	out := filepath.Join(t.TempDir(), "reported.jsonl")
	t.Setenv("CRASHPROG_OUT", out)
	crash(t, bin, dir, "map", "monitor-report")
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("nothing reported by the monitor: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var r struct {
		Message, Service string
		Escaped          bool
	}
	if err := json.Unmarshal([]byte(lines[0]), &r); err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || r.Message != "concurrent map writes" || r.Service != "crashprog" || !r.Escaped {
		t.Errorf("%d records; first: %q %q", len(lines), r.Message, r.Service)
	}
	if again := restart(t, dir); len(again) != 0 {
		t.Errorf("the next start reported %d records again", len(again))
	}
}

// A stack overflow: the file alone has the runtime's stack first, then the
// goroutine's; the monitor has the message too.
func TestStackOverflow(t *testing.T) {
	bin := buildCrashProg(t)
	for _, mode := range []string{"", "monitor"} {
		dir := t.TempDir()
		args := []string{"overflow"}
		if mode != "" {
			args = append(args, mode)
		}
		crash(t, bin, dir, args...)
		recs := restart(t, dir)
		if len(recs) != 1 {
			t.Fatalf("%s: %d records, want 1", mode, len(recs))
		}
		r := recs[0]
		want := "stack overflow"
		if mode == "" {
			want = "golang/go#76859"
		}
		if r.Type != "fatal error" || !strings.Contains(r.Message, want) || !strings.HasPrefix(r.Stacktrace, "goroutine ") ||
			!strings.Contains(r.Stacktrace, "main.recurse") || !strings.Contains(r.Grouping, "recurse") {
			t.Errorf("%s: type %q message %q grouping %q\n%.500s", mode, r.Type, r.Message, r.Grouping, r.Stacktrace)
		}
	}
}
