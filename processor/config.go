package processor

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/internal/mailaddr"
	"github.com/errortracker/errortracker/maskattr"
	"github.com/errortracker/errortracker/notify/webhook"
)

// DefaultURLPrefix is where the browse pages are served by default.
//
// Deprecated: use exporter.DefaultURLPrefix, the one definition; this is
// an alias of it.
const DefaultURLPrefix = exporter.DefaultURLPrefix

// The environment variables read by [ConfigFromEnv]: the Python
// error-tracker's APP_ERROR_* settings, plus APP_ERROR_MASK_ALLOW_KEYS.
const (
	EnvSendNotification = "APP_ERROR_SEND_NOTIFICATION"
	EnvRecipientEmail   = "APP_ERROR_RECIPIENT_EMAIL"
	EnvSubjectPrefix    = "APP_ERROR_SUBJECT_PREFIX"
	EnvMaskWith         = "APP_ERROR_MASK_WITH"
	EnvMaskedKeyHas     = "APP_ERROR_MASKED_KEY_HAS"
	EnvURLPrefix        = "APP_ERROR_URL_PREFIX"
	EnvEmailSender      = "APP_ERROR_EMAIL_SENDER"
	EnvMaskAllowKeys    = "APP_ERROR_MASK_ALLOW_KEYS"
	EnvMaskedKeySegment = "APP_ERROR_MASKED_KEY_SEGMENTS"
	EnvMaskEmails       = "APP_ERROR_MASK_EMAILS"
	EnvMaxValueBytes    = "APP_ERROR_MAX_VALUE_BYTES"
	EnvMaxMessageBytes  = "APP_ERROR_MAX_MESSAGE_BYTES"
	EnvMaxStackBytes    = "APP_ERROR_MAX_STACK_BYTES"
	EnvWebhookURL       = "APP_ERROR_WEBHOOK_URL"
	EnvWebhookSecret    = "APP_ERROR_WEBHOOK_SECRET"
	EnvWebhookFormat    = "APP_ERROR_WEBHOOK_FORMAT"
)

// Config holds the settings of the Python error-tracker, under the same
// names. The zero value is valid and means the defaults. It is read in one
// place, [ConfigFromEnv], and handed to the processor, the mail exporter and
// the browse pages, so that each setting has one meaning.
type Config struct {
	// SendNotification turns notifications on, by every transport
	// configured — e-mail and the webhook (APP_ERROR_SEND_NOTIFICATION,
	// default false).
	SendNotification bool
	// RecipientEmail lists who gets notifications
	// (APP_ERROR_RECIPIENT_EMAIL, comma-separated).
	RecipientEmail []string
	// SubjectPrefix starts every notification subject
	// (APP_ERROR_SUBJECT_PREFIX, default empty).
	SubjectPrefix string
	// MaskWith replaces masked values (APP_ERROR_MASK_WITH, default
	// fourteen stars, maskattr.DefaultMask).
	MaskWith string
	// MaskedKeyHas lists the substrings that make an attribute key secret,
	// compared without case (APP_ERROR_MASKED_KEY_HAS, comma-separated).
	// Nil means maskattr.DefaultKeyHas (password, secret, passwd, token,
	// api_key, apikey, authorization, cookie, credential, private_key,
	// session, passphrase, access_key, signature, card_number, credit_card;
	// '-' and '_' alike and optional); an empty, non-nil list — or the
	// variable set to an empty string — turns key masking off.
	MaskedKeyHas []string
	// MaskedKeySegments lists short words that make a key secret only as a
	// whole segment of it (APP_ERROR_MASKED_KEY_SEGMENTS, comma-separated).
	// Nil means maskattr.DefaultKeySegments (pwd, ssn, cvv, cvc); an empty,
	// non-nil list turns them off.
	MaskedKeySegments []string
	// MaskEmails masks e-mail addresses wherever they appear
	// (APP_ERROR_MASK_EMAILS, default off).
	MaskEmails bool
	// MaskAllowKeys lists attribute keys that are never masked by key
	// (APP_ERROR_MASK_ALLOW_KEYS). Nil means maskattr.DefaultAllowKeys.
	MaskAllowKeys []string
	// URLPrefix is where the browse pages are served
	// (APP_ERROR_URL_PREFIX, default "/dev/error").
	URLPrefix string
	// EmailSender is the From address of notifications
	// (APP_ERROR_EMAIL_SENDER). Required when RecipientEmail is set.
	EmailSender string

	// WebhookURL receives every notification as a POST
	// (APP_ERROR_WEBHOOK_URL, default none): an http or https URL, treated
	// as a secret. A webhook without e-mail recipients is a valid setup.
	WebhookURL string
	// WebhookSecret signs the webhook's bodies with HMAC-SHA256
	// (APP_ERROR_WEBHOOK_SECRET); required for the json format.
	WebhookSecret string
	// WebhookFormat is the webhook's body (APP_ERROR_WEBHOOK_FORMAT):
	// json (the default) or slack, {"text": …}, which Slack's and
	// Mattermost's incoming webhooks accept.
	WebhookFormat webhook.Format

	// DisableURLMasking, DisableAuthMasking and DisableTextMasking switch
	// off the value rules of package maskattr (secrets in URLs, Bearer and
	// Basic credentials, key=value pairs in text). All are on by default.
	DisableURLMasking  bool
	DisableAuthMasking bool
	DisableTextMasking bool

	// SpoolDir puts a disk spool under the exporters' queues
	// (APP_ERROR_SPOOL_DIR, default none): what is accepted and not yet
	// exported survives a kill and is delivered on the next start. See
	// [WithSpool], which overrides it.
	SpoolDir string
	// SpoolMaxBytes bounds the spool on disk (APP_ERROR_SPOOL_MAX_BYTES,
	// a number of bytes with an optional KiB, MiB or GiB suffix); zero or
	// less means DefaultSpoolMaxBytes, 256 MiB.
	SpoolMaxBytes int64
	// DisableJWTMasking, DisablePEMMasking, DisableProviderKeyMasking and
	// DisableCardMasking switch off the format rules of package maskattr
	// (JSON Web Tokens, PEM private keys, provider keys, payment card
	// numbers, wherever they appear). All are on by default.
	DisableJWTMasking         bool
	DisablePEMMasking         bool
	DisableProviderKeyMasking bool
	DisableCardMasking        bool

	// MaxValueBytes, MaxMessageBytes and MaxStackBytes bound what leaves
	// the process, after masking, with a visible "…[truncated N bytes]"
	// mark: an attribute value (APP_ERROR_MAX_VALUE_BYTES, default 4 KiB),
	// exception.message (APP_ERROR_MAX_MESSAGE_BYTES, default 32 KiB) and
	// exception.stacktrace (APP_ERROR_MAX_STACK_BYTES, default 64 KiB), in
	// spans handed to the wrapped processors and in records alike. Zero
	// means the default, negative no bound.
	MaxValueBytes   int
	MaxMessageBytes int
	MaxStackBytes   int
}

