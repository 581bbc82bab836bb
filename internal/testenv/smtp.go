package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// Inbox is a real SMTP server on loopback (go-smtp's own server) whose
// backend keeps what it receives. It offers STARTTLS with a certificate the
// test made, and AUTH PLAIN only over TLS.
type Inbox struct {
	Addr  string
	Roots *x509.CertPool

	srv      *gosmtp.Server
	listener net.Listener

	mu       sync.Mutex
	messages []Received
}

// Received is one message as the server got it.
type Received struct {
	From    string
	To      []string
	Data    []byte
	User    string
	WithTLS bool
}

const (
	// InboxUser and InboxPassword are the credentials the inbox accepts.
	InboxUser     = "tracker"
	InboxPassword = "s3cret-smtp-pass"
)

// StartInbox starts an inbox on a free loopback port, stopped when the test
// ends.
func StartInbox(t testing.TB) *Inbox {
	t.Helper()
	l, cert, roots := listenWithCert(t)
	return startInbox(t, l, cert, roots, false)
}

// listenWithCert opens a free loopback port and makes a certificate for it.
func listenWithCert(t testing.TB) (net.Listener, tls.Certificate, *x509.CertPool) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cert, roots := SelfSigned(t)
	return l, cert, roots
}

// StartInboxOn serves on l with cert: a test can hold an address and a
// certificate first and start the server later.
func StartInboxOn(t testing.TB, l net.Listener, cert tls.Certificate, roots *x509.CertPool) *Inbox {
	t.Helper()
	return startInbox(t, l, cert, roots, false)
}

// StartPlainInbox starts an inbox that also accepts AUTH without TLS, as a
// local mail catcher does: for an app configured with SMTP_TLS=none.
func StartPlainInbox(t testing.TB) *Inbox {
	t.Helper()
	l, cert, roots := listenWithCert(t)
	return startInbox(t, l, cert, roots, true)
}

func startInbox(t testing.TB, l net.Listener, cert tls.Certificate, roots *x509.CertPool, plainAuth bool) *Inbox {
	t.Helper()
	in := &Inbox{Addr: l.Addr().String(), Roots: roots, listener: l}
	in.srv = gosmtp.NewServer(gosmtp.BackendFunc(func(c *gosmtp.Conn) (gosmtp.Session, error) {
		return &session{in: in, conn: c}, nil
	}))
	in.srv.Domain = "localhost"
	in.srv.AllowInsecureAuth = plainAuth
	in.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	in.srv.ReadTimeout, in.srv.WriteTimeout = 10*time.Second, 10*time.Second
	go func() { _ = in.srv.Serve(l) }()
	// Close the listener too: a Close that comes before Serve has
	// registered it would otherwise leave Serve running.
	t.Cleanup(func() {
		_ = in.srv.Close()
		_ = l.Close()
	})
	return in
}

// Messages returns what the inbox received so far.
func (in *Inbox) Messages() []Received {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]Received(nil), in.messages...)
}

// WaitFor waits until the inbox holds n messages.
func (in *Inbox) WaitFor(t testing.TB, n int) []Received {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		msgs := in.Messages()
		if len(msgs) >= n {
			return msgs
		}
		if time.Now().After(deadline) {
			t.Fatalf("inbox holds %d messages after 10 s, want %d", len(msgs), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type session struct {
	in   *Inbox
	conn *gosmtp.Conn
	user string
	msg  Received
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != InboxUser || pass != InboxPassword {
			return errors.New("invalid credentials")
		}
		s.user = user
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *gosmtp.MailOptions) error {
	if s.user == "" {
		return &gosmtp.SMTPError{Code: 530, Message: "authentication required"}
	}
	_, tlsOn := s.conn.TLSConnectionState()
	s.msg = Received{From: from, User: s.user, WithTLS: tlsOn}
	return nil
}

func (s *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	s.msg.To = append(s.msg.To, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.msg.Data = b
	s.in.mu.Lock()
	s.in.messages = append(s.in.messages, s.msg)
	s.in.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.msg = Received{} }
func (s *session) Logout() error { return nil }

// SelfSigned makes a certificate for 127.0.0.1 and the pool that trusts it.
func SelfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "test smtp"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// ParsedMail is a received message taken apart.
type ParsedMail struct {
	Header  mail.Header
	Subject string
	Text    string
	HTML    string
}

// ParseMail takes a message apart: headers, decoded subject, and the text
// and HTML parts with CRLF folded to LF.
func ParseMail(t testing.TB, r Received) ParsedMail {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(string(r.Data)))
	if err != nil {
		t.Fatalf("not a mail: %v\n%s", err, r.Data)
	}
	p := ParsedMail{Header: m.Header}
	if p.Subject, err = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject")); err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var body []byte
		if part.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
			body, err = io.ReadAll(quotedprintable.NewReader(part))
		} else {
			body, err = io.ReadAll(part)
		}
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.HasPrefix(part.Header.Get("Content-Type"), "text/plain"):
			p.Text = strings.ReplaceAll(string(body), "\r\n", "\n")
		case strings.HasPrefix(part.Header.Get("Content-Type"), "text/html"):
			p.HTML = strings.ReplaceAll(string(body), "\r\n", "\n")
		}
	}
	return p
}
