package processor

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/grouping"
	"github.com/errortracker/errortracker/intake"
	"github.com/errortracker/errortracker/processor/internal/spool"
)

// Names of the files crash capture keeps in its directory, per process:
// crash-<pid>.log is the runtime's crash output, crash-<pid>.resource.json
// the process's resource (masked) for the record made of it.
const (
	crashPrefix      = "crash-"
	crashLogSuffix   = ".log"
	crashResSuffix   = ".resource.json"
	maxCrashFile     = 4 << 20 // a crash report beyond this is cut: its head holds what matters
	crashType        = "panic"
	fatalType        = "fatal error"
	missingFatalLine = "fatal error (the runtime wrote its message to standard error only, before the crash output: golang/go#76859; run under processor.MonitorCrashes to capture it)"
)

// CrashSpanName is the span name of a crash's record: a crash ends the
// process outside any span.
const CrashSpanName = "process crash"

// WithCrashCapture captures the crash of the process — an unrecovered
// panic in any goroutine, a fatal error such as concurrent map writes, a
// stack overflow — which kills it before anything can be sent. The
// runtime writes its report to a file in dir (runtime/debug.SetCrashOutput),
// mode 0600, beside the process's resource; on the next start the
// processor reads the files a dead process left, masks them as it masks
// spans, and delivers one record per crash, marked escaped, grouped by the
// function that panicked, with the crashed process's service, version and
// environment. Only the crashing goroutine's stack is kept.
//
// SetCrashOutput has one setting per process, and the last call wins: an
// app that sets its own crash output after New takes it over, and one that
// set it before loses it to the processor. Give both the same file by
// calling SetCrashOutput yourself only if you do not use this option.
//
// The runtime prints a fatal error's first line ("fatal error: concurrent
// map writes") to standard error before it switches to the crash output,
// so the file holds the stack without it; the record says so.
// [MonitorCrashes] captures the whole report. An empty dir is ignored.
func WithCrashCapture(dir string) Option {
	return optionFunc(func(s settings) settings {
		if dir != "" {
			s.crashDir = dir
		}
		return s
	})
}

// crashCapture is the open crash file of this process.
type crashCapture struct {
	dir     string
	file    *os.File // holds an exclusive flock while the process lives
	resPath string
	mu      sync.Mutex     // one writer of the resource file at a time
	writes  sync.WaitGroup // resource writes in flight, waited for at Shutdown
}

// startCrashCapture reports the crashes that dead processes left in dir,
// then points the runtime's crash output at a file of this process's. It
// never fails the app: trouble is logged.
func (p *Processor) startCrashCapture(dir string) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		p.log.Error("error tracker: crash capture off", "dir", dir, "error", err)
		return
	}
	p.reportCrashes(dir)
	pid := strconv.Itoa(os.Getpid())
	path := filepath.Join(dir, crashPrefix+pid+crashLogSuffix)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err == nil {
		err = spool.TryLock(f)
		if err == nil {
			err = debug.SetCrashOutput(f, debug.CrashOptions{})
		}
		if err != nil {
			f.Close()
		}
	}
	if err != nil {
		p.log.Error("error tracker: crash capture off", "file", path, "error", err)
		return
	}
	c := &crashCapture{dir: dir, file: f, resPath: filepath.Join(dir, crashPrefix+pid+crashResSuffix)}
	p.crash.Store(c)
	// The resource of the provider is known at the first span's end; until
	// then the SDK's default (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES)
	// is the best guess.
	attrs, _ := p.masker.Attributes(resource.Default().Attributes())
	p.writeCrashResource(c, attrs)
}

// writeCrashResource writes the masked resource beside the crash file.
func (p *Processor) writeCrashResource(c *crashCapture, attrs []attribute.KeyValue) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := make(map[string]string, len(attrs))
	for _, kv := range attrs {
		m[string(kv.Key)] = kv.Value.Emit()
	}
	b, err := json.Marshal(m)
	if err == nil {
		tmp := c.resPath + ".tmp"
		if err = os.WriteFile(tmp, b, 0o600); err == nil {
			err = os.Rename(tmp, c.resPath)
		}
	}
	if err != nil {
		p.log.Warn("error tracker: crash capture: resource not written", "error", err)
	}
}

// stopCrashCapture removes this process's files at a clean shutdown: it
// did not crash.
func (p *Processor) stopCrashCapture() {
	c := p.crash.Swap(nil)
	if c == nil {
		return
	}
	c.writes.Wait()
	_ = debug.SetCrashOutput(nil, debug.CrashOptions{})
	os.Remove(c.file.Name())
	os.Remove(c.resPath)
	c.file.Close()
}

// reportCrashes delivers one record for each crash file in dir that no
// live process holds, and removes the files. An empty file is a process
// that was killed without crashing (SIGKILL): nothing to report.
func (p *Processor) reportCrashes(dir string) {
	logs, err := filepath.Glob(filepath.Join(dir, crashPrefix+"*"+crashLogSuffix))
	if err != nil {
		return
	}
	for _, path := range logs {
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		if spool.TryLock(f) != nil {
			f.Close() // a live process's (or no locks on this system: nothing is safe to take)
			continue
		}
		report, err := readCapped(f, maxCrashFile)
		st, statErr := f.Stat()
		f.Close()
		if err != nil || statErr != nil {
			p.log.Warn("error tracker: crash file unreadable", "file", path, "error", errors.Join(err, statErr))
			continue
		}
		resPath := strings.TrimSuffix(path, crashLogSuffix) + crashResSuffix
		if len(bytes.TrimSpace(report)) > 0 {
			res := p.readCrashResource(resPath)
			if rec, ok := p.crashRecord(report, res, st, filepath.Base(path)); ok {
				p.deliver([]exporter.Record{rec})
				if sp := p.spool; sp != nil && p.loadSinks() != nil {
					// In the spool before the file goes: a kill now
					// loses nothing.
					if err := sp.Commit(); err != nil {
						p.log.Warn("error tracker: spool: commit failed", "error", err)
					}
				}
				p.log.Warn("error tracker: the process crashed before this start; reported", "file", path, "message", rec.Message)
			}
		}
		// The record is queued (and, with a spool, in it at the next
		// commit): a crash whose report is read twice has the same
		// occurrence id, which the store counts once.
		os.Remove(path)
		os.Remove(resPath)
	}
}

