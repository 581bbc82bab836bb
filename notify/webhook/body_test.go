package webhook_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/notify"
	"github.com/errortracker/errortracker/notify/webhook"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func group(fp string, at time.Time) notify.Group {
	r := exporter.Record{ID: "occ-1", Fingerprint: fp, Time: at, Type: "*url.Error", Message: "Get \"http://payments/charge\": connection refused",
		Service: "shop", ServiceVersion: "1.5.0", Environment: "prod", Method: "POST", Host: "shop.example.com", Path: "/checkout",
		Route: "POST /checkout", TraceID: trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		Stacktrace: "main.charge(...)\n\t/src/shop/pay.go:12\n", Extras: nil}
	return notify.Group{Fingerprint: fp, Record: r, Count: 42, FirstSeen: at.Add(-48 * time.Hour), LastSeen: at,
		FirstRelease: "1.4.0", Link: "https://shop.example.com/dev/error/" + fp}
}

// Expect: the bodies match the golden files byte for byte — the JSON
// document's field names are the contract receivers code against — and
// none carries the record's stack trace.
func TestBodiesGolden(t *testing.T) {
	at := time.Date(2026, 11, 29, 1, 2, 3, 0, time.UTC)
	sentAt := at.Add(time.Second)
	regression := group("a1b2c3", at)
	regression.RegressedIn = "1.5.0"
	digest := []notify.Group{group("d1", at), group("d2", at)}
	cases := []struct {
		name   string
		format webhook.Format
		n      notify.Notification
	}{
		{"new.json", webhook.FormatJSON, notify.Notification{Event: notify.EventNew, ID: "0f1e2d3c4b5a69788796a5b4c3d2e1f0", Time: at, Groups: []notify.Group{group("a1b2c3", at)}}},
		{"regression.json", webhook.FormatJSON, notify.Notification{Event: notify.EventRegression, ID: "1f1e2d3c4b5a69788796a5b4c3d2e1f0", Time: at, Groups: []notify.Group{regression}}},
		{"digest.json", webhook.FormatJSON, notify.Notification{Event: notify.EventDigest, ID: "2f1e2d3c4b5a69788796a5b4c3d2e1f0", Time: at, Groups: digest, Omitted: 3}},
		{"regression.slack.json", webhook.FormatSlack, notify.Notification{Event: notify.EventRegression, ID: "1f1e2d3c4b5a69788796a5b4c3d2e1f0", Time: at, Groups: []notify.Group{regression}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w, err := webhook.New(webhook.Config{URL: "https://hooks.example.com/x", Secret: "s", Format: tc.format})
			if err != nil {
				t.Fatal(err)
			}
			body, err := w.Body(tc.n, sentAt)
			if err != nil {
				t.Fatal(err)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, body, "", "  "); err != nil {
				t.Fatal(err)
			}
			pretty.WriteByte('\n')
			path := filepath.Join("testdata", tc.name)
			if *update {
				if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(pretty.Bytes(), want) {
				t.Errorf("%s differs from the golden file:\n%s", tc.name, pretty.Bytes())
			}
			if bytes.Contains(body, []byte("pay.go")) {
				t.Errorf("the body carries the stack trace: %s", body)
			}
		})
	}
}
