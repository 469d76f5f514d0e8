#!/usr/bin/env bash
# A three-node Elasticsearch cluster on this machine, for the tests of a node lost mid-stream: nodes node-1..node-3,
# each with its own HTTP port, transport port, data folder and log folder, all three master-eligible data nodes,
# security off, heap 512 MiB each, disk watermarks off, wildcard deletes allowed. The distribution is Maven
# Central's integ-test-zip (as for test/services/elasticsearch.sh), unpacked in its own folder under the cache; the
# nodes run as the dedicated user (Elasticsearch refuses root).
#
# The version comes from ES_CLUSTER_VERSION (default the 8.x of the single node). Each major version has its own
# cluster name, ports, data and log folders, so an 8.x and a 9.x cluster can run side by side:
#   8.x  HTTP 9211-9213, transport 9311-9313
#   9.x  HTTP 9221-9223, transport 9321-9323 (Elasticsearch 9 needs Java 21 or newer: ES_JAVA_HOME, or the newest
#        JDK found under /usr/lib/jvm)
#
#   elasticsearch-cluster.sh [start]     install if missing, start the nodes not running, wait for 3 nodes, green
#   elasticsearch-cluster.sh stop        stop every node
#   elasticsearch-cluster.sh stop-node N   stop node N (SIGTERM)
#   elasticsearch-cluster.sh kill-node N   kill node N (SIGKILL: no shutdown, as a crash or a lost machine)
#   elasticsearch-cluster.sh start-node N  start node N again; returns once the cluster has 3 nodes again (yellow:
#                                          its shard copies may still be recovering)
#   elasticsearch-cluster.sh urls        print the three HTTP URLs, comma-separated
set -euo pipefail
SERVICE_NAME=elasticsearch-cluster
. "$(dirname "$0")/lib.sh"
service_lock

ES_VERSION="${ES_CLUSTER_VERSION:-8.19.21}"
[[ "$ES_VERSION" =~ ^([0-9]+)\.[0-9]+\.[0-9]+$ ]] || die "ES_CLUSTER_VERSION must be x.y.z, not '$ES_VERSION'"
ES_MAJOR="${BASH_REMATCH[1]}"
case "$ES_MAJOR" in
  8) PORT_BASE=11 ;;
  9) PORT_BASE=21 ;;
  *) die "ES_CLUSTER_VERSION $ES_VERSION: only Elasticsearch 8.x and 9.x have ports here" ;;
esac
NODES=(1 2 3)
ES_ARTIFACT="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip"
ES_USER=shipwatch-es
CLUSTER_NAME="shipwatch-cluster-$ES_MAJOR"
# Its own unpacked copy: the single node's script may be installing its own at the same moment.
ES_HOME="$SHIPWATCH_TEST_CACHE/elasticsearch-cluster-$ES_VERSION"
ES_BASE="$SHIPWATCH_TEST_CACHE/elasticsearch-cluster-$ES_MAJOR"
ES_RUN="$SHIPWATCH_TEST_CACHE/run"
ES_LOGS="$SHIPWATCH_TEST_LOGS/elasticsearch-cluster-$ES_MAJOR"

http_port() { printf '92%02d' $((PORT_BASE + $1 - 1)); }
transport_port() { printf '93%02d' $((PORT_BASE + $1 - 1)); }
node_url() { printf 'http://127.0.0.1:%s' "$(http_port "$1")"; }
node_conf() { printf '%s/config-%s' "$ES_BASE" "$1"; }
node_data() { printf '%s/data-%s' "$ES_BASE" "$1"; }
node_logs() { printf '%s/node-%s' "$ES_LOGS" "$1"; }
node_pidfile() { printf '%s/elasticsearch-cluster-%s-node-%s.pid' "$ES_RUN" "$ES_MAJOR" "$1"; }

check_node_number() {
  [[ "${1:-}" =~ ^[123]$ ]] || die "a node number is 1, 2 or 3, not '${1:-}'"
}

# The integ-test-zip has no `GET /`: a node's version and cluster come from the nodes API.
node_answers() {
  curl -fsS --max-time 2 "$(node_url "$1")/_nodes/_local?filter_path=cluster_name,nodes.*.version" 2>/dev/null |
    grep -q "\"cluster_name\":\"$CLUSTER_NAME\".*\"version\":\"$ES_VERSION\""
}
port_busy() { curl -sS --max-time 2 -o /dev/null "$(node_url "$1")/" 2>/dev/null; }

node_pid() {
  local file pid
  file="$(node_pidfile "$1")"
  [ -s "$file" ] || return 1
  pid="$(cat "$file")"
  kill -0 "$pid" 2>/dev/null && printf '%s' "$pid"
}

