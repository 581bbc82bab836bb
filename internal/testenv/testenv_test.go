package testenv_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/errortracker/errortracker/internal/testenv"
)

// TestClickHouseIsUp checks that the test command started the shared
// ClickHouse server: later packages store and query through it.
func TestClickHouseIsUp(t *testing.T) {
	addr := testenv.ClickHouseHTTPAddr(t)
	resp, err := http.Get("http://" + addr + "/?query=SELECT%20version()")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	version := strings.TrimSpace(string(body))
	if resp.StatusCode != http.StatusOK || strings.Count(version, ".") < 2 {
		t.Fatalf("version query: %d %q", resp.StatusCode, body)
	}
	t.Logf("ClickHouse %s", version)
}
