package processor_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/processor"
	"github.com/errortracker/errortracker/scope"
)

// connecting is an exporter whose store connects in the background, as
// the ClickHouse exporter does when the app starts before its server: it
// answers exporter.ErrNotReady until ready is set.
type connecting struct {
	recorder
	ready atomic.Bool
}

func (c *connecting) Export(ctx context.Context, recs []exporter.Record) error {
	if !c.ready.Load() {
		return fmt.Errorf("store: %w: connection refused", exporter.ErrNotReady)
	}
	return c.recorder.Export(ctx, recs)
}

// Records wait in the queue for a store that is not ready for longer than
// the retry budget: waiting for it is not failing.
func TestRecordsWaitForAStoreThatIsNotReady(t *testing.T) {
	c := &connecting{}
	pl := newPipeline(t, processor.Config{}, processor.WithExporter(c),
		processor.WithRetry(processor.RetryConfig{Initial: 5 * time.Millisecond, Max: 20 * time.Millisecond, MaxElapsed: 50 * time.Millisecond}))
	ctx, span := pl.tp.Tracer("t").Start(context.Background(), "job")
	scope.CaptureMessage(ctx, "before the store was up")
	span.End()
	time.Sleep(300 * time.Millisecond) // six times the retry budget
	c.ready.Store(true)
	pl.flush(t)
	deadline := time.Now().Add(5 * time.Second)
	for len(c.Records()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if recs := c.Records(); len(recs) != 1 || recs[0].Message != "before the store was up" {
		t.Fatalf("records %v", recs)
	}
}
