#!/usr/bin/env bash
# The demo: installs what is missing (clickhouse-server from Debian, maildev@2
# from the npm registry), starts ClickHouse, an SMTP catcher with a web inbox
# and the example app on loopback, with their data under .build/demo/, sends
# the app some traffic, and prints the URLs. Ctrl-C stops everything it started.
set -euo pipefail
. "$(dirname "$0")/services.sh"
cd "$ROOT"

need_go
command -v npm >/dev/null || apt_install nodejs npm
DEMO="$BUILD/demo"
mkdir -p "$DEMO"
trap 'stop_services; echo; log "stopped"' EXIT
trap 'exit 0' INT TERM

KEEP_DATA=1 start_clickhouse demo

if [ ! -x "$DEMO/node_modules/.bin/maildev" ]; then
	log "installing maildev@2 from the npm registry"
	(cd "$DEMO" && npm install --no-audit --no-fund --silent maildev@2 >/dev/null 2>&1) || die "npm install maildev@2 failed"
fi
smtp_port=$(free_port)
inbox_port=$(free_port)
"$DEMO/node_modules/.bin/maildev" --smtp "$smtp_port" --web "$inbox_port" --ip 127.0.0.1 >"$DEMO/maildev.log" 2>&1 &
STARTED_PIDS+=($!)
wait_http "http://127.0.0.1:$inbox_port/" 60 || die "maildev did not start; see $DEMO/maildev.log"

log "building the example app"
go build -o "$DEMO/webapp" ./examples/webapp
app_port=8080
(exec 3<>"/dev/tcp/127.0.0.1/$app_port") 2>/dev/null && app_port=$(free_port)
app="127.0.0.1:$app_port"
prefix=${APP_ERROR_URL_PREFIX:-/dev/error}
ADDR="$app" CLICKHOUSE_ADDR="$CLICKHOUSE_TCP_ADDR" CLICKHOUSE_DATABASE=errortracker \
	SMTP_ADDR="127.0.0.1:$smtp_port" \
	APP_ERROR_SEND_NOTIFICATION=true APP_ERROR_RECIPIENT_EMAIL=team@example.com \
	APP_ERROR_EMAIL_SENDER=errors@example.com APP_ERROR_SUBJECT_PREFIX="[demo]" \
	APP_ERROR_URL_PREFIX="$prefix" APP_ERROR_BROWSE_USER=admin APP_ERROR_BROWSE_PASSWORD=admin \
	"$DEMO/webapp" >"$DEMO/webapp.log" 2>&1 &
STARTED_PIDS+=($!)
wait_http "http://$app/" 60 || die "the example app did not start; see $DEMO/webapp.log"

log "sending some traffic"
for path in /value-error "/value-error?amount=12&token=not-for-your-eyes" /panic /message /scope; do
	curl -s -o /dev/null "http://$app$path" || true
done
curl -s -o /dev/null -X POST -d amount=x "http://$app/value-error" || true
curl -s -o /dev/null -X POST -d username=bob -d password=hunter2 -d secret=swordfish "http://$app/post-view" || true

cat <<MSG

  The example app    http://$app/   (routes: /value-error /post-view /panic /message /scope)
  The errors         http://$app$prefix/   (user admin, password admin)
  The e-mail inbox   http://127.0.0.1:$inbox_port/
  ClickHouse         $CLICKHOUSE_TCP_ADDR (native), http://$CLICKHOUSE_HTTP_ADDR/ (HTTP)

  Logs and data are under ${DEMO#"$ROOT"/}/. Press Ctrl-C to stop everything.
MSG
wait
