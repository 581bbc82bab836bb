package smtp_test

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

// inbox is a real SMTP server on loopback (go-smtp's own server) whose
// backend keeps what it receives. It offers STARTTLS with a certificate the
// test made, and AUTH PLAIN only over TLS.
type inbox struct {
	addr  string
	roots *x509.CertPool

	srv      *gosmtp.Server
	listener net.Listener

	mu       sync.Mutex
	messages []received
}

type received struct {
	from    string
	to      []string
	data    []byte
	user    string
	withTLS bool
}

const (
	testUser     = "tracker"
	testPassword = "s3cret-smtp-pass"
)

func startInbox(t *testing.T) *inbox {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cert, roots := selfSigned(t)
	return startInboxOn(t, l, cert, roots)
}

// startInboxOn serves on l with cert: a test can hold an address and a
// certificate first and start the server later.
func startInboxOn(t *testing.T, l net.Listener, cert tls.Certificate, roots *x509.CertPool) *inbox {
	t.Helper()
	in := &inbox{addr: l.Addr().String(), roots: roots, listener: l}
	in.srv = gosmtp.NewServer(gosmtp.BackendFunc(func(c *gosmtp.Conn) (gosmtp.Session, error) {
		return &session{in: in, conn: c}, nil
	}))
	in.srv.Domain = "localhost"
	in.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	in.srv.ReadTimeout, in.srv.WriteTimeout = 10*time.Second, 10*time.Second
	go func() { _ = in.srv.Serve(l) }()
	t.Cleanup(func() { _ = in.srv.Close() })
	return in
}

func (in *inbox) Messages() []received {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]received(nil), in.messages...)
}

// waitFor waits until the inbox holds n messages.
func (in *inbox) waitFor(t *testing.T, n int) []received {
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
	in   *inbox
	conn *gosmtp.Conn
	user string
	msg  received
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != testUser || pass != testPassword {
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
	s.msg = received{from: from, user: s.user, withTLS: tlsOn}
	return nil
}

func (s *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	s.msg.to = append(s.msg.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.msg.data = b
	s.in.mu.Lock()
	s.in.messages = append(s.in.messages, s.msg)
	s.in.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.msg = received{} }
func (s *session) Logout() error { return nil }

// selfSigned makes a certificate for 127.0.0.1 and the pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
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

// parsed is a received message taken apart.
type parsed struct {
	header  mail.Header
	subject string
	text    string
	html    string
}

func parse(t *testing.T, r received) parsed {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(string(r.data)))
	if err != nil {
		t.Fatalf("not a mail: %v\n%s", err, r.data)
	}
	p := parsed{header: m.Header}
	if p.subject, err = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject")); err != nil {
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
			p.text = strings.ReplaceAll(string(body), "\r\n", "\n")
		case strings.HasPrefix(part.Header.Get("Content-Type"), "text/html"):
			p.html = strings.ReplaceAll(string(body), "\r\n", "\n")
		}
	}
	return p
}
