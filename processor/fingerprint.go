package processor

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/scope"
)

// FingerprintVersion is mixed into every fingerprint, so that two ways of
// grouping never share a fingerprint by accident. Records also carry the
// fingerprint of [PreviousFingerprintVersion], from which stores carry a
// group's first sighting and resolved state over.
const FingerprintVersion = "v2"

// PreviousFingerprintVersion is the way of grouping that v2 replaced.
const PreviousFingerprintVersion = "v1"

// FingerprintKey is the event attribute that carries the fingerprint. When a
// caller sets it on the exception event (see [scope.Fingerprint]), its value
// wins.
const FingerprintKey = "exception.fingerprint" // = scope.FingerprintKey

// GroupingRule puts every exception it matches into one group per service:
// a rule for errors whose messages vary in ways no placeholder catches (a
// gRPC status with free text, a driver error that quotes the query). Rules
// are tried in order; the first match wins.
type GroupingRule struct {
	// Type matches exception.type exactly ("*net.OpError"); empty matches
	// any type.
	Type string
	// Message, when not nil, must match exception.message.
	Message *regexp.Regexp
	// Group names the group the matches share; required.
	Group string
}

func (r GroupingRule) validate() error {
	switch {
	case r.Group == "":
		return fmt.Errorf("grouping rule (type %q): Group is empty", r.Type)
	case r.Type == "" && r.Message == nil:
		return fmt.Errorf("grouping rule %q: set Type, Message or both, or it matches every exception", r.Group)
	}
	return nil
}

func (r GroupingRule) matches(typ, message string) bool {
	return (r.Type == "" || r.Type == typ) && (r.Message == nil || r.Message.MatchString(message))
}

// fingerprinter groups exceptions the way an engineer reading them would.
// A Go stack trace is where an error was reported, not where it was made:
// the error's own path is its chain of wrapped messages. So v2 identifies an
// exception by
//   - its message with the variable parts replaced (ids, values, addresses,
//     paths…) — the chain of %w prefixes and the sentinel or the meaningful
//     type's text at its end; for errors.Join, the first error's line;
//   - when the message says nothing of where it came from — a bare
//     well-known sentinel ("context deadline exceeded", "EOF") or a runtime
//     error ("index out of range") — for a panic, the function that
//     panicked (the first app frame below the panic), whichever path led
//     there; otherwise the span that recorded it, or else the function that
//     reported it;
//
// and not by exception.type, which span.RecordError fills with the
// outermost wrapper (*fmt.wrapError) where package scope records the
// meaningful type: hashing it would split the same error captured the two
// ways. The type still decides when the message is empty, and in rules.
type fingerprinter struct {
	app      exporter.AppPackages
	norm     *normalizer
	previous *normalizer // v1's placeholders: v1 fingerprints, and span names, which are routes, not paths
	rules    []GroupingRule
	generic  map[string]bool // normalised bare sentinel messages
}

