package browse

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/errortracker/errortracker/exporter"
)

// Defaults of Config.
const (
	// DefaultURLPrefix is where the pages live by default.
	//
	// Deprecated: use exporter.DefaultURLPrefix, the one definition; this
	// is an alias of it.
	DefaultURLPrefix = exporter.DefaultURLPrefix
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
	// Actor names who makes a change (resolve, ignore, merge, …), for
	// authorizers other than BasicAuth: e.g. the user a proxy
	// authenticated. It runs after Authorize accepted the request. Nil, or
	// an empty answer, means the user name BasicAuth accepted, or
	// exporter.ActorAPI ("api") when there is none.
	Actor func(*http.Request) string
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
// The user name it accepted is who makes the changes of that request, also
// when it is called from an Authorize function of the user's own.
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
		if userOK&passOK != 1 {
			return false
		}
		// Only a name that was checked is recorded: a Basic header that
		// another authorizer let through proves nothing.
		if slot, _ := r.Context().Value(actorSlotKey{}).(*string); slot != nil {
			*slot = u
		}
		return true
	}
}

// actorSlotKey is the request context key of the slot where BasicAuth
// writes the user name it accepted; the handler puts a fresh slot there
// before it calls Authorize.
type actorSlotKey struct{}

// maxActorBytes is the bound exporter.Change.Validate puts on an actor.
const maxActorBytes = 256

// withActorSlot returns r with an empty slot for BasicAuth's user name.
func withActorSlot(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), actorSlotKey{}, new(string)))
}

// actor is who makes the request's changes: Config.Actor's answer, else
// the user BasicAuth accepted, else exporter.ActorAPI. A name the store
// would refuse (control characters, too long) is cleaned, since the
// person asking is not at fault.
func (c Config) actor(r *http.Request) string {
	name := ""
	if c.Actor != nil {
		name = c.Actor(r)
	}
	if name == "" {
		if slot, _ := r.Context().Value(actorSlotKey{}).(*string); slot != nil {
			name = *slot
		}
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, strings.ToValidUTF8(name, "\uFFFD"))
	for len(name) > maxActorBytes {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	if name == "" {
		return exporter.ActorAPI
	}
	return name
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
