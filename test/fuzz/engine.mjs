// Runs a fuzz target: replays its corpus (test/fuzz/corpus/<target>/), then fast-check with a seed, a number of
// runs and a time budget. A failure is shrunk by fast-check and its input saved to the corpus as a regression case.
import fc from "fast-check";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const CORPUS = join(dirname(fileURLToPath(import.meta.url)), "corpus");

/** The corpus files of a target: [{ file, bytes }]. */
export function corpusOf(target) {
  const dir = join(CORPUS, target.name);
  let names = [];
  try {
    names = readdirSync(dir).filter((f) => f.endsWith(".bin") || f.endsWith(".txt")).sort();
  } catch {
    return [];
  }
  return names.map((file) => ({ file: join(dir, file), bytes: readFileSync(join(dir, file)) }));
}

/** Saves a failing input as a regression case; returns its path. */
export function saveToCorpus(target, input) {
  const dir = join(CORPUS, target.name);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `crash-${createHash("sha256").update(input).digest("hex").slice(0, 16)}.${target.corpusExt}`);
  writeFileSync(file, input);
  return file;
}

function trySave(target, input) {
  try {
    return saveToCorpus(target, input);
  } catch (err) {
    return `(not saved: ${err.message})`;
  }
}

/** Replays every corpus entry of a target; throws on the first that fails. Returns how many cases ran. */
export async function replayCorpus(target) {
  let n = 0;
  for (const { file, bytes } of corpusOf(target)) {
    for (const c of target.casesFromCorpus(bytes)) {
      try {
        await target.check(c);
      } catch (err) {
        err.message = `corpus ${file}: ${err.message}`;
        throw err;
      }
      n++;
    }
  }
  return n;
}

/**
 * fast-check over a target. Returns { runs, executed, ms, slowestMs (the slowest input), outcomes, failure }: `failure` is null, or { message, seed, path,
 * counterexample, saved } with the shrunk input saved to the corpus when `save` is set.
 */
export async function fuzz(target, { runs, seed, timeLimitMs, save = true }) {
  const outcomes = new Map();
  const record = (o) => outcomes.set(o, (outcomes.get(o) ?? 0) + 1);
  let executed = 0;
  let slowest = 0;
  const timed = (t0) => {
    const d = performance.now() - t0;
    if (d > slowest) slowest = d;
  };
  const prop = target.isAsync
    ? fc.asyncProperty(target.arbitrary, async (c) => {
        executed++;
        const t0 = performance.now();
        record(await target.check(c));
        timed(t0);
      })
    : fc.property(target.arbitrary, (c) => {
        executed++;
        const t0 = performance.now();
        record(target.check(c));
        timed(t0);
      });
  const started = Date.now();
  const details = target.isAsync
    ? await fc.check(prop, { numRuns: runs, seed, interruptAfterTimeLimit: timeLimitMs, markInterruptAsFailure: false })
    : fc.check(prop, { numRuns: runs, seed, interruptAfterTimeLimit: timeLimitMs, markInterruptAsFailure: false });
  const ms = Date.now() - started;
  let failure = null;
  if (details.failed) {
    const err = details.errorInstance;
    const input = err?.input;
    failure = {
      message: err?.message ?? String(details.error),
      seed: details.seed,
      path: details.counterexamplePath,
      saved: save && input ? trySave(target, input) : null,
    };
  }
  return { runs: details.numRuns, executed, ms, slowestMs: slowest, outcomes, failure, interrupted: details.interrupted };
}
