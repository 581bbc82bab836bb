package mailaddr

import "testing"

func TestCheck(t *testing.T) {
	for a, ok := range map[string]bool{
		"ops@example.com":                   true,
		"o.p-s+tag@sub.example.com":         true,
		"":                                  false,
		"not an address":                    false,
		"Ops <ops@example.com>":             false,
		"ops@example.com\r\nBcc: x@evil.io": false,
		"<ops@example.com>":                 false,
	} {
		if err := Check(a); (err == nil) != ok {
			t.Errorf("Check(%q) = %v, want ok %v", a, err, ok)
		}
	}
}
