package errortrackerexporter

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
)

func load(t *testing.T, file, id string) *Config {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := cm.Sub(id)
	if err != nil {
		t.Fatal(err)
	}
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	if err := sub.Unmarshal(cfg); err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	return cfg
}

func TestLoadConfig(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want *Config
	}{
		{"errortracker", createDefaultConfig().(*Config)},
		{"errortracker/full", &Config{
			Store: component.MustNewIDWithName(BrowseType, "pages"),
			MaskConfig: MaskConfig{MaskWith: "[masked]", MaskedKeyHas: "password, secret, ssn",
				MaskedKeySegments: "pin", MaskAllowKeys: "http.request.body.size", MaskEmails: true, MaxStackBytes: 8192},

			SendNotification: true,
			RecipientEmail:   "oncall@example.com, dev@example.com",
			EmailSender:      "tracker@example.com",
			SubjectPrefix:    "[shop]",
			BrowseURL:        "http://errors.example.com/dev/error",
			SMTP:             SMTPConfig{Addr: "127.0.0.1:2525", Username: "tracker", Password: "s3cret", TLS: "none"},
			AppFrames: map[string]LanguageFrames{
				"python": {App: []string{"/srv/app/"}},
				"java":   {Library: []string{"com.acme.generated."}},
				"go":     {App: []string{"github.com/acme/shop"}},
			},
			SpoolDir:  "/var/lib/errortracker/spool",
			QueueSize: 512,
		}},
		{"errortracker/webhook_only", func() *Config {
			c := createDefaultConfig().(*Config)
			c.SendNotification = true
			c.Webhook = WebhookConfig{URL: "https://hooks.example.com/errors", Secret: "whsec-0001"}
			return c
		}()},
	} {
		t.Run(tc.id, func(t *testing.T) {
			cfg := load(t, "config.yaml", tc.id)
			if !reflect.DeepEqual(cfg, tc.want) {
				t.Errorf("got %+v\nwant %+v", cfg, tc.want)
			}
			if err := confmap.Validate(cfg); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func TestInvalidConfig(t *testing.T) {
	for id, want := range map[string]string{
		"errortracker/no_sender":    "APP_ERROR_EMAIL_SENDER",
		"errortracker/no_smtp":      "smtp.addr",
		"errortracker/bad_tls":      "want none, starttls or tls",
		"errortracker/bad_language": `unknown language "cobol"`,
		"errortracker/bad_queue":    "queue_size",
		"errortracker/bad_address":  "not an e-mail address",
		// The library's own checks, with its variables' names.
		"errortracker/webhook_unsigned": "APP_ERROR_WEBHOOK_SECRET",
		"errortracker/webhook_format":   "teams",
		"errortracker/nobody":           "nobody would get the notifications",
	} {
		t.Run(id, func(t *testing.T) {
			err := confmap.Validate(load(t, "config-invalid.yaml", id))
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Validate said %v, want an error about %q", err, want)
			}
		})
	}
}

// TestGroupingConfig: Go frames never default to the Collector's own module.
func TestGroupingConfig(t *testing.T) {
	g := load(t, "config.yaml", "errortracker").groupingConfig()
	if f, ok := g.Languages["go"]; !ok || len(f.App) != 0 {
		t.Errorf("go frames %+v, %v", f, ok)
	}
	g = load(t, "config.yaml", "errortracker/full").groupingConfig()
	if f := g.Languages["python"]; !reflect.DeepEqual(f.App, []string{"/srv/app/"}) {
		t.Errorf("python frames %+v", f)
	}
}
