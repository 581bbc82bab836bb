package grouping

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/errortracker/errortracker/scope"
)

// Version is mixed into every fingerprint, so that two ways of grouping
// never share a fingerprint by accident.
const Version = "v3"

// The versions that v3 replaced, from which stores carry a group's first
// sighting and state over: [Grouper.Previous] gives their fingerprints.
const (
	V2 = "v2"
	V1 = "v1"
)

// Exception is what grouping reads of one occurrence. Every field is an
// explicit input: nothing is read from a span or a context.
type Exception struct {
	// Service is the resource's service.name: groups never span services.
	Service string
	// Type is exception.type.
	Type string
	// Message is exception.message.
	Message string
	// TypeMessage is the message of the error that Type names, when
	// wrapping errors added their context to Message around it (package
	// scope records it as [scope.TypeMessageKey]); empty when unknown or
	// the same as Message.
	TypeMessage string
	// Stacktrace is exception.stacktrace, empty when none was recorded.
	Stacktrace string
	// Span is the name of the span that recorded the exception, or that a
	// log record was logged in.
	Span string
	// IsMessage marks a captured message ([scope.CaptureMessage]) rather
	// than an error.
	IsMessage bool
	// Language is the language of Stacktrace, the resource's
	// telemetry.sdk.language; empty means [DetectLanguage].
	Language Language
}

// Rule puts every exception it matches into one group per service: a rule
// for errors whose messages vary in ways no placeholder catches (a gRPC
// status with free text, a driver error that quotes the query). Rules are
// tried in order; the first match wins.
type Rule struct {
	// Type matches exception.type exactly ("*net.OpError"); empty matches
	// any type.
	Type string
	// Message, when not nil, must match exception.message.
	Message *regexp.Regexp
	// Group names the group the matches share; required.
	Group string
}

func (r Rule) validate() error {
	switch {
	case r.Group == "":
		return fmt.Errorf("grouping rule (type %q): Group is empty", r.Type)
	case r.Type == "" && r.Message == nil:
		return fmt.Errorf("grouping rule %q: set Type, Message or both, or it matches every exception", r.Group)
	}
	return nil
}

func (r Rule) matches(typ, message string) bool {
	return (r.Type == "" || r.Type == typ) && (r.Message == nil || r.Message.MatchString(message))
}

// Config configures a [Grouper].
type Config struct {
	// AppPackages are the package path prefixes of the application's own
	// code; [DefaultAppPackages] when empty.
	AppPackages []string
	// Rules are tried before anything else.
	Rules []Rule
	// Languages say, per language, which frames are the application's,
	// beside each language's defaults (the standard library,
	// site-packages, node_modules, java.* and jdk.*, System.* and
	// Microsoft.* are not). An entry for Go replaces AppPackages, and
	// with an empty App turns DefaultAppPackages off: a Collector groups
	// other programs' Go stacks, whose modules it cannot know.
	Languages map[Language]LanguageFrames
}

// Grouper computes fingerprints. It is safe for concurrent use.
//
// v3 follows one rule: one bug is one root cause at one place. It
// identifies an exception by
//   - its kind: the meaningful type (exception.type, unless it is only a
//     wrapper such as *fmt.wrapError that span.RecordError reports for a
//     wrapped error) and the template of that type's own message (numbers,
//     ids, quoted text, paths… replaced). Package scope records the
//     message of the meaningful error apart from the context that %w
//     wrappers add ("login alice: …"), so words that vary with data in that
//     context do not split a group whose place is known;
//   - its place: for a panic, the function that panicked, whichever path
//     led there; for any other error, the innermost two functions of the
//     application on the capture stack, leaving out the tracker's own
//     frames. The first is where the error was met or captured; the
//     second tells apart the callers of a capture helper such as
//     notify(ctx, err), and stops there, so that a site reached from many
//     paths stays one group;
//   - without a stack (span.RecordError's default, a log record without
//     scope.LogArgs): the span that recorded it, which is the route of a
//     server span; the message template is then the whole message.
//
// Line numbers are never read, so a redeploy keeps every group.
type Grouper struct {
	app      AppPackages
	norm     *normalizer
	previous *normalizer // v1's placeholders: v1 fingerprints, and span names, which are routes, not paths
	rules    []Rule
	generic  map[string]bool // v2: normalised bare sentinel messages
	bases    cache[string]
	places   cache[place]
	foreign  cache[place] // places of stacks of other languages, by language and stack
	langs    map[Language]LanguageFrames
	v1frames cache[[]string]
}

