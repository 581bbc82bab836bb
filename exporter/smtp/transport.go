package smtp

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/notify"
)

// Notifier sends notifications as mails: the SMTP transport of package
// notify's policy. Each notification is one SMTP conversation, within
// Config.SendTimeout.
type Notifier struct {
	cfg  Config
	tmpl *templates
}

var _ notify.Notifier = (*Notifier)(nil)

// NewNotifier checks the transport's configuration — server, TLS mode,
// sender, recipients, subject prefix — and parses the templates. It does
// not connect: the server may be down now and up later. The policy's
// fields of Config (Store, ThresholdInterval, Digest*) are not read.
func NewNotifier(cfg Config) (*Notifier, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("smtp: invalid configuration: %w", err)
	}
	t, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	return &Notifier{cfg: cfg, tmpl: t}, nil
}

// Notify mails n to the recipients. The policy calls it from one goroutine
// and retries it with backoff when it fails; errors the server calls
// permanent (5xx), and a message that cannot be rendered, wrap
// exporter.ErrPermanent.
func (m *Notifier) Notify(ctx context.Context, n notify.Notification) error {
	subject, head, groups := m.cfg.mail(n)
	msg, err := m.cfg.render(m.tmpl, subject, mailData{Headline: head, Groups: groups}, time.Now())
	if err != nil {
		return exporter.Permanent(err)
	}
	return m.send(ctx, msg)
}

// send delivers one message in one SMTP conversation, within SendTimeout.
func (m *Notifier) send(ctx context.Context, msg message) (err error) {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.SendTimeout)
	defer cancel()
	defer func() {
		var se *gosmtp.SMTPError
		if errors.As(err, &se) && se.Code >= 500 {
			err = exporter.Permanent(err)
		}
		if err != nil {
			err = fmt.Errorf("smtp: send %q: %w", msg.subject, err)
		}
	}()
	dialer := net.Dialer{Timeout: m.cfg.DialTimeout}
	conn, err := dialer.DialContext(ctx, "tcp", m.cfg.Addr)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() }) // a stalled server cannot hold us past the timeout
	defer stop()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	tlsConfig := &tls.Config{ServerName: m.cfg.ServerName, RootCAs: m.cfg.RootCAs, MinVersion: tls.VersionTLS12}
	var c *gosmtp.Client
	switch m.cfg.TLS {
	case TLSImplicit:
		tc := tls.Client(conn, tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return err
		}
		c = gosmtp.NewClient(tc)
	case TLSStartTLS:
		if c, err = gosmtp.NewClientStartTLS(conn, tlsConfig); err != nil {
			conn.Close()
			return err
		}
	default:
		c = gosmtp.NewClient(conn)
	}
	defer c.Close()
	if m.cfg.Username != "" {
		var auth sasl.Client
		switch {
		case c.SupportsAuth(sasl.Plain):
			auth = sasl.NewPlainClient("", m.cfg.Username, m.cfg.Password)
		case c.SupportsAuth(sasl.Login):
			auth = sasl.NewLoginClient(m.cfg.Username, m.cfg.Password)
		default:
			return exporter.Permanent(errors.New("the server offers neither AUTH PLAIN nor LOGIN (over this connection's TLS mode)"))
		}
		if err := c.Auth(auth); err != nil {
			return err
		}
	}
	if err := c.SendMail(m.cfg.Sender, m.cfg.Recipients, bytes.NewReader(msg.bytes)); err != nil {
		return err
	}
	return c.Quit()
}
