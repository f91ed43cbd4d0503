#!/usr/bin/env bash
# Local infrastructure without Docker: a single-node KRaft Kafka broker from Maven Central jars and
# the machine's PostgreSQL. Idempotent: whatever is already up and healthy is reused.
#
#   scripts/infra.sh up      start (or reuse) Kafka on 127.0.0.1:9092 and PostgreSQL
#   scripts/infra.sh down    stop what `up` started
#   scripts/infra.sh status  say what is running
#   scripts/infra.sh kafka-restart | kafka-stop | kafka-start     (used by the chaos test)
#   scripts/infra.sh pg-stop | pg-start                            (used by the chaos test)
#
# HOOKSTREAM_KAFKA_SASL=1 starts the broker with SASL/SCRAM and ACLs instead (infra/kafka/sasl.properties,
# infra/kafka/acls.mjs): users admin (the broker's own, PLAIN), hookstream and platform (SCRAM-SHA-256
# and -512), passwords from HOOKSTREAM_KAFKA_{ADMIN,HOOKSTREAM,PLATFORM}_PASSWORD (development
# defaults below). Users are created when the storage is formatted: use a fresh HOOKSTREAM_INFRA_DIR
# (or port and worktree) for it. HOOKSTREAM_KAFKA_LIBS points at jars fetched before (no Maven run).
set -euo pipefail

# The broker and PostgreSQL started below outlive this script: they must not keep what its caller
# left open. A `flock` the caller holds (the bench's and CI's run lock) stayed held by the broker for
# as long as it ran, and a pipe the caller reads from would never see its end.
for fd in /proc/$$/fd/*; do
  fd=${fd##*/}
  if ((fd > 2 && fd != 255)); then eval "exec ${fd}>&-" 2>/dev/null || true; fi
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
INFRA_DIR="${HOOKSTREAM_INFRA_DIR:-$ROOT/.infra}"
KAFKA_DIR="$INFRA_DIR/kafka"
KAFKA_HOST=127.0.0.1
KAFKA_PORT="${HOOKSTREAM_KAFKA_PORT:-9092}"
CONTROLLER_PORT="${HOOKSTREAM_KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_HEAP="${HOOKSTREAM_KAFKA_HEAP:-768m}"
DEFAULT_DATABASE_URL="postgres://hookstream:hookstream@127.0.0.1:5432/hookstream"
PG_STARTED_MARK="$INFRA_DIR/postgres.started-by-infra"
KAFKA_LIBS="${HOOKSTREAM_KAFKA_LIBS:-$KAFKA_DIR/libs}"
KAFKA_SASL="${HOOKSTREAM_KAFKA_SASL:-0}"
KAFKA_ADMIN_PASSWORD="${HOOKSTREAM_KAFKA_ADMIN_PASSWORD:-admin-secret}"
KAFKA_HOOKSTREAM_PASSWORD="${HOOKSTREAM_KAFKA_HOOKSTREAM_PASSWORD:-hookstream-secret}"
KAFKA_PLATFORM_PASSWORD="${HOOKSTREAM_KAFKA_PLATFORM_PASSWORD:-platform-secret}"

