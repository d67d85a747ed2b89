#!/usr/bin/env bash
# Runs every test of wshub. On a fresh machine it first installs what the tests need:
# Debian packages (python3-websockets, chromium, openssl, redis-server) and npm packages (npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
/usr/bin/python3 -c "import websockets" 2>/dev/null || need+=(python3-websockets)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# The cluster tests start their own redis-server (a free loopback port, a temp dir); nothing runs as a service.
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
if [ ${#need[@]} -gt 0 ]; then
  echo "test.sh: installing Debian packages: ${need[*]}"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

# Build once: `npm ci` builds through the package's prepare script; otherwise build here. The build is incremental
# (tsconfig.json, dist/.tsbuildinfo), so the one in `npm start` (tested by test/cli/npm-start.test.mjs) is quick.
if [ ! -d node_modules ] || [ -n "${CI:-}" ]; then
  npm ci --no-audit --no-fund
else
  npm run build
fi

# The slowloris test (test/server/limits.test.mjs) holds about 4,500 sockets: use the hard limit on descriptors.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

files=$(find test -name '*.test.mjs' | sort)
if [ -n "${1:-}" ]; then files=$(echo "$files" | grep -E "$1"); fi
# Tests share two cores and open real sockets: run files one at a time, each bounded by its own timeouts.
exec node --test --test-concurrency=1 --test-timeout=600000 $files
