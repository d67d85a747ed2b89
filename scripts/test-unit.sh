#!/usr/bin/env bash
# The in-memory tests (`npm run test:unit`): the sans-I/O protocol core, two endpoints talking in memory, the
# fuzzer, the hub's sweep schedule on a fake clock, the event plumbing, the source-structure checks. No sockets,
# no child processes, no browser.
# mask-simd.test.mjs starts a child process: `npm test` runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build --silent
files="$(find test/protocol -name '*.test.mjs' ! -name 'mask-simd.test.mjs' | sort) test/hub/sweep-timer.test.mjs test/api/node-events.test.mjs test/structure.test.mjs"
exec node --test --test-concurrency=2 $files