// New returns a Grouper, or every error of the configuration's rules.
func New(cfg Config) (*Grouper, error) {
	g := &Grouper{
		app:      cfg.AppPackages,
		norm:     newNormalizer(false),
		previous: newNormalizer(true),
		rules:    cfg.Rules,
		generic:  make(map[string]bool),
		langs:    cfg.Languages,
	}
	if goFrames, ok := cfg.Languages[Go]; ok {
		g.app = goFrames.App
	} else if len(g.app) == 0 {
		g.app = DefaultAppPackages()
	}
	var errs []error
	for _, r := range cfg.Rules {
		errs = append(errs, r.validate())
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for _, err := range genericErrors() {
		g.generic[g.norm.Normalize(err.Error())] = true
	}
	// The runtime's panics without the "runtime error: " prefix.
	for _, msg := range []string{"assignment to entry in nil map", "send on closed channel",
		"close of closed channel", "close of nil channel", "all goroutines are asleep - deadlock!"} {
		g.generic[msg] = true
	}
	return g, nil
}

// AppPackages returns the prefixes that decide which frames are the
// application's.
func (g *Grouper) AppPackages() AppPackages { return g.app }

// maxMessageBytes bounds the part of a message that groups it.
const maxMessageBytes = 1024

// wrapperTypes are the exception types that say only that an error was
// wrapped: span.RecordError reports them for fmt.Errorf("…: %w", err) and
// errors.Join. Read from the types themselves, as the SDK writes them.
var wrapperTypes = map[string]bool{
	reflect.TypeOf(fmt.Errorf("%w", io.EOF)).String():            true,
	reflect.TypeOf(fmt.Errorf("%w %w", io.EOF, io.EOF)).String(): true,
	reflect.TypeOf(errors.Join(io.EOF)).String():                 true,
}

// Group returns the v3 fingerprint of an exception, and what it was made
// of in words a person reads: the basis, shown on the exception's page.
func (g *Grouper) Group(e Exception) (fingerprint, basis string) {
	if fp, basis, ok := g.byRule(Version, e); ok {
		return fp, basis
	}
	h := newHash()
	h.write(Version)
	h.write(e.Service)
	kind := e.Type
	if wrapperTypes[kind] {
		kind = "" // the meaningful type is not known
	}
	text := e.TypeMessage
	if text == "" {
		text = e.Message
	}
	template := g.templateOf(text, e.IsMessage)
	h.write(kind)
	if e.IsMessage {
		h.write("message") // a captured message is not an exception of the same text
	} else {
		h.write("")
	}
	h.write(template)
	p := g.placeOf(e.Language, e.Stacktrace)
	span := ""
	switch {
	case p.panicked && p.n > 0:
		h.write("panic")
		h.write(p.fns[0])
	case p.n > 0:
		h.write("at")
		for _, fn := range p.fns[:p.n] {
			h.write(fn)
		}
	case e.Span != "":
		span = g.previous.Normalize(e.Span)
		h.write("span")
		h.write(span)
	}
	fingerprint = h.sum()
	// The words are the same for every occurrence of a group: make them
	// once per group, not on every span.End().
	if basis, ok := g.bases.get(fingerprint); ok {
		return fingerprint, basis
	}
	basis = describe(kind, template, e.IsMessage, p, span)
	g.bases.put(fingerprint, basis)
	return fingerprint, basis
}

// describe says what a v3 fingerprint was made of.
func describe(kind, template string, isMessage bool, p place, span string) string {
	var b strings.Builder
	switch {
	case isMessage:
		b.WriteString("captured message " + strconv.Quote(template))
	case kind == "":
		b.WriteString("message " + strconv.Quote(template))
	case template == "":
		b.WriteString("type " + kind + " (no message)")
	default:
		b.WriteString("type " + kind + ", message " + strconv.Quote(template))
	}
	switch {
	case p.panicked && p.n > 0:
		b.WriteString(", panicked in " + p.fns[0])
	case p.n > 0:
		b.WriteString(", at ")
		for i, fn := range p.fns[:p.n] {
			if i > 0 {
				b.WriteString(" ← ")
			}
			b.WriteString(fn)
		}
	case span != "":
		b.WriteString(", in span " + strconv.Quote(span))
	}
	return b.String()
}

// cache remembers values by a string key: the words of the groups seen
// last, the places of the stacks seen last. It is bounded: when full it
// starts afresh, which costs one computation per key.
type cache[T any] struct {
	mu sync.RWMutex
	m  map[string]T
}

const (
	maxCached         = 4096
	maxCachedStackLen = 8 << 10
)

func (c *cache[T]) get(key string) (T, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.m[key]
	return v, ok
}

func (c *cache[T]) put(key string, v T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCached {
		c.m = make(map[string]T)
	}
	c.m[key] = v
}

// byRule applies the grouping rules.
func (g *Grouper) byRule(version string, e Exception) (fingerprint, basis string, ok bool) {
	for _, rule := range g.rules {
		if rule.matches(e.Type, e.Message) {
			return newHash(version, e.Service, "rule", rule.Group).sum(), "grouping rule " + strconv.Quote(rule.Group), true
		}
	}
	return "", "", false
}

// messageHead is the part of a message that groups it: for errors.Join,
// the first error's line, as exception.type follows the first error too;
// and no more than maxMessageBytes — the start of a message says what it
// is, and normalising a response body quoted in full would cost
// milliseconds on the span's goroutine.
func messageHead(message string, isMessage bool) string {
	if line, _, joined := strings.Cut(message, "\n"); joined && !isMessage {
		message = line
	}
	if len(message) > maxMessageBytes {
		message = strings.ToValidUTF8(message[:maxMessageBytes], "")
	}
	return message
}

// Bounds of what makes a v3 template.
const (
	maxScannedBytes  = 64 << 10 // the quoted strings of so much of a message are replaced
	maxTemplateBytes = 512      // the template is cut here
)

// templateOf returns the v3 template of a message: its first line (of an
// errors.Join), with quoted strings replaced over its first 64 KB, then cut
// to 1 KB and normalised, the template cut to 512 bytes. The cut of the
// message falls after the quoted values are gone, and the template is cut
// again, so a value of any length that runs past the first cut groups the
// same: the cut never changes the group. (A first kilobyte made mostly of
// URLs, paths or hex, which shrink to placeholders, may still leave the
// template shorter than its cut.)
func (g *Grouper) templateOf(text string, isMessage bool) string {
	head := text
	if line, _, joined := strings.Cut(head, "\n"); joined && !isMessage {
		head = line
	}
	if len(head) > maxMessageBytes {
		head = replaceQuoted(head[:min(len(head), maxScannedBytes)])
		head = messageHead(head, isMessage)
	}
	t := g.norm.Normalize(head)
	if len(t) > maxTemplateBytes {
		t = strings.ToValidUTF8(t[:maxTemplateBytes], "")
	}
	return t
}

// place is where app code met an exception.
type place struct {
	panicked bool
	fns      [2]string // innermost first; closures count as the function they are in
	n        int
}

// placeOf reads the place from a stack: after the runtime's last panic
// frame, the function that panicked; otherwise the innermost two distinct
// functions of the application, or, when the stack holds none, of anything
// but the runtime, OpenTelemetry and the tracker.
func (g *Grouper) placeOf(lang Language, stack string) place {
	if lang != "" && lang != Go {
		if len(stack) > maxCachedStackLen {
			return g.readForeignPlace(lang, stack)
		}
		key := string(lang) + "\x00" + stack
		if p, ok := g.foreign.get(key); ok {
			return p
		}
		p := g.readForeignPlace(lang, stack)
		g.foreign.put(key, p)
		return p
	}
	if len(stack) > maxCachedStackLen {
		return g.readPlace(stack)
	}
	// An error that happens again and again happens at the same place,
	// through the same calls: its stack text repeats exactly.
	if p, ok := g.places.get(stack); ok {
		return p
	}
	p := g.readPlace(stack)
	g.places.put(strings.Clone(stack), p)
	return p
}

// readPlace reads the place from a stack of an unknown language or Go.
func (g *Grouper) readPlace(stack string) place {
	if lang := DetectLanguage(stack); lang != Go {
		return g.readForeignPlace(lang, stack)
	}
	// Without a panic frame, the walk can stop at the second app frame.
	mayPanic := strings.Contains(stack, "panic(") // runtime.gopanic( or a line that starts panic(
	var app, other place
	for fr := range AllFrames(stack) {
		fn := fr.Function
		if isPanic(fn) {
			// A re-panic (Track, then the middleware) puts the frame that
			// panicked first below the last one.
			app, other = place{panicked: true}, place{panicked: true}
			continue
		}
		switch {
		case g.app.Contains(fn):
			app.add(fn)
			if app.n == len(app.fns) && !mayPanic {
				return app
			}
		case other.n < 2 && !isInfrastructure(fn):
			other.add(fn)
		}
	}
	if app.n == 0 {
		return other
	}
	return app
}

// readForeignPlace reads the place from a stack of a language other than
// Go: the innermost two distinct functions of the application (per
// LanguageFrames), or, when the stack holds none, of anything but the
// OpenTelemetry SDK. Other languages have no panic frames: an exception is
// where it was thrown.
func (g *Grouper) readForeignPlace(lang Language, stack string) place {
	lf := g.langs[languageKey(lang)]
	var app, other place
	for _, fr := range ParseFrames(lang, stack) {
		switch {
		case lf.isApp(languageKey(lang), fr):
			app.addKey(frameKey(lang, fr))
			if app.n == len(app.fns) {
				return app
			}
		case other.n < 2 && !isForeignInfrastructure(fr):
			other.addKey(frameKey(lang, fr))
		}
	}
	if app.n == 0 {
		return other
	}
	return app
}

// addKey adds a frame already reduced to its key.
func (p *place) addKey(key string) {
	if p.n == len(p.fns) || p.n > 0 && p.fns[p.n-1] == key {
		return
	}
	p.fns[p.n] = key
	p.n++
}

func (p *place) add(fn string) {
	if p.n == len(p.fns) {
		return
	}
	fn = enclosingFunction(fn)
	if p.n > 0 && p.fns[p.n-1] == fn { // a closure in its function, or recursion
		return
	}
	p.fns[p.n] = fn
	p.n++
}

// enclosingFunction strips what the compiler appends to name closures and
// go/defer wrappers (.func1, .gowrap2, .deferwrap1, .1), whose numbers
// shift when code above them changes, and the type arguments of generic
// functions ([...]). It does what closurePattern does (the fuzz test holds
// them equal), without a regexp on the span's goroutine.
func enclosingFunction(fn string) string {
	end := len(fn) // fn[end:] is the closure suffix
	for {
		dot := strings.LastIndexByte(fn[:end], '.')
		if dot < 0 {
			break
		}
		suffix := fn[dot+1 : end]
		for _, p := range []string{"func", "gowrap", "deferwrap"} {
			if rest, ok := strings.CutPrefix(suffix, p); ok {
				suffix = rest
				break
			}
		}
		if suffix == "" || strings.TrimLeft(suffix, digits) != "" {
			break
		}
		end = dot
	}
	fn = fn[:end]
	if strings.IndexByte(fn, '[') < 0 {
		return fn
	}
	var b strings.Builder
	for i := 0; i < len(fn); i++ {
		if fn[i] == '[' {
			if j := strings.IndexByte(fn[i:], ']'); j >= 0 {
				i += j
				continue
			}
		}
		b.WriteByte(fn[i])
	}
	return b.String()
}

// CallerFingerprint is the fingerprint of a group a caller named with a
// value that no store accepts as a fingerprint.
func CallerFingerprint(value string) string {
	return newHash(string(scope.FingerprintKey), value).sum()
}

// hash is the input of a fingerprint: its parts, each ended by a zero byte.
type hash struct{ b []byte }

func newHash(parts ...string) hash {
	h := hash{b: make([]byte, 0, 256)} // most fingerprints hash less
	for _, p := range parts {
		h.write(p)
	}
	return h
}

func (h *hash) write(s string) { h.b = append(append(h.b, s...), 0) }

func (h hash) sum() string {
	s := sha256.Sum256(h.b)
	return hex.EncodeToString(s[:16])
}
