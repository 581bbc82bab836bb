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
func DefaultKeyHas() []string {
	return []string{
		"password", "secret", "passwd", "token", "api_key", "apikey",
		"authorization", "cookie", "credential", "private_key", "session",
	}
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
}

// Masker applies [Rules]. It is immutable and safe for concurrent use.
type Masker struct {
	keys    []string      // lower-cased substrings
	byFirst [256][]string // keys by their first byte, lower-cased
	// bigrams has a bit for the first two bytes of every key, in every
	// ASCII case: most positions of most keys fail this one test.
	bigrams  [65536 / 64]uint64
	shortKey bool // a one-byte key, which has no bigram
	unicode  bool // some substring is not ASCII: fold keys with strings.ToLower
	allow    map[string]struct{}
	mask     string
	maskVal  attribute.Value
	url      bool
	auth     bool
	text     bool
	disabled bool // no rule can ever match
	cache    *keyCache
	// cleanValues remembers long values no rule changes.
	cleanValues *cleanCache
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

		cleanValues: &cleanCache{},
	}
	if m.mask == "" {
		m.mask = DefaultMask
	}
	m.maskVal = attribute.StringValue(m.mask)
	var errs []error
	for i, k := range keyHas {
		k = strings.ToLower(strings.TrimSpace(k))
		if k == "" {
			errs = append(errs, fmt.Errorf("maskattr: masked key substring %d is empty: it would mask every attribute", i))
			continue
		}
		m.keys = append(m.keys, k)
		m.byFirst[k[0]] = append(m.byFirst[k[0]], k)
		if len(k) == 1 {
			m.shortKey = true
		} else {
			for _, a := range caseVariants(k[0]) {
				for _, c := range caseVariants(k[1]) {
					b := uint16(a)<<8 | uint16(c)
					m.bigrams[b/64] |= 1 << (b % 64)
				}
			}
		}
		for j := 0; j < len(k); j++ {
			if k[j] >= 0x80 {
				m.unicode = true
			}
		}
	}
	for _, k := range allow {
		m.allow[k] = struct{}{}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	m.disabled = len(m.keys) == 0 && !m.auth
	return m, nil
}

// Mask returns the string that replaces masked values.
func (m *Masker) Mask() string { return m.mask }

// KeyMatches reports whether the key rule masks an attribute with this key.
func (m *Masker) KeyMatches(key string) bool {
	if len(m.keys) == 0 {
		return false
	}
	if matches, ok := m.cache.lookup(key); ok {
		return matches
	}
	matches := m.containsKey(key)
	if matches {
		_, allowed := m.allow[key]
		matches = !allowed
	}
	m.cache.store(key, matches)
	return matches
}

// containsKey reports whether s contains a configured substring, ignoring
// ASCII case without allocating.
func (m *Masker) containsKey(s string) bool {
	if m.unicode && !isASCII(s) {
		lower := strings.ToLower(s)
		for _, k := range m.keys {
			if strings.Contains(lower, k) {
				return true
			}
		}
		return false
	}
	if m.shortKey {
		for i := 0; i < len(s); i++ {
			for _, k := range m.byFirst[lowerASCII(s[i])] {
				if hasPrefixFold(s[i:], k) {
					return true
				}
			}
		}
		return false
	}
	for i := 0; i+1 < len(s); i++ {
		if b := uint16(s[i])<<8 | uint16(s[i+1]); m.bigrams[b/64]&(1<<(b%64)) == 0 {
			continue
		}
		for _, k := range m.byFirst[lowerASCII(s[i])] {
			if hasPrefixFold(s[i:], k) {
				return true
			}
		}
	}
	return false
}

// KeyValue masks one attribute. It reports whether anything changed; when
// nothing did, the attribute is returned as it was, without allocating.
func (m *Masker) KeyValue(kv attribute.KeyValue) (attribute.KeyValue, bool) {
	if m.disabled {
		return kv, false
	}
	if m.KeyMatches(string(kv.Key)) {
		if kv.Value.Type() == attribute.STRING && kv.Value.AsString() == m.mask {
			return kv, false
		}
		return attribute.KeyValue{Key: kv.Key, Value: m.maskVal}, true
	}
	v, changed := m.value(kv.Value)
	if !changed {
		return kv, false
	}
	return attribute.KeyValue{Key: kv.Key, Value: v}, true
}

// value applies the value rules to v, and the key rule to the keys of
// nested maps.
func (m *Masker) value(v attribute.Value) (attribute.Value, bool) {
	switch v.Type() {
	case attribute.STRING:
		s, changed := m.String(v.AsString())
		if !changed {
			return v, false
		}
		return attribute.StringValue(s), true
	case attribute.STRINGSLICE:
		in := v.AsStringSlice()
		var out []string
		for i, s := range in {
			ms, changed := m.String(s)
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
			if me, changed := m.value(e); changed {
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
	if m.disabled {
		return true
	}
	if m.KeyMatches(string(kv.Key)) {
		return false
	}
	switch kv.Value.Type() {
	case attribute.STRING:
		s := kv.Value.AsString()
		long := len(s) >= minCachedValue
		if long && m.cleanValues.has(s) {
			return true
		}
		// A nil slice: appending allocates only when something is found,
		// and then the caller allocates anyway.
		if len(m.find(s, nil)) != 0 {
			return false
		}
		if long {
			m.cleanValues.add(s)
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

// caseVariants returns a lower-case byte and, for a letter, its upper case.
func caseVariants(c byte) []byte {
	if 'a' <= c && c <= 'z' {
		return []byte{c, c - ('a' - 'A')}
	}
	return []byte{c}
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
