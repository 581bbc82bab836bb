package grouping

import (
	"iter"
	"reflect"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"

	"github.com/errortracker/errortracker/scope"
)

// Frame is one frame of a stack trace.
type Frame struct {
	// Function is the package path and name, without arguments:
	// github.com/acme/shop/orders.(*Service).Place.
	Function string
	// File and Line locate the call; empty and zero when the trace has no
	// location line for the frame.
	File string
	Line int
}

// Frames parses a Go stack trace in any of the formats that reach the
// tracker — runtime.Stack's (the SDK's RecordError), a panic's, and
// package scope's — into frames, innermost first. Goroutine headers,
// "created by" lines, arguments and +0x offsets are dropped.
func Frames(stack string) []Frame {
	return slices.Collect(AllFrames(stack))
}

// AllFrames yields the frames Frames returns, one at a time, without
// allocating.
func AllFrames(stack string) iter.Seq[Frame] {
	return func(yield func(Frame) bool) {
		var pending Frame
		havePending := false
		for stack != "" {
			line := stack
			if i := strings.IndexByte(stack, '\n'); i >= 0 {
				line, stack = stack[:i], stack[i+1:]
			} else {
				stack = ""
			}
			line = strings.TrimRight(line, "\r")
			switch {
			case line == "" || strings.HasPrefix(line, "goroutine ") || strings.HasPrefix(line, "created by "):
			case line[0] == '\t' || line[0] == ' ':
				if havePending && pending.File == "" {
					loc := strings.TrimSpace(line)
					if sp := strings.LastIndexByte(loc, ' '); sp > 0 && strings.HasPrefix(loc[sp+1:], "+0x") {
						loc = loc[:sp]
					}
					if colon := strings.LastIndexByte(loc, ':'); colon > 0 {
						if n, err := strconv.Atoi(loc[colon+1:]); err == nil {
							pending.File, pending.Line = loc[:colon], n
						}
					}
				}
			default:
				if havePending && !yield(pending) {
					return
				}
				fn := line
				if strings.HasSuffix(fn, ")") {
					if i := strings.LastIndexByte(fn, '('); i > 0 {
						fn = fn[:i]
					}
				}
				pending, havePending = Frame{Function: fn}, true
			}
		}
		if havePending {
			yield(pending)
		}
	}
}

// AppPackages decides which frames are the application's own code, as
// opposed to the runtime, the standard library, libraries, and this error
// tracker's capture code.
type AppPackages []string

// DefaultAppPackages is the main module's path from the build information,
// or nothing when it is unknown.
func DefaultAppPackages() AppPackages {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Path != "" && bi.Main.Path != "command-line-arguments" {
		return AppPackages{bi.Main.Path}
	}
	return nil
}

// scopePackage is the capture package's import path, read from one of its
// types so that no copy of the path can fall out of date.
var scopePackage = reflect.TypeFor[scope.Scope]().PkgPath()

// IsTrackerFrame reports whether a function is the error tracker's capture
// code (package scope: its capture calls, Track and the middleware), which
// says nothing about where the error happened.
func IsTrackerFrame(fn string) bool {
	rest, ok := strings.CutPrefix(fn, scopePackage)
	return ok && (strings.HasPrefix(rest, ".") || strings.HasPrefix(rest, "/"))
}

// Contains reports whether a function (package path, then name) is the
// application's. Without prefixes, anything outside the standard library
// and a few well-known libraries counts. The tracker's own frames never do.
func (a AppPackages) Contains(fn string) bool {
	if IsTrackerFrame(fn) {
		return false
	}
	if strings.HasPrefix(fn, "main.") {
		return true
	}
	if len(a) > 0 {
		for _, p := range a {
			if rest, ok := strings.CutPrefix(fn, p); ok && (strings.HasPrefix(rest, "/") || strings.HasPrefix(rest, ".") || strings.HasPrefix(rest, "_test.")) {
				return true
			}
		}
		return false
	}
	slash := strings.IndexByte(fn, '/')
	if slash < 0 || !strings.Contains(fn[:slash], ".") {
		return false
	}
	for _, lib := range []string{"go.opentelemetry.io/", "golang.org/x/", "google.golang.org/"} {
		if strings.HasPrefix(fn, lib) {
			return false
		}
	}
	return true
}

// isInfrastructure reports the frames that never say where an error
// happened: the runtime, testing, OpenTelemetry and the capture code.
func isInfrastructure(fn string) bool {
	for _, p := range []string{"runtime.", "runtime/", "panic", "testing.", "go.opentelemetry.io/otel/"} {
		if strings.HasPrefix(fn, p) {
			return true
		}
	}
	return IsTrackerFrame(fn)
}

// isPanic reports the runtime's frame of a panic: "panic" in a panic's
// trace and runtime.Stack's, runtime.gopanic in runtime.Callers'.
func isPanic(fn string) bool { return fn == "panic" || fn == "runtime.gopanic" }

// IsMachinery reports whether a frame is the machinery of recording an
// error rather than part of the app's story: the tracker's capture code,
// the OpenTelemetry SDK recording it, and the runtime's panic and
// stack-walking frames. The pages and the mail fold these away.
func IsMachinery(fn string) bool {
	if IsTrackerFrame(fn) || isPanic(fn) || strings.HasPrefix(fn, "go.opentelemetry.io/otel/sdk/") {
		return true
	}
	switch fn {
	case "runtime.sigpanic", "runtime.Callers", "runtime/debug.Stack", "runtime.goexit":
		return true
	}
	return strings.HasPrefix(fn, "runtime.panic") || strings.HasPrefix(fn, "runtime.goPanic")
}

// FoldMachinery returns the text of a stack without the frames
// IsMachinery reports (their function and location lines), and how many
// it left out. The rest of the text is kept as it was.
func FoldMachinery(stack string) (string, int) {
	var b strings.Builder
	folded, skipping := 0, false
	for rest := stack; rest != ""; {
		line := rest
		if i := strings.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i+1], rest[i+1:]
		} else {
			rest = ""
		}
		text := strings.TrimRight(line, "\r\n")
		switch {
		case text != "" && (text[0] == '\t' || text[0] == ' '):
			// a location line: it belongs to the frame above it
		case text == "" || strings.HasPrefix(text, "goroutine ") || strings.HasPrefix(text, "created by "):
			skipping = false
		default:
			fn := text
			if strings.HasSuffix(fn, ")") {
				if i := strings.LastIndexByte(fn, '('); i > 0 {
					fn = fn[:i]
				}
			}
			skipping = IsMachinery(fn)
			if skipping {
				folded++
			}
		}
		if !skipping {
			b.WriteString(line)
		}
	}
	if folded == 0 {
		return stack, 0
	}
	return b.String(), folded
}
