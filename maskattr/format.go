package maskattr

import "strings"

// formatRules find secrets by their own shape, wherever they appear: JSON
// Web Tokens, PEM private keys, provider keys, card numbers and (opt-in)
// e-mail addresses.
type formatRules struct {
	jwt, pem, provider, card, email bool
	mask                            string // a range that already holds it is not masked again
	minLen                          int    // the shortest secret of an enabled format
	// starts marks the bytes a secret of an enabled format can start with
	// (or, for an e-mail address, hold at its middle): one table look-up a
	// byte, so that text without them costs a scan.
	starts [256]bool
}

func (f *formatRules) init() {
	mark := func(on bool, bytes string) {
		if on {
			for i := 0; i < len(bytes); i++ {
				f.starts[bytes[i]] = true
			}
		}
	}
	mark(f.jwt, "e")
	mark(f.pem, "-")
	mark(f.provider, "AsrgxA")
	mark(f.card, "0123456789")
	mark(f.email, "@")
	f.minLen = 1 << 30
	for _, r := range []struct {
		on bool
		n  int
	}{{f.jwt, 36}, {f.pem, 30}, {f.provider, 15}, {f.card, 13}, {f.email, 6}} {
		if r.on {
			f.minLen = min(f.minLen, r.n)
		}
	}
}

func (f *formatRules) any() bool { return f.jwt || f.pem || f.provider || f.card || f.email }

// find appends the ranges of s that hold a secret of an enabled format, in
// order and disjoint.
func (f *formatRules) find(s string, found []span) []span {
	if len(s) < f.minLen {
		return found // most attribute values: methods, routes, codes
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !f.starts[c] {
			continue
		}
		if c == '@' {
			if sp, ok := emailAt(s, i); ok && (len(found) == 0 || found[len(found)-1].end <= sp.start) {
				found = append(found, sp)
				i = sp.end - 1
			}
			continue
		}
		if i > 0 && isAlnum(s[i-1]) {
			continue // a secret starts a word
		}
		var end int
		ok := false
		switch {
		case c == 'e' && f.jwt:
			if i+2 < len(s) && s[i+1] == 'y' && s[i+2] == 'J' {
				end, ok = jwtAt(s, i)
			}
		case c == '-' && f.pem:
			var sp span
			if sp, ok = pemBodyAt(s, i); ok {
				if !strings.HasPrefix(s[sp.start:], f.mask) {
					found = append(found, sp)
				}
				i = sp.end - 1
				continue
			}
		case isDigit(c) && f.card:
			// Every issuer's number starts with a group of four digits or
			// more: line numbers and short ids end here.
			if k := runOf(s, i, isDigit); k-i >= 13 || k-i >= 4 && k+1 < len(s) && (s[k] == ' ' || s[k] == '-') && isDigit(s[k+1]) {
				end, ok = cardAt(s, i)
			} else {
				i = k - 1
			}
		case f.provider:
			end, ok = providerKeyAt(s, i)
		}
		if ok {
			found = append(found, span{i, end})
			i = end - 1
		}
	}
	return found
}

func isAlnum(c byte) bool { return isLetter(c) || isDigit(c) }

func isBase64URL(c byte) bool { return isAlnum(c) || c == '-' || c == '_' }

// runOf returns the end of the run of bytes in class that starts at s[i].
func runOf(s string, i int, class func(byte) bool) int {
	for i < len(s) && class(s[i]) {
		i++
	}
	return i
}

// jwtAt matches a JSON Web Token at s[i]: three base64url parts split by
// dots, the first two JSON objects (eyJ is base64 for `{"`), the signature
// at least 16 bytes long.
func jwtAt(s string, i int) (int, bool) {
	if !strings.HasPrefix(s[i:], "eyJ") {
		return 0, false
	}
	header := runOf(s, i, isBase64URL)
	if header-i < 10 || header >= len(s) || s[header] != '.' || !strings.HasPrefix(s[header+1:], "eyJ") {
		return 0, false
	}
	payload := runOf(s, header+1, isBase64URL)
	if payload-header-1 < 4 || payload >= len(s) || s[payload] != '.' {
		return 0, false
	}
	sig := runOf(s, payload+1, isBase64URL)
	if sig-payload-1 < 16 || sig < len(s) && isBase64URL(s[sig]) {
		return 0, false
	}
	return sig, true
}

// pemBodyAt matches a PEM private-key block at s[i] and returns the range
// of its body, between the BEGIN and END lines, which stay; a block cut off
// before its END line is masked to the end of s.
func pemBodyAt(s string, i int) (span, bool) {
	const begin = "-----BEGIN "
	if !strings.HasPrefix(s[i:], begin) {
		return span{}, false
	}
	close := strings.Index(s[i+len(begin):], "-----")
	if close < 0 {
		return span{}, false
	}
	label := s[i+len(begin) : i+len(begin)+close]
	if !strings.HasSuffix(label, "PRIVATE KEY") || strings.ContainsAny(label, "\n\r") {
		return span{}, false
	}
	start := i + len(begin) + close + len("-----")
	for start < len(s) && (s[start] == '\n' || s[start] == '\r') {
		start++
	}
	end := len(s)
	if k := strings.Index(s[start:], "-----END "); k >= 0 {
		end = start + k
		for end > start && (s[end-1] == '\n' || s[end-1] == '\r') {
			end--
		}
	}
	if end <= start {
		return span{}, false
	}
	return span{start, end}, true
}