func readCapped(f *os.File, n int64) ([]byte, error) {
	return io.ReadAll(io.LimitReader(f, n))
}

// readCrashResource reads the resource a crashed process wrote, masked
// again with this process's rules.
func (p *Processor) readCrashResource(path string) []attribute.KeyValue {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var m map[string]string
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	attrs := make([]attribute.KeyValue, 0, len(m))
	for k, v := range m {
		attrs = append(attrs, attribute.String(k, v))
	}
	out, _ := p.masker.Attributes(attrs)
	return out
}

// crashRecord turns a crash report into one masked record: the panic
// value or fatal error as the message, the crashing goroutine's stack (the
// first; the others are left out), marked escaped, with the id made of
// the report so that reading it twice counts once.
func (p *Processor) crashRecord(report []byte, res []attribute.KeyValue, st os.FileInfo, name string) (exporter.Record, bool) {
	text := strings.ReplaceAll(string(report), "\r\n", "\n")
	typ, msg, stack := parseCrash(text)
	if stack == "" && msg == "" {
		return exporter.Record{}, false
	}
	sum := sha256.Sum256(append([]byte(name+"\x00"), report...))
	msg, _ = p.masker.String(msg)
	stack, _ = p.masker.String(stack)
	r := exporter.Record{
		ID:         hex.EncodeToString(sum[:16]),
		Time:       st.ModTime(),
		Type:       typ,
		Message:    msg,
		Stacktrace: stack,
		Escaped:    true,
		SpanName:   CrashSpanName,
		Resource:   res,
		Extras:     []attribute.KeyValue{attribute.String("crash.file", name)},
	}
	intake.FromResource(&r, res)
	// Grouped by the function that panicked: the runtime leaves the panic
	// frame out of an unrecovered panic's stack, so the grouping is told.
	g := grouping.Exception{Service: r.Service, Type: typ, Message: msg, Stacktrace: stack, Language: grouping.Go}
	if typ == crashType {
		g.Stacktrace = withPanicFrame(stack)
	}
	r.Fingerprint, r.Grouping = p.grouper.Group(g)
	return r, true
}

// parseCrash reads the runtime's report: its first line ("panic: …",
// "fatal error: …", or none when the runtime printed it to standard error
// only) and the first goroutine's stack (after the runtime's own stack,
// which a throw prints first).
func parseCrash(text string) (typ, msg, stack string) {
	text = strings.TrimLeft(text, "\n")
	head, rest, _ := strings.Cut(text, "\n")
	switch {
	case strings.HasPrefix(head, "panic: "):
		typ, msg = crashType, strings.TrimPrefix(head, "panic: ")
		// A panic during a panic adds lines: keep the first value.
		msg = strings.TrimSuffix(msg, " [recovered]")
	case strings.HasPrefix(head, "fatal error: "):
		typ, msg = fatalType, strings.TrimPrefix(head, "fatal error: ")
	default:
		// "goroutine N [running]:" (a fatal error) or "runtime stack:" (a
		// stack overflow, a throw): the runtime printed the first line to
		// standard error only.
		typ, msg, rest = fatalType, missingFatalLine, text
	}
	// The first "goroutine N [...]:" block is the one that crashed.
	if i := strings.Index(rest, "goroutine "); i >= 0 {
		block := rest[i:]
		if j := strings.Index(block, "\n\n"); j >= 0 {
			block = block[:j]
		}
		stack = strings.TrimSpace(block) + "\n"
	}
	return typ, msg, stack
}

// withPanicFrame puts a panic frame under the goroutine's header, where a
// recovered panic's stack has it, so that grouping names the function that
// panicked.
func withPanicFrame(stack string) string {
	header, frames, ok := strings.Cut(stack, "\n")
	if !ok {
		return stack
	}
	return header + "\npanic({0x0, 0x0})\n\truntime/panic.go:0 +0x0\n" + frames
}

// noteCrashResource writes the provider's masked resource beside the
// crash file, once per resource, off the span's goroutine.
func (p *Processor) noteCrashResource(attrs []attribute.KeyValue) {
	if c := p.crash.Load(); c != nil {
		c.writes.Go(func() { p.writeCrashResource(c, attrs) })
	}
}

// CrashDir returns the directory crash capture writes to, empty when it
// is off (not configured, or the directory unusable).
func (p *Processor) CrashDir() string {
	if c := p.crash.Load(); c != nil {
		return c.dir
	}
	return ""
}

// startCrashOnce starts crash capture when configured and not started yet.
func (p *Processor) startCrashOnce(dir string) {
	if dir != "" && !p.crashStarted.Swap(true) {
		p.startCrashCapture(dir)
	}
}
