#!/usr/bin/env bash
# Several replicas of Hookstream on this machine, on the project's own Kafka and PostgreSQL
# (scripts/infra.sh up): one delivery group spreads the partitions over them, and
# GET /v1/ops/cluster on any of them lists them all.
#
#   npm run cluster -- [--replicas N] [--roles LIST] [--base-port P] [--no-build]
#     --replicas N    how many replicas (default 3); replica i is HOOKSTREAM_REPLICA_NAME=replica-<i>
#     --roles LIST    HOOKSTREAM_ROLES of every replica (default $HOOKSTREAM_ROLES, else api,fanout,delivery)
#     --base-port P   replica i listens on P+i-1 (default 3000)
#     --no-build      run dist/ as it is
#
# The caller's environment passes through: DATABASE_URL, KAFKA_BROKERS, HOST, LOG_LEVEL and every
# HOOKSTREAM_* override the defaults below, so a test can point it at its own topics and database.
# Every replica shares one HOOKSTREAM_SECRET_KEY: each must read the endpoint secrets the others wrote.
#
# Migrations run once, before any replica starts (dist/database/migrate.js); the replicas boot with
# HOOKSTREAM_RUN_MIGRATIONS=false so they never race to apply one. HOOKSTREAM_RUN_MIGRATIONS=false
# from the caller skips that step as well.
#
# Logs: .infra/cluster/replica-<i>.log, rewritten each run (HOOKSTREAM_CLUSTER_LOG_DIR moves them,
# so a test's replicas leave a developer's logs alone). Every replica must answer GET /readyz
# within HOOKSTREAM_CLUSTER_READY_TIMEOUT seconds (default 120), or all are stopped and the log named.
# Stopping: Ctrl-C or SIGTERM sends every replica one SIGTERM, waits up to
# HOOKSTREAM_CLUSTER_STOP_TIMEOUT seconds (default 30) and SIGKILLs what is left; a second Ctrl-C
# kills at once. Exit status 0 when every replica stopped in time, 1 otherwise.
# A replica that dies on its own is reported (name, status, log) and the others keep running, so
# its partitions can be watched moving to them; the script exits with status 1 once none is left.
# Killing this script with SIGKILL leaves the replicas running: `kill <pid>` each (printed at start).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

fail() { printf '\033[31m[hookstream] %s\033[0m\n' "$*" >&2; exit 1; }

replicas=3
roles="${HOOKSTREAM_ROLES:-api,fanout,delivery}"
base_port=3000
build=1
while (($# > 0)); do
  case "$1" in
    --replicas) replicas="${2:-}"; shift 2 || fail "--replicas needs a number" ;;
    --roles) roles="${2:-}"; shift 2 || fail "--roles needs a list" ;;
    --base-port) base_port="${2:-}"; shift 2 || fail "--base-port needs a port" ;;
    --no-build) build=0; shift ;;
    -h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) fail "unknown argument \"$1\" (see: npm run cluster -- --help)" ;;
  esac
done
[[ "$replicas" =~ ^[1-9][0-9]*$ ]] || fail "--replicas must be a positive number, not \"$replicas\""
[[ "$base_port" =~ ^[1-9][0-9]*$ ]] && ((base_port + replicas - 1 <= 65535)) ||
  fail "--base-port $base_port leaves no room for $replicas replicas below port 65536"
[[ -n "$roles" ]] || fail "--roles needs a list, e.g. api,fanout,delivery"

ready_timeout="${HOOKSTREAM_CLUSTER_READY_TIMEOUT:-120}"
stop_timeout="${HOOKSTREAM_CLUSTER_STOP_TIMEOUT:-30}"
export HOOKSTREAM_ADMIN_TOKEN="${HOOKSTREAM_ADMIN_TOKEN:-demo-admin-token-change-me}"
export HOOKSTREAM_SECRET_KEY="${HOOKSTREAM_SECRET_KEY:-demo-secret-key-change-me-0123456789abcdef}"
export HOST="${HOST:-127.0.0.1}"
export LOG_LEVEL="${LOG_LEVEL:-info}"
case "$HOST" in 0.0.0.0 | :: | '[::]') url_host=127.0.0.1 ;; *) url_host="$HOST" ;; esac
log_dir="${HOOKSTREAM_CLUSTER_LOG_DIR:-.infra/cluster}"

port_answers() { (exec 3<>"/dev/tcp/$url_host/$1") 2>/dev/null; }
for ((i = 1; i <= replicas; i++)); do
  port=$((base_port + i - 1))
  ! port_answers "$port" || fail "port $port (replica-$i) is taken; choose another with --base-port"
done

ensure_node_modules
bash scripts/infra.sh up
if ((build)); then
  step "building"
  npx nest build
fi
[[ -f dist/main.js ]] || fail "dist/main.js is missing: run without --no-build (or npx nest build)"

if [[ "${HOOKSTREAM_RUN_MIGRATIONS:-true}" != false ]]; then
  step "applying migrations once, before the replicas start"
  node dist/database/migrate.js
fi