func newFingerprinter(appPackages []string, rules []GroupingRule) (*fingerprinter, error) {
	f := &fingerprinter{
		app:      appPackages,
		norm:     newNormalizer(FingerprintVersion),
		previous: newNormalizer(PreviousFingerprintVersion),
		rules:    rules,
		generic:  make(map[string]bool),
	}
	if len(f.app) == 0 {
		f.app = exporter.DefaultAppPackages()
	}
	var errs []error
	for _, r := range rules {
		errs = append(errs, r.validate())
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for _, err := range genericErrors() {
		f.generic[f.norm.Normalize(err.Error())] = true
	}
	// The runtime's panics without the "runtime error: " prefix.
	for _, msg := range []string{"assignment to entry in nil map", "send on closed channel",
		"close of closed channel", "close of nil channel", "all goroutines are asleep - deadlock!"} {
		f.generic[msg] = true
	}
	return f, nil
}

// genericErrors are the standard library's errors whose text tells what
// happened but not where: bare, they are told apart by who reported them.
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

// maxMessageBytes bounds the part of a message that groups it.
const maxMessageBytes = 1024

// Fingerprint returns the v2 group of an exception.
func (f *fingerprinter) Fingerprint(r *exporter.Record) string {
	fp, _ := f.Group(r)
	return fp
}

// Group returns the v2 group of an exception, and what it was made of in
// words a person reads: the basis, shown on the exception's page.
func (f *fingerprinter) Group(r *exporter.Record) (fingerprint, basis string) {
	h := newHash(FingerprintVersion, r.Service)
	for _, rule := range f.rules {
		if rule.matches(r.Type, r.Message) {
			h.write("rule")
			h.write(rule.Group)
			return h.sum(), "grouping rule " + strconv.Quote(rule.Group)
		}
	}
	message := r.Message
	if line, _, joined := strings.Cut(message, "\n"); joined && r.Type != scope.MessageType {
		message = line // errors.Join: the first error, as exception.type follows it
	}
	if len(message) > maxMessageBytes {
		// The start of a message says what it is; normalising a response
		// body quoted in full would cost milliseconds on the span's goroutine.
		message = strings.ToValidUTF8(message[:maxMessageBytes], "")
	}
	template := f.norm.Normalize(message)
	switch {
	case r.Type == scope.MessageType:
		basis = "captured message " + strconv.Quote(template)
	case template == "":
		basis = "type " + r.Type + " (no message)"
	default:
		basis = "message " + strconv.Quote(template)
	}
	if r.Type == scope.MessageType || template == "" {
		h.write(r.Type) // a captured message is not an exception of the same text
	}
	h.write(template)
	if r.Type == scope.MessageType || !f.isGeneric(r.Type, template) {
		return h.sum(), basis
	}
	// The message says what happened, not where: a bare sentinel or a
	// runtime error. A panic is told by the function that panicked; any
	// other error by the span that recorded it, which every way of
	// recording knows (package scope's own spans say nothing), or else by
	// the function that reported it.
	frames := exporter.Frames(r.Stacktrace)
	if fn := panickingFunction(frames, f.app); fn != "" {
		h.write("panic")
		h.write(fn)
		basis += ", panicked in " + fn
	} else if r.SpanName != "" && !strings.HasPrefix(r.SpanName, "Capture") {
		name := f.previous.Normalize(r.SpanName)
		h.write("span")
		h.write(name)
		basis += ", in span " + strconv.Quote(name)
	} else {
		fn := reportingFunction(frames, f.app)
		h.write("reported")
		h.write(fn)
		basis += ", reported by " + fn
	}
	return h.sum(), basis
}

// isGeneric reports whether a normalised message tells nothing of where it
// was made: one of the standard library's bare sentinels, or a runtime
// error such as a nil dereference or an index out of range.
func (f *fingerprinter) isGeneric(typ, template string) bool {
	return f.generic[template] || strings.HasPrefix(typ, "runtime.") || strings.HasPrefix(template, "runtime error: ")
}

// Previous returns the v1 fingerprint of an exception: service, type, and
// the functions of up to 16 app frames; without app frames, the type and
// the message with v1's placeholders.
func (f *fingerprinter) Previous(r *exporter.Record) string {
	const maxAppFrames = 16
	h := newHash(PreviousFingerprintVersion, r.Service)
	h.write(r.Type)
	frames := 0
	if r.Type != scope.MessageType {
		var last string
		for fr := range exporter.AllFrames(r.Stacktrace) {
			if !f.app.Contains(fr.Function) || fr.Function == last { // collapse recursion
				continue
			}
			last = fr.Function
			h.write(fr.Function)
			if frames++; frames == maxAppFrames {
				break
			}
		}
	}
	if frames == 0 {
		h.write(f.previous.Normalize(r.Message))
	}
	return h.sum()
}

// panickingFunction returns the function that panicked when the stack was
// taken while a panic unwound — the first app frame below the runtime's
// panic frame, or the first frame outside the runtime when the app has
// none there — and "" for any other stack.
func panickingFunction(frames []exporter.Frame, app exporter.AppPackages) string {
	below := -1
	for i, fr := range frames {
		if fr.Function == "panic" || fr.Function == "runtime.gopanic" {
			below = i + 1
		}
	}
	if below < 0 {
		return ""
	}
	return reportingFunction(frames[below:], app)
}

// reportingFunction returns the innermost app function of a stack, or the
// innermost function outside the runtime, OpenTelemetry and this tracker
// when there is none; closures count as the function they are in.
func reportingFunction(frames []exporter.Frame, app exporter.AppPackages) string {
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

func isInfrastructure(fn string) bool {
	for _, p := range []string{"runtime.", "runtime/", "panic", "testing.", "go.opentelemetry.io/otel/",
		"github.com/errortracker/errortracker/scope.", "github.com/errortracker/errortracker/processor."} {
		if strings.HasPrefix(fn, p) {
			return true
		}
	}
	return false
}

// closureSuffix matches what the compiler appends to name closures and
// go/defer wrappers: their numbers shift when code above them changes.
var closureSuffix = regexp.MustCompile(`(?:\.(?:func|gowrap|deferwrap)?\d+)+$|\[[^\]]*\]`)

func enclosingFunction(fn string) string {
	return closureSuffix.ReplaceAllString(fn, "")
}

type hash struct{ b []byte }

func newHash(parts ...string) *hash {
	h := &hash{b: make([]byte, 0, 256)} // most fingerprints hash less

	for _, p := range parts {
		h.write(p)
	}
	return h
}

func (h *hash) write(s string) { h.b = append(append(h.b, s...), 0) }

func (h *hash) sum() string {
	s := sha256.Sum256(h.b)
	return hex.EncodeToString(s[:16])
}

// normalizer replaces the variable parts of a message by placeholders, so
// that "user 42 not found" and "user 7 not found" group together.
type normalizer struct {
	rules []normalizeRule
}

type normalizeRule struct {
	re          *regexp.Regexp
	placeholder string
	keep        func(match string) bool // optional: leave matches it accepts
	expand      bool                    // placeholder refers to the match's groups
	replace     func(msg string) string // instead of re, where a scan is much faster
	// needs is what a message must contain for the rule to match: most
	// messages skip most rules without running the regexp.
	needs func(msg string) bool
}

func anyOf(chars string) func(string) bool {
	return func(msg string) bool { return strings.ContainsAny(msg, chars) }
}

func contains(subs ...string) func(string) bool {
	return func(msg string) bool {
		for _, sub := range subs {
			if strings.Contains(msg, sub) {
				return true
			}
		}
		return false
	}
}

const digits = "0123456789"

// between returns a test for sep with a byte of class on either side.
func between(sep byte, class func(byte) bool) func(string) bool {
	return func(msg string) bool {
		for i := 1; i+1 < len(msg); i++ {
			if msg[i] == sep && class(msg[i-1]) && class(msg[i+1]) {
				return true
			}
		}
		return false
	}
}

// mayHoldDuration reports a digit followed, after more digits and dots, by
// a unit's first letter.
func mayHoldDuration(msg string) bool {
	for i := 0; i < len(msg); i++ {
		if !isDigit(msg[i]) {
			continue
		}
		for i+1 < len(msg) && (isDigit(msg[i+1]) || msg[i+1] == '.') {
			i++
		}
		if i+1 < len(msg) && strings.IndexByte("nuµmsh\xc2", msg[i+1]) >= 0 {
			return true
		}
	}
	return false
}

// mayHoldHex reports 0x, or a run of eight hex digits or more with a
// decimal digit among them.
func mayHoldHex(msg string) bool {
	run, digit := 0, false
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c == '0' && i+1 < len(msg) && (msg[i+1] == 'x' || msg[i+1] == 'X') {
			return true
		}
		if !isHex(c) {
			run, digit = 0, false
			continue
		}
		run++
		digit = digit || isDigit(c)
		if run >= 8 && digit {
			return true
		}
	}
	return false
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isHex(c byte) bool   { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// newNormalizer returns the placeholders of a fingerprint version. v2 adds
// signed numbers, file and URL paths, and the standard library's messages
// whose words depend on the input: encoding/json's syntax errors and the
// kind of JSON value it could not decode, and the status text after an
// HTTP status code.
func newNormalizer(version string) *normalizer {
	v1 := version == PreviousFingerprintVersion
	rules := []normalizeRule{
		{replace: replaceQuoted, needs: anyOf("\"'`")},
		{re: regexp.MustCompile(`[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"'<>]*[^\s"'<>:,;.)\]]`), placeholder: "<url>", needs: contains("://")},
		{re: regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`), placeholder: "<email>", needs: anyOf("@")},
		{re: regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`), placeholder: "<uuid>", needs: between('-', isHex)},
		{re: regexp.MustCompile(`\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?`), placeholder: "<date>", needs: between('-', isDigit)},
		{re: regexp.MustCompile(`\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b`), placeholder: "<ip>", needs: between('.', isDigit)},
		{re: regexp.MustCompile(`\[?\b(?:[0-9a-fA-F]{1,4}:){2,7}[0-9a-fA-F]{1,4}\b\]?(?::\d+)?`), placeholder: "<ip>", needs: between(':', isHex)},
	}
	if !v1 {
		// /var/lib/x.db, testdata/a.json, C:\data\x — a path starts a word:
		// after a space, quote, bracket, '=', ',', ':' or '.' (not after a
		// placeholder's '>'); not a ratio like 3/4, which the number rule
		// takes.
		rules = append(rules, normalizeRule{
			re:          regexp.MustCompile(`(^|[\s"'(\[{=,:.])(?:[A-Za-z]:\\|/|[\w.~-]*[A-Za-z_][\w.~-]*/)[\w.@%+~-][\w.@%+~/\\-]*`),
			placeholder: "${1}<path>", expand: true, needs: anyOf("/\\"),
		})
	}
	rules = append(rules,
		normalizeRule{re: regexp.MustCompile(`\b(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+\b`), placeholder: "<duration>", needs: mayHoldDuration},
		normalizeRule{re: regexp.MustCompile(`\b0[xX][0-9a-fA-F]+\b|\b[0-9a-fA-F]{8,}\b`), placeholder: "<hex>", needs: mayHoldHex,
			keep: func(m string) bool { return !strings.ContainsAny(m, "0123456789") }},
		normalizeRule{replace: func(msg string) string { return replaceNumbers(msg, !v1) }, needs: anyOf(digits)},
	)
	if v1 {
		return &normalizer{rules: rules}
	}
	var statusTexts []string
	for code := 100; code < 600; code++ {
		if t := http.StatusText(code); t != "" {
			statusTexts = append(statusTexts, regexp.QuoteMeta(t))
		}
	}
	sort.Slice(statusTexts, func(i, j int) bool { return len(statusTexts[i]) > len(statusTexts[j]) })
	return &normalizer{rules: append(rules,
		normalizeRule{re: regexp.MustCompile(`invalid character <str> (?:looking for beginning of (?:value|object key string)|` +
			`after (?:object key(?::value pair)?|array element|top-level value)|` +
			`in (?:literal (?:true|false|null) \(expecting <str>\)|string literal|numeric literal|string escape code))|` +
			`unexpected end of JSON input`), placeholder: "<json syntax error>", needs: contains("invalid character", "unexpected end of JSON")},
		normalizeRule{re: regexp.MustCompile(`json: cannot unmarshal (?:array|bool|number(?: <num>)?|object|string|null) into`),
			placeholder: "json: cannot unmarshal <json value> into", needs: contains("json: cannot unmarshal")},
		normalizeRule{re: regexp.MustCompile(`<num> (?:` + strings.Join(statusTexts, "|") + `)\b`), placeholder: "<num>", needs: contains("<num> ")},
	)}
}

// replaceQuoted replaces quoted strings by <str>: "…" and '…' with
// backslash escapes, `…` without, none across a line break. It does what the
// regexp quotedPattern does (the fuzz test holds them equal), ten times
// faster: that regexp backtracks at every character.
func replaceQuoted(msg string) string {
	var b strings.Builder
	start := 0 // msg[start:] is not copied yet
	for i := 0; i < len(msg); i++ {
		q := msg[i]
		if q != '"' && q != '\'' && q != '`' {
			continue
		}
		end := -1
		for j := i + 1; j < len(msg); j++ {
			c := msg[j]
			if c == '\n' {
				break
			}
			if c == '\\' && q != '`' {
				if j+1 < len(msg) && msg[j+1] != '\n' {
					j++
					continue
				}
				break
			}
			if c == q {
				end = j
				break
			}
		}
		if end < 0 {
			continue
		}
		b.WriteString(msg[start:i])
		b.WriteString("<str>")
		start, i = end+1, end
	}
	if start == 0 {
		return msg
	}
	b.WriteString(msg[start:])
	return b.String()
}

// replaceNumbers replaces numbers by <num>: digits with dotted parts (1.5,
// 10.0.3), with a sign when signed is set and the minus starts a word (-3,
// not the 12 of SKU-12). It does what numberPattern does (the fuzz test
// holds them equal), faster.
func replaceNumbers(msg string, signed bool) string {
	var b strings.Builder
	start := 0 // msg[start:] is not copied yet
	for i := 0; i < len(msg); i++ {
		from := i
		if signed && msg[i] == '-' && i+1 < len(msg) && isDigit(msg[i+1]) && (i == 0 || !isWord(msg[i-1])) {
			i++
		} else if !isDigit(msg[i]) {
			continue
		}
		for i+1 < len(msg) && isDigit(msg[i+1]) {
			i++
		}
		for i+2 < len(msg) && msg[i+1] == '.' && isDigit(msg[i+2]) {
			i += 2
			for i+1 < len(msg) && isDigit(msg[i+1]) {
				i++
			}
		}
		b.WriteString(msg[start:from])
		b.WriteString("<num>")
		start = i + 1
	}
	if start == 0 {
		return msg
	}
	b.WriteString(msg[start:])
	return b.String()
}

func isWord(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_'
}

// Normalize returns msg with its variable parts replaced.
func (n *normalizer) Normalize(msg string) string {
	for _, r := range n.rules {
		if r.needs != nil && !r.needs(msg) {
			continue
		}
		if r.replace != nil {
			msg = r.replace(msg)
			continue
		}
		if r.expand {
			msg = r.re.ReplaceAllString(msg, r.placeholder)
			continue
		}
		if r.keep == nil {
			msg = r.re.ReplaceAllLiteralString(msg, r.placeholder)
			continue
		}
		msg = r.re.ReplaceAllStringFunc(msg, func(m string) string {
			if r.keep(m) {
				return m
			}
			return r.placeholder
		})
	}
	return msg
}
