package processor_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/maskattr"
	"github.com/errortracker/errortracker/notify/webhook"
	"github.com/errortracker/errortracker/processor"
)

func TestConfigFromEnvDefaults(t *testing.T) {
	unsetAll(t)
	c, err := processor.ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if c.SendNotification || c.RecipientEmail != nil || c.SubjectPrefix != "" || c.EmailSender != "" {
		t.Errorf("notification defaults: %+v", c)
	}
	if c.MaskWith != maskattr.DefaultMask || c.URLPrefix != "/dev/error" || c.MaskedKeyHas != nil {
		t.Errorf("defaults: mask %q prefix %q keys %v", c.MaskWith, c.URLPrefix, c.MaskedKeyHas)
	}
}

func TestConfigFromEnv(t *testing.T) {
	t.Setenv(processor.EnvSendNotification, "true")
	t.Setenv(processor.EnvRecipientEmail, "ops@example.com, dev@example.com")
	t.Setenv(processor.EnvSubjectPrefix, "[shop]")
	t.Setenv(processor.EnvMaskWith, "XXX")
	t.Setenv(processor.EnvMaskedKeyHas, "pin, ssn")
	t.Setenv(processor.EnvURLPrefix, "/errors/")
	t.Setenv(processor.EnvEmailSender, "tracker@example.com")
	t.Setenv(processor.EnvMaskAllowKeys, "pin_length")
	c, err := processor.ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	want := processor.Config{
		SendNotification: true,
		RecipientEmail:   []string{"ops@example.com", "dev@example.com"},
		SubjectPrefix:    "[shop]",
		MaskWith:         "XXX",
		MaskedKeyHas:     []string{"pin", "ssn"},
		MaskAllowKeys:    []string{"pin_length"},
		URLPrefix:        "/errors",
		EmailSender:      "tracker@example.com",
	}
	if !slices.Equal(c.RecipientEmail, want.RecipientEmail) || !slices.Equal(c.MaskedKeyHas, want.MaskedKeyHas) ||
		!slices.Equal(c.MaskAllowKeys, want.MaskAllowKeys) || c.SubjectPrefix != want.SubjectPrefix ||
		c.MaskWith != want.MaskWith || c.URLPrefix != want.URLPrefix || c.EmailSender != want.EmailSender || !c.SendNotification {
		t.Errorf("got %+v\nwant %+v", c, want)
	}
}

