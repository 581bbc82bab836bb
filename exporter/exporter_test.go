package exporter_test

import (
	"errors"
	"fmt"
	"testing"

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
