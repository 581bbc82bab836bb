package maskattr_test

import (
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"

	"github.com/errortracker/errortracker/maskattr"
)

// isPlantable reports whether s can serve as a planted secret: a run of
// letters and digits, long enough not to occur by chance.
func isPlantable(s string) bool {
	if len(s) < 6 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// FuzzString plants a secret behind a secret key inside arbitrary text and
// checks that it never survives, and that masking is idempotent.
func FuzzString(f *testing.F) {
	f.Add("GET /login?", "&page=2", "hunter2x", "=")
	f.Add(`{"user":"bob",`, `}`, "s3cr3tValue", ":")
	f.Add("Authorization: Bearer abc ", " done", "tok3nvalue", "=")
	f.Add("postgres://u:p@h/db ", "", "passw0rd99", ": ")
	f.Add("'", "'", "quotedSecret", "=")
	f.Add("basic ", "==", "AAAAAAAA", " = ")
	m, err := maskattr.New(maskattr.Rules{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, prefix, suffix, planted, sep string) {
		if !isPlantable(planted) || strings.Contains(prefix, planted) || strings.Contains(suffix, planted) {
			t.Skip()
		}
		switch sep {
		case "=", ":", ": ", " = ", "=\"":
		default:
			sep = "="
		}
		in := prefix + " password" + sep + planted + " " + suffix
		out, _ := m.String(in)
		if strings.Contains(out, planted) {
			t.Fatalf("secret survived:\n in %q\nout %q", in, out)
		}
		again, changed := m.String(out)
		if again != out || changed {
			t.Fatalf("not idempotent:\n1st %q\n2nd %q", out, again)
		}
		// Any text at all: idempotent, and never a panic.
		free, _ := m.String(prefix + suffix)
		if again, _ := m.String(free); again != free {
			t.Fatalf("not idempotent on %q:\n1st %q\n2nd %q", prefix+suffix, free, again)
		}
		// The key rule, whatever the value.
		kv, _ := m.KeyValue(attribute.String("x_"+strings.ToUpper("secret")+prefix, prefix+planted))
		if strings.Contains(kv.Value.Emit(), planted) {
			t.Fatalf("key rule let %q through", planted)
		}
	})
}

// FuzzFormats plants secrets of every format (and secrets behind
// percent-encoded or %q-quoted keys) between arbitrary texts: none may
// survive, unless the text around it glues it to a longer word, and
// masking stays idempotent.
func FuzzFormats(f *testing.F) {
	f.Add("GET /x?", " done", uint8(0), "AAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("paid ", "", uint8(4), "0000")
	f.Add(`{"a":"`, `"}`, uint8(6), "z9z9z9z9z9")
	m, err := maskattr.New(maskattr.Rules{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, prefix, suffix string, kind uint8, fill string) {
		if !isPlantable(fill) {
			t.Skip()
		}
		secret := fill + strings.Repeat("x", max(0, 40-len(fill)))
		var planted, text string
		switch kind % 8 {
		case 0:
			planted = "eyJ" + secret[:12] + ".eyJ" + secret[12:20] + "." + secret[:20]
		case 1:
			planted = "AKIA" + strings.ToUpper(secret[:16])
		case 2:
			planted = "sk_live_" + secret[:24]
		case 3:
			planted = "ghp_" + secret[:36]
		case 4:
			planted = "4111111111111111"
		case 5:
			planted = "xoxb-" + secret[:20]
		case 6:
			planted = secret[:12]
			text = prefix + " pass%77ord=" + planted + " " + suffix
		case 7:
			planted = secret[:12]
			text = prefix + ` "password=\"` + planted + `\"" ` + suffix
		}
		if text == "" {
			text = prefix + " " + planted + " " + suffix
		}
		if strings.Contains(prefix, planted) || strings.Contains(suffix, planted) {
			t.Skip()
		}
		out, _ := m.String(text)
		if strings.Contains(out, planted) {
			t.Fatalf("secret survived:\n in %q\nout %q", text, out)
		}
		if again, changed := m.String(out); again != out || changed {
			t.Fatalf("not idempotent:\n1st %q\n2nd %q", out, again)
		}
	})
}