step() { printf '\033[1m[infra]\033[0m %s\n' "$*"; }
fail() { printf '\033[31m[infra] %s\033[0m\n' "$*" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_for() { # wait_for <seconds> <description> <command...>
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@"; do
    if ((SECONDS >= deadline)); then return 1; fi
    sleep 0.5
  done
}

kafka_pid() {
  [[ -f "$KAFKA_DIR/kafka.pid" ]] || return 1
  local pid
  pid=$(cat "$KAFKA_DIR/kafka.pid")
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}

kafka_fetch_jars() {
  if [[ -n "${HOOKSTREAM_KAFKA_LIBS:-}" ]]; then
    compgen -G "$KAFKA_LIBS/kafka_*.jar" >/dev/null || fail "no Kafka jars in HOOKSTREAM_KAFKA_LIBS=$KAFKA_LIBS"
    return 0
  fi
  if [[ -f "$KAFKA_DIR/libs/.complete" && "$KAFKA_DIR/libs/.complete" -nt "$ROOT/infra/kafka/pom.xml" ]]; then
    return 0
  fi
  command -v mvn >/dev/null || fail "Maven (mvn) is needed to fetch the Kafka jars from Maven Central"
  command -v java >/dev/null || fail "Java 17+ is needed to run the Kafka broker"
  step "fetching Kafka jars from Maven Central (infra/kafka/pom.xml; first run only)"
  rm -rf "$KAFKA_DIR/libs"
  mkdir -p "$KAFKA_DIR/libs"
  mvn -q -B -f "$ROOT/infra/kafka/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$KAFKA_DIR/libs" -DincludeScope=runtime
  touch "$KAFKA_DIR/libs/.complete"
  step "fetched $(find "$KAFKA_DIR/libs" -name '*.jar' | wc -l) jars"
}

kafka_write_config() {
  mkdir -p "$KAFKA_DIR/data" "$KAFKA_DIR/logs"
  sed -e "s#@KAFKA_PORT@#$KAFKA_PORT#g" -e "s#@CONTROLLER_PORT@#$CONTROLLER_PORT#g" \
    -e "s#@DATA_DIR@#$KAFKA_DIR/data#g" "$ROOT/infra/kafka/server.properties" >"$KAFKA_DIR/server.properties"
  if [[ "$KAFKA_SASL" == 1 ]]; then
    sed -e "s#@KAFKA_PORT@#$KAFKA_PORT#g" -e "s#@CONTROLLER_PORT@#$CONTROLLER_PORT#g" \
      -e "s#@ADMIN_PASSWORD@#$KAFKA_ADMIN_PASSWORD#g" "$ROOT/infra/kafka/sasl.properties" >>"$KAFKA_DIR/server.properties"
  fi
  cp "$ROOT/infra/kafka/log4j2.properties" "$KAFKA_DIR/log4j2.properties"
}

kafka_java() { # kafka_java <main class> <args...>
  java -Xms"$KAFKA_HEAP" -Xmx"$KAFKA_HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.properties" -Dkafka.logs.dir="$KAFKA_DIR/logs" \
    -cp "$KAFKA_LIBS/*" "$@"
}

kafka_scram_users() { # the --add-scram arguments of `kafka-storage format`, SASL mode only
  [[ "$KAFKA_SASL" == 1 ]] || return 0
  local mechanism
  for mechanism in SCRAM-SHA-256 SCRAM-SHA-512; do
    printf '%s\n' --add-scram "$mechanism=[name=hookstream,password=$KAFKA_HOOKSTREAM_PASSWORD]" \
      --add-scram "$mechanism=[name=platform,password=$KAFKA_PLATFORM_PASSWORD]"
  done
}

kafka_apply_acls() {
  [[ "$KAFKA_SASL" == 1 ]] || return 0
  HOOKSTREAM_KAFKA_BOOTSTRAP="$KAFKA_HOST:$KAFKA_PORT" HOOKSTREAM_KAFKA_ADMIN_PASSWORD="$KAFKA_ADMIN_PASSWORD" \
    node "$ROOT/infra/kafka/acls.mjs" || fail "creating the Kafka ACLs failed"
}

kafka_start() {
  if pid=$(kafka_pid); then
    if port_open "$KAFKA_HOST" "$KAFKA_PORT"; then
      step "Kafka already running (pid $pid) on $KAFKA_HOST:$KAFKA_PORT"
      return 0
    fi
  elif port_open "$KAFKA_HOST" "$KAFKA_PORT"; then
    step "something already listens on $KAFKA_HOST:$KAFKA_PORT; reusing it as the Kafka broker"
    return 0
  fi
  kafka_fetch_jars
  kafka_write_config
  if [[ ! -f "$KAFKA_DIR/data/meta.properties" ]]; then
    step "formatting KRaft storage in $KAFKA_DIR/data"
    local cluster_id
    cluster_id=$(java -cp "$KAFKA_LIBS/*" -Dlog4j2.level=error kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)
    local scram=()
    mapfile -t scram < <(kafka_scram_users)
    kafka_java kafka.tools.StorageTool format -t "$cluster_id" -c "$KAFKA_DIR/server.properties" "${scram[@]}" \
      >"$KAFKA_DIR/logs/format.log" 2>&1 || { cat "$KAFKA_DIR/logs/format.log" >&2; fail "formatting Kafka storage failed"; }
  fi
  step "starting Kafka broker (KRaft, single node) on $KAFKA_HOST:$KAFKA_PORT"
  setsid nohup bash -c "exec java -Xms$KAFKA_HEAP -Xmx$KAFKA_HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -Dlog4j2.configurationFile='$KAFKA_DIR/log4j2.properties' -Dkafka.logs.dir='$KAFKA_DIR/logs' \
    -cp '$KAFKA_LIBS/*' kafka.Kafka '$KAFKA_DIR/server.properties'" \
    >"$KAFKA_DIR/logs/server.out" 2>&1 </dev/null &
  echo $! >"$KAFKA_DIR/kafka.pid"
  if ! wait_for 90 "Kafka" kafka_ready; then
    tail -30 "$KAFKA_DIR/logs/server.out" >&2 || true
    fail "Kafka did not become ready within 90 s (log: $KAFKA_DIR/logs/server.out)"
  fi
  kafka_apply_acls
  step "Kafka ready (pid $(cat "$KAFKA_DIR/kafka.pid"))$([[ "$KAFKA_SASL" == 1 ]] && echo ', SASL/SCRAM with ACLs')"
}

kafka_ready() {
  kafka_pid >/dev/null || { tail -30 "$KAFKA_DIR/logs/server.out" >&2; fail "the Kafka process exited"; }
  port_open "$KAFKA_HOST" "$KAFKA_PORT" && grep -q "Kafka Server started" "$KAFKA_DIR/logs/server.out"
}

kafka_stop() {
  local pid
  if pid=$(kafka_pid); then
    step "stopping Kafka (pid $pid)"
    kill "$pid"
    wait_for 60 "Kafka exit" bash -c "! kill -0 $pid 2>/dev/null" || { kill -9 "$pid" 2>/dev/null || true; }
  fi
  rm -f "$KAFKA_DIR/kafka.pid"
}

pg_answers() { psql "$1" -qAtX -c 'select 1' >/dev/null 2>&1; }

pg_cluster() { # prints "<version> <name>" of the machine's first cluster
  command -v pg_lsclusters >/dev/null || return 1
  pg_lsclusters --no-header 2>/dev/null | awk 'NR==1 {print $1, $2}'
}

pg_as_superuser() { runuser -u postgres -- psql -qAtX -p "$1" "${@:2}"; }

pg_start() {
  local url="${DATABASE_URL:-}"
  if [[ -n "$url" ]] && pg_answers "$url"; then
    step "PostgreSQL answers at DATABASE_URL; using it"
    return 0
  fi
  if pg_answers "$DEFAULT_DATABASE_URL"; then
    step "PostgreSQL already running with database hookstream"
    return 0
  fi
  command -v psql >/dev/null || fail "no PostgreSQL client (psql) on this machine: install PostgreSQL or set DATABASE_URL"
  local cluster
  cluster=$(pg_cluster) || true
  [[ -n "$cluster" ]] || fail "no PostgreSQL cluster on this machine (pg_lsclusters found none): install PostgreSQL (apt-get install postgresql) or set DATABASE_URL to a server that answers"
  read -r version name <<<"$cluster"
  local port
  port=$(pg_lsclusters --no-header | awk -v v="$version" -v n="$name" '$1==v && $2==n {print $3}')
  if ! pg_lsclusters --no-header | awk -v v="$version" -v n="$name" '$1==v && $2==n {print $4}' | grep -q online; then
    step "starting PostgreSQL cluster $version/$name (port $port)"
    pg_ctlcluster "$version" "$name" start
    mkdir -p "$INFRA_DIR" && echo "$version $name" >"$PG_STARTED_MARK"
  fi
  wait_for 30 "PostgreSQL" bash -c "runuser -u postgres -- psql -qAtX -p $port -c 'select 1' >/dev/null 2>&1" ||
    fail "PostgreSQL cluster $version/$name did not answer within 30 s"
  step "creating role and database hookstream (if missing)"
  pg_as_superuser "$port" -c "DO \$\$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hookstream') THEN
        CREATE ROLE hookstream LOGIN CREATEDB PASSWORD 'hookstream';
      END IF; END \$\$;"
  if [[ -z "$(pg_as_superuser "$port" -c "SELECT 1 FROM pg_database WHERE datname = 'hookstream'")" ]]; then
    pg_as_superuser "$port" -c "CREATE DATABASE hookstream OWNER hookstream"
  fi
  pg_answers "postgres://hookstream:hookstream@127.0.0.1:$port/hookstream" ||
    fail "PostgreSQL runs but hookstream cannot log in over TCP on 127.0.0.1:$port (check pg_hba.conf)"
  step "PostgreSQL ready: postgres://hookstream:***@127.0.0.1:$port/hookstream"
}

pg_stop() {
  [[ -f "$PG_STARTED_MARK" ]] || { step "PostgreSQL was not started by infra:up; leaving it"; return 0; }
  read -r version name <"$PG_STARTED_MARK"
  step "stopping PostgreSQL cluster $version/$name"
  pg_ctlcluster "$version" "$name" stop -m fast || true
  rm -f "$PG_STARTED_MARK"
}

pg_pause() { # stop the cluster whoever started it (chaos test), remembering to start it again
  read -r version name <<<"$(pg_cluster)"
  pg_ctlcluster "$version" "$name" stop -m fast
}

pg_resume() {
  read -r version name <<<"$(pg_cluster)"
  pg_ctlcluster "$version" "$name" start
}

case "${1:-}" in
  up)
    kafka_start
    pg_start
    step "infrastructure ready"
    ;;
  down)
    kafka_stop
    pg_stop
    ;;
  status)
    if pid=$(kafka_pid); then echo "kafka: running (pid $pid)"; else echo "kafka: not started by infra"; fi
    if pg_answers "${DATABASE_URL:-$DEFAULT_DATABASE_URL}"; then echo "postgres: answering"; else echo "postgres: not answering"; fi
    ;;
  kafka-stop) kafka_stop ;;
  kafka-start) kafka_start ;;
  kafka-restart) kafka_stop && kafka_start ;;
  pg-stop) pg_pause ;;
  pg-start) pg_resume ;;
  *)
    echo "usage: $0 up|down|status|kafka-start|kafka-stop|kafka-restart|pg-stop|pg-start" >&2
    exit 2
    ;;
esac
