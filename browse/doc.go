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
// Secure by default, unlike the Python library's pages: with no Authorize
// function every request gets 401; every value is escaped by html/template;
// responses carry a strict Content-Security-Policy (no script at all, no
// asset from elsewhere) and the usual security headers; state changes only
// by POST or DELETE, behind http.CrossOriginProtection and, for forms, a
// token derived from Config.Secret (set it on every replica so they agree).
// Templates are parsed in New: a broken one fails there, not on a request.
package browse
