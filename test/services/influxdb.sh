#!/usr/bin/env bash
# InfluxDB 1.x (Debian's package) for the integration tests, on 127.0.0.1:8086 with its data under the cache folder,
# no authentication, usage reporting off. Query's InfluxDB metric reader is tested against it over the InfluxQL
# `/query` API. Idempotent: installs if missing, starts if not answering, waits for /ping.
set -euo pipefail
SERVICE_NAME=influxdb
. "$(dirname "$0")/lib.sh"
service_lock

INFLUX_HTTP=127.0.0.1:8086
INFLUX_RPC=127.0.0.1:8089
INFLUX_URL="http://$INFLUX_HTTP"
INFLUX_DATA="$SHIPWATCH_TEST_CACHE/influxdb-data"
INFLUX_CONF="$SHIPWATCH_TEST_CACHE/run/influxdb.conf"
INFLUX_PIDFILE="$SHIPWATCH_TEST_CACHE/run/influxdb.pid"
INFLUX_LOG="$SHIPWATCH_TEST_LOGS/influxdb.log"

if http_ok "$INFLUX_URL/ping"; then
  say "already answers on $INFLUX_URL"
  exit 0
fi
curl -sS --max-time 2 -o /dev/null "$INFLUX_URL/" 2>/dev/null && die "port ${INFLUX_HTTP#*:} answers but /ping does not"

command -v influxd >/dev/null 2>&1 || apt_install influxdb
need_root "starting influxd"
mkdir -p "$INFLUX_DATA" "$(dirname "$INFLUX_PIDFILE")" "$SHIPWATCH_TEST_LOGS"
cat >"$INFLUX_CONF" <<CONF
reporting-disabled = true
bind-address = "$INFLUX_RPC"
[meta]
  dir = "$INFLUX_DATA/meta"
[data]
  dir = "$INFLUX_DATA/data"
  wal-dir = "$INFLUX_DATA/wal"
  query-log-enabled = false
[http]
  bind-address = "$INFLUX_HTTP"
  auth-enabled = false
  log-enabled = false
[monitor]
  store-enabled = false
CONF
say "starting $(command -v influxd) (data: $INFLUX_DATA, log: $INFLUX_LOG)"
setsid nohup influxd run -config "$INFLUX_CONF" >>"$INFLUX_LOG" 2>&1 </dev/null 8>&- &
echo $! >"$INFLUX_PIDFILE"
if ! wait_until 30 http_ok "$INFLUX_URL/ping"; then
  tail -n 20 "$INFLUX_LOG" >&2 || true
  die "influxd did not answer on $INFLUX_URL/ping within 30 s"
fi
say "up on $INFLUX_URL"