// WithDefaults returns c with every unset field at its default.
func (c Config) WithDefaults() Config {
	if c.MaskWith == "" {
		c.MaskWith = maskattr.DefaultMask
	}
	if c.URLPrefix == "" {
		c.URLPrefix = DefaultURLPrefix
	}
	c.URLPrefix = strings.TrimRight(c.URLPrefix, "/")
	if c.URLPrefix == "" {
		c.URLPrefix = "/"
	}
	if c.WebhookFormat == "" {
		c.WebhookFormat = webhook.FormatJSON
	}
	return c
}

// Webhook is the webhook's configuration from c, valid when WebhookURL is
// set and Validate passes.
func (c Config) Webhook() webhook.Config {
	return webhook.Config{URL: c.WebhookURL, Secret: c.WebhookSecret, Format: c.WebhookFormat}
}

// Validate reports every problem in c at once.
func (c Config) Validate() error {
	var errs []error
	if len(c.RecipientEmail) > 0 && c.EmailSender == "" {
		errs = append(errs, fmt.Errorf("%s is set but %s is not: notifications need a sender", EnvRecipientEmail, EnvEmailSender))
	}
	if c.SendNotification && len(c.RecipientEmail) == 0 && c.WebhookURL == "" {
		errs = append(errs, fmt.Errorf("%s is on but neither %s nor %s is set: nobody would get the notifications", EnvSendNotification, EnvRecipientEmail, EnvWebhookURL))
	}
	for _, addr := range c.RecipientEmail {
		if err := mailaddr.Check(addr); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", EnvRecipientEmail, err))
		}
	}
	if c.EmailSender != "" {
		if err := mailaddr.Check(c.EmailSender); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", EnvEmailSender, err))
		}
	}
	if c.WebhookURL != "" {
		if err := c.Webhook().Validate(); err != nil {
			errs = append(errs, fmt.Errorf("webhook: %w", err))
		}
	} else if c.WebhookSecret != "" {
		errs = append(errs, fmt.Errorf("%s is set but %s is not: the secret signs nothing", EnvWebhookSecret, EnvWebhookURL))
	}
	if c.URLPrefix != "" && !strings.HasPrefix(c.URLPrefix, "/") {
		errs = append(errs, fmt.Errorf("%s: %q must start with /", EnvURLPrefix, c.URLPrefix))
	}
	if strings.ContainsAny(c.SubjectPrefix, "\r\n") {
		errs = append(errs, fmt.Errorf("%s must be one line", EnvSubjectPrefix))
	}
	if _, err := maskattr.New(c.maskRules()); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", EnvMaskedKeyHas, err))
	}
	return errors.Join(errs...)
}

