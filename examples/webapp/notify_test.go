package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/errortracker/errortracker/exporter/clickhouse"
	"github.com/errortracker/errortracker/internal/testenv"
)

// Expect: the app configured with a webhook alone (no e-mail) and its
// resource from OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES sends one
// signed request per new group to a receiver on loopback, naming the
// service, its environment and "first seen in 1.4.0"; the stored record
// carries service.version 1.4.0 too.
func TestWebappWebhookAndResource(t *testing.T) {
	chAddr := testenv.ClickHouseAddr(t)
	hooks := testenv.StartHooks(t, "hook-secret")

	db := fmt.Sprintf("t_webapp_hook_%d", time.Now().UnixNano())
	a := startApp(t, build(t), "CLICKHOUSE_ADDR="+chAddr, "CLICKHOUSE_DATABASE="+db,
		"APP_ERROR_SEND_NOTIFICATION=true", "APP_ERROR_WEBHOOK_URL="+hooks.URL, "APP_ERROR_WEBHOOK_SECRET=hook-secret",
		"OTEL_SERVICE_NAME=shop", "OTEL_RESOURCE_ATTRIBUTES=service.version=1.4.0,deployment.environment.name=prod")
	base := a.base
	for range 3 {
		fetch(t, base+"/value-error", false)
	}

	var doc struct {
		Event string `json:"event"`
		Group struct {
			Fingerprint, Service, ServiceVersion, Environment, FirstRelease string
		} `json:"group"`
	}
	hooks.WaitFor(t, 1, 20*time.Second)
	time.Sleep(500 * time.Millisecond) // a second request would come now
	got, refused := hooks.Bodies(), hooks.Refused()
	if len(got) != 1 || refused != 0 {
		t.Fatalf("%d verified and %d refused requests, want 1 and 0", len(got), refused)
	}
	// Field names as the JSON document spells them.
	raw := map[string]any{}
	if err := json.Unmarshal(got[0], &raw); err != nil {
		t.Fatal(err)
	}
	g, _ := raw["group"].(map[string]any)
	doc.Event, _ = raw["event"].(string)
	for k, to := range map[string]*string{"fingerprint": &doc.Group.Fingerprint, "service": &doc.Group.Service,
		"service_version": &doc.Group.ServiceVersion, "environment": &doc.Group.Environment, "first_release": &doc.Group.FirstRelease} {
		*to, _ = g[k].(string)
	}
	if doc.Event != "new" || doc.Group.Service != "shop" || doc.Group.ServiceVersion != "1.4.0" || doc.Group.Environment != "prod" ||
		doc.Group.FirstRelease != "1.4.0" {
		t.Errorf("webhook body %s", got[0])
	}

	store, err := clickhouse.New(context.Background(), clickhouse.Config{Addrs: []string{chAddr}, Database: db})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = store.Shutdown(context.Background()) }()
	_, latest, err := store.GetGroup(context.Background(), doc.Group.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	if latest.ServiceVersion != "1.4.0" || latest.Service != "shop" {
		t.Errorf("stored record: service %q version %q, want shop 1.4.0", latest.Service, latest.ServiceVersion)
	}
}

// Expect: a webhook mistake stops the app with one line naming the
// setting.
func TestWebhookMistakeIsOneLine(t *testing.T) {
	bin := build(t)
	for _, tc := range []struct {
		env  []string
		want string
	}{
		{[]string{"APP_ERROR_WEBHOOK_URL=https://hooks.example.com/x", "APP_ERROR_WEBHOOK_FORMAT=teams"}, "APP_ERROR_WEBHOOK_FORMAT"},
		{[]string{"APP_ERROR_WEBHOOK_URL=https://hooks.example.com/x"}, "APP_ERROR_WEBHOOK_SECRET"},
		{[]string{"APP_ERROR_SEND_NOTIFICATION=true", "APP_ERROR_RECIPIENT_EMAIL=ops@example.com", "APP_ERROR_EMAIL_SENDER=t@example.com"}, "SMTP_ADDR"},
	} {
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), tc.env...)
		out, err := cmd.CombinedOutput()
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if err == nil || len(lines) != 1 || !strings.HasPrefix(lines[0], "webapp: ") || !strings.Contains(lines[0], tc.want) {
			t.Errorf("%v: exit %v, output:\n%s", tc.env, err, out)
		}
	}
}
