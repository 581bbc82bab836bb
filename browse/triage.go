package browse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/errortracker/errortracker/exporter"
)

// errNoTriage answers the actions a store without exporter.Triage cannot
// take (501).
var errNoTriage = errors.New("this error store does not keep the triage workflow (exporter.Triage): " +
	"resolve in the next release, ignore, merge, unmerge, release filters and actions on several groups are not available")

// action names a state change, as the last segment of its URL (pages and
// API) and the "action" of a bulk request.
type action string

// The actions on groups.
const (
	actResolve action = "resolve"
	actReopen  action = "reopen"
	actIgnore  action = "ignore"
	actMerge   action = "merge"
	actUnmerge action = "unmerge"
	actDelete  action = "delete"
)

// single reports an API action on one group (delete is a DELETE there).
func (a action) single() bool {
	switch a {
	case actResolve, actReopen, actIgnore, actMerge, actUnmerge:
		return true
	}
	return false
}

// bulk reports an action on several groups at once.
func (a action) bulk() bool {
	switch a {
	case actResolve, actIgnore, actDelete:
		return true
	}
	return false
}

// Form fields of the action forms; the JSON API's fields have the same
// names except for the rate, which is an object there.
const (
	fieldInRelease   = "in_release"
	fieldUntil       = "until"
	fieldCount       = "count"
	fieldRateCount   = "rate_count"
	fieldRateWindow  = "rate_window"
	fieldInto        = "into"
	fieldAction      = "action"
	fieldFingerprint = "fp"
	fieldBack        = "back"
)

// inReleaseNext is the one value of in_release: resolve in the next
// release.
const inReleaseNext = "next"

// Bounds of request bodies: an action's JSON, and a bulk request with
// MaxPageSize fingerprints of the longest kind.
const (
	maxJSONBytes     = 256 << 10
	maxBulkFormBytes = 256 << 10
)

// bulkTokenAction is what the one token of the list's bulk form covers:
// the bulk action, whatever groups are selected and whichever of resolve,
// ignore or delete is chosen (one form, one token). No group's own token
// has it, since "bulk" is no action on a group.
const bulkTokenAction = "bulk"

// actionBody is the JSON body of an action on a group, and what an action
// form's fields become, so that the pages and the API take the same
// operations. A nil field was not given.
type actionBody struct {
	InRelease *string   `json:"in_release"`
	Until     *string   `json:"until"`
	Count     *uint64   `json:"count"`
	Rate      *rateBody `json:"rate"`
	Into      *string   `json:"into"`
}

// rateBody is an ignore's rate condition in the API, in and out: the
// window is Go duration text ("1h", "30m").
type rateBody struct {
	Count  uint64 `json:"count"`
	Window string `json:"window"`
}

// bulkBody is the JSON body of POST {prefix}/api/exceptions/bulk.
type bulkBody struct {
	Action       string   `json:"action"`
	Fingerprints []string `json:"fingerprints"`
	actionBody
}

// op is one checked operation on groups.
type op struct {
	action action
	// change is the state of resolve, reopen and ignore (By is set when
	// it is applied).
	change exporter.Change
	// into is the target of a merge.
	into string
}

// invalid wraps a client's mistake for a 400.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", exporter.ErrInvalid, fmt.Sprintf(format, args...))
}

// parseOp checks that b holds the fields of act and nothing else, and
// turns them into an op. Every problem is reported at once.
func parseOp(act action, b actionBody, now time.Time) (op, error) {
	o := op{action: act}
	var errs []error
	notFor := func(name string, given bool) {
		if given {
			errs = append(errs, fmt.Errorf("%s is not a field of %s", name, act))
		}
	}
	if act != actResolve {
		notFor(fieldInRelease, b.InRelease != nil)
	}
	if act != actIgnore {
		notFor(fieldUntil, b.Until != nil)
		notFor(fieldCount, b.Count != nil)
		notFor("rate", b.Rate != nil)
	}
	if act != actMerge {
		notFor(fieldInto, b.Into != nil)
	}
	switch act {
	case actResolve:
		o.change.Status = exporter.StatusResolved
		if b.InRelease != nil {
			switch *b.InRelease {
			case inReleaseNext:
				o.change.InNextRelease = true
			case "":
			default:
				errs = append(errs, fmt.Errorf("in_release %q: want %q (or leave it out to resolve now)", *b.InRelease, inReleaseNext))
			}
		}
	case actReopen:
		o.change.Status = exporter.StatusOpen
	case actIgnore:
		o.change.Status = exporter.StatusIgnored
		ign, err := parseIgnore(b, now)
		if err != nil {
			errs = append(errs, err)
		}
		o.change.Ignore = ign
	case actMerge:
		if b.Into == nil || *b.Into == "" {
			errs = append(errs, errors.New("into: the fingerprint of the group to merge into is missing"))
		} else if err := exporter.CheckFingerprint(*b.Into); err != nil {
			errs = append(errs, fmt.Errorf("into: %w", err))
		} else {
			o.into = *b.Into
		}
	case actUnmerge, actDelete:
	default:
		errs = append(errs, fmt.Errorf("no action %q", act))
	}
	if err := errors.Join(errs...); err != nil {
		return o, fmt.Errorf("%w: %w", exporter.ErrInvalid, err)
	}
	return o, nil
}

