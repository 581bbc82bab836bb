package quickstart_test

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/errortracker/errortracker/internal/testenv"
)

// TestMain runs the example only where a test ClickHouse is (always in CI,
// where scripts/test.sh starts one); the README check needs none.
func TestMain(m *testing.M) {
	flag.Parse()
	if os.Getenv(testenv.EnvClickHouseAddr) == "" && !testenv.InCI() {
		fmt.Fprintf(os.Stderr, "quickstart: %s is not set: the example is skipped (./scripts/test.sh starts a ClickHouse)\n", testenv.EnvClickHouseAddr)
		_ = flag.Set("test.run", "^TestREADME")
	}
	os.Exit(m.Run())
}
