package browse

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/errortracker/errortracker/exporter"
)

// apiGroup is a group in the JSON API.
type apiGroup struct {
	Fingerprint string    `json:"fingerprint"`
	Title       string    `json:"title"` // the list's name for it: the type, or a generic type's sentinel text
	Count       uint64    `json:"count"`
	FirstSeen   time.Time `json:"first_seen"`
	LastSeen    time.Time `json:"last_seen"`
	Type        string    `json:"type"`
	Message     string    `json:"message"`
	Service     string    `json:"service"`
	Environment string    `json:"environment"`
	Host        string    `json:"host"`
	Method      string    `json:"method"`
	Path        string    `json:"path"`
	Route       string    `json:"route"`
	TraceID     string    `json:"trace_id"`
	// Status is the group's outcome: open, resolved or ignored.
	Status        string     `json:"status"`
	StatusChanged *time.Time `json:"status_changed,omitempty"`
	// Regressed: resolved, and occurred again; RegressedIn is the
	// release that brought it back, when known.
	Regressed   bool   `json:"regressed"`
	RegressedIn string `json:"regressed_in"`
	// Woke: ignored, and its condition was met.
	Woke         bool   `json:"woke"`
	FirstRelease string `json:"first_release"`
	LastRelease  string `json:"last_release"`
	// Ignore is the condition of an ignored group, in the shape the ignore
	// action takes ({} is for ever).
	Ignore *apiIgnore `json:"ignore,omitempty"`
	// Change is what a person last set, by whom and when; absent if
	// nobody ever did.
	Change *apiChange `json:"change,omitempty"`
	// Merged are the fingerprints merged into this group.
	Merged []string `json:"merged"`
	// MergedInto is set when the fingerprint asked for was merged into
	// another group: it is that target, whose summary this is.
	MergedInto string `json:"merged_into,omitempty"`
	URL        string `json:"url"`
}

// apiIgnore is an ignore's condition in the API: at most one field.
type apiIgnore struct {
	Until *time.Time `json:"until,omitempty"`
	Count uint64     `json:"count,omitempty"`
	Rate  *rateBody  `json:"rate,omitempty"`
}

// apiChange is what a person last set on a group.
type apiChange struct {
	Status    string     `json:"status"`
	InRelease string     `json:"in_release,omitempty"`
	Ignore    *apiIgnore `json:"ignore,omitempty"`
	By        string     `json:"by"`
	At        time.Time  `json:"at"`
}

