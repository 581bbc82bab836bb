package exporter_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/errortracker/errortracker/exporter"
)

func TestIgnoreValidate(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name string
		i    exporter.Ignore
		ok   bool
	}{
		{"forever", exporter.Ignore{}, true},
		{"until", exporter.Ignore{Until: now}, true},
		{"count", exporter.Ignore{Count: 3}, true},
		{"rate", exporter.Ignore{Rate: exporter.Rate{Count: 10, Window: time.Hour}}, true},
		{"rate at the bound", exporter.Ignore{Rate: exporter.Rate{Count: 1, Window: exporter.MaxRateWindow}}, true},
		{"two conditions", exporter.Ignore{Until: now, Count: 3}, false},
		{"three conditions", exporter.Ignore{Until: now, Count: 3, Rate: exporter.Rate{Count: 1, Window: time.Hour}}, false},
		{"rate without count", exporter.Ignore{Rate: exporter.Rate{Window: time.Hour}}, false},
		{"rate without window", exporter.Ignore{Rate: exporter.Rate{Count: 5}}, false},
		{"rate window too long", exporter.Ignore{Rate: exporter.Rate{Count: 5, Window: exporter.MaxRateWindow + time.Second}}, false},
		{"rate window negative", exporter.Ignore{Rate: exporter.Rate{Count: 5, Window: -time.Hour}}, false},
	} {
		err := tc.i.Validate()
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, exporter.ErrInvalid)) {
			t.Errorf("%s: %v, want ok=%v (or ErrInvalid)", tc.name, err, tc.ok)
		}
	}
	if !(exporter.Ignore{}).Forever() || (exporter.Ignore{Count: 1}).Forever() {
		t.Error("Forever is the zero value only")
	}
}

func TestChangeValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    exporter.Change
		ok   bool
	}{
		{"open", exporter.Change{Status: exporter.StatusOpen}, true},
		{"resolved by someone", exporter.Change{Status: exporter.StatusResolved, By: "ann"}, true},
		{"resolved in the next release", exporter.Change{Status: exporter.StatusResolved, InNextRelease: true}, true},
		{"ignored until a count", exporter.Change{Status: exporter.StatusIgnored, Ignore: exporter.Ignore{Count: 2}}, true},
		{"no status", exporter.Change{}, false},
		{"unknown status", exporter.Change{Status: "snoozed"}, false},
		{"next release of an ignore", exporter.Change{Status: exporter.StatusIgnored, InNextRelease: true}, false},
		{"a condition on a resolve", exporter.Change{Status: exporter.StatusResolved, Ignore: exporter.Ignore{Count: 2}}, false},
		{"a bad condition", exporter.Change{Status: exporter.StatusIgnored, Ignore: exporter.Ignore{Rate: exporter.Rate{Count: 2}}}, false},
		{"an actor with a newline", exporter.Change{Status: exporter.StatusOpen, By: "ann\nbob"}, false},
		{"an actor too long", exporter.Change{Status: exporter.StatusOpen, By: strings.Repeat("a", 257)}, false},
	} {
		err := tc.c.Validate()
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, exporter.ErrInvalid)) {
			t.Errorf("%s: %v, want ok=%v (or ErrInvalid)", tc.name, err, tc.ok)
		}
	}
	if err := exporter.CheckActor("ann\x00"); !errors.Is(err, exporter.ErrInvalid) {
		t.Errorf("CheckActor with a NUL: %v", err)
	}
	if err := exporter.CheckActor(""); err != nil {
		t.Errorf("CheckActor of nobody: %v", err)
	}
}

