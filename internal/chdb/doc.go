// Package chdb runs SQL on chDB, the ClickHouse engine built as a shared
// library (libchdb.so, from the npm package @chdb/lib-linux-x64-gnu that
// scripts/test.sh installs). The tests use it to run the store's
// statements on a current ClickHouse release in-process, while the driver
// path runs against Debian's 18.16 server.
//
// The library is loaded at run time with dlopen, so nothing links against
// it and no package outside the tests imports this one. chDB starts one
// engine per process, with one data directory: Open returns that engine to
// every caller, and it lives until the process exits.
package chdb