// providerKeyAt matches a key whose prefix names its issuer at s[i].
func providerKeyAt(s string, i int) (int, bool) {
	rest := s[i:]
	if len(rest) < 14 {
		return 0, false
	}
	switch rest[0] {
	case 'A':
		switch rest[1] {
		case 'K', 'S':
			if rest[2] == 'I' && rest[3] == 'A' { // AKIA, ASIA
				return keyOf(s, i, 4, 16, isUpperOrDigit)
			}
		case 'I':
			if rest[2] == 'z' && rest[3] == 'a' {
				return keyOf(s, i, 4, 35, isBase64URL)
			}
		}
	case 's', 'r':
		if rest[1] == 'k' && rest[2] == '_' && (strings.HasPrefix(rest[3:], "live_") || strings.HasPrefix(rest[3:], "test_")) {
			return keyOf(s, i, 8, 16, isAlnum)
		}
	case 'g':
		if rest[1] != 'h' && rest[1] != 'i' {
			return 0, false
		}
		if strings.HasPrefix(rest, "github_pat_") {
			return keyOf(s, i, len("github_pat_"), 40, isAlnumOrUnderscore)
		}
		if rest[1] == 'h' && strings.IndexByte("pousr", rest[2]) >= 0 && rest[3] == '_' {
			return keyOf(s, i, 4, 30, isAlnum)
		}
	case 'x':
		if strings.HasPrefix(rest, "xox") && strings.IndexByte("abpr", rest[3]) >= 0 && rest[4] == '-' {
			return keyOf(s, i, 5, 10, isAlnumOrDash)
		}
	}
	return 0, false
}

// keyOf matches at s[i] a prefix of n bytes (already checked) followed by
// at least min bytes of class, ending the word.
func keyOf(s string, i, n, min int, class func(byte) bool) (int, bool) {
	end := runOf(s, i+n, class)
	if end-i-n < min || end < len(s) && isAlnum(s[end]) {
		return 0, false
	}
	return end, true
}

func isUpperOrDigit(c byte) bool      { return isDigit(c) || 'A' <= c && c <= 'Z' }
func isAlnumOrUnderscore(c byte) bool { return isAlnum(c) || c == '_' }
func isAlnumOrDash(c byte) bool       { return isAlnum(c) || c == '-' }

// cardAt matches a payment card number at s[i]: 13 to 19 digits, alone or
// in groups of three or more split by one space or dash, not part of a
// longer run of digits, Luhn-valid, whose prefix and length fit an issuer.
// Of the groups that follow s[i], the longest run that is a card wins.
func cardAt(s string, i int) (int, bool) {
	var digits [19]byte
	var ends [19]int // ends[k]: where the number of k+1 digits ends, when a group ends there
	n, j := 0, i
	for j < len(s) {
		k := runOf(s, j, isDigit)
		if n+(k-j) > len(digits) || n > 0 && k-j < 3 {
			break // too long, or a group of one or two digits: the number ends before it
		}
		n += copy(digits[n:], s[j:k])
		ends[n-1] = k
		if k+1 < len(s) && (s[k] == ' ' || s[k] == '-') && isDigit(s[k+1]) {
			j = k + 1
			continue
		}
		break
	}
	for l := n; l >= 13; l-- {
		end := ends[l-1]
		if end == 0 || end < len(s) && isAlnum(s[end]) {
			continue
		}
		if d := digits[:l]; issuerFits(d) && luhn(d) {
			return end, true
		}
	}
	return 0, false
}

// issuerFits reports whether a card number's prefix names an issuer that
// uses its length: Visa, Mastercard, American Express, Discover, JCB,
// Diners Club, UnionPay, Maestro.
func issuerFits(d []byte) bool {
	n := len(d)
	prefix := func(k int) int {
		v := 0
		for _, c := range d[:k] {
			v = v*10 + int(c-'0')
		}
		return v
	}
	p2, p3, p4, p6 := prefix(2), prefix(3), prefix(4), prefix(6)
	switch {
	case d[0] == '4':
		return n == 13 || n == 16 || n == 19
	case 51 <= p2 && p2 <= 55 || 222100 <= p6 && p6 <= 272099:
		return n == 16
	case p2 == 34 || p2 == 37:
		return n == 15
	case p4 == 6011 || p2 == 65 || 644 <= p3 && p3 <= 649:
		return n >= 16
	case 3528 <= p4 && p4 <= 3589:
		return n >= 16
	case p2 == 36 || p2 == 38 || 300 <= p3 && p3 <= 305:
		return n >= 14
	case p2 == 62:
		return n >= 16
	case p2 == 50 || 56 <= p2 && p2 <= 69:
		return n >= 12
	}
	return false
}

// luhn reports whether digits pass the Luhn check.
func luhn(d []byte) bool {
	sum := 0
	for i := range d {
		v := int(d[len(d)-1-i] - '0')
		if i%2 == 1 {
			if v *= 2; v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return sum%10 == 0
}

// emailAt matches an e-mail address around the '@' at s[at].
func emailAt(s string, at int) (span, bool) {
	isLocal := func(c byte) bool { return isAlnum(c) || strings.IndexByte("._%+-", c) >= 0 }
	start := at
	for start > 0 && isLocal(s[start-1]) {
		start--
	}
	end := runOf(s, at+1, func(c byte) bool { return isAlnum(c) || c == '-' || c == '.' })
	for end > at+1 && s[end-1] == '.' {
		end--
	}
	domain := s[at+1 : end]
	dot := strings.LastIndexByte(domain, '.')
	if start == at || dot <= 0 || len(domain)-dot-1 < 2 {
		return span{}, false
	}
	for _, c := range []byte(domain[dot+1:]) {
		if !isLetter(c) {
			return span{}, false
		}
	}
	return span{start, end}, true
}
