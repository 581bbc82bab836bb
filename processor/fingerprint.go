package processor

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/scope"
)

// FingerprintVersion is mixed into every fingerprint, so that a future way
// of grouping cannot collide with this one.
const FingerprintVersion = "v1"

// FingerprintKey is the event attribute that carries the fingerprint. When a
// caller sets it on the exception event, its value wins.
const FingerprintKey = "exception.fingerprint"

// maxAppFrames bounds how many of the application's frames identify an
// error: enough to tell call paths apart, few enough that a deep recursion
// does not make every depth a group of its own.
const maxAppFrames = 16

// fingerprinter groups exceptions: service, type, and the functions of the
// application's own stack frames; without such frames, type and the message
// with its variable parts replaced.
type fingerprinter struct {
	app  exporter.AppPackages
	norm *normalizer
}

func newFingerprinter(appPackages []string) *fingerprinter {
	f := &fingerprinter{app: appPackages, norm: newNormalizer()}
	if len(f.app) == 0 {
		f.app = exporter.DefaultAppPackages()
	}
	return f
}

// Fingerprint returns the group of an exception.
func (f *fingerprinter) Fingerprint(service, typ, message, stack string) string {
	h := sha256.New()
	write := func(s string) {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	write(FingerprintVersion)
	write(service)
	write(typ)
	frames := 0
	if typ != scope.MessageType { // a message is identified by its text, not its call site
		var last string
		for _, fr := range exporter.Frames(stack) {
			if !f.app.Contains(fr.Function) || fr.Function == last { // collapse recursion
				continue
			}
			last = fr.Function
			write(fr.Function)
			if frames++; frames == maxAppFrames {
				break
			}
		}
	}
	if frames == 0 {
		write(f.norm.Normalize(message))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
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
}

func newNormalizer() *normalizer {
	return &normalizer{rules: []normalizeRule{
		{re: regexp.MustCompile(`"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|` + "`[^`\n]*`"), placeholder: "<str>"},
		{re: regexp.MustCompile(`[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"'<>]*[^\s"'<>:,;.)\]]`), placeholder: "<url>"},
		{re: regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`), placeholder: "<email>"},
		{re: regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`), placeholder: "<uuid>"},
		{re: regexp.MustCompile(`\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?`), placeholder: "<date>"},
		{re: regexp.MustCompile(`\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b`), placeholder: "<ip>"},
		{re: regexp.MustCompile(`\[?\b(?:[0-9a-fA-F]{1,4}:){2,7}[0-9a-fA-F]{1,4}\b\]?(?::\d+)?`), placeholder: "<ip>"},
		{re: regexp.MustCompile(`\b(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+\b`), placeholder: "<duration>"},
		{re: regexp.MustCompile(`\b0[xX][0-9a-fA-F]+\b|\b[0-9a-fA-F]{8,}\b`), placeholder: "<hex>",
			keep: func(m string) bool { return !strings.ContainsAny(m, "0123456789") }},
		{re: regexp.MustCompile(`\d+(?:\.\d+)*`), placeholder: "<num>"},
	}}
}

// Normalize returns msg with its variable parts replaced.
func (n *normalizer) Normalize(msg string) string {
	for _, r := range n.rules {
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
