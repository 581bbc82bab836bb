package smtp

import (
	"context"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/notify"
)

// Exporter mails the team about errors that matter: package notify's
// policy with this package's Notifier as its one transport, configured
// from one Config as before the policy moved. Export only queues the mails
// (the policy's queue for the transport retries them with backoff), so a
// mail server that is down no longer makes Export fail; an error means
// the store could not be read or could not claim.
//
// Deprecated: build the policy with notify.New(notify.Config{…},
// smtp.NewNotifier(…), …), or from the APP_ERROR_* settings with
// notify/setup, which add the other transports (webhook, your own). This
// type keeps working.
type Exporter struct {
	policy *notify.Policy
}

var _ exporter.Exporter = (*Exporter)(nil)

// New checks the configuration and starts the policy.
//
// Deprecated: see Exporter.
func New(cfg Config) (*Exporter, error) {
	n, err := NewNotifier(cfg)
	if err != nil {
		return nil, err
	}
	cfg = n.cfg
	p, err := notify.New(notify.Config{
		Store: cfg.Store, BaseURL: cfg.BaseURL, ThresholdInterval: cfg.ThresholdInterval,
		DigestAfter: cfg.DigestAfter, DigestWindow: cfg.DigestWindow, Logger: cfg.Logger,
		AttemptTimeout: cfg.SendTimeout,
	}, n)
	if err != nil {
		return nil, err
	}
	return &Exporter{policy: p}, nil
}

// Export applies the policy to a batch and queues the mails it calls for.
func (e *Exporter) Export(ctx context.Context, records []exporter.Record) error {
	return e.policy.Export(ctx, records)
}

// Shutdown sends a waiting digest and what is queued, within ctx.
func (e *Exporter) Shutdown(ctx context.Context) error { return e.policy.Shutdown(ctx) }

// Policy returns the policy inside, for its Stats.
func (e *Exporter) Policy() *notify.Policy { return e.policy }
