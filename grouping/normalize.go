package grouping

import (
	"net/http"
	"regexp"
	"sort"
	"strings"
)

// normalizer replaces the variable parts of a message by placeholders, so
// that "user 42 not found" and "user 7 not found" group together.
type normalizer struct {
	rules []normalizeRule
	// cache holds the templates of short messages: the meaningful error's
	// own text is most often a constant (a sentinel, a library's wording),
	// so most captures find it here.
	cache cache[string]
}

// maxCachedMessageLen bounds the messages whose templates are cached.
const maxCachedMessageLen = 256

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

// anyOf returns a test for any byte of chars, with the set built once.
func anyOf(chars string) func(string) bool {
	var set [256]bool
	for i := 0; i < len(chars); i++ {
		set[chars[i]] = true
	}
	return func(msg string) bool {
		for i := 0; i < len(msg); i++ {
			if set[msg[i]] {
				return true
			}
		}
		return false
	}
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

// newNormalizer returns the placeholders of v2 and v3, or of v1. v2 added
// signed numbers, file and URL paths, and the standard library's messages
// whose words depend on the input: encoding/json's syntax errors and the
// kind of JSON value it could not decode, and the status text after an
// HTTP status code.
func newNormalizer(v1 bool) *normalizer {
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
	if len(msg) > maxCachedMessageLen {
		return n.normalize(msg)
	}
	if t, ok := n.cache.get(msg); ok {
		return t
	}
	t := n.normalize(msg)
	n.cache.put(strings.Clone(msg), t)
	return t
}

func (n *normalizer) normalize(msg string) string {
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
