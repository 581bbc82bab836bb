package exporter

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// ErrNotFound is returned for a fingerprint the store does not know.
var ErrNotFound = errors.New("group not found")

// ErrInvalid marks a query the store rejects; the error says what is wrong.
var ErrInvalid = errors.New("invalid query")

// Status is the state of a group as a person sees it.
type Status string

// The statuses of a group. A resolved group that gets a new occurrence
// after it was resolved is open again: a regression.
const (
	StatusOpen     Status = "open"
	StatusResolved Status = "resolved"
)

// Group summarises all occurrences of one fingerprint.
type Group struct {
	Fingerprint string
	// Count counts distinct occurrences.
	Count uint64
	// FirstSeen and LastSeen bound the occurrences' times.
	FirstSeen, LastSeen time.Time
	// The fields of the latest occurrence.
	Type, Message, Service, Environment string
	Host, Method, Path, Route, TraceID  string
	// Status is open or resolved; StatusChanged is when someone last
	// resolved or reopened it (zero if never).
	Status        Status
	StatusChanged time.Time
	// Regressed tells that the group was resolved and occurred again.
	Regressed bool
	// Change is what a person last set, with who and when (Status empty
	// if nobody ever did); Status above is its Outcome.
	Change Change
	// Woke tells that the group was ignored and its condition was met.
	Woke bool
	// RegressedIn is the release that brought a regression back, if known.
	RegressedIn string
	// FirstRelease and LastRelease are the service.version of the group's
	// first and latest occurrences (empty if unknown, as for groups older
	// than the releases).
	FirstRelease, LastRelease string
	// MergedInto is the target, when the fingerprint asked for was merged
	// into another group: GetGroup then returns the target's summary.
	MergedInto string
	// Merged are the fingerprints merged into this group.
	Merged []string
}

// Sort orders a list of groups, newest or largest first.
type Sort string

// The orders ListGroups knows.
const (
	SortLastSeen  Sort = "last_seen"
	SortFirstSeen Sort = "first_seen"
	SortCount     Sort = "count"
)

// DefaultPageSize is the page size when a query gives none: the Python
// library's APP_DEFAULT_LIST_SIZE.
const DefaultPageSize = 20

// MaxPageSize bounds a page.
const MaxPageSize = 500

// GroupQuery selects and orders groups. The zero value lists the first page
// of all groups by last seen.
type GroupQuery struct {
	// Service, Environment and Type keep groups whose latest occurrence
	// has exactly these values; empty means any.
	Service, Environment, Type string
	// Status keeps groups with this status (their Outcome); empty means
	// any.
	Status Status
	// Release keeps groups that occurred in this release
	// (service.version); NewInRelease keeps those first seen in it.
	Release, NewInRelease string
	// Search keeps groups whose type, message or path contains it,
	// ignoring case.
	Search string
	// Since and Until keep groups last seen in [Since, Until); zero means
	// unbounded.
	Since, Until time.Time
	// Sort orders the groups (default SortLastSeen).
	Sort Sort
	// Page counts from 1 (default 1); PageSize defaults to
	// DefaultPageSize.
	Page, PageSize int
}

