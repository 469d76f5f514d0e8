#!/usr/bin/env bash
# Apache Kafka 4 for the integration tests: one node in KRaft mode (controller and broker in one process) on
# 127.0.0.1:19092 (plaintext), 127.0.0.1:19094 (SASL/PLAIN, user shipwatch, password shipwatch-test-secret) and its
# controller on 127.0.0.1:19093; ports away from Kafka's 9092 so a Kafka the machine runs for itself is left alone.
# Topics are created on first use with 3 partitions. The broker's jars are Maven Central's kafka_2.13 artifact and
# its runtime dependencies, fetched with `mvn dependency:copy-dependencies` into the cache folder; the storage is
# formatted once (kafka.tools.StorageTool) and kept under the cache folder. Runs as root with a 512 MiB heap.
#
#   kafka.sh [start]   install if missing, format if new, start if not running, wait for the broker
#   kafka.sh stop      stop it (the outage tests stop it and start it again)
set -euo pipefail
SERVICE_NAME=kafka
. "$(dirname "$0")/lib.sh"
service_lock

KAFKA_VERSION=4.1.1
KAFKA_ARTIFACT="org.apache.kafka:kafka_2.13:$KAFKA_VERSION"
KAFKA_PORT=19092
KAFKA_CONTROLLER_PORT=19093
KAFKA_SASL_PORT=19094
KAFKA_HOME="$SHIPWATCH_TEST_CACHE/kafka-$KAFKA_VERSION"
KAFKA_DATA="$SHIPWATCH_TEST_CACHE/kafka-data"
KAFKA_RUN="$SHIPWATCH_TEST_CACHE/run"
KAFKA_PIDFILE="$KAFKA_RUN/kafka.pid"
KAFKA_LOGS="$SHIPWATCH_TEST_LOGS/kafka"
KAFKA_CONFIG="$KAFKA_HOME/config/server.properties"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

our_pid() {
  [ -s "$KAFKA_PIDFILE" ] || return 1
  local pid
  pid="$(cat "$KAFKA_PIDFILE")"
  kill -0 "$pid" 2>/dev/null && printf '%s' "$pid"
}

# The broker says so in its log once it serves clients; a port that accepts is not yet a broker that answers.
# The broker's log rolls over every hour: a file shorter than the offset is a new one, read from its start.
# grep reads a process substitution, not a pipe: `tail | grep -q` under pipefail fails whenever grep stops at the
# match before tail has written the rest (SIGPIPE), which a broker loading many groups after it started always did.
started_since() {
  local from=$1 size
  size=$(stat -c %s "$KAFKA_LOGS/server.log" 2>/dev/null || echo 0)
  [ "$size" -lt "$from" ] && from=1
  grep -q 'Kafka Server started' < <(tail -c +"$from" "$KAFKA_LOGS/server.log" 2>/dev/null)
}

install_kafka() {
  [ -s "$KAFKA_HOME/libs/kafka_2.13-$KAFKA_VERSION.jar" ] && return 0
  need_root "installing Kafka"
  command -v mvn >/dev/null 2>&1 || die "mvn is needed to fetch $KAFKA_ARTIFACT from Maven Central"
  local began=$SECONDS tmp="$SHIPWATCH_TEST_CACHE/.kafka-$$"
  rm -rf "$tmp"
  mkdir -p "$tmp/libs" "$SHIPWATCH_TEST_LOGS"
  # A throwaway project whose one dependency is the broker: copy-dependencies brings it with everything it runs on.
  # log4j-core and log4j-slf4j-impl (for the SLF4J 1.7 API the broker logs through) are the logging back end the
  # broker's own distribution puts on its class path.
  cat >"$tmp/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>shipwatch.test</groupId>
  <artifactId>kafka-broker</artifactId>
  <version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>2.24.3</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>2.24.3</version></dependency>
  </dependencies>
</project>
POM
  say "fetching $KAFKA_ARTIFACT and its runtime dependencies (mvn dependency:copy-dependencies)"
  local mvn_log="$SHIPWATCH_TEST_LOGS/mvn-kafka.log"
  mvn -B -q -Dstyle.color=never -f "$tmp/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$tmp/libs" >"$mvn_log" 2>&1 || {
    tail -n 30 "$mvn_log" >&2
    rm -rf "$tmp"
    die "mvn could not fetch $KAFKA_ARTIFACT (log: $mvn_log)"
  }
  rm -rf "$KAFKA_HOME"
  mkdir -p "$KAFKA_HOME"
  mv "$tmp/libs" "$KAFKA_HOME/libs"
  rm -rf "$tmp"
  say "installed $(ls "$KAFKA_HOME/libs" | wc -l) jars into $KAFKA_HOME ($((SECONDS - began)) s)"
}

