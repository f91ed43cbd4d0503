#!/usr/bin/env bash
# The README's first command: install, start Kafka and PostgreSQL, run Hookstream, and show
# deliveries live (retries and dead letters included). Ctrl-C stops the service and the demo;
# `npm run infra:down` stops Kafka and PostgreSQL.   --once: publish one round, check it, exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

ensure_node_modules
bash scripts/infra.sh up
step "building"
npm run build --silent  # the publisher library, then the service (the demo imports the library)

export PORT="${PORT:-3000}"
export HOOKSTREAM_ADMIN_TOKEN="${HOOKSTREAM_ADMIN_TOKEN:-demo-admin-token-change-me}"
export HOOKSTREAM_SECRET_KEY="${HOOKSTREAM_SECRET_KEY:-demo-secret-key-change-me-0123456789abcdef}"
# The demo receiver runs on this machine, so loopback must be allowed (never in production).
export HOOKSTREAM_EGRESS_ALLOWLIST="${HOOKSTREAM_EGRESS_ALLOWLIST:-127.0.0.0/8,::1/128}"
export HOOKSTREAM_RETRY_DELAYS="${HOOKSTREAM_RETRY_DELAYS:-2s,4s,8s}"
# Short like the tiers: with the default 30 s, /broken's open circuit holds its deliveries back
# (not counted as attempts) well past the point where the demo looks for them in the DLQ.
export HOOKSTREAM_CIRCUIT_OPEN_FOR="${HOOKSTREAM_CIRCUIT_OPEN_FOR:-5s}"
export HOOKSTREAM_TOPIC_NAMESPACE="${HOOKSTREAM_TOPIC_NAMESPACE:-hookstream-demo}"
export HOOKSTREAM_INPUT_TOPICS="${HOOKSTREAM_INPUT_TOPICS:-platform.events.demo}"
export LOG_LEVEL="${LOG_LEVEL:-warn}"
export HOOKSTREAM_URL="http://127.0.0.1:$PORT"

mkdir -p .infra
step "starting Hookstream on :$PORT (log: .infra/demo-service.log)"
# The heap cap the service runs with everywhere (package.json "config.node_options", like npm start).
node $(node -p "require('./package.json').config.node_options") dist/main.js >.infra/demo-service.log 2>&1 &
service_pid=$!
trap 'kill "$service_pid" 2>/dev/null || true; wait "$service_pid" 2>/dev/null || true' EXIT

for _ in $(seq 1 120); do
  if curl -fsS "$HOOKSTREAM_URL/readyz" >/dev/null 2>&1; then break; fi
  kill -0 "$service_pid" 2>/dev/null || { tail -20 .infra/demo-service.log; echo "Hookstream exited" >&2; exit 1; }
  sleep 0.5
done
curl -fsS "$HOOKSTREAM_URL/readyz" >/dev/null || { tail -20 .infra/demo-service.log; exit 1; }
step "ready: $HOOKSTREAM_URL/readyz answers 200"
step "API docs:  $HOOKSTREAM_URL/docs"
step "dashboard: $HOOKSTREAM_URL/dashboard   (admin token: $HOOKSTREAM_ADMIN_TOKEN)"
node dist/demo/run-demo.js "$@"