func TestEmptyMaskedKeyHasTurnsMaskingOff(t *testing.T) {
	unsetAll(t)
	t.Setenv(processor.EnvMaskedKeyHas, "")
	c, err := processor.ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if c.MaskedKeyHas == nil || len(c.MaskedKeyHas) != 0 {
		t.Fatalf("MaskedKeyHas = %#v, want empty and non-nil", c.MaskedKeyHas)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"recipients without sender", map[string]string{processor.EnvRecipientEmail: "ops@example.com"},
			[]string{"APP_ERROR_EMAIL_SENDER is not"}},
		{"bad bool and bad address", map[string]string{processor.EnvSendNotification: "maybe", processor.EnvRecipientEmail: "not-an-address", processor.EnvEmailSender: "x@example.com"},
			[]string{`"maybe" is not a boolean`, `"not-an-address" is not an e-mail address`}},
		{"notification without recipients", map[string]string{processor.EnvSendNotification: "yes"},
			[]string{"nobody would get"}},
		{"relative prefix", map[string]string{processor.EnvURLPrefix: "dev/error"}, []string{"must start with /"}},
		{"display name", map[string]string{processor.EnvRecipientEmail: "Ops <ops@example.com>", processor.EnvEmailSender: "x@example.com"},
			[]string{`"Ops <ops@example.com>" is not an e-mail address`}},
		{"webhook URL not absolute", map[string]string{processor.EnvWebhookURL: "hooks.example.com/x", processor.EnvWebhookSecret: "s"},
			[]string{"APP_ERROR_WEBHOOK_URL): want an absolute http or https URL"}},
		{"webhook URL not http", map[string]string{processor.EnvWebhookURL: "ftp://hooks.example.com/x", processor.EnvWebhookSecret: "s"},
			[]string{"APP_ERROR_WEBHOOK_URL): want an absolute http or https URL"}},
		{"json webhook without secret", map[string]string{processor.EnvWebhookURL: "https://hooks.example.com/x"},
			[]string{"no secret (APP_ERROR_WEBHOOK_SECRET)"}},
		{"unknown webhook format", map[string]string{processor.EnvWebhookURL: "https://hooks.example.com/x", processor.EnvWebhookFormat: "teams"},
			[]string{`format "teams" (APP_ERROR_WEBHOOK_FORMAT): want json or slack`}},
		{"secret without URL", map[string]string{processor.EnvWebhookSecret: "s"},
			[]string{"APP_ERROR_WEBHOOK_SECRET is set but APP_ERROR_WEBHOOK_URL is not"}},
		{"notification with neither transport", map[string]string{processor.EnvSendNotification: "on"},
			[]string{"neither APP_ERROR_RECIPIENT_EMAIL nor APP_ERROR_WEBHOOK_URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			unsetAll(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			_, err := processor.ConfigFromEnv()
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	if _, err := processor.New(processor.Config{RecipientEmail: []string{"ops@example.com"}}); err == nil {
		t.Error("New accepted recipients without a sender")
	}
}

// unsetAll clears the APP_ERROR_* variables for one test.
func unsetAll(t *testing.T) {
	for _, k := range []string{processor.EnvSendNotification, processor.EnvRecipientEmail, processor.EnvSubjectPrefix,
		processor.EnvMaskWith, processor.EnvMaskedKeyHas, processor.EnvURLPrefix, processor.EnvEmailSender, processor.EnvMaskAllowKeys,
		processor.EnvWebhookURL, processor.EnvWebhookSecret, processor.EnvWebhookFormat} {
		t.Setenv(k, "")
		if err := os.Unsetenv(k); err != nil {
			t.Fatal(err)
		}
	}
}

// The masking words and the e-mail rule come from the environment too, and
// reach the masker.
func TestMaskingFromEnv(t *testing.T) {
	t.Setenv(processor.EnvMaskedKeySegment, "pin, ssn")
	t.Setenv(processor.EnvMaskEmails, "yes")
	c, err := processor.ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.MaskedKeySegments, []string{"pin", "ssn"}) || !c.MaskEmails {
		t.Fatalf("segments %q, mask emails %v", c.MaskedKeySegments, c.MaskEmails)
	}
	p, err := processor.New(c)
	if err != nil {
		t.Fatal(err)
	}
	m := p.Masker()
	if !m.KeyMatches("card.pin") || m.KeyMatches("customer.cvv") {
		t.Error("key segments from the environment not applied")
	}
	if got, _ := m.String("mail to bob@example.com failed"); strings.Contains(got, "bob@") {
		t.Errorf("e-mail not masked: %q", got)
	}
	t.Setenv(processor.EnvMaskEmails, "perhaps")
	if _, err := processor.ConfigFromEnv(); err == nil || !strings.Contains(err.Error(), processor.EnvMaskEmails) {
		t.Errorf("a bad boolean: %v", err)
	}
}

// The bounds come from the environment and reach the masker.
func TestBoundsFromEnv(t *testing.T) {
	t.Setenv(processor.EnvMaxValueBytes, "1KiB")
	c, err := processor.ConfigFromEnv()
	if err != nil || c.MaxValueBytes != 1024 {
		t.Fatalf("max value bytes %d, %v", c.MaxValueBytes, err)
	}
	p, err := processor.New(c)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := p.Masker().Value("user_agent.original", strings.Repeat("u", 5000)); !strings.HasPrefix(got, strings.Repeat("u", 1024)+"…[truncated 3,976 bytes]") {
		t.Errorf("bounded to %d bytes", len(got))
	}
	t.Setenv(processor.EnvMaxValueBytes, "lots")
	if _, err := processor.ConfigFromEnv(); err == nil || !strings.Contains(err.Error(), processor.EnvMaxValueBytes) {
		t.Errorf("a bad size: %v", err)
	}
}

// The webhook's settings come from the environment; a webhook without
// e-mail recipients is a valid setup, json is the default format and
// slack needs no secret.
func TestWebhookFromEnv(t *testing.T) {
	unsetAll(t)
	t.Setenv(processor.EnvSendNotification, "true")
	t.Setenv(processor.EnvWebhookURL, " https://hooks.example.com/errors ")
	t.Setenv(processor.EnvWebhookSecret, "s3cret")
	c, err := processor.ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if c.WebhookURL != "https://hooks.example.com/errors" || c.WebhookSecret != "s3cret" || c.WebhookFormat != webhook.FormatJSON {
		t.Errorf("webhook settings: %q %q %q", c.WebhookURL, c.WebhookSecret, c.WebhookFormat)
	}
	if w := c.Webhook(); w.URL != c.WebhookURL || w.Secret != "s3cret" || w.Format != webhook.FormatJSON {
		t.Errorf("Webhook() = %+v", w)
	}
	unsetAll(t)
	t.Setenv(processor.EnvSendNotification, "true")
	t.Setenv(processor.EnvWebhookURL, "https://hooks.slack.com/services/T0/B0/X")
	t.Setenv(processor.EnvWebhookFormat, "Slack")
	if c, err = processor.ConfigFromEnv(); err != nil || c.WebhookFormat != webhook.FormatSlack {
		t.Errorf("slack without a secret: format %q, %v", c.WebhookFormat, err)
	}
	if processor.DefaultURLPrefix != exporter.DefaultURLPrefix {
		t.Error("two default prefixes")
	}
}