func TestOutcome(t *testing.T) {
	at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	resolved := exporter.Change{Status: exporter.StatusResolved, At: at}
	next := exporter.Change{Status: exporter.StatusResolved, InNextRelease: true, At: at}
	ignored := func(i exporter.Ignore) exporter.Change {
		return exporter.Change{Status: exporter.StatusIgnored, Ignore: i, At: at}
	}
	for _, tc := range []struct {
		name string
		c    exporter.Change
		s    exporter.Since
		want exporter.Outcome
	}{
		{"never set", exporter.Change{}, exporter.Since{Count: 5}, exporter.Outcome{Status: exporter.StatusOpen}},
		{"reopened", exporter.Change{Status: exporter.StatusOpen}, exporter.Since{Count: 5}, exporter.Outcome{Status: exporter.StatusOpen}},
		{"resolved, quiet", resolved, exporter.Since{}, exporter.Outcome{Status: exporter.StatusResolved}},
		{"resolved, occurred", resolved, exporter.Since{Count: 1, Last: at.Add(time.Minute)},
			exporter.Outcome{Status: exporter.StatusOpen, Regressed: true}},
		{"resolved, occurred in a new release", resolved, exporter.Since{Count: 1, NewRelease: "1.2"},
			exporter.Outcome{Status: exporter.StatusOpen, Regressed: true, RegressedIn: "1.2"}},
		{"next release, old releases only", next, exporter.Since{Count: 7}, exporter.Outcome{Status: exporter.StatusResolved}},
		{"next release, a new one", next, exporter.Since{Count: 8, NewRelease: "1.3"},
			exporter.Outcome{Status: exporter.StatusOpen, Regressed: true, RegressedIn: "1.3"}},
		{"ignored forever", ignored(exporter.Ignore{}), exporter.Since{Count: 1000, RateReached: true, NewRelease: "9"},
			exporter.Outcome{Status: exporter.StatusIgnored}},
		{"count not reached", ignored(exporter.Ignore{Count: 3}), exporter.Since{Count: 2}, exporter.Outcome{Status: exporter.StatusIgnored}},
		{"count reached", ignored(exporter.Ignore{Count: 3}), exporter.Since{Count: 3}, exporter.Outcome{Status: exporter.StatusOpen, Woke: true}},
		{"until, occurred before", ignored(exporter.Ignore{Until: at.Add(time.Hour)}), exporter.Since{Count: 4, Last: at.Add(time.Hour)},
			exporter.Outcome{Status: exporter.StatusIgnored}},
		{"until, occurred after", ignored(exporter.Ignore{Until: at.Add(time.Hour)}), exporter.Since{Count: 1, Last: at.Add(time.Hour + 1)},
			exporter.Outcome{Status: exporter.StatusOpen, Woke: true}},
		{"until passed, quiet", ignored(exporter.Ignore{Until: at.Add(-time.Hour)}), exporter.Since{},
			exporter.Outcome{Status: exporter.StatusIgnored}},
		{"rate not reached", ignored(exporter.Ignore{Rate: exporter.Rate{Count: 5, Window: time.Hour}}), exporter.Since{Count: 50},
			exporter.Outcome{Status: exporter.StatusIgnored}},
		{"rate reached", ignored(exporter.Ignore{Rate: exporter.Rate{Count: 5, Window: time.Hour}}), exporter.Since{Count: 5, RateReached: true},
			exporter.Outcome{Status: exporter.StatusOpen, Woke: true}},
	} {
		if got := tc.c.Outcome(tc.s); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestCarryOverCarriesTheLatestChange(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	ignore := exporter.Change{Status: exporter.StatusIgnored, Ignore: exporter.Ignore{Count: 5}, By: "ann", At: t0.Add(time.Hour)}
	states := map[string]exporter.GroupState{
		"new": {FirstSeen: t0.Add(2 * time.Hour), Change: exporter.Change{Status: exporter.StatusResolved, At: t0}},
		"old": {FirstSeen: t0, Change: ignore, Status: exporter.StatusIgnored, StatusChanged: ignore.At},
	}
	st, ok := exporter.CarryOver(states, "new", []string{"old"})
	if !ok || st.Change != ignore || !st.FirstSeen.Equal(t0) {
		t.Errorf("carried %+v (%v), want the old group's later ignore and first sighting", st, ok)
	}
}
