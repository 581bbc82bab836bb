// Package mailaddr holds the project's one e-mail address validator, shared
// by the APP_ERROR_* configuration (package processor) and the SMTP
// transport (package exporter/smtp), which must not import each other.
package mailaddr

import (
	"fmt"
	"net/mail"
	"strings"
)

// Check accepts a bare address (bob@example.com). Display names
// ("Bob <bob@example.com>") and anything that could smuggle a header (line
// breaks, angle brackets) are rejected: the address goes into SMTP commands
// and mail headers as it is.
func Check(a string) error {
	parsed, err := mail.ParseAddress(a)
	if err != nil || parsed.Address != a || strings.ContainsAny(a, "\r\n<>") {
		return fmt.Errorf("%q is not an e-mail address (want a bare address such as ops@example.com)", a)
	}
	return nil
}
