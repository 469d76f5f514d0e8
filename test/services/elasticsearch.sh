#!/usr/bin/env bash
# Elasticsearch 8 for the integration tests: a single node on 127.0.0.1:9200, security off, heap 1 GiB, disk
# watermarks off, wildcard deletes allowed. The distribution is Maven Central's integ-test-zip, fetched with
# `mvn dependency:copy` and unpacked under the cache folder; it runs as a dedicated user (Elasticsearch refuses
# root). An Elasticsearch 8 already answering on the port is reused.
#
#   elasticsearch.sh [start]   install if missing, start if not running, wait for yellow health
#   elasticsearch.sh stop      stop it (the outage tests stop it and start it again)
set -euo pipefail
SERVICE_NAME=elasticsearch
. "$(dirname "$0")/lib.sh"
service_lock

ES_VERSION=8.19.21
ES_ARTIFACT="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip"
ES_USER=shipwatch-es
ES_PORT=9200
ES_URL="http://127.0.0.1:$ES_PORT"
ES_HOME="$SHIPWATCH_TEST_CACHE/elasticsearch-$ES_VERSION"
ES_DATA="$SHIPWATCH_TEST_CACHE/elasticsearch-data"
ES_RUN="$SHIPWATCH_TEST_CACHE/run"
ES_PIDFILE="$ES_RUN/elasticsearch.pid"
ES_LOGS="$SHIPWATCH_TEST_LOGS/elasticsearch"

# The integ-test-zip has no `GET /` (that is the rest-root module): the node's version comes from the nodes API.
running_version() {
  curl -fsS --max-time 2 "$ES_URL/_nodes/_local?filter_path=nodes.*.version" 2>/dev/null |
    sed -nE 's/.*"version":"([^"]+)".*/\1/p'
}
is_es8() { running_version | grep -q '^8\.'; }
port_busy() { curl -sS --max-time 2 -o /dev/null "$ES_URL/" 2>/dev/null; }

our_pid() {
  [ -s "$ES_PIDFILE" ] || return 1
  local pid
  pid="$(cat "$ES_PIDFILE")"
  kill -0 "$pid" 2>/dev/null && printf '%s' "$pid"
}

# The process listening on the port, for a node this script did not start (reused).
listener_pid() {
  command -v ss >/dev/null 2>&1 || return 1
  ss -ltnpH "sport = :$ES_PORT" 2>/dev/null | sed -nE 's/.*pid=([0-9]+).*/\1/p' | head -n 1
}

wait_yellow() {
  curl -fsS --max-time 65 "$ES_URL/_cluster/health?wait_for_status=yellow&timeout=60s" 2>/dev/null |
    grep -Eq '"status":"(yellow|green)"'
}

install_es() {
  [ -x "$ES_HOME/bin/elasticsearch" ] && return 0
  need_root "installing Elasticsearch"
  command -v mvn >/dev/null 2>&1 || die "mvn is needed to fetch $ES_ARTIFACT from Maven Central"
  command -v unzip >/dev/null 2>&1 || apt_install unzip
  local download="$SHIPWATCH_TEST_CACHE/download"
  mkdir -p "$download"
  local zip="$download/elasticsearch-$ES_VERSION.zip"
  if [ ! -s "$zip" ]; then
    say "fetching $ES_ARTIFACT (mvn dependency:copy)"
    local mvn_log="$SHIPWATCH_TEST_LOGS/mvn-elasticsearch.log"
    mkdir -p "$SHIPWATCH_TEST_LOGS"
    mvn -B -q -Dstyle.color=never dependency:copy -Dartifact="$ES_ARTIFACT" -DoutputDirectory="$download" \
      -Dmdep.overWriteReleases=true >"$mvn_log" 2>&1 || {
      tail -n 30 "$mvn_log" >&2
      die "mvn could not fetch $ES_ARTIFACT (log: $mvn_log)"
    }
  fi
  say "unpacking into $ES_HOME"
  local tmp="$SHIPWATCH_TEST_CACHE/.unpack-$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  unzip -q "$zip" -d "$tmp"
  rm -rf "$ES_HOME"
  mv "$tmp/elasticsearch-$ES_VERSION" "$ES_HOME"
  rm -rf "$tmp"
}

