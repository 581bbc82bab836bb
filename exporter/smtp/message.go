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
	"github.com/errortracker/errortracker/notify"
)

//go:embed templates/mail.txt templates/mail.html
var templateFiles embed.FS

// Limits that keep a mail readable.
const (
	maxStackLines = 60
	maxStackBytes = 8 << 10
)

// mailGroup is one group in a mail.
type mailGroup struct {
	Kind         string
	Record       exporter.Record
	Count        uint64
	FirstSeen    string
	LastSeen     string
	FirstRelease string // "first seen in"
	RegressedIn  string // "regressed in"
	Detail       string // what the event adds: the spike's counts, the ignore that ended
	TraceID      string
	Stack        string
	Link         string
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

// mail turns a notification into a subject, a headline and the groups
// the templates show.
func (c Config) mail(n notify.Notification) (subject, head string, groups []mailGroup) {
	for _, g := range n.Groups {
		groups = append(groups, c.mailGroup(n.Event, g))
	}
	if n.Event == notify.EventDigest {
		total := len(n.Groups) + n.Omitted
		subject = oneLine(fmt.Sprintf("%s %d more new errors", c.SubjectPrefix, total))
		head = fmt.Sprintf("%d more errors were new at once, past the limit of one mail each; here they are together.", total)
		if n.Omitted > 0 {
			head += fmt.Sprintf(" %d of them are not listed.", n.Omitted)
		}
		return subject, head, groups
	}
	g := n.Group()
	return c.subject(n.Event, g), headline(n.Event, g), groups
}

// headline is the mail's first line.
func headline(ev notify.Event, g notify.Group) string {
	switch ev {
	case notify.EventNew:
		if g.FirstRelease != "" {
			return "A new error occurred, first seen in " + g.FirstRelease + "."
		}
		return "A new error occurred."
	case notify.EventRegression:
		if g.RegressedIn != "" {
			return "An error that was resolved occurred again, regressed in " + g.RegressedIn + "."
		}
		return "An error that was resolved occurred again."
	case notify.EventWoke:
		return "An ignored error woke up: " + ignoreText(g.Ignore) + "."
	case notify.EventSpike:
		return fmt.Sprintf("An error is spiking: %d occurrences in the last hour, against %.1f an hour over the day before.", g.LastHour, g.Baseline)
	}
	return fmt.Sprintf("An error has now occurred %d times or more.", g.Threshold)
}

// ignoreText says which ignore condition was met.
func ignoreText(i exporter.Ignore) string {
	switch {
	case !i.Until.IsZero():
		return "it was ignored until " + i.Until.UTC().Format(time.RFC1123) + " and occurred after"
	case i.Count > 0:
		return fmt.Sprintf("it was ignored until %d more occurrences, and they came", i.Count)
	case i.Rate.Count > 0:
		return fmt.Sprintf("it was ignored until %d occurrences within %v, and that rate was reached", i.Rate.Count, i.Rate.Window)
	}
	return "its ignore condition was met"
}

// mailGroup fills in what the templates show of a group.
func (c Config) mailGroup(ev notify.Event, ng notify.Group) mailGroup {
	r := ng.Record
	g := mailGroup{Record: r, Count: ng.Count, Stack: mailStack(r.Stacktrace), FirstRelease: ng.FirstRelease,
		RegressedIn: ng.RegressedIn, Link: ng.Link}
	switch ev {
	case notify.EventNew, notify.EventDigest:
		g.Kind = "New error"
	case notify.EventRegression:
		g.Kind = "Regression"
	case notify.EventWoke:
		g.Kind, g.Detail = "Woke up", ignoreText(ng.Ignore)
	case notify.EventSpike:
		g.Kind, g.Detail = "Spike", fmt.Sprintf("%d in the last hour, hourly baseline %.1f", ng.LastHour, ng.Baseline)
	default:
		g.Kind = fmt.Sprintf("Crossed %d occurrences", ng.Threshold)
	}
	firstSeen := ng.FirstSeen
	if firstSeen.IsZero() {
		firstSeen = r.Time
	}
	g.FirstSeen = firstSeen.UTC().Format(time.RFC1123)
	g.LastSeen = r.Time.UTC().Format(time.RFC1123)
	if r.TraceID.IsValid() {
		g.TraceID = r.TraceID.String()
	}
	if g.Link == "" && c.BaseURL != "" {
		g.Link = c.BaseURL + "/" + url.PathEscape(ng.Fingerprint)
	}
	return g
}

// subject builds the Python library's subject: "[prefix] [METHOD] url
// Type: message", on one line, capped in length, with the event in
// brackets after the prefix (none for a new error).
func (c Config) subject(ev notify.Event, g notify.Group) string {
	var b strings.Builder
	if c.SubjectPrefix != "" {
		b.WriteString(c.SubjectPrefix + " ")
	}
	switch ev {
	case notify.EventNew:
	case notify.EventRegression:
		b.WriteString("[regression] ")
	case notify.EventWoke:
		b.WriteString("[woke up] ")
	case notify.EventSpike:
		b.WriteString("[spike] ")
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
