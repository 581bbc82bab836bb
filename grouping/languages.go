package grouping

import (
	"strconv"
	"strings"
)

// Language names the language of a stack trace as the OpenTelemetry
// resource attribute telemetry.sdk.language does, so that a record's
// resource says which parser reads its stack.
type Language string

// The languages whose stack traces the grouping reads.
const (
	Go     Language = "go"
	Python Language = "python"
	Java   Language = "java" // Kotlin and Scala print Java's traces
	NodeJS Language = "nodejs"
	WebJS  Language = "webjs" // browsers print V8's or Firefox's format; read as Node.js's
	DotNet Language = "dotnet"
)

// DetectLanguage guesses a stack trace's language from its text, for a
// record whose resource does not say (telemetry.sdk.language): Python's
// "Traceback (most recent call last):", .NET's "   at F() in file:line N",
// Java's "\tat pkg.Class.method(File.java:N)", V8's "    at f (file:L:C)";
// anything else is Go.
func DetectLanguage(stack string) Language {
	if strings.Contains(stack, "Traceback (most recent call last):") {
		return Python
	}
	for line := range strings.Lines(stack) {
		line = strings.TrimRight(line, "\r\n")
		rest, ok := strings.CutPrefix(strings.TrimLeft(line, " \t"), "at ")
		if !ok {
			continue
		}
		switch {
		case strings.Contains(rest, ":line ") || strings.HasPrefix(line, "   at ") && !strings.HasPrefix(line, "    ") && isDotNetFrame(rest):
			return DotNet
		case strings.HasPrefix(line, "\tat ") || javaLocation(rest):
			return Java
		case strings.HasPrefix(line, "    at "):
			return NodeJS
		}
	}
	return Go
}

// isDotNetFrame reports a frame with .NET's typed parameters, "F(Int32 id)",
// or none, "F()", and no Java location.
func isDotNetFrame(s string) bool {
	return strings.HasSuffix(s, ")") && !javaLocation(s) && !strings.Contains(s, ".js:")
}

// javaLocation reports Java's location in parentheses: "(File.java:12)",
// "(Native Method)", "(Unknown Source)".
func javaLocation(s string) bool {
	open := strings.LastIndexByte(s, '(')
	if open < 0 || !strings.HasSuffix(s, ")") {
		return false
	}
	loc := s[open+1 : len(s)-1]
	return loc == "Native Method" || loc == "Unknown Source" ||
		strings.Contains(loc, ".java") || strings.Contains(loc, ".kt") || strings.Contains(loc, ".scala")
}

// ParseFrames parses a stack trace of a language into frames, innermost
// first; the empty language means [DetectLanguage]. For a chain of causes it
// reads the frames of the exception that exception.type names: Python's
// last traceback (the one raised last), Java's first section (before
// "Caused by:"), .NET's outer frames (after "--- End of inner exception
// stack trace ---").
func ParseFrames(lang Language, stack string) []Frame {
	if lang == "" {
		lang = DetectLanguage(stack)
	}
	switch lang {
	case Python:
		return pythonFrames(stack)
	case Java:
		return javaFrames(stack)
	case NodeJS, WebJS:
		return jsFrames(stack)
	case DotNet:
		return dotnetFrames(stack)
	}
	return Frames(stack)
}

// pythonFrames reads a traceback, which lists the innermost frame last.
func pythonFrames(stack string) []Frame {
	if i := strings.LastIndex(stack, "Traceback (most recent call last):"); i >= 0 {
		stack = stack[i:]
	}
	var frames []Frame
	for line := range strings.Lines(stack) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), `File "`)
		if !ok {
			continue
		}
		// File "/app/shop/orders.py", line 8, in place
		file, rest, ok := strings.Cut(rest, `", line `)
		if !ok {
			continue
		}
		num, fn, _ := strings.Cut(rest, ", in ")
		n, _ := strconv.Atoi(num)
		frames = append(frames, Frame{Function: strings.TrimSpace(fn), File: file, Line: n})
	}
	for i, j := 0, len(frames)-1; i < j; i, j = i+1, j-1 {
		frames[i], frames[j] = frames[j], frames[i]
	}
	return frames
}