// parseIgnore reads an ignore's condition: none (forever), until, count or
// rate — one at a time.
func parseIgnore(b actionBody, now time.Time) (exporter.Ignore, error) {
	var ign exporter.Ignore
	set := 0
	for _, given := range []bool{b.Until != nil, b.Count != nil, b.Rate != nil} {
		if given {
			set++
		}
	}
	if set > 1 {
		return ign, errors.New("ignore: one condition at a time (until, count or rate)")
	}
	switch {
	case b.Until != nil:
		t, err := time.Parse(time.RFC3339, *b.Until)
		if err != nil {
			return ign, fmt.Errorf("until %q: want an RFC 3339 time such as 2026-12-01T09:00:00Z", *b.Until)
		}
		if !t.After(now) {
			return ign, fmt.Errorf("until %s: that time has passed", t.UTC().Format(time.RFC3339))
		}
		ign.Until = t.UTC()
	case b.Count != nil:
		if *b.Count == 0 {
			return ign, errors.New("count: want at least 1 more occurrence")
		}
		ign.Count = *b.Count
	case b.Rate != nil:
		if b.Rate.Count == 0 {
			return ign, errors.New("rate count: want at least 1")
		}
		d, err := time.ParseDuration(b.Rate.Window)
		if err != nil {
			return ign, fmt.Errorf("rate window %q: want a duration such as 30m, 1h or 24h", b.Rate.Window)
		}
		ign.Rate = exporter.Rate{Count: b.Rate.Count, Window: d}
	}
	if err := ign.Validate(); err != nil {
		// Validate wraps ErrInvalid already, and parseOp wraps once more:
		// say it once.
		return ign, errors.New(strings.TrimPrefix(err.Error(), exporter.ErrInvalid.Error()+": "))
	}
	return ign, nil
}

// checkFingerprints returns the fingerprints of a bulk action once each,
// in their order, or why they are not acceptable.
func checkFingerprints(fps []string) ([]string, error) {
	if len(fps) == 0 {
		return nil, invalid("no groups selected: select at least one")
	}
	var out []string
	seen := make(map[string]bool, len(fps))
	for _, fp := range fps {
		if err := exporter.CheckFingerprint(fp); err != nil {
			return nil, err
		}
		if !seen[fp] {
			seen[fp] = true
			out = append(out, fp)
		}
	}
	if len(out) > exporter.MaxPageSize {
		return nil, invalid("%d groups selected: at most %d at once", len(out), exporter.MaxPageSize)
	}
	return out, nil
}

// apply carries out o on the groups, as by. A store without
// exporter.Triage takes the actions it always took on one group.
func (h *handler) apply(ctx context.Context, by string, fps []string, o op) error {
	if h.triage == nil {
		if len(fps) == 1 {
			switch {
			case o.action == actResolve && !o.change.InNextRelease:
				return h.store.Resolve(ctx, fps[0])
			case o.action == actReopen:
				return h.store.Reopen(ctx, fps[0])
			case o.action == actDelete:
				return h.store.Delete(ctx, fps[0])
			}
		}
		return errNoTriage
	}
	switch o.action {
	case actResolve, actReopen, actIgnore:
		c := o.change
		c.By = by
		return h.triage.SetState(ctx, fps, c)
	case actDelete:
		return h.triage.DeleteGroups(ctx, fps)
	case actMerge:
		if slices.Contains(fps, o.into) {
			return invalid("a group cannot be merged into itself")
		}
		return h.triage.Merge(ctx, o.into, fps, by)
	case actUnmerge:
		if len(fps) != 1 {
			return invalid("unmerge takes one group at a time")
		}
		return h.triage.Unmerge(ctx, fps[0], by)
	}
	return invalid("no action %q", o.action)
}

