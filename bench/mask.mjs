#!/usr/bin/env node
/**
 * Micro-benchmark of RFC 6455 §5.3 masking (src/protocol/mask.ts): MB/s of each path at the payload sizes the
 * echo benchmarks use. Build first (`npx tsc -p .`).
 *
 *   node bench/mask.mjs [--ms 300] [--rounds 3] [--impl path/to/mask.js] [--baseline path/to/old/mask.js]
 *
 * Rows:
 *   plain      applyMaskPlain, byte at a time (the reference)
 *   words      the JavaScript word loop (applyMaskToWords)
 *   simd       the WebAssembly SIMD path (applyMaskToSimd), when the runtime has it
 *   applyMask  the public entry point, in place on a 4-byte-aligned buffer (the receive path)
 *   applyMaskTo into a frame after its header (2/4/10-byte length + 4-byte key: the client send path,
 *              unaligned for 64-bit lengths)
 * `--impl` loads another build of mask.js and measures its applyMask/applyMaskTo rows instead; `--baseline` adds
 * the baseline's applyMask/applyMaskTo rows, measured interleaved with the current ones (cell by cell, round by
 * round), for before/after numbers from the same noisy machine. Each cell is the best of `--rounds` rounds.
 */
import { randomBytes } from "node:crypto";
import { pathToFileURL } from "node:url";
import path from "node:path";

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : def;
};
const ms = Number(opt("--ms", "300"));
const implPath = opt("--impl", null);
const baselinePath = opt("--baseline", null);
const rounds = Number(opt("--rounds", "3"));

const own = await import("../dist/protocol/mask.js");
const impl = implPath ? await import(pathToFileURL(path.resolve(implPath)).href) : own;
const baseline = baselinePath ? await import(pathToFileURL(path.resolve(baselinePath)).href) : null;

const SIZES = [125, 1024, 64 * 1024, 1024 * 1024];
const key = randomBytes(4);

function headerLength(len) {
  return (len < 126 ? 2 : len < 65536 ? 4 : 10) + 4;
}

/** Runs fn(iterations) in growing batches for about `ms` milliseconds; returns MB/s (1 MB = 10^6 bytes). */
function measure(bytesPerCall, fn) {
  fn(16); // warm up (JIT)
  let batch = Math.max(1, Math.floor(4e6 / bytesPerCall));
  fn(batch);
  let calls = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < ms * 1e6) {
    fn(batch);
    calls += batch;
    elapsed = Number(process.hrtime.bigint() - start);
  }
  return (calls * bytesPerCall) / (elapsed / 1e9) / 1e6;
}

const rows = [];
function row(name, perSize) {
  rows.push([name, ...perSize.map((v) => (v === null ? "—" : v.toFixed(0)))]);
}

const cases = {};
if (!implPath) {
  cases["plain (in place)"] = (len) => {
    const buf = new Uint8Array(len);
    return (n) => { for (let i = 0; i < n; i++) own.applyMaskPlain(buf, key); };
  };
  cases["words (in place)"] = (len) => {
    const buf = new Uint8Array(len);
    return (n) => { for (let i = 0; i < n; i++) own.applyMaskToWords(buf, key, 0, buf, 0, len); };
  };
  cases["words (into frame)"] = (len) => {
    const src = new Uint8Array(len), out = new Uint8Array(len + 14), h = headerLength(len);
    return (n) => { for (let i = 0; i < n; i++) own.applyMaskToWords(src, key, 0, out, h, len); };
  };
  if (own.applyMaskToSimd) {
    cases["simd (in place)"] = (len) => {
      const buf = new Uint8Array(len);
      return (n) => { for (let i = 0; i < n; i++) own.applyMaskToSimd(buf, key, 0, buf, 0, len); };
    };
  }
}
const publicCases = (m) => ({
  "applyMask (in place)": (len) => {
    const buf = new Uint8Array(len);
    return (n) => { for (let i = 0; i < n; i++) m.applyMask(buf, key); };
  },
  "applyMaskTo (into frame)": (len) => {
    const src = new Uint8Array(len), out = new Uint8Array(len + 14), h = headerLength(len);
    return (n) => { for (let i = 0; i < n; i++) m.applyMaskTo(src, key, 0, out, h, len); };
  },
});
Object.assign(cases, publicCases(impl));
if (baseline) {
  for (const [name, make] of Object.entries(publicCases(baseline))) cases[`baseline ${name}`] = make;
}

// Cell by cell, every case once per round (so a burst of load elsewhere hits them alike); best round wins.
const best = Object.fromEntries(Object.keys(cases).map((name) => [name, SIZES.map(() => 0)]));
SIZES.forEach((len, col) => {
  const fns = Object.fromEntries(Object.entries(cases).map(([name, make]) => [name, make(len)]));
  for (let r = 0; r < rounds; r++) {
    for (const [name, fn] of Object.entries(fns)) best[name][col] = Math.max(best[name][col], measure(len, fn));
  }
});
for (const [name, perSize] of Object.entries(best)) row(name, perSize);

const head = ["MB/s", ...SIZES.map((s) => (s >= 1024 * 1024 ? `${s / 1048576} MiB` : s >= 1024 ? `${s / 1024} KiB` : `${s} B`))];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
console.log(
  `mask benchmark: ${implPath ?? "dist/protocol/mask.js"} (implementation: ${impl.maskImplementation ?? "n/a"})` +
    `${baselinePath ? `, baseline ${baselinePath}` : ""}, node ${process.version}, best of ${rounds} × ${ms} ms per cell`,
);
console.log(line(head));
for (const r of rows) console.log(line(r));
