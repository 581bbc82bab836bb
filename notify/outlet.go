package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/errortracker/errortracker/exporter"
)

// outlet is one notifier's bounded queue and its worker: the policy hands
// notifications over without waiting, so a notifier that is down or slow
// delays neither the policy nor the other notifiers, and never the app.
type outlet struct {
	n    Notifier
	name string
	in   chan Notification
	done chan struct{}

	sent, failed, dropped atomic.Uint64
}

// Stats counts what happened to one notifier's notifications.
type Stats struct {
	// Notifier names it (its Go type).
	Notifier string
	// Sent counts notifications delivered; Failed counts failed attempts
	// (each retried, unless permanent); Dropped counts notifications
	// given up: a full queue, a permanent error, retries past
	// Retry.MaxElapsed, or Shutdown's deadline.
	Sent, Failed, Dropped uint64
	// Queued is how many wait now.
	Queued int
}

func newOutlet(n Notifier, size int) *outlet {
	return &outlet{n: n, name: fmt.Sprintf("%T", n), in: make(chan Notification, size), done: make(chan struct{})}
}

// offer queues n without blocking; a full queue drops it.
func (o *outlet) offer(n Notification, log *slog.Logger) {
	select {
	case o.in <- n:
	default:
		o.dropped.Add(1)
		log.Warn("error tracker: notification dropped, the notifier's queue is full", "notifier", o.name, "event", n.Event, "id", n.ID)
	}
}

func (o *outlet) stats() Stats {
	return Stats{Notifier: o.name, Sent: o.sent.Load(), Failed: o.failed.Load(), Dropped: o.dropped.Load(), Queued: len(o.in)}
}

// run delivers until in is closed and drained, or base ends.
func (o *outlet) run(base context.Context, cfg Config) {
	defer close(o.done)
	for {
		select {
		case <-base.Done():
			o.dropped.Add(uint64(len(o.in)))
			return
		case n, ok := <-o.in:
			if !ok {
				return
			}
			o.deliver(base, cfg, n)
		}
	}
}

// deliver tries n until it goes out, fails for good, or runs out of time.
func (o *outlet) deliver(base context.Context, cfg Config, n Notification) {
	start := time.Now()
	wait := cfg.Retry.Initial
	for {
		err := o.attempt(base, cfg.AttemptTimeout, n)
		if err == nil {
			o.sent.Add(1)
			return
		}
		o.failed.Add(1)
		pause := wait
		var ra *retryAfterError
		if errors.As(err, &ra) {
			pause = max(pause, ra.after)
		}
		if errors.Is(err, exporter.ErrPermanent) || time.Since(start)+pause > cfg.Retry.MaxElapsed {
			o.dropped.Add(1)
			cfg.Logger.Warn("error tracker: notification not sent, giving up", "notifier", o.name, "event", n.Event, "id", n.ID, "error", err)
			return
		}
		cfg.Logger.Info("error tracker: notification not sent, will retry", "notifier", o.name, "event", n.Event, "id", n.ID, "in", pause, "error", err)
		t := time.NewTimer(pause)
		select {
		case <-base.Done():
			t.Stop()
			o.dropped.Add(1)
			return
		case <-t.C:
		}
		wait = min(2*wait, cfg.Retry.Max)
	}
}

// attempt calls Notify once within timeout, turning a panic into an
// error: a user's notifier must not take the process down.
func (o *outlet) attempt(base context.Context, timeout time.Duration, n Notification) (err error) {
	ctx, cancel := context.WithTimeout(base, timeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			err = exporter.Permanent(fmt.Errorf("notifier %s panicked: %v", o.name, r))
		}
	}()
	return o.n.Notify(ctx, n)
}

// RetryAfter wraps err with the wait the receiver asked for (an HTTP
// Retry-After): the policy waits at least that long before the next
// attempt, and gives up when that would pass Retry.MaxElapsed.
func RetryAfter(err error, after time.Duration) error {
	if err == nil {
		return nil
	}
	return &retryAfterError{err: err, after: after}
}

type retryAfterError struct {
	err   error
	after time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }
