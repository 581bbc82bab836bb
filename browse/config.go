package browse

import (
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"

	"github.com/errortracker/errortracker/exporter"
)

// Defaults of Config.
const (
	DefaultURLPrefix = "/dev/error"
	DefaultPageSize  = exporter.DefaultPageSize
	DefaultDays      = 7
)

// Config configures the pages.
type Config struct {
	// URLPrefix is where the pages live (APP_ERROR_URL_PREFIX, default
	// /dev/error). Mount the handler at URLPrefix+"/".
	URLPrefix string
	// PageSize is how many groups a list page shows (default 20).
	PageSize int
	// Authorize decides who may browse. Nil denies everyone (401), as the
	// Python library's default permission did. See BasicAuth.
	Authorize func(*http.Request) bool
	// Realm names the Basic authentication realm of the 401 challenge
	// (default "error tracker").
	Realm string
	// Secret derives the tokens of the action forms; replicas behind one
	// load balancer need the same one. Empty means a random secret per
	// process.
	Secret string
	// TraceURL links trace ids to a tracing UI: "{trace_id}" and
	// "{span_id}" are replaced, e.g. http://jaeger:16686/trace/{trace_id}.
	// Empty shows the ids without links.
	TraceURL string
	// Days is the span of the list's sparklines (default 7).
	Days int
	// AppPackages are the package path prefixes of the app's own code,
	// whose stack frames are set apart (default: the main module).
	AppPackages []string
	// Logger reports store errors (default slog.Default()).
	Logger *slog.Logger
}

// BasicAuth returns an Authorize function that accepts one user name and
// password, compared in constant time. The handler answers other requests
// with 401 and a WWW-Authenticate challenge, so a browser asks for them.
func BasicAuth(user, password string) func(*http.Request) bool {
	wantUser, wantPass := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(password))
	return func(r *http.Request) bool {
		u, p, ok := r.BasicAuth()
		if !ok {
			return false
		}
		gotUser, gotPass := sha256.Sum256([]byte(u)), sha256.Sum256([]byte(p))
		// Both compared always, so timing tells nothing about which failed.
		userOK := subtle.ConstantTimeCompare(gotUser[:], wantUser[:])
		passOK := subtle.ConstantTimeCompare(gotPass[:], wantPass[:])
		return userOK&passOK == 1
	}
}

func (c Config) withDefaults() Config {
	if c.URLPrefix == "" {
		c.URLPrefix = DefaultURLPrefix
	}
	c.URLPrefix = "/" + strings.Trim(c.URLPrefix, "/")
	if c.URLPrefix == "/" {
		c.URLPrefix = ""
	}
	if c.PageSize <= 0 {
		c.PageSize = DefaultPageSize
	}
	if c.Days <= 0 {
		c.Days = DefaultDays
	}
	if c.Realm == "" {
		c.Realm = "error tracker"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}
