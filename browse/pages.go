package browse

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/grouping"
)

const timeLayout = "2006-01-02 15:04:05 UTC"

// maxExcerptRunes bounds the message a list row shows; the group's page
// shows it whole.
const maxExcerptRunes = 300

// excerpt returns the start of s, at most maxExcerptRunes runes, with an
// ellipsis when it was cut.
func excerpt(s string) string {
	n := 0
	for i := range s {
		if n == maxExcerptRunes {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// groupRow is one line of the list page.
type groupRow struct {
	exporter.Group
	// Title names the group in the list: the type, or for a generic
	// type the sentinel's text (listTitle).
	Title string
	// Excerpt is the start of the message: a group's message may be as long
	// as its bound, and the list shows many groups.
	Excerpt   string
	URL       string
	FirstSeen string
	LastSeen  string
	Where     string // route or path
	Sparkline string // SVG polyline points
	Peak      uint64
	// Condition is an ignored group's condition in words.
	Condition string
}

// listPage is the data of the list page.
type listPage struct {
	Title     string
	Prefix    string
	Query     exporter.GroupQuery
	Rows      []groupRow
	NewerURL  string
	OlderURL  string
	SortLinks []sortLink
	Days      int
	// Triage tells that the store keeps the workflow: the page offers
	// the release filters and the bulk form, with its one token; Back is
	// the list's query, for the bulk form to return to.
	Triage    bool
	BulkToken string
	Back      string
}

type sortLink struct {
	Label   string
	URL     string
	Current bool
}

// listGroups reads the page of groups the request's parameters ask for;
// on failure it has answered and reports false.
func (h *handler) listGroups(w http.ResponseWriter, r *http.Request) (exporter.GroupQuery, exporter.GroupPage, bool) {
	q, err := parseGroupQuery(r.URL.Query(), h.cfg.PageSize)
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, err)
		return q, exporter.GroupPage{}, false
	}
	if h.triage == nil && (q.Release != "" || q.NewInRelease != "") {
		// A store without releases would ignore the filter and list
		// every group: say so instead.
		h.failStore(w, r, errNoTriage)
		return q, exporter.GroupPage{}, false
	}
	page, err := h.store.ListGroups(r.Context(), q)
	if err != nil {
		h.failStore(w, r, err)
		return q, page, false
	}
	return q, page, true
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	q, page, ok := h.listGroups(w, r)
	if !ok {
		return
	}
	fps := make([]string, len(page.Groups))
	for i, g := range page.Groups {
		fps[i] = g.Fingerprint
	}
	counts, err := h.store.HourlyCounts(r.Context(), fps, h.cfg.Days)
	if err != nil {
		h.failStore(w, r, err)
		return
	}
	base := h.cfg.URLPrefix + "/"
	values := r.URL.Query()
	data := listPage{Title: "Errors", Prefix: h.cfg.URLPrefix, Query: q, Days: h.cfg.Days, Triage: h.triage != nil}
	if data.Triage {
		data.BulkToken = h.token(bulkTokenAction, "")
		data.Back = withParam(values, paramToken, "")
	}
	now := time.Now()
	for _, g := range page.Groups {
		row := h.row(g)
		row.Title, row.Excerpt = excerpt(row.Title), excerpt(g.Message)
		if row.Where == "" {
			row.Where = g.Path
		}
		row.Sparkline, row.Peak = sparkline(counts[g.Fingerprint], now, h.cfg.Days)
		data.Rows = append(data.Rows, row)
	}
	if q.Page > 1 {
		data.NewerURL = base + "?" + withParam(values, paramPage, pageParam(q.Page-1))
	}
	if page.HasNext {
		data.OlderURL = base + "?" + withParam(values, paramPage, strconv.Itoa(q.Page+1))
	}
	for _, s := range []struct {
		label string
		sort  exporter.Sort
	}{{"Last seen", exporter.SortLastSeen}, {"First seen", exporter.SortFirstSeen}, {"Count", exporter.SortCount}} {
		v := url.Values{}
		for k, vs := range values {
			v[k] = vs
		}
		v.Del(paramPage)
		data.SortLinks = append(data.SortLinks, sortLink{Label: s.label, Current: q.Sort == s.sort,
			URL: base + "?" + withParam(v, paramSort, string(s.sort))})
	}
	h.render(w, http.StatusOK, "list", data)
}

// row is a group as the pages show it.
func (h *handler) row(g exporter.Group) groupRow {
	row := groupRow{Group: g, URL: h.cfg.URLPrefix + "/" + url.PathEscape(g.Fingerprint),
		FirstSeen: g.FirstSeen.Format(timeLayout), LastSeen: g.LastSeen.Format(timeLayout), Where: g.Route,
		Title: listTitle(g.Type, g.Message, h.sentinels)}
	if g.Status == exporter.StatusIgnored {
		row.Condition = describeIgnore(g.Change.Ignore)
	}
	return row
}

// pageParam leaves page 1 out of URLs.
func pageParam(n int) string {
	if n <= 1 {
		return ""
	}
	return strconv.Itoa(n)
}

// sparkline turns hourly counts into the points of an SVG polyline over a
// 100×20 box: one point per six hours of the last days.
func sparkline(counts []exporter.HourCount, now time.Time, days int) (string, uint64) {
	const bucket = 6 * time.Hour
	n := days * 4
	start := now.Truncate(time.Hour).Add(-time.Duration(n)*bucket + time.Hour)
	buckets := make([]uint64, n)
	var peak uint64
	for _, c := range counts {
		i := int(c.Hour.Sub(start) / bucket)
		if i >= 0 && i < n {
			buckets[i] += c.Count
			peak = max(peak, buckets[i])
		}
	}
	var b strings.Builder
	for i, v := range buckets {
		y := 19.0
		if peak > 0 {
			y = 19 - 18*float64(v)/float64(peak)
		}
		fmt.Fprintf(&b, "%.1f,%.1f ", 100*float64(i)/float64(max(n-1, 1)), y)
	}
	return strings.TrimSpace(b.String()), peak
}

// frame is a stack frame on the detail page, or, with Folded set, a run
// of frames of the capture's machinery (the tracker, the OpenTelemetry
// SDK, the runtime's panic), shown folded.
type frame struct {
	grouping.Frame
	App    bool
	Folded []grouping.Frame
}

// stackFrames returns the frames of a stack with each run of machinery
// frames folded into one entry.
func stackFrames(stack string, app grouping.AppPackages) []frame {
	var out []frame
	for f := range grouping.AllFrames(stack) {
		if grouping.IsMachinery(f.Function) {
			if n := len(out); n > 0 && out[n-1].Folded != nil {
				out[n-1].Folded = append(out[n-1].Folded, f)
			} else {
				out = append(out, frame{Folded: []grouping.Frame{f}})
			}
			continue
		}
		out = append(out, frame{Frame: f, App: app.Contains(f.Function)})
	}
	return out
}

type detailPage struct {
	Title       string
	Prefix      string
	Group       groupRow
	Latest      exporter.Record
	LatestTime  string
	Frames      []frame
	RawStack    string
	TraceLink   string
	Occurrences []occurrenceRow
	// Tokens are the forms' tokens by action, for this group.
	Tokens map[string]string
	// Which actions the page offers: resolve (and, with Triage, in the
	// next release), reopen, ignore and merge (with Triage only); delete
	// always.
	Triage                           bool
	CanResolve, CanReopen, CanIgnore bool
	// Change says what a person last set, ChangedBy and ChangedAt who and
	// when (empty if nobody did).
	Change, ChangedBy, ChangedAt string
	Releases                     []releaseRow
	// Parts are the groups merged into this one, each with its unmerge
	// form; PartOf is set when the fingerprint asked for is such a part.
	Parts       []partRow
	PartOf      *partRow
	RateWindows []option
	// UntilMin is the earliest time the ignore form offers (now, UTC).
	UntilMin string
}

type occurrenceRow struct {
	Time, Method, Host, Path, TraceID, TraceLink string
	StatusCode                                   int
}

// releaseRow is one release on a group's page.
type releaseRow struct {
	Version, FirstSeen, LastSeen string
	Count                        uint64
}

// partRow is a group merged into another, with the token of its unmerge
// form.
type partRow struct {
	Fingerprint, URL, Token string
}

func (h *handler) detail(w http.ResponseWriter, r *http.Request) {
	asked := r.PathValue("fingerprint")
	g, latest, err := h.store.GetGroup(r.Context(), asked)
	if err != nil {
		h.failStore(w, r, err)
		return
	}
	// A merged fingerprint shows its target: the actions are the
	// target's, and the notice offers to unmerge the part.
	fp := g.Fingerprint
	if fp == "" {
		fp = asked
	}
	occ, _, err := h.store.ListOccurrences(r.Context(), fp, 1, 20)
	if err != nil {
		h.failStore(w, r, err)
		return
	}
	data := detailPage{
		Title:      g.Type,
		Prefix:     h.cfg.URLPrefix,
		Group:      h.row(g),
		Latest:     latest,
		LatestTime: latest.Time.Format(timeLayout),
		RawStack:   latest.Stacktrace,
		TraceLink:  h.traceLink(latest.TraceID.String(), latest.SpanID.String(), latest.TraceID.IsValid()),
		Tokens:     map[string]string{},
		Triage:     h.triage != nil,
		CanResolve: g.Status != exporter.StatusResolved,
		CanReopen:  g.Status == exporter.StatusResolved || (h.triage != nil && g.Status == exporter.StatusIgnored),
		CanIgnore:  h.triage != nil && g.Status != exporter.StatusIgnored,
	}
	data.Group.URL = h.cfg.URLPrefix + "/" + url.PathEscape(fp)
	data.Frames = stackFrames(latest.Stacktrace, h.app)
	for _, a := range []action{actResolve, actReopen, actIgnore, actMerge, actDelete} {
		data.Tokens[string(a)] = h.token(string(a), fp)
	}
	if c := g.Change; c.Status != "" {
		data.Change, data.ChangedBy = describeChange(c), c.By
		if !c.At.IsZero() {
			data.ChangedAt = c.At.UTC().Format(timeLayout)
		}
	}
	if h.triage != nil {
		rels, err := h.triage.Releases(r.Context(), fp)
		if err != nil {
			h.failStore(w, r, err)
			return
		}
		for _, rel := range rels {
			data.Releases = append(data.Releases, releaseRow{Version: rel.Version, Count: rel.Count,
				FirstSeen: rel.FirstSeen.Format(timeLayout), LastSeen: rel.LastSeen.Format(timeLayout)})
		}
		data.Parts = make([]partRow, 0, len(g.Merged))
		for _, p := range g.Merged {
			data.Parts = append(data.Parts, h.part(p))
		}
		if g.MergedInto != "" && asked != fp {
			p := h.part(asked)
			data.PartOf = &p
		}
		data.RateWindows = rateWindows()
		data.UntilMin = time.Now().UTC().Format("2006-01-02T15:04")
	}
	for _, o := range occ {
		data.Occurrences = append(data.Occurrences, occurrenceRow{
			Time: o.Time.Format(timeLayout), Method: o.Method, Host: o.Host, Path: o.Path, StatusCode: o.StatusCode,
			TraceID: o.TraceID.String(), TraceLink: h.traceLink(o.TraceID.String(), o.SpanID.String(), o.TraceID.IsValid()),
		})
	}
	h.render(w, http.StatusOK, "detail", data)
}

// part is a merged group with its unmerge form's token.
func (h *handler) part(fp string) partRow {
	return partRow{Fingerprint: fp, URL: h.cfg.URLPrefix + "/" + url.PathEscape(fp), Token: h.token(string(actUnmerge), fp)}
}

// traceLink fills in Config.TraceURL.
func (h *handler) traceLink(traceID, spanID string, valid bool) string {
	if h.cfg.TraceURL == "" || !valid {
		return ""
	}
	return strings.NewReplacer("{trace_id}", url.PathEscape(traceID), "{span_id}", url.PathEscape(spanID)).Replace(h.cfg.TraceURL)
}

// action handles the forms of the detail page, then redirects back: to
// the group, to the target of a merge, or to the list after a delete.
func (h *handler) action(w http.ResponseWriter, r *http.Request) {
	fp, act := r.PathValue("fingerprint"), action(r.PathValue("action"))
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, http.StatusBadRequest, fmt.Errorf("unreadable form: %w", err))
		return
	}
	if !h.validToken(string(act), fp, r.PostForm.Get(paramToken)) {
		h.fail(w, r, http.StatusForbidden, errors.New("the form's token is missing or wrong: reload the page and try again"))
		return
	}
	if !act.single() && act != actDelete {
		h.fail(w, r, http.StatusNotFound, fmt.Errorf("no action %q", act))
		return
	}
	b, err := formBody(r.PostForm)
	if err != nil {
		h.failStore(w, r, err)
		return
	}
	o, ok := h.perform(w, r, act, []string{fp}, b)
	if !ok {
		return
	}
	back := h.cfg.URLPrefix + "/" + url.PathEscape(fp)
	switch act {
	case actDelete:
		back = h.cfg.URLPrefix + "/"
	case actMerge:
		back = h.cfg.URLPrefix + "/" + url.PathEscape(o.into)
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// bulk handles the list's form: resolve, ignore or delete the selected
// groups in one store call, behind one token, then back to the list as it
// was filtered.
func (h *handler) bulk(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBulkFormBytes)
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, http.StatusBadRequest, fmt.Errorf("unreadable form: %w", err))
		return
	}
	if !h.validToken(bulkTokenAction, "", r.PostForm.Get(paramToken)) {
		h.fail(w, r, http.StatusForbidden, errors.New("the form's token is missing or wrong: reload the page and try again"))
		return
	}
	// The action's own fields come in the address of the button that was
	// pressed (formaction), since one form serves every bulk action.
	b, err := formBody(r.URL.Query())
	if err != nil {
		h.failStore(w, r, err)
		return
	}
	if _, ok := h.performBulk(w, r, r.PostForm.Get(fieldAction), r.PostForm[fieldFingerprint], b); !ok {
		return
	}
	back := h.cfg.URLPrefix + "/"
	// Only the list's own parameters, re-encoded, go into the address:
	// the form cannot redirect anywhere else.
	if v, err := url.ParseQuery(r.PostForm.Get(fieldBack)); err == nil {
		if q := withParam(v, paramToken, ""); q != "" {
			back += "?" + q
		}
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}
