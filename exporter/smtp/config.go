package smtp

import (
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/internal/mailaddr"
	"github.com/errortracker/errortracker/notify"
)

// TLSMode says how the connection to the SMTP server is protected.
type TLSMode string

// The TLS modes.
const (
	TLSNone     TLSMode = "none"     // plain text: only for a server on loopback
	TLSStartTLS TLSMode = "starttls" // upgrade with STARTTLS (port 587)
	TLSImplicit TLSMode = "tls"      // TLS from the first byte (port 465)
)

// UnmarshalText accepts none, starttls and tls, so the mode can come from
// configuration files and flags.
func (m *TLSMode) UnmarshalText(b []byte) error {
	switch v := TLSMode(strings.ToLower(string(b))); v {
	case TLSNone, TLSStartTLS, TLSImplicit:
		*m = v
		return nil
	}
	return fmt.Errorf("TLS mode %q: want none, starttls or tls", b)
}

// Defaults of Config. The policy's are package notify's.
const (
	DefaultDialTimeout       = 10 * time.Second
	DefaultSendTimeout       = 30 * time.Second
	DefaultThresholdInterval = notify.DefaultThresholdInterval
	DefaultDigestAfter       = notify.DefaultDigestAfter
	DefaultDigestWindow      = notify.DefaultDigestWindow
	maxSubjectRunes          = 200
)

// Config configures the SMTP transport (NewNotifier) and, for the
// deprecated Exporter (New), the policy too: the fields from Store on are
// the policy's, and NewNotifier does not read them (see notify.Config).
type Config struct {
	// Addr is the SMTP server's host:port.
	Addr string
	// Username and Password authenticate with AUTH PLAIN (or LOGIN when
	// the server offers only that); empty means no authentication.
	Username, Password string
	// TLS protects the connection (default TLSStartTLS).
	TLS TLSMode
	// RootCAs verifies the server's certificate (default: the system's).
	RootCAs *x509.CertPool
	// ServerName is the name in the server's certificate (default: the
	// host of Addr).
	ServerName string
	// Sender is the From address (APP_ERROR_EMAIL_SENDER).
	Sender string
	// Recipients get every mail (APP_ERROR_RECIPIENT_EMAIL).
	Recipients []string
	// SubjectPrefix starts every subject (APP_ERROR_SUBJECT_PREFIX).
	SubjectPrefix string
	// BaseURL is the absolute URL of the browse pages, for links to a
	// group, such as https://shop.example.com/dev/error; empty leaves the
	// links out. The policy builds the links (notify.Config.BaseURL); the
	// Notifier uses this one only for a notification without a link.
	BaseURL string
	// DialTimeout bounds connecting (default 10 s); SendTimeout bounds one
	// whole conversation (default 30 s).
	DialTimeout, SendTimeout time.Duration
	// Store, when set, tells which groups are new and which regressed
	// across restarts and app instances. Without it the exporter knows
	// only what this process saw.
	Store exporter.Store
	// ThresholdInterval spaces the "crossed 10, 100, 1,000…" mails of one
	// group (default one hour).
	ThresholdInterval time.Duration
	// DigestAfter is how many new groups within DigestWindow are announced
	// one mail each (default 10, window one minute); the rest of the
	// window go into one digest mail.
	DigestAfter  int
	DigestWindow time.Duration
	// Logger reports mails that could not be sent (default slog.Default()).
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.TLS == "" {
		c.TLS = TLSStartTLS
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.SendTimeout <= 0 {
		c.SendTimeout = DefaultSendTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.ServerName == "" {
		c.ServerName, _, _ = net.SplitHostPort(c.Addr)
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	return c
}

// validate reports every problem at once.
func (c Config) validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("server address %q: %w", c.Addr, err))
	}
	if err := (&c.TLS).UnmarshalText([]byte(c.TLS)); err != nil {
		errs = append(errs, err)
	}
	if c.Sender == "" {
		errs = append(errs, errors.New("no sender (APP_ERROR_EMAIL_SENDER)"))
	} else if err := mailaddr.Check(c.Sender); err != nil {
		errs = append(errs, fmt.Errorf("sender: %w", err))
	}
	if len(c.Recipients) == 0 {
		errs = append(errs, errors.New("no recipients (APP_ERROR_RECIPIENT_EMAIL)"))
	}
	for _, r := range c.Recipients {
		if err := mailaddr.Check(r); err != nil {
			errs = append(errs, fmt.Errorf("recipient: %w", err))
		}
	}
	if strings.ContainsAny(c.SubjectPrefix, "\r\n") {
		errs = append(errs, errors.New("subject prefix must be one line"))
	}
	if c.BaseURL != "" {
		if u, err := url.Parse(c.BaseURL); err != nil || !u.IsAbs() {
			errs = append(errs, fmt.Errorf("base URL %q is not an absolute URL", c.BaseURL))
		}
	}
	if c.Username != "" && c.TLS == TLSNone && !isLoopback(c.Addr) {
		errs = append(errs, errors.New("refusing to send a password in clear text to a server that is not on loopback: use starttls or tls"))
	}
	return errors.Join(errs...)
}

func isLoopback(addr string) bool {
	host, _, _ := net.SplitHostPort(addr)
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
