package maskattr

import (
	"slices"
	"strings"
)

// span is a byte range [start, end) of a string value to replace by the mask.
type span struct{ start, end int }

// String applies the value rules to a string and reports whether anything
// was masked. It makes one pass over s and allocates only when it masks.
//
// What it masks, each rule unless disabled in [Rules]:
//   - URL rule: in a query string (after '?' or '&', or a whole url.query
//     value), the value of a parameter whose name matches the key rule; in
//     scheme://user:password@host, the password.
//   - Auth rule: the credentials after "Bearer " or "Basic ".
//   - Text rule: in key=value, key: value, "key": "value" and key = 'value',
//     the value, when the key matches the key rule.
func (m *Masker) String(s string) (string, bool) {
	var buf [8]span
	found := m.find(s, buf[:0])
	if len(found) == 0 {
		return s, false
	}
	var b strings.Builder
	b.Grow(len(s) + len(found)*len(m.mask))
	last := 0
	for _, sp := range found {
		b.WriteString(s[last:sp.start])
		b.WriteString(m.mask)
		last = sp.end
	}
	b.WriteString(s[last:])
	return b.String(), true
}

// find appends to found the ranges of s to mask, in order and disjoint:
// those of the pair, URL and auth rules, those of the format rules, and
// those that percent-decoding s, one or two layers deep, reveals (mapped
// back onto s, so that what is kept keeps its encoding).
func (m *Masker) find(s string, found []span) []span {
	if m.disabled || len(s) < 2 {
		return found
	}
	base := len(found)
	found = m.findPairs(s, found)
	if m.formats.any() {
		found = m.formats.find(s, found)
	}
	if strings.IndexByte(s, '%') >= 0 {
		found = m.findDecoded(s, found, maxDecodeLayers)
	}
	if len(found)-base > 1 {
		found = append(found[:base], mergeSpans(found[base:])...)
	}
	return found
}

// maxDecodeLayers is how deep percent-encoding is undone: a URL is often
// nested in a parameter of another.
const maxDecodeLayers = 2

// findDecoded appends the ranges of s that the rules find once s is
// percent-decoded, layers deep.
func (m *Masker) findDecoded(s string, found []span, layers int) []span {
	var small [256]byte
	var smallIdx [257]int32
	decoded, idx, ok := percentDecode(s, small[:0], smallIdx[:0])
	if !ok {
		return found
	}
	d := string(decoded) // the rules read strings; only values with escapes get here
	var buf [8]span
	inner := m.findPairs(d, buf[:0])
	if m.formats.any() {
		inner = m.formats.find(d, inner)
	}
	if layers > 1 && strings.IndexByte(d, '%') >= 0 {
		inner = m.findDecoded(d, inner, layers-1)
	}
	for _, sp := range inner {
		found = append(found, span{int(idx[sp.start]), int(idx[sp.end])})
	}
	return found
}

