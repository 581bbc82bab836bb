package maskattr

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits bounds the string values that leave the process, in bytes. A
// longer value is cut, after masking, and ends with a visible mark:
// "…[truncated 9,999,970 bytes]". Zero fields take the defaults;
// negative ones mean no bound.
type Limits struct {
	// Value bounds an attribute value (each element of a string slice
	// too). Default [DefaultValueLimit].
	Value int
	// Message bounds exception.message and exception.type_message. Default
	// [DefaultMessageLimit].
	Message int
	// Stack bounds exception.stacktrace. Default [DefaultStackLimit].
	Stack int
}

// The default bounds.
const (
	DefaultValueLimit   = 4 << 10
	DefaultMessageLimit = 32 << 10
	DefaultStackLimit   = 64 << 10
)

// limitMargin is how much of a value past its bound is read: a value is
// first cut at its bound plus this margin, masked, then cut to its bound,
// so that the work on a 10 MB value stays bounded and a secret that the
// bound cuts in two is still recognised whole and masked.
const limitMargin = 4 << 10

func (l Limits) withDefaults() Limits {
	pick := func(v, def int) int {
		switch {
		case v == 0:
			return def
		case v < 0:
			return 0 // no bound
		}
		return v
	}
	return Limits{Value: pick(l.Value, DefaultValueLimit), Message: pick(l.Message, DefaultMessageLimit), Stack: pick(l.Stack, DefaultStackLimit)}
}

// limitFor returns the bound of a key's values, 0 for none.
func (l Limits) limitFor(key string) int {
	switch key {
	case "exception.message", "exception.type_message":
		return l.Message
	case "exception.stacktrace":
		return l.Stack
	}
	return l.Value
}

// isMultiLine reports the keys whose values keep their line breaks and
// tabs: messages, stacks, log bodies and form fields (a text area).
func isMultiLine(key string) bool {
	return strings.HasPrefix(key, "exception.") || strings.HasPrefix(key, "http.request.form.") ||
		strings.HasSuffix(key, ".message") || strings.HasSuffix(key, ".body")
}

// needsCleaning reports whether s holds invalid UTF-8 or a control
// character that must be escaped (all of them in a one-line value; in a
// multi-line one all but '\n', '\r' and '\t').
func needsCleaning(s string, multiLine bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 0x80:
			if !utf8.ValidString(s[i:]) {
				return true
			}
			// The rest is valid UTF-8: only its ASCII bytes can be controls.
			for _, c := range []byte(s[i:]) {
				if isControl(c, multiLine) {
					return true
				}
			}
			return false
		case isControl(c, multiLine):
			return true
		}
	}
	return false
}

func isControl(c byte, multiLine bool) bool {
	if multiLine && (c == '\n' || c == '\r' || c == '\t') {
		return false
	}
	return c < 0x20 || c == 0x7f
}

// cleanText returns s as valid UTF-8 (each invalid byte becomes U+FFFD)
// with control characters escaped as \n, \r, \t or \xHH.
func cleanText(s string, multiLine bool) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if isControl(c, multiLine) {
				switch c {
				case '\n':
					b.WriteString(`\n`)
				case '\r':
					b.WriteString(`\r`)
				case '\t':
					b.WriteString(`\t`)
				default:
					b.WriteString(`\x`)
					b.WriteByte("0123456789abcdef"[c>>4])
					b.WriteByte("0123456789abcdef"[c&15])
				}
			} else {
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// truncationMark ends a value cut to its bound.
const truncationMark = "…[truncated "

// isCut reports whether s was already cut to limit: masking a value twice
// must not cut it twice.
func isCut(s string, limit int) bool {
	if len(s) > limit+len(truncationMark)+len("999,999,999,999 bytes]") {
		return false
	}
	i := strings.LastIndex(s, truncationMark)
	return i >= 0 && i <= limit && strings.HasSuffix(s, " bytes]")
}

// prefix returns the longest prefix of s of at most n bytes that does not
// split a UTF-8 sequence.
func prefix(s string, n int) string {
	if n >= len(s) {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// withThousands formats n with commas: 9,999,970.
func withThousands(n int) string {
	s := strconv.Itoa(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Value prepares one string value of key to leave the process: valid
// UTF-8 with control characters escaped, masked, and cut to the key's
// bound. It reports whether anything changed.
func (m *Masker) Value(key, s string) (string, bool) {
	return m.bounded(s, m.limits.limitFor(key), isMultiLine(key))
}

// bounded applies, in order: a first cut at limit plus limitMargin,
// cleaning, the value rules, and the cut to limit with its mark.
func (m *Masker) bounded(s string, limit int, multiLine bool) (string, bool) {
	orig, changed := len(s), false
	if limit > 0 && len(s) > limit+limitMargin && !isCut(s, limit) {
		s, changed = prefix(s, limit+limitMargin), true
	}
	if needsCleaning(s, multiLine) {
		s, changed = cleanText(s, multiLine), true
	}
	if !m.disabled {
		if masked, ok := m.String(s); ok {
			s, changed = masked, true
		}
	}
	if limit > 0 && len(s) > limit && !isCut(s, limit) {
		kept := prefix(s, limit)
		s, changed = kept+truncationMark+withThousands(orig-len(kept))+" bytes]", true
	}
	return s, changed
}
