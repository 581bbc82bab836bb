// Package webhook is a notify.Notifier that POSTs each notification to a
// URL: an incident tool, a chat, a service of your own.
//
// The default body (FormatJSON) is a JSON document:
//
//	{"event": "new", "id": "…", "sent_at": "2026-11-29T01:02:03Z",
//	 "summary": "New error: …", "link": "https://…/dev/error/<fp>",
//	 "group": {"fingerprint": "…", "type": "…", "message": "…", "service": "…",
//	           "count": 1, "first_seen": "…", "last_seen": "…",
//	           "first_release": "1.4.0", "regressed_in": "", …}}
//
// (a digest carries "groups" and "omitted" instead of "group"). Every
// request carries the header
//
//	X-Errortracker-Signature: sha256=<hex HMAC-SHA256 of the body>
//
// under Config.Secret. The id and sent_at are inside the signed body: a
// receiver verifies the signature (Verify), then rejects a sent_at too old
// and an id it has seen, and so a replayed request. The id is the same on
// every retry and on every instance, so it also drops copies.
//
// FormatSlack sends {"text": "…"}, which Slack's and Mattermost's incoming
// webhooks post as a message; &, < and > of the error are escaped as Slack
// asks, so an error message cannot mention a channel or forge a link.
//
// The body holds the group's summary from the masked record — never its
// stack, extras or request data. Failed requests are retried with backoff
// by the policy's queue for this notifier, off the request path; a
// webhook that is down or hangs delays nothing else.
package webhook