configure_es() {
  id -u "$ES_USER" >/dev/null 2>&1 || {
    say "creating user $ES_USER"
    useradd --system --no-create-home --home-dir "$ES_HOME" --shell /usr/sbin/nologin "$ES_USER"
  }
  mkdir -p "$ES_DATA" "$ES_RUN" "$ES_LOGS" "$ES_HOME/config/jvm.options.d"
  cat >"$ES_HOME/config/elasticsearch.yml" <<YML
# Written by test/services/elasticsearch.sh: a throwaway single node for the integration tests.
cluster.name: shipwatch-test
node.name: shipwatch-test
path.data: $ES_DATA
path.logs: $ES_LOGS
network.host: 127.0.0.1
http.port: $ES_PORT
discovery.type: single-node
xpack.security.enabled: false
cluster.routing.allocation.disk.threshold_enabled: false
action.destructive_requires_name: false
YML
  printf -- '-Xms1g\n-Xmx1g\n' >"$ES_HOME/config/jvm.options.d/heap.options"
  # The node writes its keystore into config/ and must own its data, logs and pid file.
  chown -R "$ES_USER:" "$ES_HOME/config" "$ES_DATA" "$ES_RUN" "$ES_LOGS"
}

java_home() {
  if [ -n "${ES_JAVA_HOME:-}" ]; then printf '%s' "$ES_JAVA_HOME"; return; fi
  local java
  java="$(readlink -f "$(command -v java)")" || die "java is needed to run Elasticsearch"
  dirname "$(dirname "$java")"
}

start() {
  if is_es8; then
    say "Elasticsearch $(running_version) already answers on $ES_URL"
    wait_yellow || die "Elasticsearch on $ES_URL did not reach yellow health"
    return 0
  fi
  port_busy && die "port $ES_PORT answers but is not Elasticsearch 8 ($(curl -sS --max-time 2 "$ES_URL/" | head -c 200))"
  need_root "starting Elasticsearch"
  install_es
  configure_es
  say "starting Elasticsearch $ES_VERSION as $ES_USER (logs: $ES_LOGS)"
  local began=$SECONDS
  # -d: the launcher returns once the node has started (or failed); its output lands in the logs folder.
  runuser -u "$ES_USER" -- env ES_JAVA_HOME="$(java_home)" ES_PATH_CONF="$ES_HOME/config" \
    "$ES_HOME/bin/elasticsearch" -d -p "$ES_PIDFILE" </dev/null >>"$ES_LOGS/launcher.log" 2>&1 8>&- || {
    tail -n 40 "$ES_LOGS/launcher.log" "$ES_LOGS/shipwatch-test.log" >&2 2>/dev/null || true
    die "Elasticsearch did not start"
  }
  if ! wait_until 120 is_es8 || ! wait_yellow; then
    tail -n 40 "$ES_LOGS/shipwatch-test.log" >&2 2>/dev/null || true
    die "Elasticsearch did not reach yellow health on $ES_URL"
  fi
  say "Elasticsearch $(running_version) is up on $ES_URL ($((SECONDS - began)) s)"
}

stop() {
  local pid
  pid="$(our_pid || listener_pid || true)"
  if [ -z "$pid" ]; then
    port_busy && die "something answers on $ES_URL but its process cannot be found"
    say "not running"
    return 0
  fi
  say "stopping Elasticsearch (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_until 60 bash -c "! kill -0 $pid"; then
    say "still running after 60 s: killing it"
    kill -KILL "$pid" 2>/dev/null || true
    wait_until 10 bash -c "! kill -0 $pid" || die "could not stop pid $pid"
  fi
  wait_until 10 bash -c "! curl -sS --max-time 1 -o /dev/null $ES_URL/" || die "port $ES_PORT still answers"
  rm -f "$ES_PIDFILE"
  say "stopped"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) die "usage: elasticsearch.sh [start|stop]" ;;
esac
