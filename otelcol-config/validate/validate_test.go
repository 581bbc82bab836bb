package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/errortracker/errortracker/maskattr"
)

const configFile = "../collector.yaml"

// TestConfigIsValid runs the Collector's own validation (the validate
// subcommand: every component's config unmarshalled and validated, the
// pipelines wired) on collector.yaml.
func TestConfigIsValid(t *testing.T) {
	t.Setenv("UPSTREAM_OTLP_ENDPOINT", "http://127.0.0.1:4318")
	if err := newCommand([]string{"validate", "--config=file:" + configFile}).Execute(); err != nil {
		t.Fatalf("collector.yaml does not validate: %v", err)
	}
}

// TestBrokenConfigIsRejected makes sure the validation can fail.
func TestBrokenConfigIsRejected(t *testing.T) {
	t.Setenv("UPSTREAM_OTLP_ENDPOINT", "http://127.0.0.1:4318")
	good, err := os.ReadFile(configFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, from, to, want string }{
		{"bad regexp", `"(?i)(password|`, `"(?i)((password|`, "redaction"},
		{"unknown processor", "processors: [redaction, batch]", "processors: [redaction, batch, nosuch]", "nosuch"},
	} {
		broken := strings.Replace(string(good), tc.from, tc.to, 1)
		path := filepath.Join(t.TempDir(), "broken.yaml")
		if err := os.WriteFile(path, []byte(broken), 0o644); err != nil {
			t.Fatal(err)
		}
		err := newCommand([]string{"validate", "--config=file:" + path}).Execute()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: validation said %v, want an error about %q", tc.name, err, tc.want)
		}
	}
}

type redactionConfig struct {
	BlockedKeyPatterns []string `yaml:"blocked_key_patterns"`
	IgnoredKeys        []string `yaml:"ignored_keys"`
	BlockedValues      []string `yaml:"blocked_values"`
}

func readRedaction(t *testing.T) redactionConfig {
	t.Helper()
	b, err := os.ReadFile(configFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Processors struct {
			Redaction redactionConfig `yaml:"redaction"`
		} `yaml:"processors"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Processors.Redaction
}

// TestMaskedKeysMatchTheGoDefaults keeps the Collector's rules and the Go
// processor's defaults the same: every key the Go masker masks by name the
// Collector masks too, and the allow-lists are equal.
func TestMaskedKeysMatchTheGoDefaults(t *testing.T) {
	r := readRedaction(t)
	var keyREs []*regexp.Regexp
	for _, p := range r.BlockedKeyPatterns {
		keyREs = append(keyREs, regexp.MustCompile(p))
	}
	collector := func(key string) bool {
		for _, re := range keyREs {
			if re.MatchString(key) {
				return true
			}
		}
		return false
	}
	m, err := maskattr.New(maskattr.Rules{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, sub := range maskattr.DefaultKeyHas() {
		keys = append(keys, sub, "app."+sub, strings.ToUpper(sub)+"_X", "x-"+strings.ReplaceAll(sub, "_", "-"),
			strings.ReplaceAll(sub, "_", ""))
	}
	for _, w := range maskattr.DefaultKeySegments() {
		keys = append(keys, w, "customer."+w, w+"_last4", "user"+strings.ToUpper(w[:1])+w[1:], strings.ToUpper(w)+"Hash")
	}
	for _, key := range keys {
		if !collector(key) || !m.KeyMatches(key) {
			t.Errorf("%q: collector masks %v, Go masks %v", key, collector(key), m.KeyMatches(key))
		}
	}
	for _, key := range []string{"http.route", "url.path", "user.id", "http.request.method", "db.statement", "classname", "pwdhash", "cache.key", "error.code"} {
		if collector(key) || m.KeyMatches(key) {
			t.Errorf("%q is masked: collector %v, Go %v", key, collector(key), m.KeyMatches(key))
		}
	}
	want := maskattr.DefaultAllowKeys()
	got := slices.Clone(r.IgnoredKeys)
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("ignored_keys %v, want maskattr.DefaultAllowKeys %v", got, want)
	}
}

func TestBlockedValues(t *testing.T) {
	r := readRedaction(t)
	var res []*regexp.Regexp
	for _, v := range r.BlockedValues {
		res = append(res, regexp.MustCompile(v))
	}
	matches := func(s string) bool {
		for _, re := range res {
			if re.MatchString(s) {
				return true
			}
		}
		return false
	}
	for _, secret := range []string{"Bearer eyJhbGciOiJIUzI1NiJ9.e30", "Basic dXNlcjpwYXNzd29yZA==", "postgres://admin:hunter2@db/app",
		"https://api.example.com/x?access_token=abc", "login failed: password=hunter2", "client_secret: s3",
		"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
		"-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----", "key AKIAIOSFODNN7EXAMPLE", "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
		"ghp_16C7e42F292c6912E7710c838347Ae178B4a", "xoxb-2637548326-1234567890123-AbCdEfGh", "AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI",
		"x-api-key=k3yvalue1"} {
		if !matches(secret) {
			t.Errorf("%q passes unmasked", secret)
		}
	}
	for _, clean := range []string{"GET /orders/42", "sql: no rows in result set", "basic auth failed", "https://example.com/a?page=2"} {
		if matches(clean) {
			t.Errorf("%q is masked", clean)
		}
	}
}
