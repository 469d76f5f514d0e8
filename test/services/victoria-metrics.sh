#!/usr/bin/env bash
# VictoriaMetrics (Debian's package) for the integration tests, on 127.0.0.1:8428 with its data under the cache
# folder. Queries see samples as soon as they are stored (no latency offset, no result cache), which is what
# tests that write then read need. Idempotent: installs if missing, starts if not answering, waits for /health.
set -euo pipefail
SERVICE_NAME=victoria-metrics
. "$(dirname "$0")/lib.sh"
service_lock

VM_LISTEN=127.0.0.1:8428
VM_URL="http://$VM_LISTEN"
VM_DATA="$SHIPWATCH_TEST_CACHE/victoria-metrics-data"
VM_PIDFILE="$SHIPWATCH_TEST_CACHE/run/victoria-metrics.pid"
VM_LOG="$SHIPWATCH_TEST_LOGS/victoria-metrics.log"

if http_ok "$VM_URL/health"; then
  say "already answers on $VM_URL"
  exit 0
fi
curl -sS --max-time 2 -o /dev/null "$VM_URL/" 2>/dev/null && die "port ${VM_LISTEN#*:} answers but /health does not"

command -v victoria-metrics >/dev/null 2>&1 || apt_install victoria-metrics
need_root "starting victoria-metrics"
mkdir -p "$VM_DATA" "$(dirname "$VM_PIDFILE")" "$SHIPWATCH_TEST_LOGS"
say "starting $(command -v victoria-metrics) (data: $VM_DATA, log: $VM_LOG)"
setsid nohup victoria-metrics -httpListenAddr="$VM_LISTEN" -storageDataPath="$VM_DATA" -retentionPeriod=100y \
  -search.latencyOffset=0s -search.disableCache >>"$VM_LOG" 2>&1 </dev/null 8>&- &
echo $! >"$VM_PIDFILE"
if ! wait_until 30 http_ok "$VM_URL/health"; then
  tail -n 20 "$VM_LOG" >&2 || true
  die "victoria-metrics did not answer on $VM_URL/health within 30 s"
fi
say "up on $VM_URL"
