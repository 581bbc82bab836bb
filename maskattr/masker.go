package maskattr

import (
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// DefaultMask is the string that replaces a masked value: fourteen stars, as
// in the Python error-tracker's APP_ERROR_MASK_WITH.
const DefaultMask = "**************"

// DefaultKeyHas returns the default key substrings. It returns a new slice on
// each call so callers may change it freely.
//
// A '-' or '_' in a substring or a key is optional and the two are alike:
// "api_key" matches X-Api-Key, api-key and apikey. Words that would match
// too much are left out on purpose: "auth" (author, oauth_provider),
// "key" (cache.key, idempotency keys), "code" (status and error codes),
// "pin" (pinned, spinner). Short words go in [DefaultKeySegments] instead.
func DefaultKeyHas() []string {
	return []string{
		"password", "secret", "passwd", "token", "api_key", "apikey",
		"authorization", "cookie", "credential", "private_key", "session",
		"passphrase", "access_key", "signature", "card_number", "credit_card",
	}
}

// DefaultKeySegments returns the default short words that make a key secret
// only as a whole segment of it (segments are split on '.', '_', '-', ' '
// and camelCase): "ssn" masks customer.ssn and ssnLast4 but not classname.
// It returns a new slice on each call.
func DefaultKeySegments() []string {
	return []string{"pwd", "ssn", "cvv", "cvc"}
}

// DefaultAllowKeys returns the keys that are never masked by the key rule by
// default: semantic-convention keys that contain one of the default
// substrings but hold counts or sizes, never secrets.
func DefaultAllowKeys() []string {
	return []string{
		"gen_ai.usage.input_tokens",
		"gen_ai.usage.output_tokens",
		"gen_ai.usage.cache_read.input_tokens",
		"gen_ai.usage.cache_creation.input_tokens",
		"gen_ai.request.max_tokens",
		"gen_ai.token.type",
		"http.request.body.size",
		"http.response.body.size",
		"session.previous_id.count",
	}
}

// Rules configures a [Masker]. The zero value masks with the defaults.
type Rules struct {
	// KeyHas lists the substrings that make a key secret; matching ignores
	// case on both sides. Nil means [DefaultKeyHas]. An empty, non-nil slice
	// turns the key rule off, and with it the value rules that look for
	// secret names (query parameters, key=value text); the Bearer/Basic rule
	// still applies unless DisableAuthRule is set.
	KeyHas []string
	// KeySegments lists short words that make a key secret when they are a
	// whole segment of it, ignoring case. Nil means [DefaultKeySegments]; an
	// empty, non-nil slice turns them off.
	KeySegments []string
	// AllowKeys lists exact attribute keys that the key rule never masks.
	// Nil means [DefaultAllowKeys]; an empty, non-nil slice allows none.
	AllowKeys []string
	// MaskWith replaces masked values. Empty means [DefaultMask].
	MaskWith string
	// DisableURLRule stops masking, inside URLs, the values of query
	// parameters whose names match KeyHas and the password of user:pass@.
	DisableURLRule bool
	// DisableAuthRule stops masking the credentials after "Bearer " and
	// "Basic " anywhere in a string value.
	DisableAuthRule bool
	// DisableTextRule stops masking key=value and key: value pairs whose key
	// matches KeyHas in free text (exception messages, stack traces, status
	// descriptions and any other string value).
	DisableTextRule bool
	// DisableJWTRule stops masking JSON Web Tokens (eyJ….eyJ….…) wherever
	// they appear.
	DisableJWTRule bool
	// DisablePEMRule stops masking the bodies of PEM private-key blocks
	// (-----BEGIN … PRIVATE KEY-----).
	DisablePEMRule bool
	// DisableProviderKeyRule stops masking keys whose prefix names their
	// issuer: AWS access key ids (AKIA…, ASIA…), Stripe secret and
	// restricted keys (sk_live_…, rk_live_…, and _test_), GitHub tokens
	// (ghp_…, gho_…, ghu_…, ghs_…, ghr_…, github_pat_…), Slack tokens
	// (xoxa-, xoxb-, xoxp-, xoxr-) and Google API keys (AIza…).
	DisableProviderKeyRule bool
	// DisableCardRule stops masking payment card numbers: 13 to 19 digits,
	// alone or in groups split by single spaces or dashes, Luhn-valid, with
	// an issuer's prefix and a length that issuer uses, so that timestamps
	// and ids are left alone.
	DisableCardRule bool
	// MaskEmails masks e-mail addresses wherever they appear. Off by
	// default: an address is often what tells whose request failed.
	MaskEmails bool
	// Limits bounds the string values; the zero value takes the defaults.
	// Bounds, and the cleaning of invalid UTF-8 and control characters,
	// apply even when every masking rule is off.
	Limits Limits
}

// Masker applies [Rules]. It is immutable and safe for concurrent use.
type Masker struct {
	keys     []string      // lower-cased substrings without '-' and '_'
	segments []string      // lower-cased whole-segment words
	byFirst  [256][]string // keys by their first byte, lower-cased
	unicode  bool          // some substring is not ASCII: fold keys with strings.ToLower
	allow    map[string]struct{}
	mask     string
	maskVal  attribute.Value
	url      bool
	auth     bool
	text     bool
	formats  formatRules
	limits   Limits
	disabled bool // no masking rule can ever match
	cache    *keyCache
	// cleanValues remembers long values no rule changes, one cache for
	// one-line values and one for multi-line ones, which may hold line
	// breaks.
	cleanValues [2]*cleanCache
}

// New builds a Masker. It reports an error for a substring that is empty or
// all white space, which would otherwise mask every attribute.
func New(r Rules) (*Masker, error) {
	keyHas := r.KeyHas
	if keyHas == nil {
		keyHas = DefaultKeyHas()
	}
	allow := r.AllowKeys
	if allow == nil {
		allow = DefaultAllowKeys()
	}
	m := &Masker{
		mask:  r.MaskWith,
		url:   !r.DisableURLRule,
		auth:  !r.DisableAuthRule,
		text:  !r.DisableTextRule,
		allow: make(map[string]struct{}, len(allow)),
		cache: &keyCache{},

		cleanValues: [2]*cleanCache{{}, {}},
	}
	if m.mask == "" {
		m.mask = DefaultMask
	}
	m.maskVal = attribute.StringValue(m.mask)
	var errs []error
	for i, k := range keyHas {
		k = strings.ToLower(strings.TrimSpace(k))
		k = strings.NewReplacer("-", "", "_", "").Replace(k)
		if k == "" {
			errs = append(errs, fmt.Errorf("maskattr: masked key substring %d is empty: it would mask every attribute", i))
			continue
		}
		m.keys = append(m.keys, k)
		m.byFirst[k[0]] = append(m.byFirst[k[0]], k)
		for j := 0; j < len(k); j++ {
			if k[j] >= 0x80 {
				m.unicode = true
			}
		}
	}
	segments := r.KeySegments
	if segments == nil {
		segments = DefaultKeySegments()
	}
	for i, w := range segments {
		w = strings.ToLower(strings.TrimSpace(w))
		if w == "" || strings.ContainsAny(w, ".-_ ") {
			errs = append(errs, fmt.Errorf("maskattr: key segment %d (%q) is empty or holds a separator", i, w))
			continue
		}
		m.segments = append(m.segments, w)
	}
	m.formats = formatRules{
		jwt:      !r.DisableJWTRule,
		pem:      !r.DisablePEMRule,
		provider: !r.DisableProviderKeyRule,
		card:     !r.DisableCardRule,
		email:    r.MaskEmails,
		mask:     m.mask,
	}
	m.formats.init()
	m.limits = r.Limits.withDefaults()
	for _, k := range allow {
		m.allow[k] = struct{}{}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	m.disabled = len(m.keys) == 0 && len(m.segments) == 0 && !m.auth && !m.formats.any()
	return m, nil
}

// Mask returns the string that replaces masked values.
func (m *Masker) Mask() string { return m.mask }

// KeyMatches reports whether the key rule masks an attribute with this key.
func (m *Masker) KeyMatches(key string) bool { return m.keyInfo(key).matches }

// keyInfo returns the facts of a key, from the cache when it has them.
func (m *Masker) keyInfo(key string) keyInfo {
	if info, ok := m.cache.lookup(key); ok {
		return info
	}
	info := keyInfo{
		dirty:     needsCleaning(key, false),
		multiLine: isMultiLine(key),
		limit:     m.limits.limitFor(key),
	}
	if len(m.keys) > 0 || len(m.segments) > 0 {
		info.matches = m.containsKey(key) || m.hasSegment(key)
		if info.matches {
			_, allowed := m.allow[key]
			info.matches = !allowed
		}
	}
	m.cache.store(key, info)
	return info
}

// isKeySeparator reports the bytes a configured substring may skip in a
// key: '-' and '_' are alike, and optional.
func isKeySeparator(c byte) bool { return c == '-' || c == '_' }

// containsKey reports whether s contains a configured substring, ignoring
// ASCII case and the separators '-' and '_', without allocating.
func (m *Masker) containsKey(s string) bool {
	if m.unicode && !isASCII(s) {
		lower := strings.NewReplacer("-", "", "_", "").Replace(strings.ToLower(s))
		for _, k := range m.keys {
			if strings.Contains(lower, k) {
				return true
			}
		}
		return false
	}
	for i := 0; i < len(s); i++ {
		for _, k := range m.byFirst[lowerASCII(s[i])] {
			if hasPrefixSkipping(s[i:], k) {
				return true
			}
		}
	}
	return false
}

// hasPrefixSkipping reports whether s starts with the lower-case word p,
// ignoring ASCII case and any '-' or '_' in s after its first byte.
func hasPrefixSkipping(s, p string) bool {
	j := 0
	for i := 0; i < len(s) && j < len(p); i++ {
		c := s[i]
		if i > 0 && isKeySeparator(c) {
			continue
		}
		if lowerASCII(c) != p[j] {
			return false
		}
		j++
	}
	return j == len(p)
}

// hasSegment reports whether a segment of key is one of the short words:
// segments are split on '.', '_', '-', ' ', '[', ']' and at camelCase
// boundaries (userPwd, SSNHash).
func (m *Masker) hasSegment(key string) bool {
	if len(m.segments) == 0 {
		return false
	}
	start := 0
	for i := 0; i <= len(key); i++ {
		boundary := i == len(key)
		next := i
		if !boundary {
			switch c := key[i]; {
			case c == '.' || c == '_' || c == '-' || c == ' ' || c == '[' || c == ']':
				boundary, next = true, i+1
			case isUpper(c) && i > start && (isLower(key[i-1]) || i+1 < len(key) && isLower(key[i+1]) && isUpper(key[i-1])):
				boundary = true
			}
		}
		if !boundary {
			continue
		}
		if seg := key[start:i]; seg != "" {
			for _, w := range m.segments {
				if len(seg) == len(w) && hasPrefixFold(seg, w) {
					return true
				}
			}
		}
		start = next
	}
	return false
}

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }
func isLower(c byte) bool { return 'a' <= c && c <= 'z' }

// KeyValue masks one attribute. It reports whether anything changed; when
// nothing did, the attribute is returned as it was, without allocating.
func (m *Masker) KeyValue(kv attribute.KeyValue) (attribute.KeyValue, bool) {
	key, keyChanged := string(kv.Key), false
	info := m.keyInfo(key)
	if info.dirty {
		key, keyChanged = cleanText(key, false), true
		info = m.keyInfo(key)
	}
	if !m.disabled && info.matches {
		if !keyChanged && kv.Value.Type() == attribute.STRING && kv.Value.AsString() == m.mask {
			return kv, false
		}
		return attribute.KeyValue{Key: attribute.Key(key), Value: m.maskVal}, true
	}
	v, changed := m.value(kv.Value, info.limit, info.multiLine)
	if !changed && !keyChanged {
		return kv, false
	}
	return attribute.KeyValue{Key: attribute.Key(key), Value: v}, true
}

// value applies the value rules and the bound to v, and the key rule to
// the keys of nested maps.
func (m *Masker) value(v attribute.Value, limit int, multiLine bool) (attribute.Value, bool) {
	switch v.Type() {
	case attribute.STRING:
		s, changed := m.bounded(v.AsString(), limit, multiLine)
		if !changed {
			return v, false
		}
		return attribute.StringValue(s), true
	case attribute.STRINGSLICE:
		in := v.AsStringSlice()
		var out []string
		for i, s := range in {
			ms, changed := m.bounded(s, limit, multiLine)
			if changed && out == nil {
				out = append([]string(nil), in...)
			}
			if out != nil {
				out[i] = ms
			}
		}
		if out == nil {
			return v, false
		}
		return attribute.StringSliceValue(out), true
	case attribute.SLICE:
		in := v.AsSlice()
		changedAny := false
		for i, e := range in {
			if me, changed := m.value(e, limit, multiLine); changed {
				in[i] = me // AsSlice returned a copy
				changedAny = true
			}
		}
		if !changedAny {
			return v, false
		}
		return attribute.SliceValue(in...), true
	case attribute.MAP:
		in := v.AsMap()
		out, n := m.Attributes(in)
		if n == 0 {
			return v, false
		}
		return attribute.MapValue(out...), true
	}
	return v, false
}

// Attributes masks a list of attributes. It returns the input slice itself
// when nothing changed, and otherwise a new slice: the input is never
// written, since the SDK shares it with other processors. n counts the
// values that changed.
func (m *Masker) Attributes(kvs []attribute.KeyValue) (out []attribute.KeyValue, n int) {
	// The common case is a clean list: check it in place, without copying
	// the 64-byte KeyValues around.
	first := 0
	for first < len(kvs) && m.clean(&kvs[first]) {
		first++
	}
	if first == len(kvs) {
		return kvs, 0
	}
	return copyOnWrite(kvs, func(kv attribute.KeyValue) (attribute.KeyValue, int) {
		kv, changed := m.KeyValue(kv)
		if changed {
			return kv, 1
		}
		return kv, 0
	})
}

// clean reports whether no rule would change kv; it is exact for scalar
// string values and conservative (false) for slices and maps.
func (m *Masker) clean(kv *attribute.KeyValue) bool {
	info := m.keyInfo(string(kv.Key))
	if info.dirty || !m.disabled && info.matches {
		return false
	}
	switch kv.Value.Type() {
	case attribute.STRING:
		s := kv.Value.AsString()
		if info.limit > 0 && len(s) > info.limit && !isCut(s, info.limit) {
			return false
		}
		multiLine := info.multiLine
		cache := m.cleanValues[0]
		if multiLine {
			cache = m.cleanValues[1]
		}
		long := len(s) >= minCachedValue
		if long && cache.has(s) {
			return true
		}
		if needsCleaning(s, multiLine) {
			return false
		}
		// A nil slice: appending allocates only when something is found,
		// and then the caller allocates anyway.
		if !m.disabled && len(m.find(s, nil)) != 0 {
			return false
		}
		if long {
			cache.add(s)
		}
		return true
	case attribute.STRINGSLICE, attribute.SLICE, attribute.MAP:
		return false
	}
	return true
}

// Events masks the attributes of span events, with the same contract as
// [Masker.Attributes].
func (m *Masker) Events(evs []sdktrace.Event) (out []sdktrace.Event, n int) {
	return copyOnWrite(evs, func(ev sdktrace.Event) (sdktrace.Event, int) {
		var k int
		ev.Attributes, k = m.Attributes(ev.Attributes)
		return ev, k
	})
}

// Links masks the attributes of span links, with the same contract as
// [Masker.Attributes].
func (m *Masker) Links(links []sdktrace.Link) (out []sdktrace.Link, n int) {
	return copyOnWrite(links, func(l sdktrace.Link) (sdktrace.Link, int) {
		var k int
		l.Attributes, k = m.Attributes(l.Attributes)
		return l, k
	})
}

// copyOnWrite applies f to every element and returns in itself when f
// changed none of them (f reports a change count above zero), so the common
// case allocates nothing; otherwise a new slice holds the results.
func copyOnWrite[T any](in []T, f func(T) (T, int)) (out []T, n int) {
	for i, e := range in {
		me, k := f(e)
		if k == 0 {
			if out != nil {
				out[i] = e
			}
			continue
		}
		if out == nil {
			out = make([]T, len(in))
			copy(out, in[:i])
		}
		out[i] = me
		n += k
	}
	if out == nil {
		return in, 0
	}
	return out, n
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// hasPrefixFold reports whether s starts with the lower-case prefix p,
// ignoring ASCII case in s.
func hasPrefixFold(s, p string) bool {
	if len(s) < len(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		if lowerASCII(s[i]) != p[i] {
			return false
		}
	}
	return true
}
