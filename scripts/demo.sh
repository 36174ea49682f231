#!/usr/bin/env bash
# README command 1: sets everything up (npm packages, Debian packages, the local
# control plane build, cached) and runs the demo (demo/run.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
bash scripts/install-infra.sh
exec node_modules/.bin/node demo/run.ts
