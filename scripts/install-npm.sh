#!/usr/bin/env bash
# Installs the npm packages when they are missing or older than package-lock.json.
# Shared by the README's two commands (scripts/test.sh, scripts/demo.sh).
#
# The packages include Node 24 itself (the `node` devDependency), and every npm script
# runs on it. npm, though, runs on the machine's own Node; when that is older than 22,
# npm warns EBADENGINE for every package that needs a newer Node, although none of them
# will ever run on the old one. Those warnings are replaced by one line that says so;
# every other warning and error of npm is shown as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[install-npm] %s\n' "$*" >&2; }

if [ -x node_modules/.bin/node ] && [ ! package-lock.json -nt node_modules/.package-lock.json ]; then
  exit 0
fi

machine_node="$(node --version 2>/dev/null || echo none)"
log "installing the npm packages, with Node 24 for the project (the 'node' package); npm itself runs on this machine's Node $machine_node"
npm_output="$(mktemp)"
trap 'rm -f "$npm_output"' EXIT
status=0
npm ci --no-audit --no-fund >"$npm_output" 2>&1 || status=$?
engine_warnings=$(grep -c 'EBADENGINE Unsupported engine' "$npm_output" || true)
grep -v 'EBADENGINE' "$npm_output" >&2 || true
if [ "$engine_warnings" -gt 0 ]; then
  log "$engine_warnings packages need a newer Node than $machine_node to run; they run on $(node_modules/.bin/node --version 2>/dev/null || echo 'the project Node') from node_modules/.bin/node"
fi
[ "$status" -eq 0 ] || { log "npm ci failed (exit $status)"; exit "$status"; }
[ -x node_modules/.bin/node ] || { log "node_modules/.bin/node is missing after npm ci: the 'node' package did not install Node 24"; exit 1; }
log "Node $(node_modules/.bin/node --version) ready in node_modules/.bin/node"
