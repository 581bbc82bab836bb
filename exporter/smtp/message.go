package smtp

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"fmt"
	htmltemplate "html/template"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"net/url"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode/utf8"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/grouping"
)

//go:embed templates/mail.txt templates/mail.html
var templateFiles embed.FS

// Limits that keep a mail readable.
const (
	maxStackLines = 60
	maxStackBytes = 8 << 10
)

// kind is why a group is mailed.
type kind string

const (
	kindNew        kind = "New error"
	kindRegression kind = "Regression"
	kindThreshold  kind = "Growing"
)

// mailGroup is one group in a mail.
type mailGroup struct {
	Kind      kind
	Record    exporter.Record
	Count     uint64
	Threshold uint64 // for kindThreshold
	FirstSeen string
	LastSeen  string
	TraceID   string
	Stack     string
	Link      string
}

// mailData is what both templates render.
type mailData struct {
	Headline string
	Groups   []mailGroup
}

// templates holds the parsed mail templates: parsed once in New, so a
// broken template fails there.
type templates struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

func parseTemplates() (*templates, error) {
	text, err := texttemplate.ParseFS(templateFiles, "templates/mail.txt")
	if err != nil {
		return nil, fmt.Errorf("smtp: template: %w", err)
	}
	html, err := htmltemplate.ParseFS(templateFiles, "templates/mail.html")
	if err != nil {
		return nil, fmt.Errorf("smtp: template: %w", err)
	}
	return &templates{text: text, html: html}, nil
}

// message is a mail ready to send.
type message struct {
	subject string
	bytes   []byte
}

// newMailGroup fills in what the templates show of a group.
func (c Config) newMailGroup(k kind, r exporter.Record, count, threshold uint64, firstSeen time.Time) mailGroup {
	g := mailGroup{Kind: k, Record: r, Count: count, Threshold: threshold, Stack: mailStack(r.Stacktrace)}
	if firstSeen.IsZero() {
		firstSeen = r.Time
	}
	g.FirstSeen = firstSeen.UTC().Format(time.RFC1123)
	g.LastSeen = r.Time.UTC().Format(time.RFC1123)
	if r.TraceID.IsValid() {
		g.TraceID = r.TraceID.String()
	}
	if c.BaseURL != "" {
		g.Link = c.BaseURL + "/" + url.PathEscape(r.Fingerprint)
	}
	if k == kindThreshold {
		g.Kind = kind(fmt.Sprintf("Crossed %d occurrences", threshold))
	}
	return g
}

// subject builds the Python library's subject: "[prefix] [METHOD] url
// Type: message", on one line, capped in length.
func (c Config) subject(g mailGroup) string {
	var b strings.Builder
	if c.SubjectPrefix != "" {
		b.WriteString(c.SubjectPrefix + " ")
	}
	switch g.Kind {
	case kindNew:
	case kindRegression:
		b.WriteString("[regression] ")
	default:
		fmt.Fprintf(&b, "[%d occurrences] ", g.Threshold)
	}
	r := g.Record
	if r.Method != "" {
		b.WriteString("[" + r.Method + "] ")
	}
	if r.Host != "" || r.Path != "" {
		b.WriteString(r.Host + r.Path + " ")
	}
	b.WriteString(r.Type + ": " + r.Message)
	return oneLine(b.String())
}

// oneLine folds white space, so that nothing can start a header, and caps
// the length at a rune boundary.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > maxSubjectRunes {
		runes := []rune(s)
		s = string(runes[:maxSubjectRunes-1]) + "…"
	}
	return s
}

// mailStack is the stack trace a mail shows: without the frames of the
// capture's machinery (the tracker, the OpenTelemetry SDK, the runtime's
// panic), which the exception's page still shows, cut to its top.
func mailStack(s string) string {
	s, folded := grouping.FoldMachinery(s)
	s = cutStack(s)
	if folded > 0 {
		s += fmt.Sprintf("(%d frames of the error tracker, OpenTelemetry or the runtime's panic left out)\n", folded)
	}
	return s
}

// cutStack keeps the top of a stack trace: the frames nearest the error.
func cutStack(s string) string {
	lines := strings.SplitAfter(s, "\n")
	cut := false
	if len(lines) > maxStackLines {
		lines, cut = lines[:maxStackLines], true
	}
	s = strings.Join(lines, "")
	if len(s) > maxStackBytes {
		s, cut = strings.ToValidUTF8(s[:maxStackBytes], ""), true
	}
	if cut {
		s = strings.TrimRight(s, "\n") + "\n…\n"
	}
	return s
}

// render builds the whole message: headers and a multipart/alternative
// body with a plain-text and an HTML part, both quoted-printable.
func (c Config) render(t *templates, subject string, data mailData, now time.Time) (message, error) {
	var text, html bytes.Buffer
	if err := t.text.Execute(&text, data); err != nil {
		return message{}, fmt.Errorf("smtp: render text: %w", err)
	}
	if err := t.html.Execute(&html, data); err != nil {
		return message{}, fmt.Errorf("smtp: render html: %w", err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, part := range []struct {
		contentType string
		content     []byte
	}{{"text/plain; charset=utf-8", text.Bytes()}, {"text/html; charset=utf-8", html.Bytes()}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.contentType},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return message{}, err
		}
		qp := quotedprintable.NewWriter(w)
		if _, err := qp.Write(part.content); err != nil {
			return message{}, err
		}
		if err := qp.Close(); err != nil {
			return message{}, err
		}
	}
	if err := mw.Close(); err != nil {
		return message{}, err
	}
	var msg bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&msg, "%s: %s\r\n", k, v) }
	header("Date", now.Format(time.RFC1123Z))
	header("From", c.Sender)
	header("To", strings.Join(c.Recipients, ", "))
	header("Subject", mime.QEncoding.Encode("utf-8", subject))
	header("Message-ID", c.messageID())
	header("MIME-Version", "1.0")
	header("Content-Type", "multipart/alternative; boundary="+mw.Boundary())
	header("X-Mailer", "errortracker")
	msg.WriteString("\r\n")
	msg.Write(body.Bytes())
	return message{subject: subject, bytes: msg.Bytes()}, nil
}

// messageID is unique and names the sender's domain, as RFC 5322 wants.
func (c Config) messageID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	domain := "errortracker.invalid"
	if at := strings.LastIndexByte(c.Sender, '@'); at >= 0 {
		domain = c.Sender[at+1:]
	}
	return "<" + hex.EncodeToString(b[:]) + "@" + domain + ">"
}
