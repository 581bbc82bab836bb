package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"time"

	"github.com/errortracker/errortracker/exporter"
)

// Notifier sends notifications somewhere: a mailbox (exporter/smtp), a
// chat or an incident tool (notify/webhook), or anything a user writes —
// the Python library's notifier object.
//
// Notify is called by the policy from one goroutine per notifier, never on
// the goroutine that ended a span and never concurrently with itself. It
// may block until ctx is done. An error makes the policy retry the same
// notification with backoff (same ID), unless it wraps
// exporter.ErrPermanent; a notifier that is down delays no other notifier.
// n and what it holds belong to the callee only during the call.
//
// A notifier that also has a Shutdown(ctx) error method is shut down by
// the policy's Shutdown, after its last Notify.
type Notifier interface {
	Notify(ctx context.Context, n Notification) error
}

// NotifierFunc adapts a function to a Notifier.
type NotifierFunc func(ctx context.Context, n Notification) error

// Notify calls f.
func (f NotifierFunc) Notify(ctx context.Context, n Notification) error { return f(ctx, n) }

// Event is why a notification is sent.
type Event string

// The events of the policy.
const (
	// EventNew: a group occurred for the first time.
	EventNew Event = "new"
	// EventRegression: a resolved group occurred again (for a resolve in
	// the next release, in a release first seen after the resolve).
	EventRegression Event = "regression"
	// EventWoke: an ignored group met its condition and is open again.
	EventWoke Event = "woke"
	// EventThreshold: a group crossed 10, 100, 1,000… occurrences.
	EventThreshold Event = "threshold"
	// EventSpike: a group's last hour reached ten times its hourly
	// baseline, and at least SpikeMin.
	EventSpike Event = "spike"
	// EventDigest: more new groups than Config.DigestAfter within
	// Config.DigestWindow, announced together.
	EventDigest Event = "digest"
)

// Notification is one message of the policy, the same for every notifier.
type Notification struct {
	// Event says why.
	Event Event
	// ID is stable: the same on every retry and on every instance that
	// decides the same notification, so a receiver can drop copies.
	ID string
	// Time is when the policy decided it.
	Time time.Time
	// Groups holds the group it is about; a digest holds several.
	Groups []Group
	// Omitted counts the new groups of a digest past MaxDigestGroups,
	// which it does not list.
	Omitted int
}

// Group is what a notification says of a group. Everything in it comes
// from records the processor has already masked.
type Group struct {
	// Fingerprint identifies the group; for a merged fingerprint, the
	// target's.
	Fingerprint string
	// Record is the group's latest occurrence in the batch, masked.
	Record exporter.Record
	// Count is the number of occurrences known (the store's, or this
	// process's when larger).
	Count uint64
	// FirstSeen and LastSeen bound the occurrences known.
	FirstSeen, LastSeen time.Time
	// FirstRelease is the release the group was first seen in (the
	// store's, or the service.version of its first record here); empty if
	// unknown.
	FirstRelease string
	// RegressedIn is, for EventRegression, the release that brought it
	// back (a new release, or the record's service.version).
	RegressedIn string
	// Threshold is, for EventThreshold, the count crossed.
	Threshold uint64
	// LastHour and Baseline are, for EventSpike, the count of the last
	// hour and the mean count of the 24 hours before it.
	LastHour uint64
	Baseline float64
	// Ignore is, for EventWoke, the condition that was met.
	Ignore exporter.Ignore
	// Link is the group's page, when the policy knows the pages' URL.
	Link string
}

// Group returns the first group: the only one, except in a digest.
func (n Notification) Group() Group {
	if len(n.Groups) == 0 {
		return Group{}
	}
	return n.Groups[0]
}

// eventID derives a notification's ID from its claim key: stable, and of
// a fixed shape whatever the fingerprint holds.
func eventID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:16])
}

// link is the group's page under baseURL, or empty.
func link(baseURL, fp string) string {
	if baseURL == "" {
		return ""
	}
	return baseURL + "/" + url.PathEscape(fp)
}
