package grouping

import (
	"regexp"
	"strings"
	"testing"
)

// quotedPattern is what replaceQuoted does, as a regexp.
const quotedPattern = `"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|` + "`[^`\n]*`"

// numberPattern is what replaceNumbers does, as a regexp, signed and not.
const numberPattern = `\d+(?:\.\d+)*`

// FuzzNormalize checks that normalising never panics, is stable (a second
// pass changes nothing), and leaves no digit behind, and that the scanner
// for quoted strings agrees with its regexp.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"user 42 not found",
		`parsing "abc": invalid syntax`,
		"dial tcp 10.0.0.12:5432: connect: connection refused",
		"order 3fa85f64-5717-4562-b3fc-2c963f66afa6 failed at 2026-11-25T09:37:28Z after 1.5s",
		"GET https://api.example.com/v1/users/7?x=1: 503",
		"mail to bob@example.com bounced, id 0xdeadbeef, hash 9f86d081884c7d65",
		"context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
		"[2001:db8::1]:443 unreachable",
		"'unterminated \"quotes` everywhere",
		"open /var/lib/x.db and testdata/a.json, 3/4 done, C:\\x\\y",
		"-3 and SKU-12, 1.2.3. and 4..5 -x -7.5-",
	} {
		f.Add(s)
	}
	n := newNormalizer(false)
	quoted := regexp.MustCompile(quotedPattern)
	number, signedNumber := regexp.MustCompile(numberPattern), regexp.MustCompile(`(?:\B-)?`+numberPattern)
	f.Fuzz(func(t *testing.T, msg string) {
		if want, got := quoted.ReplaceAllLiteralString(msg, "<str>"), replaceQuoted(msg); got != want {
			t.Fatalf("replaceQuoted(%q) = %q, the regexp gives %q", msg, got, want)
		}
		if want, got := number.ReplaceAllLiteralString(msg, "<num>"), replaceNumbers(msg, false); got != want {
			t.Fatalf("replaceNumbers(%q, false) = %q, the regexp gives %q", msg, got, want)
		}
		if want, got := signedNumber.ReplaceAllLiteralString(msg, "<num>"), replaceNumbers(msg, true); got != want {
			t.Fatalf("replaceNumbers(%q, true) = %q, the regexp gives %q", msg, got, want)
		}
		once := n.Normalize(msg)
		twice := n.Normalize(once)
		if once != twice {
			t.Fatalf("unstable:\n  in %q\n 1st %q\n 2nd %q", msg, once, twice)
		}
		if strings.ContainsAny(once, "0123456789") {
			t.Fatalf("digits left in %q (from %q)", once, msg)
		}
	})
}

func TestNormalize(t *testing.T) {
	n := newNormalizer(false)
	tests := []struct{ in, want string }{
		{"user 42 not found", "user <num> not found"},
		{`parsing "abc": invalid syntax`, "parsing <str>: invalid syntax"},
		{"dial tcp 10.0.0.12:5432: connect: connection refused", "dial tcp <ip>: connect: connection refused"},
		{"order 3fa85f64-5717-4562-b3fc-2c963f66afa6 failed", "order <uuid> failed"},
		{"at 2026-11-25T09:37:28Z after 1.5s", "at <date> after <duration>"},
		{"GET https://api.example.com/v1/users/7?x=1: 503", "GET <url>: <num>"},
		{"mail to bob@example.com bounced", "mail to <email> bounced"},
		{"id 0xdeadbeef hash 9f86d081884c7d65 word deadbeef", "id <hex> hash <hex> word deadbeef"},
		{"open /var/lib/shop/orders-7.db: permission denied", "open <path>: permission denied"},
		{"read testdata/a.json and ./cmd/x: EOF", "read <path> and .<path>: EOF"},
		{`open C:\data\x.txt: access denied`, "open <path>: access denied"},
		{"GET /users/42 took 3/4 of the budget", "GET <path> took <num>/<num> of the budget"},
	}
	for _, tt := range tests {
		if got := n.Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