// javaFrames reads "\tat pkg.Class.method(File.java:12)" lines up to the
// first "Caused by:".
func javaFrames(stack string) []Frame {
	var frames []Frame
	for line := range strings.Lines(stack) {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "Caused by:") || strings.HasPrefix(line, "Suppressed:") {
			break
		}
		rest, ok := strings.CutPrefix(line, "at ")
		if !ok {
			continue
		}
		fn, loc := rest, ""
		if open := strings.IndexByte(rest, '('); open >= 0 {
			fn, loc = rest[:open], strings.TrimSuffix(rest[open+1:], ")")
		}
		// A module or class loader before a slash: java.base/java.util.X.y, app//com.acme.X.y.
		if slash := strings.LastIndexByte(fn, '/'); slash >= 0 {
			fn = fn[slash+1:]
		}
		f := Frame{Function: fn}
		if colon := strings.LastIndexByte(loc, ':'); colon > 0 {
			if n, err := strconv.Atoi(loc[colon+1:]); err == nil {
				f.File, f.Line = loc[:colon], n
			}
		}
		frames = append(frames, f)
	}
	return frames
}

// jsFrames reads V8's "    at fn (file:line:col)" and "    at file:line:col"
// lines, and Firefox's "fn@file:line:col".
func jsFrames(stack string) []Frame {
	var frames []Frame
	for line := range strings.Lines(stack) {
		line = strings.TrimSpace(line)
		rest, ok := strings.CutPrefix(line, "at ")
		if !ok {
			at := strings.IndexByte(line, '@')
			if at < 0 || !strings.Contains(line[at:], ":") {
				continue
			}
			f := jsLocation(line[at+1:])
			f.Function = line[:at]
			frames = append(frames, f)
			continue
		}
		fn, loc := "", rest
		if strings.HasSuffix(rest, ")") {
			if open := strings.LastIndex(rest, " ("); open >= 0 {
				fn, loc = rest[:open], rest[open+2:len(rest)-1]
			}
		}
		fn = strings.TrimPrefix(fn, "async ")
		fn = strings.TrimPrefix(fn, "new ")
		if i := strings.Index(fn, " [as "); i >= 0 {
			fn = fn[:i]
		}
		f := jsLocation(loc)
		f.Function = fn
		frames = append(frames, f)
	}
	return frames
}

// jsLocation splits "file:line:col" (the file may be a URL with colons).
func jsLocation(loc string) Frame {
	f := Frame{File: loc}
	for range 2 {
		colon := strings.LastIndexByte(f.File, ':')
		if colon < 0 {
			return f
		}
		n, err := strconv.Atoi(f.File[colon+1:])
		if err != nil {
			return f
		}
		f.File, f.Line = f.File[:colon], n
	}
	return f
}

// dotnetFrames reads "   at Ns.Type.Method(Args) in file:line N" lines; an
// inner exception's frames are dropped when the outer ones begin.
func dotnetFrames(stack string) []Frame {
	var frames []Frame
	for line := range strings.Lines(stack) {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "--- End of inner exception stack trace ---") {
			frames = frames[:0]
			continue
		}
		rest, ok := strings.CutPrefix(line, "at ")
		if !ok {
			continue
		}
		f := Frame{}
		if i := strings.LastIndex(rest, " in "); i >= 0 {
			loc := rest[i+4:]
			rest = rest[:i]
			if j := strings.LastIndex(loc, ":line "); j >= 0 {
				f.File = loc[:j]
				f.Line, _ = strconv.Atoi(loc[j+6:])
			}
		}
		if open := strings.IndexByte(rest, '('); open >= 0 {
			rest = rest[:open]
		}
		f.Function = rest
		frames = append(frames, f)
	}
	return frames
}

// LanguageFrames says which frames of a language's stacks are the
// application's own code.
type LanguageFrames struct {
	// App lists prefixes of the application's frames: for Go, Java and
	// .NET of the qualified function (github.com/acme/shop, com.acme.,
	// Shop.); for Python and JavaScript of the file path (/app/). When
	// set, only frames that match are the application's.
	App []string
	// Library lists more prefixes (of the function or the file, as for
	// App) of frames that are not, besides the language's defaults.
	Library []string
}

// defaultLibraries are, per language, the frames that are never the
// application's: the standard library, installed packages, frameworks.
// For Python and JavaScript they are parts of the file path; for Java and
// .NET prefixes of the qualified function.
var defaultLibraries = map[Language][]string{
	Python: {"site-packages/", "dist-packages/", "/lib/python", "<frozen ", "<string>"},
	NodeJS: {"node_modules/", "node:", "internal/", "<anonymous>", "native"},
	Java: {"java.", "javax.", "jdk.", "sun.", "com.sun.", "kotlin.", "kotlinx.", "scala.", "jakarta.",
		"org.springframework.", "org.apache.", "org.eclipse.", "org.hibernate.", "org.junit.", "org.slf4j.",
		"ch.qos.", "com.fasterxml.", "com.google.", "io.netty.", "io.opentelemetry.", "io.micrometer.",
		"io.grpc.", "reactor.", "okhttp3.", "retrofit2.", "com.zaxxer."},
	DotNet: {"System.", "Microsoft.", "OpenTelemetry.", "Grpc.", "Npgsql.", "Newtonsoft.", "Polly.",
		"Serilog.", "Interop.", "lambda_method"},
}