# cluster_health green|yellow: all three nodes in the cluster and at least that health, asked of any node that
# answers (a node just started still recovers its shard copies: yellow is enough there).
cluster_health() {
  local n
  for n in "${NODES[@]}"; do
    if curl -fsS --max-time 95 "$(node_url "$n")/_cluster/health?wait_for_status=$1&wait_for_nodes=3&timeout=90s" 2>/dev/null |
      grep -Eq "\"status\":\"(green|$1)\".*\"number_of_nodes\":3,"; then
      return 0
    fi
  done
  return 1
}

install_es() {
  [ -x "$ES_HOME/bin/elasticsearch" ] && return 0
  need_root "installing Elasticsearch $ES_VERSION"
  command -v mvn >/dev/null 2>&1 || die "mvn is needed to fetch $ES_ARTIFACT from Maven Central"
  command -v unzip >/dev/null 2>&1 || apt_install unzip
  local download="$SHIPWATCH_TEST_CACHE/download/cluster"
  mkdir -p "$download" "$SHIPWATCH_TEST_LOGS"
  local zip="$download/elasticsearch-$ES_VERSION.zip"
  if [ ! -s "$zip" ]; then
    say "fetching $ES_ARTIFACT (mvn dependency:copy)"
    local mvn_log="$SHIPWATCH_TEST_LOGS/mvn-elasticsearch-cluster-$ES_VERSION.log"
    mvn -B -q -Dstyle.color=never dependency:copy -Dartifact="$ES_ARTIFACT" -DoutputDirectory="$download" \
      -Dmdep.overWriteReleases=true >"$mvn_log" 2>&1 || {
      tail -n 30 "$mvn_log" >&2
      die "mvn could not fetch $ES_ARTIFACT (log: $mvn_log)"
    }
  fi
  say "unpacking into $ES_HOME"
  local tmp="$SHIPWATCH_TEST_CACHE/.unpack-cluster-$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  unzip -q "$zip" -d "$tmp"
  rm -rf "$ES_HOME"
  mv "$tmp/elasticsearch-$ES_VERSION" "$ES_HOME"
  rm -rf "$tmp"
}

configure_node() {
  local n="$1" conf data logs seeds masters
  conf="$(node_conf "$n")"
  data="$(node_data "$n")"
  logs="$(node_logs "$n")"
  id -u "$ES_USER" >/dev/null 2>&1 || {
    say "creating user $ES_USER"
    useradd --system --no-create-home --home-dir "$ES_HOME" --shell /usr/sbin/nologin "$ES_USER"
  }
  # A node's configuration folder of its own: it writes its keystore there.
  if [ ! -f "$conf/log4j2.properties" ]; then
    mkdir -p "$conf"
    cp -R "$ES_HOME/config/." "$conf/"
  fi
  mkdir -p "$data" "$logs" "$ES_RUN" "$conf/jvm.options.d"
  seeds="$(for m in "${NODES[@]}"; do printf '"127.0.0.1:%s",' "$(transport_port "$m")"; done)"
  # The first start forms the cluster from the three names; a node that has joined it once is told no more
  # (Elasticsearch warns about the setting on a node that already holds the cluster's UUID).
  masters=""
  [ -d "$data/_state" ] || masters="cluster.initial_master_nodes: [$(for m in "${NODES[@]}"; do printf '"node-%s",' "$m"; done | sed 's/,$//')]"
  cat >"$conf/elasticsearch.yml" <<YML
# Written by test/services/elasticsearch-cluster.sh: node $n of a throwaway three-node cluster for the tests.
cluster.name: $CLUSTER_NAME
node.name: node-$n
path.data: $data
path.logs: $logs
network.host: 127.0.0.1
http.port: $(http_port "$n")
transport.port: $(transport_port "$n")
discovery.seed_hosts: [${seeds%,}]
$masters
xpack.security.enabled: false
cluster.routing.allocation.disk.threshold_enabled: false
action.destructive_requires_name: false
YML
  printf -- '-Xms512m\n-Xmx512m\n' >"$conf/jvm.options.d/heap.options"
  chown -R "$ES_USER:" "$conf" "$data" "$logs" "$ES_RUN"
}

java_major() { "$1/bin/java" -version 2>&1 | sed -nE '1s/.*version "([0-9]+).*/\1/p'; }

