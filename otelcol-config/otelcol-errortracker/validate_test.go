package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const configFile = "../errortracker.yaml"

// TestLocalConfigIsValid validates the file that forwards nothing, with
// no UPSTREAM_OTLP_ENDPOINT at all.
func TestLocalConfigIsValid(t *testing.T) {
	if err := newCommand([]string{"validate", "--config=file:../errortracker-local.yaml"}).Execute(); err != nil {
		t.Fatalf("errortracker-local.yaml does not validate: %v", err)
	}
}

// TestConfigIsValid runs the Collector's own validation on
// errortracker.yaml, with nothing set but what it requires, and with
// everything set.
func TestConfigIsValid(t *testing.T) {
	t.Setenv("UPSTREAM_OTLP_ENDPOINT", "http://127.0.0.1:4318")
	if err := newCommand([]string{"validate", "--config=file:" + configFile}).Execute(); err != nil {
		t.Fatalf("errortracker.yaml does not validate: %v", err)
	}
	for k, v := range map[string]string{
		"APP_ERROR_SEND_NOTIFICATION": "true", "APP_ERROR_RECIPIENT_EMAIL": "a@example.com, b@example.com",
		"APP_ERROR_EMAIL_SENDER": "tracker@example.com", "SMTP_ADDR": "127.0.0.1:2525", "SMTP_TLS": "none",
		"APP_ERROR_BROWSE_USER": "ops", "APP_ERROR_BROWSE_PASSWORD": "1234", "OTELCOL_METRICS_PORT": "18888",
		"APP_ERROR_MASKED_KEY_HAS": "password,ssn", "APP_ERROR_MASKED_KEY_SEGMENTS": "pin", "APP_ERROR_MASK_EMAILS": "true",
		"APP_ERROR_SPOOL_DIR": t.TempDir(), "APP_ERROR_MAX_VALUE_BYTES": "2048", "APP_ERROR_MAX_MESSAGE_BYTES": "-1", "APP_ERROR_MAX_STACK_BYTES": "65536",
	} {
		t.Setenv(k, v)
	}
	if err := newCommand([]string{"validate", "--config=file:" + configFile}).Execute(); err != nil {
		t.Fatalf("errortracker.yaml with every variable set does not validate: %v", err)
	}
}

// TestBrokenConfigIsRejected makes sure the validation can fail, and says why.
func TestBrokenConfigIsRejected(t *testing.T) {
	t.Setenv("UPSTREAM_OTLP_ENDPOINT", "http://127.0.0.1:4318")
	good, err := os.ReadFile(configFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, from, to, want string }{
		{"unknown processor", "processors: [errortracker_mask, batch]", "processors: [errortracker_mask, batch, nosuch]", "nosuch"},
		{"notification without SMTP", "send_notification: ${env:APP_ERROR_SEND_NOTIFICATION:-false}", "send_notification: true", "APP_ERROR_RECIPIENT_EMAIL"},
		{"bad browse address", "endpoint: ${env:BROWSE_ADDR:-127.0.0.1:8080}", "endpoint: nowhere", "endpoint"},
	} {
		broken := strings.Replace(string(good), tc.from, tc.to, 1)
		if broken == string(good) {
			t.Fatalf("%s: %q is not in the file", tc.name, tc.from)
		}
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
