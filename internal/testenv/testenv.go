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
	// EnvChDBLibrary is the path of libchdb.so, ClickHouse as a library
	// (scripts/services.sh's need_chdb installs it from npm).
	EnvChDBLibrary = "ERRORTRACKER_TEST_CHDB_LIB"
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

// ChDBLibrary returns the path of chDB's libchdb.so, on which tests run the
// store's SQL on a current ClickHouse release in-process. Without it the
// test is skipped, or fails in CI.
func ChDBLibrary(t testing.TB) string {
	t.Helper()
	path := os.Getenv(EnvChDBLibrary)
	if path == "" {
		if InCI() {
			t.Fatalf("chDB is not installed (%s is unset): run the tests with ./scripts/test.sh", EnvChDBLibrary)
		}
		t.Skipf("chDB is not installed (%s is unset): ./scripts/test.sh installs it", EnvChDBLibrary)
	}
	if _, err := os.Stat(path); err != nil {
		if InCI() {
			t.Fatalf("chDB is missing: %v: run the tests with ./scripts/test.sh", err)
		}
		t.Skipf("chDB is missing: %v: ./scripts/test.sh installs it", err)
	}
	return path
}
