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
