package notify_test

import (
	"testing"
	"time"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/internal/testenv"
	"github.com/errortracker/errortracker/notify"
)

// Expect, for the rule alone: the last hour spikes at 10× the mean of the
// 24 hours before it and at least 100; hours outside the window do not
// count; the batch's own records count when the store has fewer.
func TestSpikeRule(t *testing.T) {
	now := time.Date(2026, 11, 29, 10, 30, 0, 0, time.UTC)
	hour := now.Truncate(time.Hour)
	flat := func(perHour uint64, last uint64) []exporter.HourCount {
		var out []exporter.HourCount
		for h := 24; h >= 1; h-- {
			out = append(out, exporter.HourCount{Hour: hour.Add(-time.Duration(h) * time.Hour), Count: perHour})
		}
		return append(out, exporter.HourCount{Hour: hour, Count: last})
	}
	tests := []struct {
		name     string
		counts   []exporter.HourCount
		inBatch  uint64
		last     uint64
		baseline float64
		want     bool
	}{
		{"ten times and 100", flat(10, 100), 0, 100, 10, true},
		{"just under ten times", flat(10, 99), 0, 99, 10, false},
		{"ten times but under 100", flat(1, 99), 0, 99, 1, false},
		{"no history, 100", []exporter.HourCount{{Hour: hour, Count: 100}}, 0, 100, 0, true},
		{"busy baseline", flat(20, 150), 0, 150, 20, false},
		{"older than the window does not count", append([]exporter.HourCount{{Hour: hour.Add(-25 * time.Hour), Count: 10000}},
			exporter.HourCount{Hour: hour, Count: 100}), 0, 100, 0, true},
		{"the batch counts when the store lags", flat(2, 40), 120, 120, 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			last, baseline, ok := notify.Spike(tt.counts, now, tt.inBatch)
			if last != tt.last || baseline != tt.baseline || ok != tt.want {
				t.Errorf("Spike = %d, %.2f, %v; want %d, %.2f, %v", last, baseline, ok, tt.last, tt.baseline, tt.want)
			}
		})
	}
}

// Expect, against ClickHouse: a group at 2 an hour for a day and 120 in
// this hour sends one spike (mail and webhook) saying 120 and 2.0, once:
// not again for the next occurrence, nor from a second instance; a group
// at 15 an hour with 120 now (under 10×) sends nothing; neither is
// announced as new.
func TestSpike(t *testing.T) {
	if d := time.Until(time.Now().Truncate(time.Hour).Add(time.Hour)); d < 20*time.Second {
		time.Sleep(d + time.Second) // keep the test's records in one clock hour
	}
	in := testenv.StartInbox(t)
	r := startReceiver(t)
	store := newStore(t)
	now := time.Now()
	hour := now.Truncate(time.Hour)
	var history []exporter.Record
	for _, g := range []struct {
		fp      string
		perHour int
	}{{"fp-spike", 2}, {"fp-busy", 15}} {
		for h := 24; h >= 1; h-- {
			for i := range g.perHour {
				history = append(history, rec(g.fp, "2.0", hour.Add(-time.Duration(h)*time.Hour+time.Duration(i)*time.Second)))
			}
		}
		for i := range 119 {
			history = append(history, rec(g.fp, "2.0", hour.Add(time.Duration(i)*time.Millisecond)))
		}
	}
	if err := store.Export(t.Context(), history); err != nil {
		t.Fatal(err)
	}
	p := newPolicy(t, notify.Config{Store: store}, transports(t, in, r)...)
	occur(t, store, p, rec("fp-spike", "2.0", now), rec("fp-busy", "2.0", now)) // the 120th of this hour
	mail := testenv.ParseMail(t, in.WaitFor(t, 1)[0])
	hooks := r.waitFor(t, 1)
	occur(t, store, p, rec("fp-spike", "2.0", time.Now()))
	occur(t, store, newPolicy(t, notify.Config{Store: sameStore(t, store)}, transports(t, in, r)...), rec("fp-spike", "2.0", time.Now()))
	quiet()
	if n, m := len(in.Messages()), len(r.hooks()); n != 1 || m != 1 {
		t.Fatalf("%d mails, %d webhook requests, want 1 and 1: one spike of fp-spike, none of fp-busy, nothing new", n, m)
	}
	h := hooks[0]
	if h.Event != notify.EventSpike || h.Group.Fingerprint != "fp-spike" || h.Group.LastHour != 120 || h.Group.Baseline != 2 {
		t.Errorf("spike webhook: %s", h.Raw)
	}
	if mail.Subject != "[shop] [spike] [GET] shop.example.com/x *errors.errorString: boom fp-spike" {
		t.Errorf("spike mail subject %q", mail.Subject)
	}
}
