package setup_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.uber.org/goleak"

	"github.com/errortracker/errortracker/exporter/smtp"
	"github.com/errortracker/errortracker/internal/testenv"
	"github.com/errortracker/errortracker/notify"
	"github.com/errortracker/errortracker/notify/setup"
	"github.com/errortracker/errortracker/notify/webhook"
	"github.com/errortracker/errortracker/processor"
	"github.com/errortracker/errortracker/scope"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// Expect: with APP_ERROR_SEND_NOTIFICATION off nothing is built, whatever
// else is set.
func TestOffAttachesNothing(t *testing.T) {
	opt, pol, err := setup.ProcessorOption(processor.Config{RecipientEmail: []string{"a@example.com"}, EmailSender: "t@example.com",
		WebhookURL: "https://hooks.example.com/x", WebhookSecret: "s"}, setup.Config{SMTP: smtp.Config{Addr: "127.0.0.1:25"}})
	if opt != nil || pol != nil || err != nil {
		t.Errorf("off: option %v, policy %v, error %v; want nothing", opt, pol, err)
	}
}

// Expect: a webhook without e-mail recipients is a valid setup, and an
// error captured through the processor reaches a receiver on loopback as
// one signed request.
func TestWebhookOnly(t *testing.T) {
	hooks := testenv.StartHooks(t, "s3cret")
	pc := processor.Config{SendNotification: true, WebhookURL: hooks.URL, WebhookSecret: "s3cret"}.WithDefaults()
	opt, pol, err := setup.ProcessorOption(pc, setup.Config{})
	if err != nil || opt == nil || pol == nil {
		t.Fatalf("webhook only: %v %v %v", opt, pol, err)
	}
	if st := pol.Stats(); len(st) != 1 || st[0].Notifier != "*webhook.Notifier" {
		t.Errorf("transports %+v, want the webhook alone", st)
	}
	p, err := processor.New(pc, opt, processor.WithFlushInterval(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	ctx, span := tp.Tracer("shop").Start(context.Background(), "GET /cart")
	scope.CaptureException(ctx, errors.New("cart is gone for token=tok-hunter2"))
	span.End()
	body := string(hooks.WaitFor(t, 1, 10*time.Second)[0])
	if !strings.Contains(body, `"event":"new"`) || !strings.Contains(body, "cart is gone") {
		t.Errorf("body %s", body)
	}
	if strings.Contains(body, "hunter2") || !strings.Contains(body, "token=**************") {
		t.Errorf("the webhook's body is not masked: %s", body)
	}
}

// Expect: with recipients and a webhook, the policy has both transports,
// in that order, with the mail settings from processor.Config; what
// smtp.ProcessorOption used to take (smtp.Config with the policy's
// fields) still works in setup.Config.SMTP.
func TestMailAndWebhook(t *testing.T) {
	in := testenv.StartPlainInbox(t)
	pc := processor.Config{SendNotification: true, RecipientEmail: []string{"ops@example.com"}, EmailSender: "t@example.com",
		SubjectPrefix: "[x]", WebhookURL: "https://hooks.example.com/x", WebhookFormat: webhook.FormatSlack}
	pol, err := setup.New(pc, setup.Config{SMTP: smtp.Config{Addr: in.Addr, TLS: smtp.TLSNone, BaseURL: "https://shop.example.com/dev/error"}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pol.Shutdown(context.Background()) }()
	st := pol.Stats()
	if len(st) != 2 || st[0].Notifier != "*smtp.Notifier" || st[1].Notifier != "*webhook.Notifier" {
		t.Errorf("transports %+v, want smtp and webhook", st)
	}
}

// Expect: clear errors for what cannot work.
func TestSetupErrors(t *testing.T) {
	tests := []struct {
		name string
		pc   processor.Config
		c    setup.Config
		want string
	}{
		{"recipients without a server", processor.Config{SendNotification: true, RecipientEmail: []string{"a@example.com"}, EmailSender: "t@example.com"},
			setup.Config{}, "APP_ERROR_RECIPIENT_EMAIL is set but no SMTP server is configured"},
		{"bad smtp", processor.Config{SendNotification: true, RecipientEmail: []string{"a@example.com"}, EmailSender: "t@example.com"},
			setup.Config{SMTP: smtp.Config{Addr: "mail.example.com"}}, "server address"},
		{"invalid processor config", processor.Config{SendNotification: true}, setup.Config{}, "nobody would get"},
		{"bad base URL", processor.Config{SendNotification: true, WebhookURL: "https://h.example.com", WebhookSecret: "s"},
			setup.Config{Policy: notify.Config{BaseURL: "/relative"}}, "base URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, pol, err := setup.ProcessorOption(tt.pc, tt.c)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want it to say %q", err, tt.want)
			}
			if pol != nil {
				_ = pol.Shutdown(context.Background())
				t.Error("a policy despite the error")
			}
		})
	}
}
