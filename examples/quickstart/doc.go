// Package quickstart holds the README's quick start as a runnable example
// (example_test.go): the suite compiles it, runs it against the test
// ClickHouse, and checks that the README shows the same code, so that the
// quick start cannot rot. The package itself is empty.
package quickstart
