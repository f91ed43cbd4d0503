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
npx eslint --max-warnings 0 "{src,test,bench}/**/*.ts"
npx prettier --check --log-level warn "{src,test,bench}/**/*.ts"
npx tsc -p tsconfig.check.json

step "build"
npx nest build

if command -v promtool >/dev/null; then
  step "validating Prometheus alert rules with promtool"
  promtool check rules ops/prometheus/alerts.yml
fi

rm -rf test-artifacts && mkdir -p test-artifacts
step "jest: unit, integration and end-to-end tests"
status=0
npx jest --runInBand --ci --json --outputFile=test-artifacts/jest.json "$@" || status=$?
node -e '
  const r = require("./test-artifacts/jest.json");
  console.log(`jest: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
' || true
exit "$status"