// percentDecode undoes %XX escapes, appending the bytes to out and, for
// each decoded byte and for the end, its offset in s. It reports false
// when s holds no valid escape.
func percentDecode(s string, out []byte, idx []int32) ([]byte, []int32, bool) {
	escaped := false
	for i := 0; i < len(s); i++ {
		idx = append(idx, int32(i))
		if s[i] == '%' && i+2 < len(s)+0 && isHex(s[i+1]) && isHex(s[i+2]) {
			out = append(out, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			escaped = true
			continue
		}
		out = append(out, s[i])
	}
	return out, append(idx, int32(len(s))), escaped
}

func isHex(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case isDigit(c):
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// mergeSpans sorts spans by start and joins those that overlap or touch.
func mergeSpans(spans []span) []span {
	slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	out := spans[:1]
	for _, sp := range spans[1:] {
		last := &out[len(out)-1]
		if sp.start <= last.end {
			last.end = max(last.end, sp.end)
			continue
		}
		out = append(out, sp)
	}
	return out
}

// findPairs appends the ranges the pair, URL and auth rules find.
//
// Those rules start only at ':', '=' and ' ' (the space after "Bearer" or
// "Basic"); strings.IndexByte, which is vectorised, finds the next of each,
// so clean values cost little more than a memory scan.
func (m *Masker) findPairs(s string, found []span) []span {
	colon, equals, space := nextByte(s, 0, ':'), nextByte(s, 0, '='), len(s)
	if m.auth {
		space = nextByte(s, 0, ' ')
	}
	for i := 0; ; {
		j := min(colon, equals, space)
		if j >= len(s) {
			return found
		}
		sp, ok := span{}, false
		switch {
		case j == colon && m.url && strings.HasPrefix(s[j:], "://"):
			sp, ok = m.userinfoPassword(s, j+3)
		case j == colon || j == equals:
			sp, ok = m.pairValue(s, j)
		default:
			sp, ok = m.authCredentials(s, j)
		}
		i = j + 1
		if ok {
			found = append(found, sp)
			i = max(i, sp.end)
		}
		if colon < i {
			colon = nextByte(s, i, ':')
		}
		if equals < i {
			equals = nextByte(s, i, '=')
		}
		if space < i {
			space = nextByte(s, i, ' ')
		}
	}
}

// nextByte returns the index of the first c in s at or after from, or
// len(s).
func nextByte(s string, from int, c byte) int {
	if from >= len(s) {
		return len(s)
	}
	if k := strings.IndexByte(s[from:], c); k >= 0 {
		return from + k
	}
	return len(s)
}

// pairValue looks at the separator s[sep] ('=' or ':') and returns the range
// of the value that follows it when the key before it matches the key rule.
func (m *Masker) pairValue(s string, sep int) (span, bool) {
	if len(m.keys) == 0 || !(m.text || m.url) {
		return span{}, false
	}
	// The key: skip spaces and a closing quote, then take name characters.
	k := sep
	for k > 0 && s[k-1] == ' ' {
		k--
	}
	if k > 0 && (s[k-1] == '"' || s[k-1] == '\'') {
		k--
		if k > 0 && s[k-1] == '\\' { // \"key\": inside a %q-quoted string
			k--
		}
	}
	keyEnd := k
	for k > 0 && isNameByte(s[k-1]) {
		k--
	}
	if k == keyEnd {
		return span{}, false
	}
	// A bare colon followed by digits after a dotted or hyphenated name is
	// file:line (token.go:42) or host:port (session-store:6379), not a pair.
	if s[sep] == ':' && keyEnd == sep && strings.ContainsAny(s[k:keyEnd], ".-") && sep+1 < len(s) && isDigit(s[sep+1]) {
		return span{}, false
	}
	inQuery := s[sep] == '=' && (k == 0 || s[k-1] == '?' || s[k-1] == '&' || s[k-1] == ';')
	if !m.text && !inQuery {
		return span{}, false
	}
	if !m.KeyMatches(s[k:keyEnd]) {
		return span{}, false
	}
	// The value: skip spaces, then a quoted string or a run up to a stop byte.
	v := sep + 1
	for v < len(s) && s[v] == ' ' {
		v++
	}
	if v >= len(s) {
		return span{}, false
	}
	if s[v] == '\\' && v+1 < len(s) && (s[v+1] == '"' || s[v+1] == '\'') {
		// \"value\": a quoted value inside a %q-quoted string.
		closing := "\\" + string(s[v+1])
		end := strings.Index(s[v+2:], closing)
		if end < 0 {
			end = len(s) - v - 2
		}
		return m.unlessMasked(s, v+2, v+2+end)
	}
	if q := s[v]; q == '"' || q == '\'' {
		end := strings.IndexByte(s[v+1:], q)
		if end < 0 {
			end = len(s) - v - 1
		}
		return m.unlessMasked(s, v+1, v+1+end)
	}
	stop := isTextStop
	if inQuery {
		stop = isQueryStop
	}
	end := v
	for end < len(s) && !stop(s[end]) {
		end++
	}
	// "Authorization: Bearer abc": the scheme word is not the secret, the
	// credentials after it are.
	if end < len(s) && s[end] == ' ' && isAuthScheme(s[v:end]) {
		if sp, ok := m.credentialsAfter(s, end); ok {
			return m.unlessMasked(s, v, sp.end)
		}
	}
	return m.unlessMasked(s, v, end)
}

// userinfoPassword returns the password in the authority that starts at
// s[from], as in scheme://user:password@host.
func (m *Masker) userinfoPassword(s string, from int) (span, bool) {
	end := from
	for end < len(s) && !isAuthorityStop(s[end]) {
		end++
	}
	at := strings.LastIndexByte(s[from:end], '@')
	if at < 0 {
		return span{}, false
	}
	at += from
	colon := strings.IndexByte(s[from:at], ':')
	if colon < 0 {
		return span{}, false
	}
	return m.unlessMasked(s, from+colon+1, at)
}

// authCredentials returns the credentials after a Bearer or Basic scheme
// word that ends at the space s[sp].
func (m *Masker) authCredentials(s string, sp int) (span, bool) {
	var word int
	switch {
	case hasSuffixFold(s[:sp], "bearer"):
		word = len("bearer")
	case hasSuffixFold(s[:sp], "basic"):
		word = len("basic")
	default:
		return span{}, false
	}
	if start := sp - word; start > 0 && isLetter(s[start-1]) {
		return span{}, false
	}
	cred, ok := m.credentialsAfter(s, sp)
	if !ok {
		return span{}, false
	}
	// Plain prose ("basic auth failed", "bearer token expired") is not a
	// credential: a Basic credential is base64 (a multiple of four bytes), a
	// bearer token is at least eight bytes long.
	token := s[cred.start:cred.end]
	if len(token) < 8 || word == len("basic") && len(token)%4 != 0 {
		return span{}, false
	}
	return cred, true
}

// hasSuffixFold reports whether s ends with the lower-case suffix p,
// ignoring ASCII case in s.
func hasSuffixFold(s, p string) bool {
	return len(s) >= len(p) && hasPrefixFold(s[len(s)-len(p):], p)
}

// credentialsAfter returns the token68 run that follows the spaces at s[from].
func (m *Masker) credentialsAfter(s string, from int) (span, bool) {
	v := from
	for v < len(s) && s[v] == ' ' {
		v++
	}
	end := v
	for end < len(s) && isToken68(s[end]) {
		end++
	}
	if end == v {
		return span{}, false
	}
	return m.unlessMasked(s, v, end)
}

// unlessMasked returns [start, end) unless it is empty or already holds the
// mask, so that masking twice changes nothing the second time.
func (m *Masker) unlessMasked(s string, start, end int) (span, bool) {
	if end <= start || strings.HasPrefix(s[start:], m.mask) {
		return span{}, false
	}
	return span{start, end}, true
}

func isAuthScheme(w string) bool {
	return strings.EqualFold(w, "bearer") || strings.EqualFold(w, "basic") ||
		strings.EqualFold(w, "digest") || strings.EqualFold(w, "token")
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func isNameByte(c byte) bool {
	return isLetter(c) || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.' || c == '[' || c == ']'
}

func isToken68(c byte) bool {
	return isLetter(c) || '0' <= c && c <= '9' || strings.IndexByte("-._~+/=", c) >= 0
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// isTextStop ends an unquoted value in free text.
func isTextStop(c byte) bool {
	return isSpace(c) || strings.IndexByte("&\"'`,;)]}>", c) >= 0
}

// isQueryStop ends a query parameter value.
func isQueryStop(c byte) bool {
	return isSpace(c) || c == '&' || c == '#' || c == '"' || c == '\''
}

// isAuthorityStop ends the authority part of a URL.
func isAuthorityStop(c byte) bool {
	return isSpace(c) || c == '/' || c == '?' || c == '#' || c == '"' || c == '\''
}
