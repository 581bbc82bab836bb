package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/notify"
)

// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the body
// under Config.Secret.
const SignatureHeader = "X-Errortracker-Signature"

// DefaultTimeout bounds one request.
const DefaultTimeout = 10 * time.Second

// Config configures the webhook.
type Config struct {
	// URL receives the POST (APP_ERROR_WEBHOOK_URL): http or https. It is
	// treated as a secret (Slack's and Mattermost's URLs are): errors name
	// its host only.
	URL string
	// Secret signs every body (APP_ERROR_WEBHOOK_SECRET); required for
	// FormatJSON, optional for FormatSlack, whose receivers do not check.
	Secret string
	// Format is the body's shape (APP_ERROR_WEBHOOK_FORMAT, default
	// FormatJSON).
	Format Format
	// Timeout bounds one request (default DefaultTimeout); the policy
	// retries a failed one with backoff.
	Timeout time.Duration
	// Client sends the requests (default: a client of its own, with
	// Timeout). Redirects are never followed.
	Client *http.Client
}

// Notifier posts notifications to a URL. Create it with New.
type Notifier struct {
	cfg    Config
	client *http.Client
	host   string
}

var _ notify.Notifier = (*Notifier)(nil)

// New checks the configuration. It does not connect.
func New(cfg Config) (*Notifier, error) {
	if err := cfg.Format.UnmarshalText([]byte(cfg.Format)); err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("webhook: invalid configuration: %w", err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	client := &http.Client{Timeout: cfg.Timeout}
	if cfg.Client != nil {
		c := *cfg.Client
		client = &c
	}
	// A redirect would carry the signed body somewhere the configuration
	// does not name.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	u, _ := url.Parse(cfg.URL)
	return &Notifier{cfg: cfg, client: client, host: u.Scheme + "://" + u.Host}, nil
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, errors.New("URL (APP_ERROR_WEBHOOK_URL): want an absolute http or https URL"))
	}
	f := c.Format
	if err := f.UnmarshalText([]byte(c.Format)); err != nil {
		errs = append(errs, err)
	}
	if f == FormatJSON && c.Secret == "" {
		errs = append(errs, errors.New("no secret (APP_ERROR_WEBHOOK_SECRET): the json format is signed (X-Errortracker-Signature) so that a receiver can tell the tracker sent it"))
	}
	return errors.Join(errs...)
}

// Notify posts n, signed, within ctx and Config.Timeout. A network error,
// 408, 429 and 5xx are worth a retry (after the answer's Retry-After
// seconds, when it gives them); another answer that is not 2xx is
// permanent (exporter.ErrPermanent).
func (w *Notifier) Notify(ctx context.Context, n notify.Notification) error {
	body, err := w.Body(n, time.Now())
	if err != nil {
		return exporter.Permanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return exporter.Permanent(fmt.Errorf("webhook %s: %w", w.host, err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "errortracker-webhook")
	if w.cfg.Secret != "" {
		req.Header.Set(SignatureHeader, Sign(w.cfg.Secret, body))
	}
	resp, err := w.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message holds the whole URL
		}
		return fmt.Errorf("webhook %s: %w", w.host, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return nil
	case c == http.StatusRequestTimeout || c == http.StatusTooManyRequests || c >= 500:
		err := fmt.Errorf("webhook %s: %s", w.host, resp.Status)
		if secs, perr := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); perr == nil && secs > 0 {
			return notify.RetryAfter(err, time.Duration(secs)*time.Second)
		}
		return err
	default:
		return exporter.Permanent(fmt.Errorf("webhook %s: %s", w.host, resp.Status))
	}
}

// Body renders the request body of n in the configured format, as sent at
// sentAt.
func (w *Notifier) Body(n notify.Notification, sentAt time.Time) ([]byte, error) {
	var v any = newDocument(n, sentAt)
	if w.cfg.Format == FormatSlack {
		v = slackMessage{Text: summary(n, slackEscape)}
	}
	// Without Go's HTML escaping: the body is JSON for machines and chats,
	// not for a page, and Slack's <url|text> stays readable.
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("webhook: encode: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// Sign returns the signature header's value for body: "sha256=" and the
// hex HMAC-SHA256 of the body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether header is body's signature under secret, in
// constant time: what a receiver checks before it trusts a request.
func Verify(secret string, body []byte, header string) bool {
	return hmac.Equal([]byte(header), []byte(Sign(secret, body)))
}
