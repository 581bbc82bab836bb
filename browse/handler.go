package browse

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/errortracker/errortracker/exporter"
)

//go:embed templates/*.html static/style.css
var assets embed.FS

// contentSecurityPolicy allows nothing but the page's own stylesheet and
// forms posting back to it: no script runs on these pages at all.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'"

// maxFormBytes caps the body of an action form.
const maxFormBytes = 4 << 10

type handler struct {
	store exporter.Store
	// triage is the store when it keeps the workflow (ignore, merge,
	// releases, bulk actions), else nil: those actions then answer 501
	// and the pages do not offer them.
	triage exporter.Triage
	cfg    Config
	secret []byte
	app    exporter.AppPackages
	pages  map[string]*template.Template
	css    []byte
	mux    *http.ServeMux
	routes http.Handler
	// sentinels are the standard library's sentinel texts, for listTitle.
	sentinels []string
}

// New returns the handler for the pages and the API under cfg.URLPrefix.
// The templates are parsed here: a broken one is an error now, not on a
// request.
func New(store exporter.Store, cfg Config) (http.Handler, error) {
	if store == nil {
		return nil, errors.New("browse: no store")
	}
	cfg = cfg.withDefaults()
	h := &handler{store: store, cfg: cfg, app: cfg.AppPackages, pages: map[string]*template.Template{}, sentinels: stdSentinels()}
	h.triage, _ = store.(exporter.Triage)
	if len(h.app) == 0 {
		h.app = exporter.DefaultAppPackages()
	}
	if cfg.Secret != "" {
		h.secret = []byte(cfg.Secret)
	} else {
		h.secret = make([]byte, 32)
		_, _ = rand.Read(h.secret)
	}
	funcs := template.FuncMap{"prefix": func() string { return cfg.URLPrefix }}
	for _, page := range []string{"list", "detail", "error"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/"+page+".html")
		if err != nil {
			return nil, fmt.Errorf("browse: template %s: %w", page, err)
		}
		h.pages[page] = t
	}
	css, err := assets.ReadFile("static/style.css")
	if err != nil {
		return nil, fmt.Errorf("browse: %w", err)
	}
	h.css = css

	p := cfg.URLPrefix
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+p+"/{$}", h.list)
	if p != "" {
		mux.HandleFunc("GET "+p, h.list)
	}
	mux.HandleFunc("GET "+p+"/static/style.css", h.stylesheet)
	mux.HandleFunc("GET "+p+"/{fingerprint}", h.detail)
	mux.HandleFunc("POST "+p+"/{fingerprint}/{action}", h.action)
	mux.HandleFunc("POST "+p+"/bulk", h.bulk)
	mux.HandleFunc("GET "+p+"/api/exceptions", h.apiList)
	mux.HandleFunc("GET "+p+"/api/exceptions/{fingerprint}", h.apiGroup)
	mux.HandleFunc("GET "+p+"/api/exceptions/{fingerprint}/occurrences", h.apiOccurrences)
	mux.HandleFunc("POST "+p+"/api/exceptions/{fingerprint}/{action}", h.apiAction)
	mux.HandleFunc("POST "+p+"/api/exceptions/bulk", h.apiBulk)
	mux.HandleFunc("DELETE "+p+"/api/exceptions/{fingerprint}", h.apiDelete)
	h.mux = mux
	// Browsers say where a request comes from; a cross-site POST or DELETE
	// is refused before any handler runs.
	h.routes = http.NewCrossOriginProtection().Handler(mux)
	return h, nil
}

func (h *handler) isAPI(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, h.cfg.URLPrefix+"/api/")
}

// ServeHTTP sets the security headers, checks authorization, and routes.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", contentSecurityPolicy)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("Cross-Origin-Opener-Policy", "same-origin")
	hdr.Set("Cache-Control", "no-store")
	r = withActorSlot(r)
	if h.cfg.Authorize == nil || !h.cfg.Authorize(r) {
		if h.cfg.Authorize != nil {
			hdr.Set("WWW-Authenticate", fmt.Sprintf("Basic realm=%q, charset=\"UTF-8\"", h.cfg.Realm))
		}
		h.fail(w, r, http.StatusUnauthorized, errors.New("you are not allowed to browse the errors"))
		return
	}
	// A store that is still connecting (the app started before its
	// ClickHouse) answers every page with why, not with a timeout.
	if rs, ok := h.store.(readiness); ok {
		if err := rs.Ready(); err != nil {
			h.failStore(w, r, err)
			return
		}
	}
	h.routes.ServeHTTP(w, r)
}

// readiness is what a store that connects in the background implements,
// as clickhouse.Exporter does: nil once it can answer, else an error
// wrapping exporter.ErrNotReady.
type readiness interface {
	Ready() error
}

// fail answers with an error page, or JSON under /api/.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, code int, err error) {
	msg := err.Error()
	if code == http.StatusServiceUnavailable {
		// The reason is the store's own (which server, what went wrong)
		// and the reader is authorized: say it rather than hide it; the
		// store logs it already.
		w.Header().Set("Retry-After", "5")
	} else if code >= 500 && code != http.StatusNotImplemented {
		h.cfg.Logger.Error("error tracker: browse", "path", r.URL.Path, "error", err)
		msg = "the error store did not answer; see the server's log"
	}
	if h.isAPI(r) {
		h.writeJSON(w, code, map[string]string{"error": msg})
		return
	}
	h.render(w, code, "error", struct {
		Title   string
		Code    int
		Message string
	}{http.StatusText(code), code, msg})
}

// failStore maps a store error to a status code.
func (h *handler) failStore(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, exporter.ErrNotFound):
		// The store's detail says which group, or why (not merged), when
		// it gives one.
		msg := "no such error group"
		if detail, ok := strings.CutPrefix(err.Error(), exporter.ErrNotFound.Error()); ok {
			msg += detail
		}
		h.fail(w, r, http.StatusNotFound, errors.New(msg))
	case badRequest(err):
		h.fail(w, r, http.StatusBadRequest, err)
	case errors.Is(err, exporter.ErrNotReady):
		h.fail(w, r, http.StatusServiceUnavailable, err)
	case errors.Is(err, errNoTriage):
		h.fail(w, r, http.StatusNotImplemented, err)
	case errors.As(err, new(*http.MaxBytesError)):
		h.fail(w, r, http.StatusRequestEntityTooLarge, err)
	default:
		h.fail(w, r, http.StatusInternalServerError, err)
	}
}

// render executes a page into a buffer first, so that a failing template
// never sends half a page.
func (h *handler) render(w http.ResponseWriter, code int, page string, data any) {
	var buf bytes.Buffer
	if err := h.pages[page].Execute(&buf, data); err != nil {
		h.cfg.Logger.Error("error tracker: browse template", "page", page, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

func (h *handler) writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":"internal error"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

func (h *handler) stylesheet(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(h.css)
}

// token is the form token of an action on a group: an HMAC of both under
// the secret, so it is valid on every replica that shares the secret and
// for nothing else.
func (h *handler) token(action, fingerprint string) string {
	mac := hmac.New(sha256.New, h.secret)
	mac.Write([]byte(action + "\x00" + fingerprint))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func (h *handler) validToken(action, fingerprint, token string) bool {
	return hmac.Equal([]byte(h.token(action, fingerprint)), []byte(token))
}
