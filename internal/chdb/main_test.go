package chdb_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/errortracker/errortracker/internal/chdb"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(int) { _ = chdb.Shutdown() }))
}
