// Package testenv tells tests where the real services started by
// scripts/test.sh are. A test that needs a service asks for it here: outside
// CI, a missing service skips the test with a hint; in CI (CI=true) it fails
// the test, so that a run cannot pass by skipping.
package testenv

import (
	"os"
	"testing"
)

// Environment variables set by scripts/test.sh.
const (
	EnvClickHouseAddr     = "ERRORTRACKER_TEST_CLICKHOUSE_ADDR"
	EnvClickHouseHTTPAddr = "ERRORTRACKER_TEST_CLICKHOUSE_HTTP_ADDR"
)

// ClickHouseAddr returns host:port of the shared test ClickHouse server's
// native protocol.
func ClickHouseAddr(t testing.TB) string {
	t.Helper()
	return need(t, EnvClickHouseAddr, "ClickHouse")
}

// ClickHouseHTTPAddr returns host:port of the shared test ClickHouse
// server's HTTP interface.
func ClickHouseHTTPAddr(t testing.TB) string {
	t.Helper()
	return need(t, EnvClickHouseHTTPAddr, "ClickHouse")
}

// InCI reports whether the tests run in CI, where nothing may be skipped.
func InCI() bool {
	return os.Getenv("CI") == "true"
}

func need(t testing.TB, env, service string) string {
	t.Helper()
	if v := os.Getenv(env); v != "" {
		return v
	}
	if InCI() {
		t.Fatalf("%s is not running (%s is unset): run the tests with ./scripts/test.sh", service, env)
	}
	t.Skipf("%s is not running (%s is unset): ./scripts/test.sh starts it", service, env)
	return ""
}

// ChromiumPath returns the path of the Chromium binary for browser tests:
// CHROMIUM_PATH, or Debian's /usr/bin/chromium.
func ChromiumPath(t testing.TB) string {
	t.Helper()
	path := os.Getenv("CHROMIUM_PATH")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		if InCI() {
			t.Fatalf("Chromium is missing at %s: run the tests with ./scripts/test.sh", path)
		}
		t.Skipf("Chromium is missing at %s: ./scripts/test.sh installs it", path)
	}
	return path
}
