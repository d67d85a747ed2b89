#!/usr/bin/env node
// The long fuzz run (npm run fuzz): node test/fuzz/run.mjs [--runs N] [--target NAME|all] [--seed S] [--minutes M]
// Each target runs in a child process with a heap cap (a memory blow-up is a crash) and a watchdog (a stuck input
// is a hang): first its corpus, then N fast-check inputs or M minutes, whichever ends first. A failure is shrunk,
// saved to test/fuzz/corpus/<target>/ and reported with its seed; the exit code is 1 if any target failed.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { TARGETS } from "./targets/index.mjs";
import { fuzz, replayCorpus } from "./engine.mjs";

function args(argv) {
  const o = { runs: 100_000, target: "all", seed: Date.now() % 2 ** 31, minutes: 20, child: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--child") o.child = true;
    else if (a === "--runs") o.runs = Number(argv[++i]);
    else if (a === "--target") o.target = argv[++i];
    else if (a === "--seed") o.seed = Number(argv[++i]);
    else if (a === "--minutes") o.minutes = Number(argv[++i]);
    else {
      console.error(`unknown argument ${a}\nusage: node test/fuzz/run.mjs [--runs N] [--target ${[...TARGETS.keys()].join("|")}|all] [--seed S] [--minutes M]`);
      process.exit(2);
    }
  }
  if (!Number.isInteger(o.runs) || o.runs < 1 || !(o.minutes > 0)) {
    console.error("--runs must be a positive integer, --minutes a positive number");
    process.exit(2);
  }
  if (o.target !== "all" && !TARGETS.has(o.target)) {
    console.error(`unknown target ${o.target}; targets: ${[...TARGETS.keys()].join(", ")}`);
    process.exit(2);
  }
  return o;
}

const o = args(process.argv.slice(2));

if (o.child) {
  const target = TARGETS.get(o.target);
  const replayed = await replayCorpus(target);
  const r = await fuzz(target, { runs: o.runs, seed: o.seed, timeLimitMs: o.minutes * 60_000 });
  const rate = Math.round((r.runs / r.ms) * 1000);
  console.log(
    `${target.name}: ${r.failure ? "FAILED" : "ok"}, corpus ${replayed} cases, ${r.runs} inputs in ${(r.ms / 1000).toFixed(1)} s (${rate}/s)` +
      `${r.interrupted ? " (stopped by the time limit)" : ""}, slowest input ${r.slowestMs.toFixed(1)} ms, seed ${o.seed}`,
  );
  console.log(`  outcomes: ${[...r.outcomes].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(", ")}`);
  if (r.failure) {
    console.log(`  failure (seed ${r.failure.seed}, path ${r.failure.path}): ${r.failure.message}`);
    if (r.failure.saved) console.log(`  saved as ${r.failure.saved}`);
    process.exitCode = 1;
  }
} else {
  const names = o.target === "all" ? [...TARGETS.keys()] : [o.target];
  let failed = 0;
  const started = new Date();
  console.log(`fuzz run ${started.toISOString()}, node ${process.version}, runs ${o.runs} per target, at most ${o.minutes} min per target, seed ${o.seed}`);
  for (const name of names) {
    // Watchdog: the time budget, plus room for the corpus, shrinking and a last slow input.
    const limitMs = o.minutes * 60_000 + 120_000;
    const code = await new Promise((resolve) => {
      const child = spawn(process.execPath, ["--max-old-space-size=1024", fileURLToPath(import.meta.url), "--child", "--target", name, "--runs", String(o.runs), "--seed", String(o.seed), "--minutes", String(o.minutes)], { stdio: "inherit" });
      const timer = setTimeout(() => {
        console.log(`${name}: HANG: no result after ${limitMs / 1000} s, killed`);
        child.kill("SIGKILL");
      }, limitMs);
      child.on("exit", (c, signal) => {
        clearTimeout(timer);
        resolve(signal ? `signal ${signal}` : c);
      });
    });
    if (code !== 0) {
      failed++;
      if (code !== 1) console.log(`${name}: CRASH: the child exited with ${code}`);
    }
  }
  console.log(`done in ${((Date.now() - started.getTime()) / 1000).toFixed(0)} s: ${names.length - failed} of ${names.length} targets passed`);
  process.exitCode = failed > 0 ? 1 : 0;
}
