// Package browse serves the error tracker's pages and JSON API under a
// configured prefix (APP_ERROR_URL_PREFIX, default /dev/error), reading the
// store (package exporter/clickhouse).
//
//	h, err := browse.New(store, browse.Config{
//		URLPrefix: cfg.URLPrefix,
//		Authorize: browse.BasicAuth(user, password),
//	})
//	mux.Handle(cfg.URLPrefix+"/", h)
//
// Pages: the list of groups (search, filters, sort, newer/older pages, a
// sparkline of the last days), a group's detail (stack with the app's own
// frames set apart, the latest occurrence's masked request data, extras and
// attributes, trace link, recent occurrences), and resolve, reopen and
// delete as POST forms. The API lives under {prefix}/api/.
//
// With a store that implements exporter.Triage (the ClickHouse store does)
// the pages and the API also keep a team's workflow: resolve in the next
// release, ignore (for ever, until a time, until N more occurrences, or
// until N within a window), reopen, merge into another group and unmerge,
// release filters, and resolve, ignore or delete of several groups at
// once (one store call, one form token for the bulk action). Each change
// records who made it: the user BasicAuth accepted, Config.Actor's answer
// for other authorizers, or exporter.ActorAPI. Against a store without
// Triage those actions answer 501 and the pages do not offer them.
//
// Secure by default, unlike the Python library's pages: with no Authorize
// function every request gets 401; every value is escaped by html/template;
// responses carry a strict Content-Security-Policy (no script at all, no
// asset from elsewhere) and the usual security headers; state changes only
// by POST or DELETE, behind http.CrossOriginProtection and, for forms, a
// token derived from Config.Secret (set it on every replica so they agree).
// Templates are parsed in New: a broken one fails there, not on a request.
package browse
