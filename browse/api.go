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
	Fingerprint   string     `json:"fingerprint"`
	Title         string     `json:"title"` // the list's name for it: the type, or a generic type's sentinel text
	Count         uint64     `json:"count"`
	FirstSeen     time.Time  `json:"first_seen"`
	LastSeen      time.Time  `json:"last_seen"`
	Type          string     `json:"type"`
	Message       string     `json:"message"`
	Service       string     `json:"service"`
	Environment   string     `json:"environment"`
	Host          string     `json:"host"`
	Method        string     `json:"method"`
	Path          string     `json:"path"`
	Route         string     `json:"route"`
	TraceID       string     `json:"trace_id"`
	Status        string     `json:"status"`
	StatusChanged *time.Time `json:"status_changed,omitempty"`
	Regressed     bool       `json:"regressed"`
	URL           string     `json:"url"`
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
		Status: string(g.Status), Regressed: g.Regressed,
		URL:   h.cfg.URLPrefix + "/" + url.PathEscape(g.Fingerprint),
		Title: listTitle(g.Type, g.Message, h.sentinels),
	}
	if !g.StatusChanged.IsZero() {
		t := g.StatusChanged
		a.StatusChanged = &t
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

func (h *handler) apiGroup(w http.ResponseWriter, r *http.Request) {
	g, latest, err := h.store.GetGroup(r.Context(), r.PathValue("fingerprint"))
	if err != nil {
		h.failStore(w, r, err)
		return
	}
	h.writeJSON(w, http.StatusOK, map[string]any{"group": h.toAPIGroup(g), "latest": toAPIRecord(latest)})
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

func (h *handler) apiAction(w http.ResponseWriter, r *http.Request) {
	act := r.PathValue("action")
	known, err := h.changeState(r, act, r.PathValue("fingerprint"))
	if !known {
		h.fail(w, r, http.StatusNotFound, fmt.Errorf("no action %q: want resolve or reopen", act))
		return
	}
	if err != nil {
		h.failStore(w, r, err)
		return
	}
	h.apiGroup(w, r)
}

func (h *handler) apiDelete(w http.ResponseWriter, r *http.Request) {
	if err := h.store.Delete(r.Context(), r.PathValue("fingerprint")); err != nil {
		h.failStore(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
