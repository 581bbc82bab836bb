#!/usr/bin/env bash
# The test command: installs and starts what the tests need (once per run),
# then runs go vet and the race-enabled tests of every module, benchmarks
# included (one iteration each, so they stay correct).
set -euo pipefail
. "$(dirname "$0")/services.sh"
cd "$ROOT"

need_go
trap stop_services EXIT INT TERM
need_zookeeper
need_chromium
need_chdb
need_node_otel
if [ -n "${ERRORTRACKER_TEST_CLICKHOUSE_ADDR:-}" ]; then
	# Your own server (README, "Which ClickHouse"): the shared tests run on
	# it; those that freeze, kill or cluster servers still start Debian's.
	apt_install clickhouse-server
	[ -n "${ERRORTRACKER_TEST_CLICKHOUSE_HTTP_ADDR:-}" ] ||
		die "set ERRORTRACKER_TEST_CLICKHOUSE_HTTP_ADDR too: host:port of the HTTP interface of the server at $ERRORTRACKER_TEST_CLICKHOUSE_ADDR"
	version=$(curl -fsS --data-binary 'SELECT version()' "http://$ERRORTRACKER_TEST_CLICKHOUSE_HTTP_ADDR/") ||
		die "no ClickHouse answers at http://$ERRORTRACKER_TEST_CLICKHOUSE_HTTP_ADDR/ (user default, no password)"
	log "testing against your ClickHouse $version at $ERRORTRACKER_TEST_CLICKHOUSE_ADDR"
else
	start_clickhouse test
	export ERRORTRACKER_TEST_CLICKHOUSE_ADDR=$CLICKHOUSE_TCP_ADDR
	export ERRORTRACKER_TEST_CLICKHOUSE_HTTP_ADDR=$CLICKHOUSE_HTTP_ADDR
fi

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.build/*'))
[ -z "$unformatted" ] || die "gofmt would change: $unformatted"

for mod in . bench otelcol-config/validate otelcol-config/errortrackerexporter otelcol-config/otelcol-errortracker; do
	log "go vet ($mod)"
	(cd "$mod" && go vet ./...)
done
log "go test -race"
go test -race -count=1 -timeout 30m ./...
log "go test -race (the Collector configuration, a module of its own)"
(cd otelcol-config/validate && go test -race -count=1 -timeout 20m ./...)
log "go test -race (the errortracker Collector components, a module of their own)"
(cd otelcol-config/errortrackerexporter && go test -race -count=1 -timeout 20m -bench . -benchtime 1x ./...)
log "go test -race (the Collector distribution: its yaml, and a Node.js service through it as a process)"
(cd otelcol-config/otelcol-errortracker && go test -race -count=1 -timeout 20m ./...)
log "benchmarks (one iteration each, as tests; the README gives the commands that measure)"
ERRORTRACKER_BENCH_ROWS=100000 go test -count=1 -run '^$' -bench . -benchtime 1x -timeout 20m ./...
(cd bench && go test -race -count=1 -run . -bench . -benchtime 1x ./...)
