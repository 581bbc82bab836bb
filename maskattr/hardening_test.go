package maskattr_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"

	"github.com/errortracker/errortracker/maskattr"
)

// Keys: '-' and '_' alike, words without their separator, the new words,
// and short words only as whole segments of the key.
func TestKeySeparatorsAndSegments(t *testing.T) {
	m := mustNew(t, maskattr.Rules{})
	for key, masked := range map[string]bool{
		"X-Api-Key": true, "http.request.header.x-api-key": true, "private-key": true, "privatekey": true,
		"tls.PrivateKey": true, "deploy.api-key": true, "user.pwd": true, "customer.ssn": true, "card.cvv": true,
		"billing.card_number": true, "credit-card": true, "gpg.passphrase": true, "aws.access_key": true,
		"http.request.header.x-amz-signature": true, "userPwd": true, "ssn_last4": true, "form.CardNumber": true,
		"classname": false, "pwdhash": false, "http.request.header.x-auth-user": false, "cache.key": false,
		"error.code": false, "user.pin": false, "lessnotes": false, "http.route": false,
	} {
		if got := m.KeyMatches(key); got != masked {
			t.Errorf("KeyMatches(%q) = %v, want %v", key, got, masked)
		}
	}
	// The same words in key=value text.
	for in, want := range map[string]string{
		"call failed: x-api-key=k3yvalue1 retry": "call failed: x-api-key=" + maskattr.DefaultMask + " retry",
		"login failed: pwd=hunter2x, retry":      "login failed: pwd=" + maskattr.DefaultMask + ", retry",
		"classname=Widget":                       "classname=Widget",
	} {
		if got, _ := m.String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
}

// Messages formatted with %q escape their inner quotes: the pairs inside
// are still pairs.
func TestQuotedText(t *testing.T) {
	const M = maskattr.DefaultMask
	m := mustNew(t, maskattr.Rules{})
	for in, want := range map[string]string{
		`parse amount "{\"password\":\"S3cr3tQ\"}"`: `parse amount "{\"password\":\"` + M + `\"}"`,
		`login "password=\"a b\""`:                  `login "password=\"` + M + `\""`,
		`config "token: \"abc defg\" ok"`:           `config "token: \"` + M + `\" ok"`,
	} {
		if got, _ := m.String(in); got != want {
			t.Errorf("String(%s)\n got %s\nwant %s", in, got, want)
		}
	}
}

// Percent-encoded keys and values are decided by decoding, two layers
// deep; what is stored keeps its encoding, with the secret replaced.
func TestPercentEncoded(t *testing.T) {
	const M = maskattr.DefaultMask
	m := mustNew(t, maskattr.Rules{})
	for in, want := range map[string]string{
		"user%5Bpassword%5D=S1abcd&x=1": "user%5Bpassword%5D=" + M + "&x=1",
		"secret%5B%5D=S2abcd":           "secret%5B%5D=" + M,
		"pass%77ord=S3abcd&page=2":      "pass%77ord=" + M + "&page=2",
		"token%20=S4abcd":               "token%20=" + M,
		"redirect_uri=https%3A%2F%2Fapp%2Fcb%3Faccess_token%3DS5abcd&x=1": "redirect_uri=https%3A%2F%2Fapp%2Fcb%3Faccess_token%3D" + M + "&x=1",
		"next=%2Fcb%3Fsession%3DS6abcd":                                   "next=%2Fcb%3Fsession%3D" + M,
		"amount=Bearer%20S7abcdefgh":                                      "amount=Bearer%20" + M,
		"amount=password%3DS8abcd":                                        "amount=password%3D" + M,
		"amount=https%3A%2F%2Fuser%3AS9abcd%40host":                       "amount=https%3A%2F%2Fuser%3A" + M + "%40host",
		"next=%252Fcb%253Ftoken%253DS0abcd":                               "next=%252Fcb%253Ftoken%253D" + M,
		"https://shop.example.com/cart?q=100%25+cotton&page=2":            "https://shop.example.com/cart?q=100%25+cotton&page=2",
	} {
		got, _ := m.String(in)
		if got != want {
			t.Errorf("String(%q)\n got %q\nwant %q", in, got, want)
		}
		if again, changed := m.String(got); again != got || changed {
			t.Errorf("not idempotent: %q -> %q", got, again)
		}
	}
}

// Secrets every scanner knows are masked wherever they appear; look-alikes
// are not.
func TestSecretFormats(t *testing.T) {
	const M = maskattr.DefaultMask
	const jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
	pem := "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi\nZ1BLHD0bJz1y4ljG9N0pt\n-----END RSA PRIVATE KEY-----"
	m := mustNew(t, maskattr.Rules{})
	for in, want := range map[string]string{
		"rejected " + jwt + " at gate":                    "rejected " + M + " at gate",
		"loaded key " + pem + " from disk":                "loaded key -----BEGIN RSA PRIVATE KEY-----\n" + M + "\n-----END RSA PRIVATE KEY----- from disk",
		"aws AKIAIOSFODNN7EXAMPLE denied":                 "aws " + M + " denied",
		"stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc fail":    "stripe " + M + " fail",
		"restricted rk_live_51H8qPzJ2eZvKYlo2Cb0tT4dE":    "restricted " + M,
		"gh ghp_16C7e42F292c6912E7710c838347Ae178B4a bad": "gh " + M + " bad",
		"pat github_pat_11ABCDEFG0abcdefghijkl_mnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopq end": "pat " + M + " end",
		"slack xoxb-2637548326-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx":                                                  "slack " + M,
		"maps AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI!":                                                                 "maps " + M + "!",
		"paid with 4111 1111 1111 1111 today":                                                                           "paid with " + M + " today",
		"card 5555555555554444":                                                                                         "card " + M,
		"amex 3782-822463-10005.":                                                                                       "amex " + M + ".",
		"discover 6011111111111117":                                                                                     "discover " + M,
		// look-alikes
		"took 1732800000123456789 ns":                                  "took 1732800000123456789 ns",
		"order 4111111111111112 failed":                                "order 4111111111111112 failed",
		"span 12345678901234567890":                                    "span 12345678901234567890",
		"github.com/acme/shop.F(...)":                                  "github.com/acme/shop.F(...)",
		"eyJust words":                                                 "eyJust words",
		"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
		"mail to bob@example.com failed":                               "mail to bob@example.com failed",
	} {
		got, _ := m.String(in)
		if got != want {
			t.Errorf("String(%q)\n got %q\nwant %q", in, got, want)
		}
		if again, changed := m.String(got); again != got || changed {
			t.Errorf("not idempotent: %q -> %q", got, again)
		}
	}
	// E-mail addresses are an opt-in rule; every other rule can be turned off.
	if got, _ := mustNew(t, maskattr.Rules{MaskEmails: true}).String("mail to bob@example.com failed"); got != "mail to "+M+" failed" {
		t.Errorf("MaskEmails: %q", got)
	}
	off := mustNew(t, maskattr.Rules{DisableJWTRule: true, DisablePEMRule: true, DisableProviderKeyRule: true, DisableCardRule: true})
	for _, in := range []string{jwt, pem, "AKIAIOSFODNN7EXAMPLE", "4111111111111111"} {
		if got, changed := off.String("x " + in); changed {
			t.Errorf("rules off, still masked: %q", got)
		}
	}
	if !strings.Contains(pem, "PRIVATE KEY") {
		t.Fatal("test data")
	}
}

// Every value is bounded, after masking, with a visible mark; a secret the
// bound cuts in two is masked whole; cutting twice changes nothing.
func TestValuesAreBounded(t *testing.T) {
	m := mustNew(t, maskattr.Rules{})
	big := strings.Repeat("x", 10<<20)
	kv, changed := m.KeyValue(attribute.String("http.request.form.comment", big))
	got := kv.Value.AsString()
	if !changed || len(got) > maskattr.DefaultValueLimit+64 || !strings.HasSuffix(got, "…[truncated 10,481,664 bytes]") {
		t.Fatalf("10 MB form value: %d bytes, ends %q", len(got), got[max(0, len(got)-40):])
	}
	if again, changed := m.KeyValue(kv); changed || again.Value.AsString() != got {
		t.Error("cutting twice changed the value")
	}
	ua, _ := m.KeyValue(attribute.String("user_agent.original", strings.Repeat("Mozilla ", 100_000)))
	if len(ua.Value.AsString()) > maskattr.DefaultValueLimit+64 {
		t.Errorf("an 800 KB user agent kept %d bytes", len(ua.Value.AsString()))
	}
	// A secret across the message bound: masked, not half shown.
	const secret = "S3CRETVALUEabcdefghijklmnopqrstuvwxyz0123456789"
	msg := strings.Repeat("m", maskattr.DefaultMessageLimit-20) + " password=" + secret + strings.Repeat(" tail", 20_000)
	out, _ := m.KeyValue(attribute.String("exception.message", msg))
	if s := out.Value.AsString(); strings.Contains(s, secret[:8]) || len(s) > maskattr.DefaultMessageLimit+64 {
		t.Errorf("message cut: %d bytes, secret shown: %v", len(s), strings.Contains(s, secret[:8]))
	}
	stack, _ := m.KeyValue(attribute.String("exception.stacktrace", strings.Repeat("main.f(...)\n\t/m.go:1\n", 10_000)))
	if s := stack.Value.AsString(); len(s) > maskattr.DefaultStackLimit+64 || !strings.Contains(s, "…[truncated ") {
		t.Errorf("stack of %d bytes", len(s))
	}
	// Bounds are configurable, and can be turned off.
	small := mustNew(t, maskattr.Rules{Limits: maskattr.Limits{Value: 16}})
	if kv, _ := small.KeyValue(attribute.String("k", strings.Repeat("y", 40))); kv.Value.AsString() != strings.Repeat("y", 16)+"…[truncated 24 bytes]" {
		t.Errorf("16-byte bound: %q", kv.Value.AsString())
	}
	if kv, changed := mustNew(t, maskattr.Rules{Limits: maskattr.Limits{Value: -1}}).KeyValue(attribute.String("k", big)); changed || len(kv.Value.AsString()) != len(big) {
		t.Error("no bound still cut")
	}
}

// Keys and values leave as valid UTF-8 with control characters escaped;
// messages, stacks and form fields keep their line breaks.
func TestInvalidUTF8AndControlCharacters(t *testing.T) {
	m := mustNew(t, maskattr.Rules{})
	for _, tt := range []struct{ key, value, wantKey, wantValue string }{
		{"http.request.form.not\r\nes", "a\xffb", `http.request.form.not\r\nes`, "a\uFFFDb"},
		{"http.request.header.x-note", "one\r\nInjected: yes", "http.request.header.x-note", `one\r\nInjected: yes`},
		{"exception.message", "line one\nline two\x00\x1b[31m", "exception.message", "line one\nline two\\x00\\x1b[31m"},
		{"http.request.form.comment", "dear shop,\r\nthanks\tbye", "http.request.form.comment", "dear shop,\r\nthanks\tbye"},
	} {
		kv, _ := m.KeyValue(attribute.String(tt.key, tt.value))
		if string(kv.Key) != tt.wantKey || kv.Value.AsString() != tt.wantValue {
			t.Errorf("%q=%q -> %q=%q, want %q=%q", tt.key, tt.value, kv.Key, kv.Value.AsString(), tt.wantKey, tt.wantValue)
		}
		if !utf8.ValidString(string(kv.Key)) || !utf8.ValidString(kv.Value.AsString()) {
			t.Errorf("%q: invalid UTF-8 left", tt.key)
		}
		out, n := m.Attributes([]attribute.KeyValue{attribute.String(tt.key, tt.value)})
		if (n == 0) != (tt.key == tt.wantKey && tt.value == tt.wantValue) || out[0] != kv {
			t.Errorf("%q: Attributes and KeyValue disagree", tt.key)
		}
	}
	// String slices too, element by element.
	kv, _ := m.KeyValue(attribute.StringSlice("http.request.header.x-list", []string{"ok", "bad\xfe", strings.Repeat("z", 5000)}))
	vs := kv.Value.AsStringSlice()
	if vs[0] != "ok" || vs[1] != "bad\uFFFD" || len(vs[2]) > maskattr.DefaultValueLimit+64 {
		t.Errorf("slice: %q", vs[:2])
	}
}

// The bound keeps the work and the memory on a 10 MB value bounded: what
// masking one allocates is about the bound, not the value.
func BenchmarkTenMegabyteValue(b *testing.B) {
	m := mustNew(b, maskattr.Rules{})
	big := attribute.String("http.request.form.comment", strings.Repeat("password=hunter2 ", (10<<20)/17))
	b.ReportAllocs()
	for b.Loop() {
		m.KeyValue(big)
	}
}