# The heap cap the service runs with everywhere (package.json "config.node_options", like npm start).
read -r -a node_options <<<"$(node -p "require('./package.json').config.node_options")"
pids=()
alive() { [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null; }
any_alive() {
  local pid
  for pid in "${pids[@]}"; do alive "$pid" && return 0; done
  return 1
}

# A second Ctrl-C kills at once; one arriving within a second is the first again (`npm run` forwards
# the signal the terminal already sent this script).
kill_all_now() {
  local pid
  ((SECONDS - stopping_since >= 2)) || return 0
  step "killing every replica now (SIGKILL)"
  killed_now=1
  for pid in "${pids[@]}"; do alive "$pid" && kill -KILL "$pid" 2>/dev/null || true; done
}

# One SIGTERM each, then up to stop_timeout seconds; returns 1 when a replica had to be killed.
stop_replicas() {
  local i pid forced=0 deadline=$((SECONDS + stop_timeout))
  for pid in "${pids[@]}"; do alive "$pid" && kill -TERM "$pid" 2>/dev/null || true; done
  for i in "${!pids[@]}"; do
    pid="${pids[$i]}"
    [[ -n "$pid" ]] || continue
    while alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
    if alive "$pid"; then
      step "replica-$((i + 1)) (pid $pid) did not stop within ${stop_timeout} s; SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      forced=1
    fi
    wait "$pid" 2>/dev/null || true
    pids[i]=""
  done
  return "$forced"
}

on_signal() {
  stopping_since=$SECONDS killed_now=0
  trap kill_all_now INT TERM HUP
  trap - EXIT
  step "$1: stopping the replicas (SIGTERM; SIGKILL after ${stop_timeout} s; Ctrl-C again to kill now)"
  if stop_replicas && ((!killed_now)); then
    step "every replica stopped"
    exit 0
  fi
  exit 1
}
trap 'on_signal SIGINT' INT
trap 'on_signal SIGTERM' TERM
trap 'on_signal SIGHUP' HUP
# Any other way out (a failed readiness check, set -e) takes the replicas with it.
trap 'stop_replicas >/dev/null || true' EXIT

mkdir -p "$log_dir"
for ((i = 1; i <= replicas; i++)); do
  port=$((base_port + i - 1))
  log="$log_dir/replica-$i.log"
  # setsid: Ctrl-C at the terminal reaches only this script, so each replica gets exactly one
  # SIGTERM from stop_replicas (the service shuts down once per signal it sees).
  # One process per replica (HOOKSTREAM_WORKERS=1 unless given): the replicas are the processes here.
  PORT="$port" HOOKSTREAM_REPLICA_NAME="replica-$i" HOOKSTREAM_ROLES="$roles" HOOKSTREAM_RUN_MIGRATIONS=false \
    HOOKSTREAM_WORKERS="${HOOKSTREAM_WORKERS:-1}" \
    setsid node "${node_options[@]}" dist/main.js >"$log" 2>&1 </dev/null &
  pids+=("$!")
  step "starting replica-$i on :$port (pid $!, roles $roles, log: $log)"
done

# Readiness: every replica's /readyz answers 200 within ready_timeout seconds.
ready=()
deadline=$((SECONDS + ready_timeout))
while ((${#ready[@]} < replicas)); do
  for ((i = 1; i <= replicas; i++)); do
    [[ -z "${ready[i]:-}" ]] || continue
    pid="${pids[i - 1]}"
    log="$log_dir/replica-$i.log"
    if ! alive "$pid"; then
      status=0
      wait "$pid" || status=$?
      pids[i - 1]=""
      tail -20 "$log" >&2 || true
      fail "replica-$i exited with status $status before it was ready (log: $log)"
    fi
    if curl -fsS -m 2 "http://$url_host:$((base_port + i - 1))/readyz" >/dev/null 2>&1; then
      ready[i]=1
      step "replica-$i ready"
    fi
  done
  if ((${#ready[@]} < replicas && SECONDS >= deadline)); then
    for ((i = 1; i <= replicas; i++)); do
      [[ -n "${ready[i]:-}" ]] || { tail -20 "$log_dir/replica-$i.log" >&2 || true; }
    done
    not_ready=$(for ((i = 1; i <= replicas; i++)); do
      [[ -n "${ready[i]:-}" ]] || printf 'replica-%s (log: %s/replica-%s.log) ' "$i" "$log_dir" "$i"
    done)
    fail "not ready within ${ready_timeout} s (GET /readyz): ${not_ready}"
  fi
  ((${#ready[@]} == replicas)) || { sleep 0.5 & wait $!; }
done

first="http://$url_host:$base_port"
for ((i = 1; i <= replicas; i++)); do
  step "replica-$i: http://$url_host:$((base_port + i - 1))   (pid ${pids[i - 1]}, log: $log_dir/replica-$i.log)"
done
step "dashboard: $first/dashboard   (admin token: $HOOKSTREAM_ADMIN_TOKEN)"
step "replicas:  curl -H 'Authorization: Bearer $HOOKSTREAM_ADMIN_TOKEN' $first/v1/ops/cluster"
step "stop: Ctrl-C (or kill -TERM $$); a replica that dies is reported and the others keep running"

# Watch the replicas; `sleep & wait` rather than `sleep` so a signal is handled at once.
while :; do
  for i in "${!pids[@]}"; do
    pid="${pids[$i]}"
    [[ -n "$pid" ]] && ! alive "$pid" || continue
    status=0
    wait "$pid" || status=$?
    pids[i]=""
    step "replica-$((i + 1)) (pid $pid) exited with status $status (log: $log_dir/replica-$((i + 1)).log); the others keep running"
  done
  any_alive || { trap - EXIT; fail "every replica has exited"; }
  sleep 1 &
  wait $! || true
done
