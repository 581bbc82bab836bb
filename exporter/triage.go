package exporter

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// StatusIgnored is the status of a group a person muted: it sends nothing
// until its Ignore condition is met, and then it is open again ("woke").
const StatusIgnored Status = "ignored"

// ActorAPI is who made a change when nobody is known: a JSON API call
// without a user, or a caller of the store's methods.
const ActorAPI = "api"

// Ignore is the condition that ends an ignore. The zero value ignores for
// ever; otherwise exactly one of the three conditions is set.
type Ignore struct {
	// Until wakes the group at its first occurrence after this time.
	Until time.Time `json:"until,omitzero"`
	// Count wakes the group at its Count-th occurrence after the ignore.
	Count uint64 `json:"count,omitempty"`
	// Rate wakes the group when Rate.Count occurrences fall within
	// Rate.Window of each other, after the ignore.
	Rate Rate `json:"rate,omitzero"`
}

// Rate is a count of occurrences within a sliding window.
type Rate struct {
	Count  uint64        `json:"count"`
	Window time.Duration `json:"window"`
}

// MaxRateWindow bounds Rate.Window.
const MaxRateWindow = 7 * 24 * time.Hour

// Forever reports whether no condition is set.
func (i Ignore) Forever() bool { return i == Ignore{} }

// Validate reports a condition that is not exactly one of the three, or
// out of bounds, wrapped in ErrInvalid.
func (i Ignore) Validate() error {
	set := 0
	var errs []error
	if !i.Until.IsZero() {
		set++
	}
	if i.Count > 0 {
		set++
	}
	if i.Rate != (Rate{}) {
		set++
		if i.Rate.Count == 0 {
			errs = append(errs, errors.New("rate count: want at least 1"))
		}
		if i.Rate.Window <= 0 || i.Rate.Window > MaxRateWindow {
			errs = append(errs, fmt.Errorf("rate window %s: want more than 0 and at most %s", i.Rate.Window, MaxRateWindow))
		}
	}
	if set > 1 {
		errs = append(errs, errors.New("ignore: one condition at a time (until, count or rate)"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

// Change is a state a person sets on groups: open, resolved (now or in the
// next release) or ignored (with its condition), by whom and when.
type Change struct {
	Status Status `json:"status"`
	// InNextRelease, for StatusResolved: occurrences from releases the
	// group had already seen at At never reopen it; the first occurrence
	// from a release first seen after At does (a regression).
	InNextRelease bool `json:"in_next_release,omitempty"`
	// Ignore is the condition of StatusIgnored.
	Ignore Ignore `json:"ignore,omitzero"`
	// By is who made the change: a user name, or ActorAPI.
	By string `json:"by"`
	// At is when; the store sets it to now when zero.
	At time.Time `json:"at"`
}

// Validate reports a change the store cannot take, wrapped in ErrInvalid.
func (c Change) Validate() error {
	var errs []error
	switch c.Status {
	case StatusOpen, StatusResolved, StatusIgnored:
	default:
		errs = append(errs, fmt.Errorf("status %q: want open, resolved or ignored", c.Status))
	}
	if c.InNextRelease && c.Status != StatusResolved {
		errs = append(errs, errors.New("in next release: only for resolved"))
	}
	if c.Ignore != (Ignore{}) && c.Status != StatusIgnored {
		errs = append(errs, errors.New("ignore condition: only for ignored"))
	}
	if err := checkActor(c.By); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return c.Ignore.Validate()
}

// CheckActor rejects a name no change can record as its author (Change.By,
// or the by of Merge and Unmerge): over 256 bytes, not UTF-8, or with
// control characters. Empty is allowed: the store records ActorAPI.
func CheckActor(by string) error {
	if err := checkActor(by); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

func checkActor(by string) error { return checkText("actor", by, 256) }

// Since is what happened to a group after its last Change: the facts the
// rules in Outcome read. The store computes it from what it holds; the
// notification policy adds the records of its batch.
type Since struct {
	// Count is the number of occurrences after the change.
	Count uint64
	// Last is the time of the latest of them (zero if none).
	Last time.Time
	// NewRelease is the first release first seen after the change, if
	// any.
	NewRelease string
	// RateReached tells that the change's Ignore.Rate was met after it.
	RateReached bool
}

// Outcome is a group's status once the rules are applied to what a person
// set and what happened since.
type Outcome struct {
	// Status is what the group is now: open, resolved or ignored.
	Status Status
	// Regressed: resolved, and occurred again (a release first seen after
	// the resolve, for a resolve in the next release).
	Regressed bool
	// RegressedIn is the release that brought a regression back, when the
	// resolve was in the next release or the occurrence carried one.
	RegressedIn string
	// Woke: ignored, and its condition was met.
	Woke bool
}

// Outcome applies the rules: a resolve holds until an occurrence after it
// (for a resolve in the next release, until a new release); an ignore
// holds until its condition is met. The store's pages and the notification
// policy both decide through it, so they never disagree.
func (c Change) Outcome(s Since) Outcome {
	switch c.Status {
	case StatusResolved:
		if c.InNextRelease {
			if s.NewRelease != "" {
				return Outcome{Status: StatusOpen, Regressed: true, RegressedIn: s.NewRelease}
			}
			return Outcome{Status: StatusResolved}
		}
		if s.Count > 0 {
			return Outcome{Status: StatusOpen, Regressed: true, RegressedIn: s.NewRelease}
		}
		return Outcome{Status: StatusResolved}
	case StatusIgnored:
		i := c.Ignore
		woke := (!i.Until.IsZero() && s.Last.After(i.Until)) ||
			(i.Count > 0 && s.Count >= i.Count) ||
			(i.Rate.Count > 0 && s.RateReached)
		if woke {
			return Outcome{Status: StatusOpen, Woke: true}
		}
		return Outcome{Status: StatusIgnored}
	}
	return Outcome{Status: StatusOpen}
}

// Release is one release (service.version) a group occurred in.
type Release struct {
	Version             string
	FirstSeen, LastSeen time.Time
	Count               uint64
}

// Triage is a store that keeps the workflow of a team: states with who set
// them, ignore conditions, releases, merges and actions on many groups at
// once. The ClickHouse store implements it; the browse pages offer what the
// store implements. Every method takes many fingerprints in one call and
// writes them in one statement.
type Triage interface {
	Store
	// SetState records a change on every group given, all or none: an
	// unknown fingerprint is ErrNotFound and nothing is written.
	SetState(ctx context.Context, fingerprints []string, c Change) error
	// DeleteGroups deletes the groups, and the parts merged into them, in
	// one mutation.
	DeleteGroups(ctx context.Context, fingerprints []string) error
	// Merge merges the parts into the target: from now on, across
	// restarts and instances, their occurrences (past and future) count
	// in the target, and the list shows the target only.
	Merge(ctx context.Context, target string, parts []string, by string) error
	// Unmerge takes a part out of its target again, with its own
	// occurrences.
	Unmerge(ctx context.Context, part string, by string) error
	// Releases lists the releases of a group (and its parts), newest
	// first seen first.
	Releases(ctx context.Context, fingerprint string) ([]Release, error)
}
