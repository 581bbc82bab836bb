package notify

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/errortracker/errortracker/exporter"
)

// Defaults of Config.
const (
	DefaultThresholdInterval = time.Hour
	DefaultDigestAfter       = 10
	DefaultDigestWindow      = time.Minute
	// DefaultMaxGroups bounds the policy's memory of groups: about 250
	// bytes each (BenchmarkMemoryPerGroup), so 10,000 groups hold about
	// 2.5 MB.
	DefaultMaxGroups = 10_000
	// DefaultQueueSize bounds each notifier's queue of notifications not
	// yet delivered.
	DefaultQueueSize      = 1024
	DefaultAttemptTimeout = time.Minute
	// MaxDigestGroups bounds the groups a digest lists; the rest are
	// counted in it (Notification.Omitted).
	MaxDigestGroups = 100
)

// The spike rule: the last hour's count reaches SpikeFactor times the mean
// of the 24 hours before it, and at least SpikeMin.
const (
	SpikeFactor = 10
	SpikeMin    = 100
)

// Config configures the policy. The zero value is valid: no store (this
// process's memory only), no links, the defaults below.
type Config struct {
	// Store tells which groups are new, regressed, ignored or woke across
	// restarts and instances; when it is also an exporter.Claimer, each
	// notification is claimed there first, so that one instance sends it
	// once. It feeds the spike rule (Store.HourlyCounts). Without a store
	// the policy knows only what this process saw.
	Store exporter.Store
	// BaseURL is the absolute URL of the browse pages, such as
	// https://shop.example.com/dev/error, for links to a group; empty
	// leaves the links out.
	BaseURL string
	// ThresholdInterval spaces the "crossed 10, 100, 1,000…"
	// notifications of one group (default one hour).
	ThresholdInterval time.Duration
	// DigestAfter is how many new groups within DigestWindow are announced
	// one notification each (default 10, window one minute); the rest of
	// the window go into one digest.
	DigestAfter  int
	DigestWindow time.Duration
	// MaxGroups bounds the groups the policy remembers (default
	// DefaultMaxGroups); past it the least recently seen are forgotten,
	// and decided again from the store (and its claims) when they recur.
	MaxGroups int
	// QueueSize bounds each notifier's queue (default DefaultQueueSize);
	// past it notifications are dropped, counted and logged.
	QueueSize int
	// Retry spaces the attempts of a notification that failed (defaults:
	// 1 s doubling up to 1 min, given up after 1 h).
	Retry Retry
	// AttemptTimeout bounds one call of Notify (default one minute).
	AttemptTimeout time.Duration
	// Logger reports notifications that could not be sent (default
	// slog.Default()).
	Logger *slog.Logger
}

// Retry is the backoff of a notifier's failed notifications.
type Retry struct {
	// Initial is the first wait (default 1 s); each next one doubles, up
	// to Max (default 1 min). MaxElapsed gives up on a notification
	// (default 1 h).
	Initial, Max, MaxElapsed time.Duration
}

func (c Config) withDefaults() Config {
	if c.ThresholdInterval <= 0 {
		c.ThresholdInterval = DefaultThresholdInterval
	}
	if c.DigestAfter <= 0 {
		c.DigestAfter = DefaultDigestAfter
	}
	if c.DigestWindow <= 0 {
		c.DigestWindow = DefaultDigestWindow
	}
	if c.MaxGroups <= 0 {
		c.MaxGroups = DefaultMaxGroups
	}
	if c.QueueSize <= 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.Retry.Initial <= 0 {
		c.Retry.Initial = time.Second
	}
	if c.Retry.Max <= 0 {
		c.Retry.Max = time.Minute
	}
	if c.Retry.MaxElapsed <= 0 {
		c.Retry.MaxElapsed = time.Hour
	}
	if c.AttemptTimeout <= 0 {
		c.AttemptTimeout = DefaultAttemptTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	return c
}

func (c Config) validate() error {
	var errs []error
	if c.BaseURL != "" {
		if u, err := url.Parse(c.BaseURL); err != nil || !u.IsAbs() {
			errs = append(errs, fmt.Errorf("base URL %q is not an absolute URL", c.BaseURL))
		}
	}
	return errors.Join(errs...)
}
