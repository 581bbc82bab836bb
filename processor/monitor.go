package processor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// monitorEnv marks the child that MonitorCrashes starts.
const monitorEnv = "ERRORTRACKER_CRASH_MONITOR_CHILD"

// monitorTail is how much of the child's standard error the monitor keeps
// to find the crash report in.
const monitorTail = 1 << 20

// MonitorCrashes runs the program under a crash monitor, the pattern the
// runtime/debug.SetCrashOutput documentation describes, turned around:
// the monitor is the parent, so that it sees the child's standard error,
// where the runtime prints a fatal error's first line ("fatal error:
// concurrent map writes") that the crash output lacks (golang/go#76859).
// It is opt-in: call it first thing in main, before anything else, with
// the directory given to [WithCrashCapture].
//
// In the child it returns at once. In the monitor it never returns: it
// runs the same executable with the same arguments and environment, hands
// it standard input and output, copies its standard error through, passes
// on SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2, and when the
// child dies of a crash it writes the whole report into dir in place of
// the child's own crash file, which the next start reports as one record.
// Then it exits with the child's status (128 plus the signal's number when
// a signal killed it). The cost is a second process of a few megabytes,
// and a program whose parent must be the service manager should not use
// it.
func MonitorCrashes(dir string) {
	if os.Getenv(monitorEnv) != "" {
		return
	}
	os.Exit(runMonitor(dir, os.Args[1:], nil))
}

// MonitorReportTimeout bounds the monitor's report of a crash by
// [MonitorCrashesAndReport]: building the exporters, delivering, shutting
// down.
const MonitorReportTimeout = 30 * time.Second

// MonitorCrashesAndReport is [MonitorCrashes] that reports a crash at once
// instead of at the next start: when the child has crashed, the monitor
// builds a processor with cfg and the options newOptions returns (the
// exporters — the store, the mail policy — made only then, so the monitor
// holds no connection while the child runs), which delivers the crash's
// record, and shuts it down, all within MonitorReportTimeout. The record
// has the same id either way, so a report that also reaches the next
// start counts once. If newOptions fails, the report waits for the next
// start.
func MonitorCrashesAndReport(dir string, cfg Config, newOptions func(ctx context.Context) ([]Option, error)) {
	if os.Getenv(monitorEnv) != "" {
		return
	}
	os.Exit(runMonitor(dir, os.Args[1:], func() error {
		ctx, cancel := context.WithTimeout(context.Background(), MonitorReportTimeout)
		defer cancel()
		opts, err := newOptions(ctx)
		if err != nil {
			return err
		}
		// The monitor reports the crash only: the spool is the next
		// start's to replay.
		cfg.SpoolDir = ""
		p, err := New(cfg, append(opts, WithCrashCapture(dir))...)
		if err != nil {
			return err
		}
		return p.Shutdown(ctx)
	}))
}

// runMonitor runs the child and returns the status to exit with; report,
// when not nil, reports a crash the child left at once.
func runMonitor(dir string, args []string, report func() error) int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "error tracker: crash monitor:", err)
		return 1
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), monitorEnv+"=1")
	cmd.Stdin, cmd.Stdout = os.Stdin, os.Stdout
	tail := &tailBuffer{max: monitorTail}
	cmd.Stderr = io.MultiWriter(os.Stderr, tail)
	setDeathSignal(cmd) // a monitor killed outright takes its child along
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwardedSignals...)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "error tracker: crash monitor:", err)
		return 1
	}
	go func() {
		for s := range sigs {
			_ = cmd.Process.Signal(s)
		}
	}()
	err = cmd.Wait()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		fmt.Fprintln(os.Stderr, "error tracker: crash monitor:", err)
		return 1
	}
	if report := crashReport(tail.Bytes()); report != nil {
		path := filepath.Join(dir, crashPrefix+strconv.Itoa(cmd.Process.Pid)+crashLogSuffix)
		if err := writeReport(dir, path, report); err != nil {
			fmt.Fprintln(os.Stderr, "error tracker: crash monitor: report not written:", err)
		}
	}
	if report != nil && crashed(cmd.ProcessState) {
		if err := report(); err != nil {
			fmt.Fprintln(os.Stderr, "error tracker: crash monitor: not reported now, the next start will:", err)
		}
	}
	st := cmd.ProcessState
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return st.ExitCode()
}

// crashed tells a crash (the runtime exits with status 2) from a normal
// exit.
func crashed(st *os.ProcessState) bool { return st.ExitCode() == 2 }

// writeReport replaces the child's crash file with the whole report.
func writeReport(dir, path string, report []byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, report, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// crashReport finds the runtime's report at the end of standard error:
// from the last line that starts "panic: " or "fatal error: " on, if a
// goroutine's stack follows it.
func crashReport(stderr []byte) []byte {
	start := -1
	for _, head := range []string{"panic: ", "fatal error: "} {
		if bytes.HasPrefix(stderr, []byte(head)) && start < 0 {
			start = 0
		}
		if i := bytes.LastIndex(stderr, []byte("\n"+head)); i >= 0 && i+1 > start {
			start = i + 1
		}
	}
	if start < 0 || !bytes.Contains(stderr[start:], []byte("\ngoroutine ")) {
		return nil
	}
	return bytes.Clone(stderr[start:])
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) Bytes() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return bytes.Clone(t.b)
}
