// Package setup builds the notification policy and its transports from
// the APP_ERROR_* settings (processor.Config): the one place the example
// app, the Collector's exporter and users call. It depends on processor,
// notify and the transports; none of them depends on it, and
// exporter/smtp and notify/webhook never import processor.
//
// # Usage
//
//	cfg, err := processor.ConfigFromEnv()
//	…
//	notifications, policy, err := setup.ProcessorOption(cfg, setup.Config{
//		SMTP:   smtp.Config{Addr: os.Getenv("SMTP_ADDR")},
//		Policy: notify.Config{Store: store, BaseURL: "https://shop.example.com" + cfg.URLPrefix},
//	})
//	…
//	p, err := processor.New(cfg, processor.WithExporter(store), notifications)
//
// APP_ERROR_SEND_NOTIFICATION turns every transport off or on: when off,
// ProcessorOption returns a nil option, which attaches nothing. The mail
// goes out when APP_ERROR_RECIPIENT_EMAIL is set, the webhook when
// APP_ERROR_WEBHOOK_URL is; either alone is a valid setup.
package setup

import (
	"errors"
	"fmt"

	"github.com/errortracker/errortracker/exporter/smtp"
	"github.com/errortracker/errortracker/notify"
	"github.com/errortracker/errortracker/notify/webhook"
	"github.com/errortracker/errortracker/processor"
)

// Config is what the APP_ERROR_* settings do not say.
type Config struct {
	// SMTP is the mail server: Addr, credentials, TLS. Sender, recipients
	// and subject prefix come from processor.Config. The policy's fields
	// of smtp.Config (Store, BaseURL, ThresholdInterval, Digest*) are
	// used where Policy leaves them unset, so that a configuration written
	// for smtp.ProcessorOption works unchanged.
	SMTP smtp.Config
	// Webhook's Timeout and Client are used; its URL, secret and format
	// come from processor.Config.
	Webhook webhook.Config
	// Policy configures the policy: the store, the pages' URL for links,
	// thresholds, digest, queues, retries.
	Policy notify.Config
	// Notifiers are transports of your own, added to those the settings
	// name.
	Notifiers []notify.Notifier
}

// Notifiers builds the transports the settings name — e-mail when
// recipients are set, the webhook when its URL is — and appends
// c.Notifiers. It does not look at SendNotification.
func Notifiers(pc processor.Config, c Config) ([]notify.Notifier, error) {
	if err := pc.Validate(); err != nil {
		return nil, err
	}
	var out []notify.Notifier
	var errs []error
	if len(pc.RecipientEmail) > 0 {
		mc := c.SMTP
		mc.Sender, mc.Recipients, mc.SubjectPrefix = pc.EmailSender, append([]string(nil), pc.RecipientEmail...), pc.SubjectPrefix
		if mc.Addr == "" {
			errs = append(errs, fmt.Errorf("%s is set but no SMTP server is configured", processor.EnvRecipientEmail))
		} else if m, err := smtp.NewNotifier(mc); err != nil {
			errs = append(errs, err)
		} else {
			out = append(out, m)
		}
	}
	if pc.WebhookURL != "" {
		wc := pc.Webhook()
		wc.Timeout, wc.Client = c.Webhook.Timeout, c.Webhook.Client
		if w, err := webhook.New(wc); err != nil {
			errs = append(errs, err)
		} else {
			out = append(out, w)
		}
	}
	for _, n := range c.Notifiers {
		if n != nil {
			out = append(out, n)
		}
	}
	return out, errors.Join(errs...)
}

// New builds the policy with the transports of Notifiers. It returns nil
// and no error when SendNotification is off.
func New(pc processor.Config, c Config) (*notify.Policy, error) {
	if !pc.SendNotification {
		return nil, nil
	}
	notifiers, err := Notifiers(pc, c)
	if err != nil {
		return nil, err
	}
	pol := c.Policy
	if pol.Store == nil {
		pol.Store = c.SMTP.Store
	}
	if pol.BaseURL == "" {
		pol.BaseURL = c.SMTP.BaseURL
	}
	if pol.ThresholdInterval == 0 {
		pol.ThresholdInterval = c.SMTP.ThresholdInterval
	}
	if pol.DigestAfter == 0 {
		pol.DigestAfter = c.SMTP.DigestAfter
	}
	if pol.DigestWindow == 0 {
		pol.DigestWindow = c.SMTP.DigestWindow
	}
	if pol.Logger == nil {
		pol.Logger = c.SMTP.Logger
	}
	return notify.New(pol, notifiers...)
}

// ProcessorOption builds the policy (New) and returns the option that
// attaches it to the processor; with SendNotification off it returns a
// nil option, which attaches nothing, and a nil policy. It replaces
// smtp.ProcessorOption: smtp.ProcessorOption(pc, mc) is
// setup.ProcessorOption(pc, setup.Config{SMTP: mc}).
func ProcessorOption(pc processor.Config, c Config) (processor.Option, *notify.Policy, error) {
	p, err := New(pc, c)
	if err != nil || p == nil {
		return nil, nil, err
	}
	return processor.WithExporter(p), p, nil
}
