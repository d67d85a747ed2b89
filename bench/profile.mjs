#!/usr/bin/env node
/**
 * CPU profile of a benchmark server under load: runs the server with `node --cpu-prof` (pinned
 * to core 0) while the C load generator (core 1) drives one scenario, then prints the functions
 * with the most self time, mapped back to src/ through the source maps in dist/.
 *
 *   node bench/profile.mjs [scenario] [--server wshub|ws|raw|floor] [--seconds 8] [--top 25]
 *   scenarios: echo-32-16 (default), echo-32-128, echo-64k, echo-1m, echo-deflate, bcast-1k, bcast-10k,
 *   idle-10k (the handshakes of 10,000 connections)
 *   (echo-deflate uses the payload file that bench/run.mjs writes: run `npm run bench -- --only echo-deflate` once first)
 *
 * The .cpuprofile file is kept in bench/.build/profiles/ (open it in Chrome DevTools).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ROOT, BUILD_DIR, LOADGEN, SERVER_CORE, LOAD_CORE, buildLoadgen, spawnPinned, JsonLines, stop } from "./lib/proc.mjs";

const LG = {
  "echo-32-16": ["echo", "--conns", "100", "--inflight", "16", "--size", "32"],
  "echo-32-128": ["echo", "--conns", "100", "--inflight", "128", "--size", "32"],
  "echo-64k": ["echo", "--conns", "16", "--inflight", "4", "--size", "65536", "--binary"],
  "echo-1m": ["echo", "--conns", "4", "--inflight", "2", "--size", "1048576", "--binary"],
  "echo-deflate": ["echo", "--conns", "100", "--inflight", "8", "--extensions", "permessage-deflate; client_no_context_takeover; server_no_context_takeover", "--rsv1", "--payload-file", path.join(BUILD_DIR, "deflate-2k.bin")],
  "idle-10k": ["idle", "--conns", "10000", "--concurrency", "256", "--hold", "300"],
  "bcast-1k": ["bcast", "--conns", "1000", "--inflight", "128", "--size", "32"],
  "bcast-10k": ["bcast", "--conns", "10000", "--inflight", "32", "--size", "32"],
};
const SERVERS = { wshub: "bench/servers/wshub.mjs", ws: "bench/servers/ws.mjs", raw: "bench/servers/raw.mjs", floor: "bench/servers/floor.mjs" };

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i !== -1 ? argv[i + 1] : dflt;
};
const scenario = argv[0] && !argv[0].startsWith("--") ? argv[0] : "echo-32-16";
const server = opt("server", "wshub");
const seconds = Number(opt("seconds", 8));
const top = Number(opt("top", 25));
if (!LG[scenario] || !SERVERS[server]) {
  console.error(`usage: node bench/profile.mjs [${Object.keys(LG).join("|")}] [--server ${Object.keys(SERVERS).join("|")}]`);
  process.exit(2);
}

// --- source maps (VLQ "mappings" decoder, enough to map a generated line:column back) ---

const B64 = new Map([..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"].map((c, i) => [c, i]));
function decodeVlq(s) {
  const out = [];
  let value = 0;
  let shift = 0;
  for (const ch of s) {
    const d = B64.get(ch);
    value += (d & 31) << shift;
    if (d & 32) shift += 5;
    else {
      out.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return out;
}
const mapCache = new Map();
function loadMap(file) {
  if (mapCache.has(file)) return mapCache.get(file);
  let lines = null;
  const mapFile = file + ".map";
  if (existsSync(mapFile)) {
    const sm = JSON.parse(readFileSync(mapFile, "utf8"));
    lines = [];
    let src = 0, srcLine = 0, srcCol = 0;
    for (const line of sm.mappings.split(";")) {
      let col = 0;
      const segs = [];
      for (const seg of line.split(",")) {
        if (!seg) continue;
        const v = decodeVlq(seg);
        col += v[0];
        if (v.length >= 4) {
          src += v[1];
          srcLine += v[2];
          srcCol += v[3];
          segs.push([col, path.resolve(path.dirname(mapFile), sm.sourceRoot ?? "", sm.sources[src]), srcLine]);
        }
      }
      lines.push(segs);
    }
  }
  mapCache.set(file, lines);
  return lines;
}
/** dist/x.js line/column (0-based) → "src/x.ts:LINE" (1-based), or the dist location. */
function locate(url, line, col) {
  if (!url) return "(native)";
  const file = url.startsWith("file://") ? fileURLToPath(url) : url;
  const rel = (f) => (f.startsWith(ROOT) ? path.relative(ROOT, f) : f);
  const lines = file.startsWith("/") ? loadMap(file) : null;
  if (lines && lines[line]) {
    let best = null;
    for (const seg of lines[line]) if (seg[0] <= col) best = seg;
    best ??= lines[line][0];
    if (best) return `${rel(best[1])}:${best[2] + 1}`;
  }
  return `${rel(file)}:${line + 1}`;
}

// --- run ---

buildLoadgen();
const dir = path.join(BUILD_DIR, "profiles");
mkdirSync(dir, { recursive: true });
const before = new Set(readdirSync(dir));
const mode = LG[scenario][0] === "idle" ? "echo" : LG[scenario][0];
const child = spawnPinned(SERVER_CORE, process.execPath, ["--cpu-prof", "--cpu-prof-dir", dir, SERVERS[server], "--mode", mode, ...(scenario === "echo-deflate" ? ["--deflate"] : [])],
  { env: server === "ws" ? { WS_NO_BUFFER_UTIL: "1" } : {} });
const lines = new JsonLines(child, `${server} server`);
const { port } = await lines.next((m) => m.port !== undefined, 15_000);
const lg = spawnPinned(LOAD_CORE, LOADGEN, [...LG[scenario], "--port", String(port), "--warmup", "1", "--duration", String(seconds)]);
const lgLines = new JsonLines(lg, "loadgen");
if (LG[scenario][0] === "idle") {
  await lgLines.next((m) => m.event === "connected", 120_000);
  lg.stdin.write("done\n");
}
const res = await lgLines.next((m) => m.event === "result", 120_000 + seconds * 1000);
if (res.mode === "idle") res.rate = res.handshake.rate;
await stop(lg);
await stop(child, 15_000);
const file = readdirSync(dir).filter((f) => !before.has(f) && f.endsWith(".cpuprofile")).map((f) => path.join(dir, f))
  .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
if (!file) throw new Error("no profile was written");

const prof = JSON.parse(readFileSync(file, "utf8"));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const self = new Map();
let total = 0;
for (let i = 0; i < prof.samples.length; i++) {
  const dt = prof.timeDeltas[i] ?? 0;
  const node = byId.get(prof.samples[i]);
  const cf = node.callFrame;
  const key = `${cf.functionName || "(anonymous)"}\t${locate(cf.url, cf.lineNumber, cf.columnNumber)}`;
  self.set(key, (self.get(key) ?? 0) + dt);
  total += dt;
}
console.log(`${server} under ${scenario}: ${Math.round(res.rate)} ${res.mode === "bcast" ? "deliveries" : res.mode === "idle" ? "handshakes" : "messages"}/s while profiling; profile ${path.relative(ROOT, file)}`);
console.log(`self time of ${(total / 1e6).toFixed(2)} s of samples:`);
const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
for (const [key, t] of rows) {
  const [name, where] = key.split("\t");
  console.log(`${((t / total) * 100).toFixed(1).padStart(5)}%  ${name.padEnd(34)} ${where}`);
}
