// Package smtp e-mails the team about the errors that matter, over SMTP
// with github.com/emersion/go-smtp.
//
// The Python error-tracker mailed on every occurrence (Flask) or once ever
// (Django). This policy mails:
//
//   - once for a new group — new according to the store when one is
//     configured (Config.Store), so that a restart or a second app instance
//     does not announce a known group again;
//   - once for a regression: an occurrence after a person resolved the
//     group;
//   - when a group crosses 10, 100, 1,000… occurrences, at most once per
//     ThresholdInterval per group.
//
// When more than DigestAfter groups (default 10) become new within
// DigestWindow (a minute), the rest of that window go into one digest mail
// instead of one mail each: every new group is announced exactly once,
// alone or in a digest.
//
// Subjects keep the Python library's shape, "[prefix] [METHOD] url Type:
// message", on one line, capped at 200 characters and MIME-encoded, so no
// record can inject a header. The body is multipart: plain text and HTML
// with the service, counts, first and last seen, the masked request data
// and extras, the top of the stack trace, the trace id and a link to the
// group's page. Records reach the exporter already masked by the
// processor.
//
// Sending runs on the processor's goroutine for this exporter, never on the
// request path; a failure returns an error and the processor retries with
// backoff from its bounded queue, while the policy remembers what already
// went out so that nothing is mailed twice.
package smtp
