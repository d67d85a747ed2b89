#!/usr/bin/env bash
# The in-memory tests (`npm run test:unit`, seconds): the sans-I/O protocol core, two endpoints talking in memory,
# the hub's sweep schedule on a fake clock, the event plumbing, the source-structure checks. No sockets, no child
# processes, no browser. The fuzz slice (test/fuzz/, about 40 s) runs in `npm test`; `npm run fuzz` runs it longer.
# mask-simd.test.mjs starts a child process: `npm test` runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build --silent
files="$(find test/protocol -name '*.test.mjs' ! -name 'mask-simd.test.mjs' | sort) test/hub/sweep-timer.test.mjs test/api/node-events.test.mjs test/structure.test.mjs"
exec node --test --test-concurrency=2 $files
