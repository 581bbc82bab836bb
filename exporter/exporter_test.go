package exporter_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/errortracker/errortracker/exporter"
)

func TestPermanent(t *testing.T) {
	cause := errors.New("column missing")
	err := fmt.Errorf("insert: %w", exporter.Permanent(cause))
	if !errors.Is(err, exporter.ErrPermanent) || !errors.Is(err, cause) {
		t.Errorf("%v: want both ErrPermanent and the cause", err)
	}
	if err.Error() != "insert: column missing" {
		t.Errorf("message %q", err)
	}
	if exporter.Permanent(nil) != nil {
		t.Error("Permanent(nil) is not nil")
	}
	if errors.Is(errors.New("timeout"), exporter.ErrPermanent) {
		t.Error("a plain error is permanent")
	}
}

func TestCarryOver(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	states := map[string]exporter.GroupState{
		"old-a": {FirstSeen: t0.Add(time.Hour), Count: 7, Status: exporter.StatusResolved, StatusChanged: t0.Add(2 * time.Hour)},
		"old-b": {FirstSeen: t0, Count: 3, Status: exporter.StatusOpen, StatusChanged: t0.Add(time.Hour)},
		"new":   {FirstSeen: t0.Add(48 * time.Hour), Count: 1},
	}
	st, ok := exporter.CarryOver(states, "new", []string{"old-a", "old-b", "old-unknown"})
	if want := (exporter.GroupState{FirstSeen: t0, Count: 7, Status: exporter.StatusResolved, StatusChanged: t0.Add(2 * time.Hour)}); !ok || st != want {
		t.Errorf("carried %+v %v, want %+v", st, ok, want)
	}
	if _, ok := exporter.CarryOver(states, "other", []string{"old-unknown"}); ok {
		t.Error("a group with no known previous one is known")
	}
}
