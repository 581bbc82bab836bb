package errortrackerexporter

import (
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"

	"github.com/errortracker/errortracker/exporter/smtp"
	"github.com/errortracker/errortracker/grouping"
	"github.com/errortracker/errortracker/notify/webhook"
	"github.com/errortracker/errortracker/processor"
)

// Config configures the errortracker exporter. The APP_ERROR_* settings
// keep their meaning (processor.Config); lists are comma-separated
// strings, as in the environment. An empty value means the default: the
// Collector's environment expansion cannot tell an unset variable from an
// empty one.
type Config struct {
	// Store is the ID of the browse extension that owns the ClickHouse
	// store (default errortracker_browse).
	Store component.ID `mapstructure:"store"`

	// MaskConfig holds the masking settings (mask_with, masked_key_has,
	// masked_key_segments, mask_allow_keys, mask_emails, max_*_bytes).
	MaskConfig `mapstructure:",squash"`

	// SendNotification turns mail on (APP_ERROR_SEND_NOTIFICATION,
	// default false).
	SendNotification bool `mapstructure:"send_notification"`
	// RecipientEmail lists who gets the mail (APP_ERROR_RECIPIENT_EMAIL).
	RecipientEmail string `mapstructure:"recipient_email"`
	// EmailSender is the From address (APP_ERROR_EMAIL_SENDER); required
	// with recipients.
	EmailSender string `mapstructure:"email_sender"`
	// SubjectPrefix starts every subject (APP_ERROR_SUBJECT_PREFIX).
	SubjectPrefix string `mapstructure:"subject_prefix"`
	// BrowseURL is the absolute URL of the browse pages, for the links in
	// the mail (e.g. http://errors.example.com/dev/error); empty leaves
	// them out.
	BrowseURL string `mapstructure:"browse_url"`
	// SMTP is the mail server; required when there are recipients.
	SMTP SMTPConfig `mapstructure:"smtp"`
	// Webhook posts every notification, signed (APP_ERROR_WEBHOOK_*); a
	// webhook without recipients is a valid setup.
	Webhook WebhookConfig `mapstructure:"webhook"`

	// AppFrames say, per language (go, python, java, nodejs, webjs,
	// dotnet), which stack frames are the application's: "app" prefixes
	// (when set, only matching frames are) and more "library" prefixes —
	// of the qualified function for Go, Java and .NET, of the file path
	// for Python and JavaScript. Each language's standard library and
	// packages (site-packages, node_modules, java.*, System.*…) never are.
	// Go frames have no default app packages here: the Collector cannot
	// know other programs' modules.
	AppFrames map[string]LanguageFrames `mapstructure:"app_frames"`

	// SpoolDir puts the library's disk spool under the queues
	// (APP_ERROR_SPOOL_DIR, default none): what was received and not yet
	// stored or mailed survives a kill and is delivered on the next start.
	// Each instance needs its own directory.
	SpoolDir string `mapstructure:"spool_dir"`

	// QueueSize bounds the records waiting for each sink, the store and
	// the mail (default: the processor's, 2048). See the package doc for
	// why this replaces sending_queue.
	QueueSize int `mapstructure:"queue_size"`
}

// LanguageFrames are one language's app and library frame prefixes.
type LanguageFrames struct {
	// App lists prefixes of the application's frames.
	App []string `mapstructure:"app"`
	// Library lists prefixes of frames that are not the application's.
	Library []string `mapstructure:"library"`
}

// SMTPConfig is the mail server.
type SMTPConfig struct {
	// Addr is host:port (SMTP_ADDR).
	Addr string `mapstructure:"addr"`
	// Username and Password authenticate (SMTP_USERNAME, SMTP_PASSWORD);
	// empty means none.
	Username string              `mapstructure:"username"`
	Password configopaque.String `mapstructure:"password"`
	// TLS is none, starttls or tls (SMTP_TLS); empty means none for a
	// loopback address and starttls otherwise, as the example app does.
	TLS string `mapstructure:"tls"`
}

// WebhookConfig is the webhook (see the library's notify/webhook).
type WebhookConfig struct {
	// URL receives the POSTs (APP_ERROR_WEBHOOK_URL); empty means none.
	URL string `mapstructure:"url"`
	// Secret signs each body with HMAC-SHA256 in the
	// X-Errortracker-Signature header (APP_ERROR_WEBHOOK_SECRET);
	// required for the json format.
	Secret configopaque.String `mapstructure:"secret"`
	// Format is json (default) or slack (APP_ERROR_WEBHOOK_FORMAT).
	Format string `mapstructure:"format"`
}

var _ component.Config = (*Config)(nil)

var languages = []grouping.Language{grouping.Go, grouping.Python, grouping.Java, grouping.NodeJS, grouping.WebJS, grouping.DotNet}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	var errs []error
	if c.Store.Type().String() == "" {
		errs = append(errs, errors.New("store: the ID of the errortracker_browse extension that owns the store is required"))
	}
	if err := c.processorConfig().Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.SendNotification && c.RecipientEmail != "" && c.SMTP.Addr == "" {
		errs = append(errs, errors.New("smtp.addr: send_notification is on with recipients but no SMTP server is set"))
	}
	if c.SMTP.TLS != "" {
		var m smtp.TLSMode
		if err := m.UnmarshalText([]byte(c.SMTP.TLS)); err != nil {
			errs = append(errs, fmt.Errorf("smtp.tls: %w", err))
		}
	}
	for lang := range c.AppFrames {
		known := false
		for _, l := range languages {
			known = known || string(l) == lang
		}
		if !known {
			errs = append(errs, fmt.Errorf("app_frames: unknown language %q (want one of %v)", lang, languages))
		}
	}
	if c.QueueSize < 0 {
		errs = append(errs, fmt.Errorf("queue_size: %d is negative", c.QueueSize))
	}
	return errors.Join(errs...)
}

// processorConfig is the APP_ERROR_* part as the library reads it.
func (c *Config) processorConfig() processor.Config {
	pc := c.MaskConfig.Apply(processor.Config{
		SendNotification: c.SendNotification,
		RecipientEmail:   list(c.RecipientEmail),
		SubjectPrefix:    c.SubjectPrefix,
		EmailSender:      strings.TrimSpace(c.EmailSender),
		SpoolDir:         c.SpoolDir,
		WebhookURL:       strings.TrimSpace(c.Webhook.URL),
		WebhookSecret:    string(c.Webhook.Secret),
		WebhookFormat:    webhook.Format(strings.TrimSpace(c.Webhook.Format)),
	})
	return pc.WithDefaults()
}

// groupingConfig is the grouping's configuration: the app frames per
// language, Go's always set, so that the Collector's own module path is
// never taken for the app's.
func (c *Config) groupingConfig() grouping.Config {
	langs := map[grouping.Language]grouping.LanguageFrames{grouping.Go: {}}
	for lang, f := range c.AppFrames {
		langs[grouping.Language(lang)] = grouping.LanguageFrames{App: f.App, Library: f.Library}
	}
	return grouping.Config{Languages: langs}
}

// list splits a comma-separated list; empty means nil, the default.
func list(v string) []string {
	var out []string
	for item := range strings.SplitSeq(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
