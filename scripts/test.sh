#!/usr/bin/env bash
# Every test, against the real Kafka broker and PostgreSQL that scripts/infra.sh starts.
# This is the README's second command and what .ci/run calls.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

ensure_node_modules
step "starting infrastructure"
bash scripts/infra.sh up

step "lint, format and type check"
npx eslint --max-warnings 0 "{src,test,bench}/**/*.ts" "packages/*/src/**/*.ts"
npx prettier --check --log-level warn "{src,test,bench}/**/*.ts" "packages/*/src/**/*.ts"
npx tsc -p tsconfig.check.json

step "build"
npm run build --silent  # the publisher library, then the service (the demo imports the library)

if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null; then
  step "installing chromium for the dashboard's browser test"
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi

rm -rf test-artifacts && mkdir -p test-artifacts
step "jest: unit, integration and end-to-end tests"
status=0
npx jest --runInBand --ci --json --outputFile=test-artifacts/jest.json "$@" || status=$?
summary=$(node -e '
  const r = require("./test-artifacts/jest.json");
  console.log(`jest: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
' || echo "jest: no results")
echo "$summary"

# The alert rules, checked and unit-tested; scripts/promtool.sh builds promtool once into ~/.cache.
step "alert rules: promtool check rules, promtool test rules (ops/prometheus)"
if promtool=$(bash scripts/promtool.sh); then
  "$promtool" check rules ops/prometheus/alerts.yml || status=$?
  "$promtool" test rules ops/prometheus/alerts.test.yml || status=$?
else
  status=1
fi

# Smoke variants of the benchmark and the crash test (issue 7): small counts, no timing assertion.
# The chaos smoke SIGKILLs its own service once and stops PostgreSQL for ~3 s (no broker restart).
step "bench smoke: npm run bench:smoke (tiny benchmark, bench/results/smoke.json)"
npm run --silent bench:smoke || status=$?
step "bench replicas smoke: npm run bench:replicas:smoke (one api,fanout and two delivery replicas, tiny)"
npm run --silent bench:replicas:smoke || status=$?
step "chaos smoke: npm run chaos:smoke (500 events, one SIGKILL, ~3 s PostgreSQL pause, 3 hostile-tenant rounds; fails on any loss)"
npm run --silent chaos:smoke || status=$?
step "PostgreSQL outage smoke: npm run chaos:pg-outage:smoke (500 deliveries with 64 KiB answers, 10 s outage; fails on any loss or RSS over the heap cap)"
npm run --silent chaos:pg-outage:smoke || status=$?
# Three replicas of one Hookstream (issue 16): a rolling-restart step and a SIGKILL while 600 events flow.
step "chaos cluster smoke: npm run chaos:cluster:smoke (3 replicas, 600 events, one rolling-restart step, one SIGKILL; fails on loss, order or maxConcurrency violations, held rows cycled)"
npm run --silent chaos:cluster:smoke || status=$?
# The transactional outbox of @hookstream/publisher (issue 18): 500 updates, one relay SIGKILL.
step "outbox crash smoke: npm run chaos:outbox:smoke (500 transactional updates, some rolled back, one relay SIGKILL; fails on loss, a rolled-back event delivered or order per tenant broken)"
npm run --silent chaos:outbox:smoke || status=$?
# The README's first command, checked end to end: one round of demo events, every signature verified.
step "README check: scripts/demo.sh --once"
PORT="${DEMO_CHECK_PORT:-3917}" HOOKSTREAM_TOPIC_NAMESPACE="hookstream-demo-check" \
  HOOKSTREAM_INPUT_TOPICS="platform.events.demo-check" bash scripts/demo.sh --once || status=$?

# The jest summary again as the closing line, after the smoke runs' output.
echo "$summary"
exit "$status"
