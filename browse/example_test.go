package browse_test

import (
	"net/http"

	"github.com/errortracker/errortracker/browse"
	"github.com/errortracker/errortracker/exporter"
)

// Behind an authenticating proxy, the proxy's user is who resolves,
// ignores or merges: Actor names them for the changes they make.
func ExampleConfig_actor() {
	var store exporter.Store // e.g. a *clickhouse.Exporter
	trusted := func(r *http.Request) bool { return r.Header.Get("X-Forwarded-User") != "" }
	pages, err := browse.New(store, browse.Config{
		Authorize: trusted, // only the proxy reaches this handler
		Actor:     func(r *http.Request) string { return r.Header.Get("X-Forwarded-User") },
	})
	if err != nil {
		return // here: no store
	}
	mux := http.NewServeMux()
	mux.Handle(exporter.DefaultURLPrefix+"/", pages)
}
