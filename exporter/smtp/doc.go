// Package smtp e-mails the team about the errors that matter, over SMTP
// with github.com/emersion/go-smtp: the mail transport of package notify.
//
// NewNotifier returns a notify.Notifier; package notify's policy decides
// what to send (a new group, a regression, a wake-up, a threshold, a
// spike, a digest) and hands each notification to every transport, and
// package notify/setup builds it from the APP_ERROR_* settings. This
// package never imports package processor.
//
// Subjects keep the Python library's shape, "[prefix] [METHOD] url Type:
// message", on one line, capped at 200 characters and MIME-encoded, so no
// record can inject a header; the event is in brackets after the prefix
// ([regression], [woke up], [spike], [100 occurrences]; none for a new
// error). The body is multipart: plain text and HTML with the service,
// counts, first and last seen, "first seen in" and "regressed in" with
// their releases, the masked request data and extras, the top of the
// stack trace, the trace id and a link to the group's page. Records reach
// the transport already masked by the processor.
//
// New and Exporter, the mail policy of earlier releases, still work: they
// are the notify policy with this transport alone.
package smtp
