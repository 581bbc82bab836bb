// Package maskattr masks secrets in OpenTelemetry attributes before they leave
// the process.
//
// A [Masker] applies two kinds of rule:
//
//   - The key rule: an attribute whose lower-cased key contains any of the
//     configured substrings (lower-cased too) has its whole value replaced by
//     the mask, whatever its type. This is the Python error-tracker's
//     APP_ERROR_MASKED_KEY_HAS rule, applied to every attribute, nested map
//     keys included, not only to form fields. Keys on the allow-list
//     ([DefaultAllowKeys]) are exempt: semantic-convention keys such as
//     gen_ai.usage.input_tokens merely contain a word.
//   - Value rules, for secrets inside values whose key looks harmless: query
//     parameters and the user:password part of URLs, Bearer and Basic
//     credentials, and key=value or key: value pairs in free text such as an
//     exception message or a stack trace, also inside %q-quoted text.
//     Percent-encoded text is decided by decoding it, two layers deep, and
//     keeps its encoding with the secret replaced.
//   - Format rules, for secrets by their own shape wherever they appear:
//     JSON Web Tokens, PEM private keys, provider keys (AWS, Stripe, GitHub,
//     Slack, Google), Luhn-valid card numbers, and, opt-in, e-mail
//     addresses.
//
// In keys, '-' and '_' are alike and optional ("api_key" masks X-Api-Key),
// and short words ([DefaultKeySegments]: pwd, ssn, cvv, cvc) count only as
// a whole segment of a key, so that classname is not masked.
//
// The default substrings ([DefaultKeyHas]) are deliberately broader than the
// Python library's ("password", "secret"): a token or a session cookie in an
// error report is as dangerous as a password.
//
// A Masker is immutable after [New] and safe for concurrent use. Checking a
// value that needs no masking does not allocate, so it can sit on the path of
// every span.End().
package maskattr