// perform reads b as the fields of act and applies it to the groups; on
// failure it has answered and reports false. The pages and the API both
// act through it.
func (h *handler) perform(w http.ResponseWriter, r *http.Request, act action, fps []string, b actionBody) (op, bool) {
	o, err := parseOp(act, b, time.Now())
	if err == nil {
		err = h.apply(r.Context(), h.cfg.actor(r), fps, o)
	}
	if err != nil {
		h.failStore(w, r, err)
		return o, false
	}
	return o, true
}

// performBulk checks a bulk action and its groups, then performs it; it
// returns the groups, each once.
func (h *handler) performBulk(w http.ResponseWriter, r *http.Request, act string, fps []string, b actionBody) ([]string, bool) {
	if !action(act).bulk() {
		h.fail(w, r, http.StatusBadRequest, fmt.Errorf("action %q: want resolve, ignore or delete", act))
		return nil, false
	}
	fps, err := checkFingerprints(fps)
	if err != nil {
		h.failStore(w, r, err)
		return nil, false
	}
	_, ok := h.perform(w, r, action(act), fps, b)
	return fps, ok
}

// readJSON decodes a request's JSON body into v, refusing unknown fields
// and trailing data. An empty body leaves v as it is.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxJSONBytes)
	b, err := io.ReadAll(r.Body)
	if err != nil {
		if errors.As(err, new(*http.MaxBytesError)) {
			return fmt.Errorf("the body is over %d bytes: %w", maxJSONBytes, err)
		}
		return invalid("reading the body: %v", err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalid("body: %v", strings.TrimPrefix(err.Error(), "json: "))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return invalid("body: more than one JSON value")
	}
	return nil
}

// formBody turns an action form's fields into the API's body. Fields the
// form does not have stay nil; one it has but left empty is an error of
// its own when it is a number.
func formBody(f url.Values) (actionBody, error) {
	var b actionBody
	str := func(key string) *string {
		if !f.Has(key) {
			return nil
		}
		v := strings.TrimSpace(f.Get(key))
		return &v
	}
	num := func(key, what string) (uint64, error) {
		s := strings.TrimSpace(f.Get(key))
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, invalid("%s %q: want a whole number from 1", what, s)
		}
		return n, nil
	}
	b.InRelease, b.Into = str(fieldInRelease), str(fieldInto)
	if until := str(fieldUntil); until != nil {
		// What an <input type="datetime-local"> sends, with or without
		// seconds; the pages take it as UTC, the time they show.
		for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05"} {
			if t, err := time.Parse(layout, *until); err == nil {
				s := t.UTC().Format(time.RFC3339)
				until = &s
				break
			}
		}
		b.Until = until
	}
	if f.Has(fieldCount) {
		n, err := num(fieldCount, "count")
		if err != nil {
			return b, err
		}
		b.Count = &n
	}
	if f.Has(fieldRateCount) || f.Has(fieldRateWindow) {
		n, err := num(fieldRateCount, "rate count")
		if err != nil {
			return b, err
		}
		b.Rate = &rateBody{Count: n, Window: strings.TrimSpace(f.Get(fieldRateWindow))}
	}
	return b, nil
}

// windowText writes a rate window as short Go duration text: 1h, not
// 1h0m0s. time.ParseDuration reads it back.
func windowText(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// describeIgnore says an ignore's condition in words, for the pages.
func describeIgnore(i exporter.Ignore) string {
	switch {
	case !i.Until.IsZero():
		return "until " + i.Until.UTC().Format(timeLayout)
	case i.Count == 1:
		return "until 1 more occurrence"
	case i.Count > 1:
		return fmt.Sprintf("until %d more occurrences", i.Count)
	case i.Rate.Count > 0:
		return fmt.Sprintf("until %d occurrences within %s", i.Rate.Count, windowText(i.Rate.Window))
	}
	return "forever"
}

// describeChange says what a person last set, for the pages: "resolved in
// the next release", "ignored until 3 more occurrences", "reopened".
func describeChange(c exporter.Change) string {
	switch c.Status {
	case exporter.StatusResolved:
		if c.InNextRelease {
			return "resolved in the next release"
		}
		return "resolved"
	case exporter.StatusIgnored:
		return "ignored " + describeIgnore(c.Ignore)
	case exporter.StatusOpen:
		return "reopened"
	}
	return ""
}

// option is one choice of a <select>.
type option struct{ Value, Label string }

// rateWindows are the windows the ignore form offers; the API takes any.
func rateWindows() []option {
	return []option{{"1m", "minute"}, {"10m", "10 minutes"}, {"1h", "hour"}, {"6h", "6 hours"}, {"24h", "day"}, {"168h", "week"}}
}
