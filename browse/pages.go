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
	page, err := h.store.ListGroups(r.Context(), q)
	if err != nil {
		h.failStore(w, r, err)
		return q, page, false
	}
	return q, page, true
}

// changeState applies a state action to a group; ok is false for an
// action that does not exist.
func (h *handler) changeState(r *http.Request, action, fingerprint string) (ok bool, err error) {
	switch action {
	case "resolve":
		return true, h.store.Resolve(r.Context(), fingerprint)
	case "reopen":
		return true, h.store.Reopen(r.Context(), fingerprint)
	}
	return false, nil
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
	data := listPage{Title: "Errors", Prefix: h.cfg.URLPrefix, Query: q, Days: h.cfg.Days}
	now := time.Now()
	for _, g := range page.Groups {
		row := groupRow{Group: g, URL: base + url.PathEscape(g.Fingerprint),
			FirstSeen: g.FirstSeen.Format(timeLayout), LastSeen: g.LastSeen.Format(timeLayout), Where: g.Route,
			Title: excerpt(listTitle(g.Type, g.Message, h.sentinels)), Excerpt: excerpt(g.Message)}
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
	Tokens      map[string]string
	Actions     []string
}

type occurrenceRow struct {
	Time, Method, Host, Path, TraceID, TraceLink string
	StatusCode                                   int
}

func (h *handler) detail(w http.ResponseWriter, r *http.Request) {
	fp := r.PathValue("fingerprint")
	g, latest, err := h.store.GetGroup(r.Context(), fp)
	if err != nil {
		h.failStore(w, r, err)
		return
	}
	occ, _, err := h.store.ListOccurrences(r.Context(), fp, 1, 20)
	if err != nil {
		h.failStore(w, r, err)
		return
	}
	data := detailPage{
		Title:  g.Type,
		Prefix: h.cfg.URLPrefix,
		Group: groupRow{Group: g, URL: h.cfg.URLPrefix + "/" + url.PathEscape(fp),
			FirstSeen: g.FirstSeen.Format(timeLayout), LastSeen: g.LastSeen.Format(timeLayout)},
		Latest:     latest,
		LatestTime: latest.Time.Format(timeLayout),
		RawStack:   latest.Stacktrace,
		TraceLink:  h.traceLink(latest.TraceID.String(), latest.SpanID.String(), latest.TraceID.IsValid()),
		Tokens:     map[string]string{},
	}
	data.Frames = stackFrames(latest.Stacktrace, h.app)
	if g.Status == exporter.StatusResolved {
		data.Actions = []string{"reopen", "delete"}
	} else {
		data.Actions = []string{"resolve", "delete"}
	}
	for _, a := range data.Actions {
		data.Tokens[a] = h.token(a, fp)
	}
	for _, o := range occ {
		data.Occurrences = append(data.Occurrences, occurrenceRow{
			Time: o.Time.Format(timeLayout), Method: o.Method, Host: o.Host, Path: o.Path, StatusCode: o.StatusCode,
			TraceID: o.TraceID.String(), TraceLink: h.traceLink(o.TraceID.String(), o.SpanID.String(), o.TraceID.IsValid()),
		})
	}
	h.render(w, http.StatusOK, "detail", data)
}

// traceLink fills in Config.TraceURL.
func (h *handler) traceLink(traceID, spanID string, valid bool) string {
	if h.cfg.TraceURL == "" || !valid {
		return ""
	}
	return strings.NewReplacer("{trace_id}", url.PathEscape(traceID), "{span_id}", url.PathEscape(spanID)).Replace(h.cfg.TraceURL)
}

// action handles the forms of the detail page, then redirects back.
func (h *handler) action(w http.ResponseWriter, r *http.Request) {
	fp, act := r.PathValue("fingerprint"), r.PathValue("action")
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, http.StatusBadRequest, fmt.Errorf("unreadable form: %w", err))
		return
	}
	if !h.validToken(act, fp, r.PostForm.Get(paramToken)) {
		h.fail(w, r, http.StatusForbidden, errors.New("the form's token is missing or wrong: reload the page and try again"))
		return
	}
	back := h.cfg.URLPrefix + "/" + url.PathEscape(fp)
	known, err := h.changeState(r, act, fp)
	if !known && act == "delete" {
		known, err = true, h.store.Delete(r.Context(), fp)
		back = h.cfg.URLPrefix + "/"
	}
	if !known {
		h.fail(w, r, http.StatusNotFound, fmt.Errorf("no action %q", act))
		return
	}
	if err != nil {
		h.failStore(w, r, err)
		return
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}
