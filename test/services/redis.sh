#!/usr/bin/env bash
# Redis (Debian's redis-server) for the integration tests, on 127.0.0.1:6390 (not 6379, so a Redis the machine runs
# for itself is left alone), no password, nothing saved to disk: the pilot's Redis output is tested against it. Tests
# that stop Redis in the middle start their own redis-server from the same package. Idempotent: installs if
# missing, starts if not answering, waits for PING.
set -euo pipefail
SERVICE_NAME=redis
. "$(dirname "$0")/lib.sh"
service_lock

REDIS_PORT=6390
REDIS_PIDFILE="$SHIPWATCH_TEST_CACHE/run/redis.pid"
REDIS_LOG="$SHIPWATCH_TEST_LOGS/redis.log"

redis_ok() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" PING 2>/dev/null)" = PONG ]; }

if command -v redis-cli >/dev/null 2>&1 && redis_ok; then
  say "already answers on 127.0.0.1:$REDIS_PORT"
  exit 0
fi
command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 || apt_install redis-server redis-tools
need_root "starting redis-server"
mkdir -p "$(dirname "$REDIS_PIDFILE")" "$SHIPWATCH_TEST_LOGS"
say "starting $(command -v redis-server) (log: $REDIS_LOG)"
# --save '' and no append-only file: the tests' lists need not outlive the server; --protected-mode no is safe on
# the loopback address alone.
setsid nohup redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no --protected-mode no \
  --daemonize no --dir "$SHIPWATCH_TEST_CACHE/run" >>"$REDIS_LOG" 2>&1 </dev/null 8>&- &
echo $! >"$REDIS_PIDFILE"
if ! wait_until 30 redis_ok; then
  tail -n 20 "$REDIS_LOG" >&2 || true
  die "redis-server did not answer PING on 127.0.0.1:$REDIS_PORT within 30 s"
fi
say "up on redis://127.0.0.1:$REDIS_PORT"
