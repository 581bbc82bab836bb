package webhook

import (
	"fmt"
	"strings"
	"time"

	"github.com/errortracker/errortracker/notify"
)

// Format is the shape of the request body.
type Format string

// The formats.
const (
	// FormatJSON is the tracker's own JSON document (the default): event,
	// id, sent_at, group (or groups, for a digest), link and a summary.
	FormatJSON Format = "json"
	// FormatSlack is {"text": "…"}, which Slack's and Mattermost's
	// incoming webhooks post to their channel.
	FormatSlack Format = "slack"
)

// UnmarshalText accepts json and slack (any case); empty means json.
func (f *Format) UnmarshalText(b []byte) error {
	switch v := Format(strings.ToLower(strings.TrimSpace(string(b)))); v {
	case "":
		*f = FormatJSON
		return nil
	case FormatJSON, FormatSlack:
		*f = v
		return nil
	}
	return fmt.Errorf("format %q (APP_ERROR_WEBHOOK_FORMAT): want json or slack", b)
}

// document is the FormatJSON body. The id and the time are inside the
// signed body, so that a receiver can reject a replayed request.
type document struct {
	Event   notify.Event `json:"event"`
	ID      string       `json:"id"`
	SentAt  time.Time    `json:"sent_at"`
	Summary string       `json:"summary"`
	Link    string       `json:"link,omitempty"`
	Group   *group       `json:"group,omitempty"`
	Groups  []group      `json:"groups,omitempty"`
	Omitted int          `json:"omitted,omitempty"`
}

// group is what the body says of a group: the masked record's summary
// fields, never its stack, extras or request data.
type group struct {
	Fingerprint    string    `json:"fingerprint"`
	Type           string    `json:"type"`
	Message        string    `json:"message"`
	Service        string    `json:"service,omitempty"`
	ServiceVersion string    `json:"service_version,omitempty"`
	Environment    string    `json:"environment,omitempty"`
	Method         string    `json:"method,omitempty"`
	Host           string    `json:"host,omitempty"`
	Path           string    `json:"path,omitempty"`
	Route          string    `json:"route,omitempty"`
	TraceID        string    `json:"trace_id,omitempty"`
	Count          uint64    `json:"count"`
	FirstSeen      time.Time `json:"first_seen"`
	LastSeen       time.Time `json:"last_seen"`
	FirstRelease   string    `json:"first_release,omitempty"`
	RegressedIn    string    `json:"regressed_in,omitempty"`
	Threshold      uint64    `json:"threshold,omitempty"`
	LastHour       uint64    `json:"last_hour,omitempty"`
	Baseline       float64   `json:"baseline,omitempty"`
	Link           string    `json:"link,omitempty"`
}

func toGroup(g notify.Group) group {
	r := g.Record
	out := group{Fingerprint: g.Fingerprint, Type: r.Type, Message: r.Message, Service: r.Service, ServiceVersion: r.ServiceVersion,
		Environment: r.Environment, Method: r.Method, Host: r.Host, Path: r.Path, Route: r.Route,
		Count: g.Count, FirstSeen: g.FirstSeen.UTC(), LastSeen: g.LastSeen.UTC(), FirstRelease: g.FirstRelease,
		RegressedIn: g.RegressedIn, Threshold: g.Threshold, LastHour: g.LastHour, Baseline: g.Baseline, Link: g.Link}
	if r.TraceID.IsValid() {
		out.TraceID = r.TraceID.String()
	}
	return out
}

func newDocument(n notify.Notification, sentAt time.Time) document {
	d := document{Event: n.Event, ID: n.ID, SentAt: sentAt.UTC(), Summary: summary(n, plain), Omitted: n.Omitted}
	if n.Event == notify.EventDigest {
		for _, g := range n.Groups {
			d.Groups = append(d.Groups, toGroup(g))
		}
		return d
	}
	g := toGroup(n.Group())
	d.Group, d.Link = &g, g.Link
	return d
}

// slackMessage is the FormatSlack body.
type slackMessage struct {
	Text string `json:"text"`
}

// escape is how a piece of text goes into a message: as it is, or with
// Slack's control characters escaped.
type escape func(string) string

func plain(s string) string { return s }

// slackEscape escapes the three characters Slack reads as control
// characters (&, <, >), and only those, as Slack's formatting guide asks;
// so a message cannot mention <!channel> or forge a link.
var slackEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace

// summary is the notification in a few lines of text.
func summary(n notify.Notification, esc escape) string {
	var b strings.Builder
	if n.Event == notify.EventDigest {
		fmt.Fprintf(&b, "%d new errors", len(n.Groups)+n.Omitted)
		for _, g := range n.Groups {
			b.WriteString("\n• " + line(g, esc) + linkText(g.Link, esc))
		}
		if n.Omitted > 0 {
			fmt.Fprintf(&b, "\n… and %d more", n.Omitted)
		}
		return b.String()
	}
	g := n.Group()
	b.WriteString(headline(n.Event, g) + ": " + line(g, esc))
	if d := detail(n.Event, g); d != "" {
		b.WriteString("\n" + esc(d))
	}
	b.WriteString(linkText(g.Link, esc))
	return b.String()
}

func headline(ev notify.Event, g notify.Group) string {
	switch ev {
	case notify.EventNew:
		return "New error"
	case notify.EventRegression:
		return "Regression"
	case notify.EventWoke:
		return "Woke up"
	case notify.EventThreshold:
		return fmt.Sprintf("Crossed %d occurrences", g.Threshold)
	case notify.EventSpike:
		return "Spike"
	}
	return string(ev)
}

// line is the group on one line: service, request and error.
func line(g notify.Group, esc escape) string {
	r := g.Record
	var b strings.Builder
	if r.Service != "" {
		b.WriteString("[" + r.Service + "] ")
	}
	if r.Method != "" {
		b.WriteString(r.Method + " ")
	}
	if r.Host != "" || r.Path != "" {
		b.WriteString(r.Host + r.Path + " ")
	}
	b.WriteString(r.Type + ": " + r.Message)
	return esc(strings.Join(strings.Fields(b.String()), " "))
}

func detail(ev notify.Event, g notify.Group) string {
	var parts []string
	switch ev {
	case notify.EventNew:
		if g.FirstRelease != "" {
			parts = append(parts, "first seen in "+g.FirstRelease)
		}
	case notify.EventRegression:
		if g.RegressedIn != "" {
			parts = append(parts, "regressed in "+g.RegressedIn)
		}
	case notify.EventSpike:
		parts = append(parts, fmt.Sprintf("%d in the last hour, hourly baseline %.1f", g.LastHour, g.Baseline))
	case notify.EventWoke:
		parts = append(parts, "its ignore condition was met")
	}
	parts = append(parts, fmt.Sprintf("%d occurrences", g.Count))
	return strings.Join(parts, " · ")
}

// linkText puts the link on a line of its own: bare in plain text, as
// Slack's <url|text> link (which Mattermost translates too) otherwise.
func linkText(link string, esc escape) string {
	switch {
	case link == "":
		return ""
	case esc("<") == "<":
		return "\n" + link
	}
	return "\n<" + esc(link) + "|Open this error>"
}