// apiRelease is one release of a group.
type apiRelease struct {
	Version   string    `json:"version"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	Count     uint64    `json:"count"`
}

// apiRecord is an occurrence in the JSON API.
type apiRecord struct {
	ID             string    `json:"id"`
	Fingerprint    string    `json:"fingerprint"`
	Grouping       string    `json:"grouping"`
	Time           time.Time `json:"time"`
	Type           string    `json:"type"`
	Message        string    `json:"message"`
	Stacktrace     string    `json:"stacktrace"`
	Escaped        bool      `json:"escaped"`
	Service        string    `json:"service"`
	ServiceVersion string    `json:"service_version"`
	Environment    string    `json:"environment"`
	SpanName       string    `json:"span_name"`
	TraceID        string    `json:"trace_id"`
	SpanID         string    `json:"span_id"`
	Host           string    `json:"host"`
	Method         string    `json:"method"`
	Path           string    `json:"path"`
	Route          string    `json:"route"`
	StatusCode     int       `json:"status_code"`
	Attributes     []apiKV   `json:"attributes"`
	Extras         []apiKV   `json:"extras"`
	Resource       []apiKV   `json:"resource"`
}

type apiKV struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func (h *handler) toAPIGroup(g exporter.Group) apiGroup {
	a := apiGroup{
		Fingerprint: g.Fingerprint, Count: g.Count, FirstSeen: g.FirstSeen, LastSeen: g.LastSeen,
		Type: g.Type, Message: g.Message, Service: g.Service, Environment: g.Environment,
		Host: g.Host, Method: g.Method, Path: g.Path, Route: g.Route, TraceID: g.TraceID,
		Status: string(g.Status), Regressed: g.Regressed, RegressedIn: g.RegressedIn, Woke: g.Woke,
		FirstRelease: g.FirstRelease, LastRelease: g.LastRelease, MergedInto: g.MergedInto,
		Merged: append([]string{}, g.Merged...),
		URL:    h.cfg.URLPrefix + "/" + url.PathEscape(g.Fingerprint),
		Title:  listTitle(g.Type, g.Message, h.sentinels),
	}
	if !g.StatusChanged.IsZero() {
		t := g.StatusChanged
		a.StatusChanged = &t
	}
	if c := g.Change; c.Status != "" {
		a.Change = &apiChange{Status: string(c.Status), By: c.By, At: c.At}
		if c.InNextRelease {
			a.Change.InRelease = inReleaseNext
		}
		if c.Status == exporter.StatusIgnored {
			a.Change.Ignore = toAPIIgnore(c.Ignore)
			if g.Status == exporter.StatusIgnored {
				a.Ignore = a.Change.Ignore
			}
		}
	}
	return a
}

func toAPIIgnore(i exporter.Ignore) *apiIgnore {
	a := &apiIgnore{Count: i.Count}
	if !i.Until.IsZero() {
		t := i.Until.UTC()
		a.Until = &t
	}
	if i.Rate != (exporter.Rate{}) {
		a.Rate = &rateBody{Count: i.Rate.Count, Window: windowText(i.Rate.Window)}
	}
	return a
}

func toAPIRecord(r exporter.Record) apiRecord {
	a := apiRecord{
		ID: r.ID, Fingerprint: r.Fingerprint, Grouping: r.Grouping, Time: r.Time, Type: r.Type, Message: r.Message, Stacktrace: r.Stacktrace,
		Escaped: r.Escaped, Service: r.Service, ServiceVersion: r.ServiceVersion, Environment: r.Environment,
		SpanName: r.SpanName, Host: r.Host, Method: r.Method, Path: r.Path, Route: r.Route, StatusCode: r.StatusCode,
		Attributes: toKVs(r.Attributes), Extras: toKVs(r.Extras), Resource: toKVs(r.Resource),
	}
	if r.TraceID.IsValid() {
		a.TraceID = r.TraceID.String()
	}
	if r.SpanID.IsValid() {
		a.SpanID = r.SpanID.String()
	}
	return a
}

func toKVs(kvs []attribute.KeyValue) []apiKV {
	out := make([]apiKV, len(kvs))
	for i, kv := range kvs {
		out[i] = apiKV{Key: string(kv.Key), Value: kv.Value.Emit()}
	}
	return out
}

func (h *handler) apiList(w http.ResponseWriter, r *http.Request) {
	_, page, ok := h.listGroups(w, r)
	if !ok {
		return
	}
	groups := make([]apiGroup, len(page.Groups))
	for i, g := range page.Groups {
		groups[i] = h.toAPIGroup(g)
	}
	h.writeJSON(w, http.StatusOK, map[string]any{
		"groups": groups, "page": page.Page, "page_size": page.PageSize, "has_next": page.HasNext,
	})
}

// apiGroup answers with a group, its latest occurrence and, from a store
// that keeps them, its releases. A merged fingerprint answers with its
// target, whose merged_into says so.
func (h *handler) apiGroup(w http.ResponseWriter, r *http.Request) {
	g, latest, err := h.store.GetGroup(r.Context(), r.PathValue("fingerprint"))
	if err != nil {
		h.failStore(w, r, err)
		return
	}
	body := map[string]any{"group": h.toAPIGroup(g), "latest": toAPIRecord(latest)}
	if h.triage != nil {
		rels, err := h.triage.Releases(r.Context(), g.Fingerprint)
		if err != nil {
			h.failStore(w, r, err)
			return
		}
		out := make([]apiRelease, len(rels))
		for i, rel := range rels {
			out[i] = apiRelease{Version: rel.Version, FirstSeen: rel.FirstSeen, LastSeen: rel.LastSeen, Count: rel.Count}
		}
		body["releases"] = out
	}
	h.writeJSON(w, http.StatusOK, body)
}

// cursorStore is a store that pages occurrences by cursor (keyset), which
// costs the same on every page however large the group.
type cursorStore interface {
	OccurrencesBefore(ctx context.Context, fingerprint, cursor string, pageSize int) ([]exporter.Record, string, error)
}

func (h *handler) apiOccurrences(w http.ResponseWriter, r *http.Request) {
	values := r.URL.Query()
	page, err := parsePage(values)
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, err)
		return
	}
	if cs, ok := h.store.(cursorStore); ok && (values.Has(paramCursor) || page == 1) {
		recs, next, err := cs.OccurrencesBefore(r.Context(), r.PathValue("fingerprint"), values.Get(paramCursor), h.cfg.PageSize)
		if err != nil {
			h.failStore(w, r, err)
			return
		}
		body := map[string]any{"occurrences": toAPIRecords(recs), "has_next": next != "", "next": next}
		if !values.Has(paramCursor) {
			body["page"] = 1
		}
		h.writeJSON(w, http.StatusOK, body)
		return
	}
	recs, hasNext, err := h.store.ListOccurrences(r.Context(), r.PathValue("fingerprint"), page, h.cfg.PageSize)
	if err != nil {
		h.failStore(w, r, err)
		return
	}
	h.writeJSON(w, http.StatusOK, map[string]any{"occurrences": toAPIRecords(recs), "page": page, "has_next": hasNext})
}

func toAPIRecords(recs []exporter.Record) []apiRecord {
	out := make([]apiRecord, len(recs))
	for i, rec := range recs {
		out[i] = toAPIRecord(rec)
	}
	return out
}

// apiAction changes one group (resolve, reopen, ignore, merge, unmerge)
// and answers with it as GET does.
func (h *handler) apiAction(w http.ResponseWriter, r *http.Request) {
	act := action(r.PathValue("action"))
	if !act.single() {
		h.fail(w, r, http.StatusNotFound, fmt.Errorf("no action %q: want resolve, reopen, ignore, merge or unmerge", act))
		return
	}
	var b actionBody
	if err := readJSON(w, r, &b); err != nil {
		h.failStore(w, r, err)
		return
	}
	if _, ok := h.perform(w, r, act, []string{r.PathValue("fingerprint")}, b); ok {
		h.apiGroup(w, r)
	}
}

func (h *handler) apiDelete(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.perform(w, r, actDelete, []string{r.PathValue("fingerprint")}, actionBody{}); ok {
		w.WriteHeader(http.StatusNoContent)
	}
}

// apiBulk resolves, ignores or deletes several groups in one store call.
func (h *handler) apiBulk(w http.ResponseWriter, r *http.Request) {
	var b bulkBody
	if err := readJSON(w, r, &b); err != nil {
		h.failStore(w, r, err)
		return
	}
	if fps, ok := h.performBulk(w, r, b.Action, b.Fingerprints, b.actionBody); ok {
		h.writeJSON(w, http.StatusOK, map[string]any{"action": b.Action, "fingerprints": fps})
	}
}