func (c Config) maskRules() maskattr.Rules {
	return maskattr.Rules{
		KeyHas:          c.MaskedKeyHas,
		AllowKeys:       c.MaskAllowKeys,
		MaskWith:        c.MaskWith,
		DisableURLRule:  c.DisableURLMasking,
		DisableAuthRule: c.DisableAuthMasking,
		DisableTextRule: c.DisableTextMasking,
		KeySegments:     c.MaskedKeySegments,
		MaskEmails:      c.MaskEmails,

		DisableJWTRule:         c.DisableJWTMasking,
		DisablePEMRule:         c.DisablePEMMasking,
		DisableProviderKeyRule: c.DisableProviderKeyMasking,
		DisableCardRule:        c.DisableCardMasking,

		Limits: maskattr.Limits{Value: c.MaxValueBytes, Message: c.MaxMessageBytes, Stack: c.MaxStackBytes},
	}
}

// ConfigFromEnv reads the APP_ERROR_* environment variables into a Config
// with defaults applied, and validates it. Lists are comma-separated;
// booleans accept 1/0, true/false, yes/no and on/off. An unset variable
// keeps the default; APP_ERROR_MASKED_KEY_HAS set to an empty string turns
// key masking off.
func ConfigFromEnv() (Config, error) {
	var c Config
	var errs []error
	if v, ok := os.LookupEnv(EnvSendNotification); ok {
		b, err := parseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", EnvSendNotification, err))
		}
		c.SendNotification = b
	}
	if v, ok := os.LookupEnv(EnvRecipientEmail); ok {
		c.RecipientEmail = splitList(v)
	}
	c.SubjectPrefix = os.Getenv(EnvSubjectPrefix)
	c.MaskWith = os.Getenv(EnvMaskWith)
	if v, ok := os.LookupEnv(EnvMaskedKeyHas); ok {
		c.MaskedKeyHas = splitList(v)
	}
	if v, ok := os.LookupEnv(EnvMaskAllowKeys); ok {
		c.MaskAllowKeys = splitList(v)
	}
	if v, ok := os.LookupEnv(EnvMaskedKeySegment); ok {
		c.MaskedKeySegments = splitList(v)
	}
	for _, b := range []struct {
		env string
		to  *int
	}{{EnvMaxValueBytes, &c.MaxValueBytes}, {EnvMaxMessageBytes, &c.MaxMessageBytes}, {EnvMaxStackBytes, &c.MaxStackBytes}} {
		if v := strings.TrimSpace(os.Getenv(b.env)); v != "" {
			n, err := parseBytes(v)
			if err != nil || n > 1<<30 {
				errs = append(errs, fmt.Errorf("%s: %q is not a size between 1 byte and 1 GiB", b.env, v))
				continue
			}
			*b.to = int(n)
		}
	}
	if v, ok := os.LookupEnv(EnvMaskEmails); ok {
		b, err := parseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", EnvMaskEmails, err))
		}
		c.MaskEmails = b
	}
	c.URLPrefix = os.Getenv(EnvURLPrefix)
	c.EmailSender = strings.TrimSpace(os.Getenv(EnvEmailSender))
	c.WebhookURL = strings.TrimSpace(os.Getenv(EnvWebhookURL))
	c.WebhookSecret = os.Getenv(EnvWebhookSecret)
	if err := c.WebhookFormat.UnmarshalText([]byte(os.Getenv(EnvWebhookFormat))); err != nil {
		errs = append(errs, err)
		c.WebhookFormat = webhook.FormatJSON // reported once, not again by Validate
	}
	errs = append(errs, c.spoolFromEnv()...)
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

// splitList splits a comma-separated list, dropping blanks; it returns an
// empty, non-nil slice for an empty string.
func splitList(v string) []string {
	out := []string{}
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "yes", "on":
		return true, nil
	case "no", "off", "":
		return false, nil
	}
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		return false, fmt.Errorf("%q is not a boolean (use true or false)", v)
	}
	return b, nil
}
