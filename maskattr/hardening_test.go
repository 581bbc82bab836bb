package maskattr_test

import (
	"strings"
	"testing"

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
