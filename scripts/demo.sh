#!/usr/bin/env bash
# README command 1: sets everything up (npm packages, Debian packages, the local
# control plane build, cached) and runs the demo (demo/run.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-npm.sh
bash scripts/install-infra.sh
# The dashboard's page (glidepath dashboard), bundled by esbuild: a fraction of a second.
node_modules/.bin/node scripts/build-dashboard.ts
exec node_modules/.bin/node demo/run.ts