# Java for this version: ES_JAVA_HOME if set; the `java` on PATH if new enough; else the newest JDK under
# /usr/lib/jvm that is (Elasticsearch 9 needs 21).
java_home() {
  if [ -n "${ES_JAVA_HOME:-}" ]; then printf '%s' "$ES_JAVA_HOME"; return; fi
  local need=17 home best="" best_major=0 major
  [ "$ES_MAJOR" -ge 9 ] && need=21
  if command -v java >/dev/null 2>&1; then
    home="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")"
    major="$(java_major "$home")"
    if [ -n "$major" ] && [ "$major" -ge "$need" ]; then printf '%s' "$home"; return; fi
  fi
  for home in /usr/lib/jvm/*; do
    [ -x "$home/bin/java" ] || continue
    major="$(java_major "$home")"
    if [ -n "$major" ] && [ "$major" -gt "$best_major" ]; then best="$home"; best_major="$major"; fi
  done
  [ "$best_major" -ge "$need" ] || die "Elasticsearch $ES_VERSION needs Java $need or newer; none found (set ES_JAVA_HOME)"
  printf '%s' "$best"
}

# Launches node N in the background of this script (the launcher's -d returns once the node has started, which
# for a node of a cluster waits for the others); the caller waits for them all.
launch_node() {
  local n="$1" logs
  logs="$(node_logs "$n")"
  runuser -u "$ES_USER" -- env ES_JAVA_HOME="$JAVA_HOME_FOR_ES" ES_PATH_CONF="$(node_conf "$n")" \
    "$ES_HOME/bin/elasticsearch" -d -p "$(node_pidfile "$n")" </dev/null >>"$logs/launcher.log" 2>&1 8>&- || {
    tail -n 40 "$logs/launcher.log" "$logs/$CLUSTER_NAME.log" >&2 2>/dev/null || true
    say "node $n did not start"
    return 1
  }
}

# start_nodes green|yellow N...: starts those not running, waits for them and for that health.
start_nodes() {
  local health="$1" n pids=() failed=0 began=$SECONDS
  shift
  need_root "starting Elasticsearch nodes"
  install_es
  JAVA_HOME_FOR_ES="$(java_home)"
  for n in "$@"; do
    if node_answers "$n"; then continue; fi
    port_busy "$n" && die "port $(http_port "$n") answers but is not node $n of $CLUSTER_NAME ($ES_VERSION)"
    configure_node "$n"
    say "starting node $n of $CLUSTER_NAME ($ES_VERSION, HTTP $(http_port "$n"), logs: $(node_logs "$n"))"
    launch_node "$n" &
    pids+=($!)
  done
  for n in "${pids[@]}"; do wait "$n" || failed=1; done
  [ "$failed" = 0 ] || die "a node did not start"
  for n in "$@"; do
    wait_until 120 node_answers "$n" || {
      tail -n 40 "$(node_logs "$n")/$CLUSTER_NAME.log" >&2 2>/dev/null || true
      die "node $n does not answer on $(node_url "$n")"
    }
  done
  cluster_health "$health" || die "$CLUSTER_NAME did not reach $health health with 3 nodes"
  say "$CLUSTER_NAME is $health or better with 3 nodes on $(urls) ($((SECONDS - began)) s)"
}

stop_node() {
  local n="$1" signal="$2" pid
  pid="$(node_pid "$n" || true)"
  if [ -z "$pid" ]; then
    port_busy "$n" && die "something answers on $(node_url "$n") but its process cannot be found"
    say "node $n is not running"
    return 0
  fi
  say "stopping node $n (pid $pid, SIG$signal)"
  kill -"$signal" "$pid" 2>/dev/null || true
  if ! wait_until 60 bash -c "! kill -0 $pid"; then
    say "node $n still running after 60 s: killing it"
    kill -KILL "$pid" 2>/dev/null || true
    wait_until 10 bash -c "! kill -0 $pid" || die "could not stop pid $pid"
  fi
  wait_until 10 bash -c "! curl -sS --max-time 1 -o /dev/null $(node_url "$n")/" || die "port $(http_port "$n") still answers"
  rm -f "$(node_pidfile "$n")"
}

urls() {
  local n out=""
  for n in "${NODES[@]}"; do out+="$(node_url "$n"),"; done
  printf '%s' "${out%,}"
}

case "${1:-start}" in
  start)
    running=1
    for n in "${NODES[@]}"; do node_answers "$n" || running=0; done
    if [ "$running" = 1 ]; then
      say "$CLUSTER_NAME ($ES_VERSION) already answers on $(urls)"
      cluster_health green || die "$CLUSTER_NAME did not reach green health with 3 nodes"
    else
      start_nodes green "${NODES[@]}"
    fi
    ;;
  stop) for n in "${NODES[@]}"; do stop_node "$n" TERM; done ;;
  stop-node) check_node_number "${2:-}"; stop_node "$2" TERM ;;
  kill-node) check_node_number "${2:-}"; stop_node "$2" KILL ;;
  start-node) check_node_number "${2:-}"; start_nodes yellow "$2" ;;
  urls) urls; echo ;;
  *) die "usage: elasticsearch-cluster.sh [start|stop|stop-node N|kill-node N|start-node N|urls]" ;;
esac
