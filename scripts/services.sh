# shellcheck shell=bash
# Installs and starts the real services the tests and the demo need, each on
# a free loopback port with its data under .build/. Sourced by test.sh and
# demo.sh; every function stops the run with a clear message on failure.
#
# In CI (CI=true) a service that cannot be installed or started fails the
# run: tests never skip because a service is missing.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD="$ROOT/.build"
STARTED_PIDS=()

die() { echo "error: $*" >&2; exit 1; }
log() { echo "==> $*" >&2; }

# apt_install PACKAGE... installs Debian packages that are missing.
apt_install() {
	local missing=()
	for p in "$@"; do
		dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	log "installing ${missing[*]} from Debian"
	$sudo apt-get update -qq >/dev/null || die "apt-get update failed"
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
		|| die "apt-get install ${missing[*]} failed"
}

# free_port prints a loopback TCP port that nothing listens on.
free_port() {
	local port
	for _ in $(seq 1 100); do
		port=$((20000 + RANDOM % 30000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	die "no free port found"
}

# wait_http URL SECONDS waits until URL answers.
wait_http() {
	local url=$1 seconds=$2
	for _ in $(seq 1 $((seconds * 10))); do
		curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# stop_services stops everything this script started.
stop_services() {
	for pid in "${STARTED_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${STARTED_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	STARTED_PIDS=()
}

# start_clickhouse NAME starts a private ClickHouse server with its data in
# .build/NAME/clickhouse and exports CLICKHOUSE_TCP_ADDR and
# CLICKHOUSE_HTTP_ADDR. Set KEEP_DATA=1 to keep earlier data (the demo).
start_clickhouse() {
	local name=$1
	apt_install clickhouse-server
	local dir="$BUILD/$name/clickhouse" tcp http
	[ "${KEEP_DATA:-0}" = 1 ] || rm -rf "$dir"
	tcp=$(free_port)
	http=$(free_port)
	[ "$tcp" != "$http" ] || http=$(free_port)
	(cd "$ROOT" && go run ./internal/testenv/chconfig "$dir" "$tcp" "$http") || die "cannot write the ClickHouse configuration"
	log "starting ClickHouse $(dpkg-query -W -f='${Version}' clickhouse-server) on 127.0.0.1:$tcp (data in ${dir#"$ROOT"/})"
	/usr/sbin/clickhouse-server --config-file="$dir/config.xml" >"$dir/log/stdout.log" 2>&1 &
	STARTED_PIDS+=($!)
	if ! wait_http "http://127.0.0.1:$http/ping" 60; then
		tail -20 "$dir/log/stdout.log" "$dir/log/server.err.log" >&2 2>/dev/null
		die "ClickHouse did not start; logs in $dir/log"
	fi
	export CLICKHOUSE_TCP_ADDR="127.0.0.1:$tcp" CLICKHOUSE_HTTP_ADDR="127.0.0.1:$http"
}

# need_go checks the Go toolchain.
need_go() {
	command -v go >/dev/null || die "Go 1.26 is needed (https://go.dev/dl/)"
}

# need_zookeeper installs Debian's ZooKeeper (and a Java runtime) for the
# cluster tests, which start their own ZooKeeper with ClickHouse shards.
need_zookeeper() {
	apt_install zookeeper
	command -v java >/dev/null || die "ZooKeeper needs java, which the zookeeper package should have pulled in"
}

# CHDB_NPM_VERSION is the chDB release the tests run the store's SQL on
# in-process: ClickHouse 26.7, as libchdb.so in the npm package
# @chdb/lib-linux-x64-gnu.
CHDB_NPM_VERSION=26.7.3-stable.1

# need_chdb installs chDB's library from the npm registry into
# .build/chdb/VERSION (once per version) and exports
# ERRORTRACKER_TEST_CHDB_LIB. Only the library is kept (560 MB); npm's own
# cache keeps the package.
need_chdb() {
	local dir="$BUILD/chdb/$CHDB_NPM_VERSION"
	if [ ! -s "$dir/libchdb.so" ]; then
		command -v npm >/dev/null || apt_install npm
		log "installing chDB $CHDB_NPM_VERSION (ClickHouse in-process) from the npm registry"
		rm -rf "$dir.tmp" && mkdir -p "$dir.tmp" || die "cannot create $dir.tmp"
		(cd "$dir.tmp" && npm pack --silent "@chdb/lib-linux-x64-gnu@$CHDB_NPM_VERSION" >/dev/null &&
			tar -xzf ./*.tgz package/libchdb.so) || die "npm could not fetch @chdb/lib-linux-x64-gnu@$CHDB_NPM_VERSION"
		mkdir -p "$dir" && mv "$dir.tmp/package/libchdb.so" "$dir/libchdb.so" && rm -rf "$dir.tmp" ||
			die "cannot install libchdb.so into $dir"
	fi
	export ERRORTRACKER_TEST_CHDB_LIB="$dir/libchdb.so"
}

# need_chromium installs Debian's Chromium for the browser tests and exports
# CHROMIUM_PATH.
need_chromium() {
	apt_install chromium
	export CHROMIUM_PATH=/usr/bin/chromium
}

# need_node_otel installs the official OpenTelemetry JS SDK packages that
# the Collector distribution's end-to-end test sends with (the versions
# locked in otelcol-config/otelcol-errortracker/testdata/node) from the npm
# registry into .build/node-otel, once per lock file, and exports
# ERRORTRACKER_TEST_NODE_PATH.
need_node_otel() {
	local src="$ROOT/otelcol-config/otelcol-errortracker/testdata/node" dir="$BUILD/node-otel"
	command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm
	if ! cmp -s "$src/package-lock.json" "$dir/package-lock.json" || [ ! -d "$dir/node_modules/@opentelemetry/sdk-trace-base" ]; then
		log "installing the OpenTelemetry JS SDK from the npm registry (for the Collector's end-to-end test)"
		rm -rf "$dir" && mkdir -p "$dir" && cp "$src/package.json" "$src/package-lock.json" "$dir/" ||
			die "cannot create $dir"
		(cd "$dir" && npm ci --silent --no-audit --no-fund >/dev/null) || die "npm ci of the OpenTelemetry JS SDK failed"
	fi
	export ERRORTRACKER_TEST_NODE_PATH="$dir/node_modules"
}