configure_kafka() {
  mkdir -p "$KAFKA_HOME/config" "$KAFKA_DATA" "$KAFKA_RUN" "$KAFKA_LOGS"
  cat >"$KAFKA_CONFIG" <<PROPS
# Written by test/services/kafka.sh: a throwaway single node for the integration tests.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT,SASL_PLAINTEXT://127.0.0.1:$KAFKA_SASL_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,SASL_PLAINTEXT://127.0.0.1:$KAFKA_SASL_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
sasl.enabled.mechanisms=PLAIN
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_shipwatch="shipwatch-test-secret";
log.dirs=$KAFKA_DATA
num.partitions=3
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# The tests write a few hundred thousand small records: a day of them is plenty.
log.retention.hours=24
PROPS
  cat >"$KAFKA_HOME/config/log4j2.properties" <<PROPS
# Written by test/services/kafka.sh: the broker's log in $KAFKA_LOGS/server.log.
appender.file.type=File
appender.file.name=file
appender.file.fileName=$KAFKA_LOGS/server.log
appender.file.layout.type=PatternLayout
appender.file.layout.pattern=[%d] %p %m (%c)%n
rootLogger.level=INFO
rootLogger.appenderRef.file.ref=file
logger.kafka.name=kafka
logger.kafka.level=INFO
logger.raft.name=org.apache.kafka.raft
logger.raft.level=WARN
PROPS
}

java_cmd() {
  printf '%s' "${KAFKA_JAVA:-java}"
}

format_storage() {
  [ -s "$KAFKA_DATA/meta.properties" ] && return 0
  local id
  id="$("$(java_cmd)" -cp "$KAFKA_HOME/libs/*" kafka.tools.StorageTool random-uuid)"
  say "formatting $KAFKA_DATA (cluster $id)"
  "$(java_cmd)" -cp "$KAFKA_HOME/libs/*" -Dlog4j2.configurationFile="$KAFKA_HOME/config/log4j2.properties" \
    kafka.tools.StorageTool format -t "$id" -c "$KAFKA_CONFIG" >>"$KAFKA_LOGS/launcher.log" 2>&1 || {
    tail -n 20 "$KAFKA_LOGS/launcher.log" >&2
    die "kafka-storage format failed"
  }
}

start() {
  if port_open "$KAFKA_PORT"; then
    our_pid >/dev/null || die "port $KAFKA_PORT accepts connections but is not the broker this script started"
    say "already up on 127.0.0.1:$KAFKA_PORT"
    return 0
  fi
  need_root "starting Kafka"
  install_kafka
  configure_kafka
  format_storage
  say "starting Kafka $KAFKA_VERSION (data: $KAFKA_DATA, logs: $KAFKA_LOGS)"
  local began=$SECONDS from
  from=$(($(stat -c %s "$KAFKA_LOGS/server.log" 2>/dev/null || echo 0) + 1))
  setsid nohup "$(java_cmd)" -Xms512m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KAFKA_HOME/config/log4j2.properties" -Dkafka.logs.dir="$KAFKA_LOGS" \
    -cp "$KAFKA_HOME/libs/*" kafka.Kafka "$KAFKA_CONFIG" >>"$KAFKA_LOGS/launcher.log" 2>&1 </dev/null 8>&- &
  echo $! >"$KAFKA_PIDFILE"
  # A broker holding many topics and groups (a long-lived test machine) loads them before it says it started.
  if ! wait_until 120 port_open "$KAFKA_PORT" || ! wait_until 180 started_since "$from"; then
    tail -n 40 "$KAFKA_LOGS/launcher.log" "$KAFKA_LOGS/server.log" >&2 2>/dev/null || true
    die "Kafka did not start on 127.0.0.1:$KAFKA_PORT"
  fi
  say "up on 127.0.0.1:$KAFKA_PORT ($((SECONDS - began)) s)"
}

stop() {
  local pid
  pid="$(our_pid || true)"
  if [ -z "$pid" ]; then
    port_open "$KAFKA_PORT" && die "something listens on port $KAFKA_PORT but its process cannot be found"
    say "not running"
    return 0
  fi
  say "stopping Kafka (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_until 60 bash -c "! kill -0 $pid"; then
    say "still running after 60 s: killing it"
    kill -KILL "$pid" 2>/dev/null || true
    wait_until 10 bash -c "! kill -0 $pid" || die "could not stop pid $pid"
  fi
  rm -f "$KAFKA_PIDFILE"
  say "stopped"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) die "usage: kafka.sh [start|stop]" ;;
esac
