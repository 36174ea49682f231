#!/usr/bin/env bash
# The test command (README): installs what is missing, then lint, format check,
# type-check, and the unit and integration tests against a real control plane,
# Prometheus and Alertmanager. Ends with the line "tests: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-npm.sh
bash scripts/install-infra.sh

export PATH="$PWD/node_modules/.bin:$PATH"
echo "== the dashboard's page (esbuild bundle)"
npm run --silent build:dashboard
echo "== lint and format"
npm run --silent lint
echo "== type-check"
npm run --silent typecheck

echo "== unit and integration tests"
mkdir -p .test-runs
status=0
vitest run --reporter=default --reporter=json --outputFile.json=.test-runs/vitest.json "$@" || status=$?
node scripts/test-summary.ts .test-runs/vitest.json
exit "$status"
