package grouping

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
)

// Previous returns the fingerprints the exception had under the versions
// v3 replaced, newest first: v2, then v1. Stores carry the first sighting
// and state of those groups over to the v3 group, so an upgrade announces
// no old error as new; a v2 group that v3 splits passes its history to
// every part.
func (g *Grouper) Previous(e Exception) []string {
	return []string{g.v2(e), g.v1(e)}
}

// v2 is the fingerprint of v2 as it was: the message template with the
// %w prefixes; for a bare sentinel or a runtime error, the function that
// panicked, or the recording span, or the function that reported it. It
// must not change: stores hold its groups.
func (g *Grouper) v2(e Exception) string {
	if fp, _, ok := g.byRule(V2, e); ok {
		return fp
	}
	h := newHash(V2, e.Service)
	template := g.norm.Normalize(messageHead(e.Message, e.IsMessage))
	if e.IsMessage || template == "" {
		h.write(e.Type)
	}
	h.write(template)
	if e.IsMessage || !g.isGeneric(e.Type, template) {
		return h.sum()
	}
	frames := Frames(e.Stacktrace)
	if fn := panickingFunction(frames, g.app); fn != "" {
		h.write("panic")
		h.write(fn)
	} else if e.Span != "" && !strings.HasPrefix(e.Span, "Capture") { // v2 took package scope's own spans for no span
		h.write("span")
		h.write(g.previous.Normalize(e.Span))
	} else {
		h.write("reported")
		h.write(reportingFunction(frames, g.app))
	}
	return h.sum()
}

// v1 is the fingerprint of v1: service, type, and the functions of up to
// 16 app frames; without app frames, the type and the message with v1's
// placeholders.
func (g *Grouper) v1(e Exception) string {
	h := newHash(V1, e.Service)
	h.write(e.Type)
	var frames []string
	if !e.IsMessage {
		frames = g.v1Frames(e.Stacktrace)
	}
	for _, fn := range frames {
		h.write(fn)
	}
	if len(frames) == 0 {
		h.write(g.previous.Normalize(e.Message))
	}
	return h.sum()
}

// v1Frames returns the functions of up to 16 app frames, recursion
// collapsed, remembered by stack: an exporter's goroutine computes them
// for every record.
func (g *Grouper) v1Frames(stack string) []string {
	const maxAppFrames = 16
	if fns, ok := g.v1frames.get(stack); ok {
		return fns
	}
	var fns []string
	var last string
	for fr := range AllFrames(stack) {
		if !g.app.Contains(fr.Function) || fr.Function == last { // collapse recursion
			continue
		}
		last = fr.Function
		fns = append(fns, fr.Function)
		if len(fns) == maxAppFrames {
			break
		}
	}
	if len(stack) <= maxCachedStackLen {
		g.v1frames.put(strings.Clone(stack), fns)
	}
	return fns
}

// genericErrors are the standard library's errors whose text tells what
// happened but not where: v2 told them apart by who reported them.
func genericErrors() []error {
	return []error{
		io.EOF, io.ErrUnexpectedEOF, io.ErrClosedPipe, io.ErrShortWrite,
		context.Canceled, context.DeadlineExceeded, os.ErrDeadlineExceeded,
		os.ErrNotExist, os.ErrPermission, os.ErrClosed, net.ErrClosed,
		sql.ErrNoRows, sql.ErrTxDone, sql.ErrConnDone, driver.ErrBadConn,
		http.ErrServerClosed, http.ErrHandlerTimeout, http.ErrBodyReadAfterClose, http.ErrAbortHandler,
		syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.EPIPE, syscall.ETIMEDOUT,
		errors.ErrUnsupported,
	}
}

// isGeneric reports whether a normalised message tells nothing of where it
// was made: one of the standard library's bare sentinels, or a runtime
// error such as a nil dereference or an index out of range.
func (g *Grouper) isGeneric(typ, template string) bool {
	return g.generic[template] || strings.HasPrefix(typ, "runtime.") || strings.HasPrefix(template, "runtime error: ")
}

// panickingFunction returns, for v2, the function that panicked when the
// stack was taken while a panic unwound — the first app frame below the
// runtime's panic frame, or the first frame outside the runtime when the
// app has none there — and "" for any other stack.
func panickingFunction(frames []Frame, app AppPackages) string {
	below := -1
	for i, fr := range frames {
		if isPanic(fr.Function) {
			below = i + 1
		}
	}
	if below < 0 {
		return ""
	}
	return reportingFunction(frames[below:], app)
}

// reportingFunction returns, for v2, the innermost app function of a
// stack, or the innermost function outside the runtime, OpenTelemetry and
// this tracker when there is none; closures count as the function they are
// in.
func reportingFunction(frames []Frame, app AppPackages) string {
	fallback := ""
	for _, fr := range frames {
		if app.Contains(fr.Function) {
			return enclosingFunction(fr.Function)
		}
		if fallback == "" && !isInfrastructure(fr.Function) {
			fallback = enclosingFunction(fr.Function)
		}
	}
	return fallback
}
