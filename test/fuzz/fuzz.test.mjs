// The bounded fuzz slice of `npm test` (issue 18): every target of test/fuzz/targets/ replays its corpus
// (test/fuzz/corpus/<target>/, one file per failure ever found), then runs fast-check for a few seconds (about
// 40 s for all). The long run is `npm run fuzz` (test/fuzz/run.mjs, docs/fuzzing.md). The seed is random per run
// and printed; FUZZ_SEED=<n> replays one. A failure is shrunk, saved to the corpus and reported with its seed.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { TARGETS } from "./targets/index.mjs";
import { corpusOf, fuzz, replayCorpus } from "./engine.mjs";

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** Seconds per target: the frame parser and the deflate path get more (they have the most states). */
const BUDGET = { frames: 10, deflate: 8, "request-head": 4, "response-head": 4, extensions: 4, close: 3, chat: 3 };
/** Inputs that must run within the budget even on a loaded machine (a coverage floor, far below the usual count). */
const FLOOR = { frames: 2000, deflate: 300, "request-head": 5000, "response-head": 5000, extensions: 5000, close: 5000, chat: 5000 };

describe(`fuzz targets, bounded slice (seed ${SEED})`, () => {
  it("every target is in the slice and has a time budget", () => {
    assert.deepEqual([...TARGETS.keys()].sort(), Object.keys(BUDGET).sort());
  });

  for (const [name, target] of TARGETS) {
    it(`${name}: the corpus replays, then ${BUDGET[name]} s of generated input hold every property`, { timeout: 120_000 }, async (t) => {
      const replayed = await replayCorpus(target);
      const r = await fuzz(target, { runs: 10_000_000, seed: SEED, timeLimitMs: BUDGET[name] * 1000 });
      t.diagnostic(`${name}: corpus ${corpusOf(target).length} files (${replayed} cases), ${r.runs} inputs in ${r.ms} ms, slowest ${r.slowestMs.toFixed(1)} ms`);
      t.diagnostic(`outcomes: ${[...r.outcomes].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(", ")}`);
      if (r.failure) {
        assert.fail(`${name} (seed ${r.failure.seed}, path ${r.failure.path}): ${r.failure.message}\nsaved: ${r.failure.saved}\nreplay: FUZZ_SEED=${SEED} node --test test/fuzz/fuzz.test.mjs`);
      }
      assert.ok(r.runs >= FLOOR[name], `only ${r.runs} inputs ran`);
    });
  }
});