// byPath reports the languages whose app and library prefixes match file
// paths rather than functions.
func byPath(lang Language) bool { return lang == Python || lang == NodeJS || lang == WebJS }

// isApp reports whether a frame of a language other than Go is the
// application's.
func (lf LanguageFrames) isApp(lang Language, f Frame) bool {
	subject := f.Function
	if byPath(lang) {
		subject = f.File
		if subject == "" {
			return false
		}
	}
	if byPath(lang) {
		for _, lib := range defaultLibraries[languageKey(lang)] {
			if strings.Contains(subject, lib) {
				return false
			}
		}
	} else if hasAnyPrefix(subject, defaultLibraries[lang]) {
		return false
	}
	if hasAnyPrefix(subject, lf.Library) {
		return false
	}
	if len(lf.App) > 0 {
		return hasAnyPrefix(subject, lf.App)
	}
	return subject != ""
}

func languageKey(lang Language) Language {
	if lang == WebJS {
		return NodeJS
	}
	return lang
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// isForeignInfrastructure reports frames that never say where an error
// happened in any language: the OpenTelemetry SDK recording it.
func isForeignInfrastructure(f Frame) bool {
	return strings.Contains(f.File, "opentelemetry") || strings.Contains(strings.ToLower(f.Function), "opentelemetry")
}

// frameKey is what identifies a frame of a language other than Go in a
// fingerprint: its function, without what a compiler numbers (Java's
// lambda$place$0 and Orders$1, .NET's <PlaceAsync>d__4.MoveNext and
// <Lookup>b__3_0), qualified by the file for languages whose function
// names are not (Python, JavaScript: the file's last two path elements,
// which stay the same wherever the code is deployed). Line numbers are
// never part of it.
func frameKey(lang Language, f Frame) string {
	fn := f.Function
	switch lang {
	case Java:
		fn = javaFunction(fn)
	case DotNet:
		fn = dotnetFunction(fn)
	}
	if !byPath(lang) {
		return fn
	}
	file := strings.TrimPrefix(f.File, "file://")
	file = strings.ReplaceAll(file, `\`, "/")
	if i := strings.LastIndexByte(file, '/'); i > 0 {
		if j := strings.LastIndexByte(file[:i], '/'); j >= 0 {
			file = file[j+1:]
		}
	}
	if fn == "" {
		fn = "<anonymous>"
	}
	return file + ":" + fn
}

// javaFunction names lambdas by the method they are in and drops the
// numbers of anonymous classes.
func javaFunction(fn string) string {
	dot := strings.LastIndexByte(fn, '.')
	class, method := fn[:max(dot, 0)], fn[dot+1:]
	if rest, ok := strings.CutPrefix(method, "lambda$"); ok {
		if end := strings.IndexByte(rest, '$'); end > 0 {
			method = rest[:end]
		}
	}
	var b strings.Builder
	for part := range strings.SplitSeq(class, "$") {
		if b.Len() > 0 {
			if strings.Trim(part, digits) == "" {
				continue
			}
			b.WriteByte('$')
		}
		b.WriteString(part)
	}
	if b.Len() == 0 {
		return method
	}
	return b.String() + "." + method
}

// dotnetFunction names the state machines of async methods, iterators and
// lambdas by the method they implement: Shop.Orders.<PlaceAsync>d__4.MoveNext
// is Shop.Orders.PlaceAsync, Shop.PriceList.<Lookup>b__3_0 is
// Shop.PriceList.Lookup; generic arity (`1) is dropped.
func dotnetFunction(fn string) string {
	if open := strings.IndexByte(fn, '<'); open >= 0 {
		if end := strings.IndexByte(fn[open:], '>'); end > 0 {
			fn = fn[:open] + fn[open+1:open+end]
		}
	}
	if i := strings.IndexByte(fn, '`'); i >= 0 {
		j := i + 1
		for j < len(fn) && fn[j] >= '0' && fn[j] <= '9' {
			j++
		}
		fn = fn[:i] + fn[j:]
	}
	return strings.TrimSuffix(fn, ".")
}