// Normalize fills in defaults and reports every problem at once, wrapped
// in ErrInvalid.
func (q GroupQuery) Normalize() (GroupQuery, error) {
	var errs []error
	if q.Sort == "" {
		q.Sort = SortLastSeen
	}
	switch q.Sort {
	case SortLastSeen, SortFirstSeen, SortCount:
	default:
		errs = append(errs, fmt.Errorf("sort %q: want last_seen, first_seen or count", q.Sort))
	}
	switch q.Status {
	case "", StatusOpen, StatusResolved, StatusIgnored:
	default:
		errs = append(errs, fmt.Errorf("status %q: want open, resolved or ignored", q.Status))
	}
	if q.Page == 0 {
		q.Page = 1
	}
	if q.Page < 1 || q.Page > 1_000_000 {
		errs = append(errs, fmt.Errorf("page %d: want 1 to 1000000", q.Page))
	}
	if q.PageSize == 0 {
		q.PageSize = DefaultPageSize
	}
	if q.PageSize < 1 || q.PageSize > MaxPageSize {
		errs = append(errs, fmt.Errorf("page size %d: want 1 to %d", q.PageSize, MaxPageSize))
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		errs = append(errs, fmt.Errorf("time range: since %s is not before until %s", q.Since.Format(time.RFC3339), q.Until.Format(time.RFC3339)))
	}
	for name, v := range map[string]string{"service": q.Service, "environment": q.Environment, "type": q.Type, "search": q.Search, "release": q.Release, "new in release": q.NewInRelease} {
		if err := checkText(name, v, 1024); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return q, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return q, nil
}

// GroupPage is one page of groups.
type GroupPage struct {
	Groups []Group
	// Page and PageSize echo the normalised query.
	Page, PageSize int
	// HasNext tells whether a later page exists.
	HasNext bool
}

// GroupState is what the e-mail policy needs to tell a new group, a
// regression and a threshold from a repeat, across restarts and app
// instances, comparing it with its records' own times.
type GroupState struct {
	// FirstSeen is the earliest occurrence the store holds; zero when the
	// store has none (a new group).
	FirstSeen time.Time
	// Count is the number of distinct occurrences the store holds.
	Count uint64
	// Status is what a person last set — StatusResolved or StatusOpen —
	// at StatusChanged; empty and zero if nobody ever did. A record later
	// than a resolve is a regression.
	Status        Status
	StatusChanged time.Time
	// Change is what a person last set (Status empty if nobody did), and
	// Since what the store holds of the group after it: the policy applies
	// Change.Outcome to Since plus its own batch.
	Change Change
	Since  Since
	// FirstRelease is the release of the earliest occurrence, if known.
	FirstRelease string
	// MergedInto is set when the fingerprint was merged into another
	// group: the state is then the target's, and the policy speaks of the
	// target.
	MergedInto string
}

// CarryOver returns the state of a group with what states holds of the
// groups its records had under the previous way of fingerprinting
// (Record.Previous): the earliest first sighting, the latest status a
// person set (and the latest Change, with its condition), the largest
// count. After an upgrade of the fingerprint this keeps an old error from
// looking new, and a resolved one that happens again a regression. It reports false when states knows
// neither the group nor any previous one.
func CarryOver(states map[string]GroupState, fingerprint string, previous []string) (GroupState, bool) {
	st, known := states[fingerprint]
	for _, old := range previous {
		o, ok := states[old]
		if !ok {
			continue
		}
		if !known || st.FirstSeen.IsZero() || (!o.FirstSeen.IsZero() && o.FirstSeen.Before(st.FirstSeen)) {
			st.FirstSeen = o.FirstSeen
		}
		if o.StatusChanged.After(st.StatusChanged) {
			st.Status, st.StatusChanged = o.Status, o.StatusChanged
		}
		if o.Change.At.After(st.Change.At) {
			st.Change = o.Change
		}
		st.Count = max(st.Count, o.Count)
		known = true
	}
	return st, known
}

// HourCount is the number of occurrences in the hour that starts at Hour.
type HourCount struct {
	Hour  time.Time
	Count uint64
}

// Store is what the browse pages and the e-mail policy read and change.
// Every method honours ctx, rejects invalid input with an error wrapping
// ErrInvalid, and returns ErrNotFound for an unknown fingerprint where it
// needs one.
type Store interface {
	ListGroups(ctx context.Context, q GroupQuery) (GroupPage, error)
	// GetGroup returns the summary and the latest occurrence in full.
	GetGroup(ctx context.Context, fingerprint string) (Group, Record, error)
	// ListOccurrences returns a page of occurrences, newest first, each
	// once even if a retried insert stored it twice.
	ListOccurrences(ctx context.Context, fingerprint string, page, pageSize int) (occurrences []Record, hasNext bool, err error)
	Resolve(ctx context.Context, fingerprint string) error
	Reopen(ctx context.Context, fingerprint string) error
	// Delete removes the group and its occurrences; a later occurrence
	// starts a new group.
	Delete(ctx context.Context, fingerprint string) error
	// HourlyCounts returns, per fingerprint, the counts of the hours of the
	// last days that had occurrences, oldest first.
	HourlyCounts(ctx context.Context, fingerprints []string, days int) (map[string][]HourCount, error)
	// GroupStates returns the state of each fingerprint the store knows;
	// unknown ones are absent.
	GroupStates(ctx context.Context, fingerprints []string) (map[string]GroupState, error)
}

// Claimer is a store that hands out keys once across processes and
// instances: of all the callers that claim a key, one holds it. A mail
// policy claims "announce group F" before it mails, so that neither a
// replay after a restart nor a second instance mails twice. Claim returns
// the keys the caller holds — those nobody else took first, and those it
// took itself before — and may block for a short settle time; an error
// means nothing is known to be held. The ClickHouse store implements it.
type Claimer interface {
	Claim(ctx context.Context, keys ...string) (held []string, err error)
}

// CheckFingerprint rejects fingerprints no processor makes: empty, over 256
// bytes, not UTF-8, or with control characters.
func CheckFingerprint(fp string) error {
	if fp == "" {
		return fmt.Errorf("%w: empty fingerprint", ErrInvalid)
	}
	if err := checkText("fingerprint", fp, 256); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

func checkText(name, v string, max int) error {
	if len(v) > max {
		return fmt.Errorf("%s is %d bytes long, more than %d", name, len(v), max)
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("%s is not valid UTF-8", name)
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%s contains a control character", name)
		}
	}
	return nil
}
