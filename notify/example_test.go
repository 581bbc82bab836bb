package notify_test

import (
	"context"
	"fmt"
	"time"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/notify"
)

// A notifier of your own, like the Python library's notifier object:
// here it prints; a real one would page someone. Attach the policy to the
// processor with processor.WithExporter(policy).
func ExampleNotifierFunc() {
	pager := notify.NotifierFunc(func(_ context.Context, n notify.Notification) error {
		g := n.Group()
		fmt.Printf("%s: %s (first seen in %s) %s\n", n.Event, g.Record.Message, g.FirstRelease, g.Link)
		return nil
	})
	policy, err := notify.New(notify.Config{BaseURL: "https://shop.example.com/dev/error"}, pager)
	if err != nil {
		panic(err)
	}
	r := exporter.Record{ID: "1", Fingerprint: "f1", Time: time.Now(), Type: "*url.Error", Message: "payment service unreachable", ServiceVersion: "1.4.0"}
	_ = policy.Export(context.Background(), []exporter.Record{r, r})
	_ = policy.Shutdown(context.Background()) // delivers what is queued
	// Output: new: payment service unreachable (first seen in 1.4.0) https://shop.example.com/dev/error/f1
}
