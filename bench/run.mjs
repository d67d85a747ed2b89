#!/usr/bin/env node
/**
 * npm run bench [-- options]: wshub side by side with `ws`, `ws` + bufferutil and a raw node:net
 * ceiling. Servers run pinned to core 0, the C load generator (bench/loadgen/loadgen.c) to core 1.
 * Servers are alternated A/B/C/D, A/B/C/D, ... for every round; the ratio to plain `ws` is taken
 * round by round. Writes docs/benchmarks.md and one SVG chart per scenario in docs/benchmarks/.
 *
 * Options
 *   --quick            short windows, 2 rounds, 2,000 instead of 10,000 connections (under 3 minutes)
 *   --rounds N         rounds per scenario (default 3; 2 with --quick)
 *   --big N            connections in the broadcast-to-many and idle scenarios (default 10000)
 *   --only a,b         run only scenarios whose id contains one of these strings
 *   --servers a,b      run only these servers/clients (ids: raw, ws, ws-bufferutil, wshub, ...)
 *   --warmup S --duration S   override the per-run windows (seconds)
 *   --out FILE         report path (default docs/benchmarks.md); --no-write prints it only
 *   --idle-warm N      idle: open and close N connections on each server before the measured ones (JIT and heap
 *                      warmed; default 0: the handshakes of a freshly started server are measured)
 *   --cc NAME          the machine's default TCP congestion control for the run (e.g. cubic): the servers'
 *                      sockets take it (Node cannot set it per socket); switched through
 *                      /proc/sys/net/ipv4/tcp_congestion_control (root) and restored when the run ends.
 *                      Default: the machine's setting, unchanged.
 *   --cluster-subs N   cluster: subscribers over the 3 nodes (default 1000)
 *
 * The cluster scenario (`--only cluster`; also part of a full run) is bench/cluster.mjs: 3 wshub nodes on one
 * redis-server against 3 socket.io nodes with @socket.io/redis-adapter, then `wshub serve --workers 2` against one
 * process. It writes only its own section of the report (between <!-- cluster:start --> and <!-- cluster:end -->);
 * a run without it keeps the section already in the file.
 */
import { writeFileSync, mkdirSync, existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { deflateRawSync, constants as zlibConstants } from "node:zlib";
import os from "node:os";
import path from "node:path";
import { execFileSync } from "node:child_process";
import {
  ROOT, BUILD_DIR, LOADGEN, SERVER_CORE, LOAD_CORE, HAVE_TASKSET, buildLoadgen, childFdLimit, spawnPinned, JsonLines,
  cpuSeconds, cpuTimes, coreBusy, KSOFTIRQD, rssBytes, sleep, stop,
} from "./lib/proc.mjs";
import { barChart, short } from "./lib/chart.mjs";
import { runCluster, writeSection, readSection } from "./cluster.mjs";

// ---------------------------------------------------------------------------------------------
// Options

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
const value = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i !== -1 && argv[i + 1] !== undefined ? argv[i + 1] : dflt;
};
const QUICK = flag("quick");
const ROUNDS = Number(value("rounds", QUICK ? 2 : 3));
// --quick scales the 10,000-connection scenarios down so the whole run stays under 3 minutes.
const BIG = Number(value("big", QUICK ? 2000 : 10000));
const BIG_ID = BIG % 1000 === 0 ? `${BIG / 1000}k` : String(BIG);
const BIG_TXT = BIG.toLocaleString("en-US");
const WARMUP = Number(value("warmup", QUICK ? 0.25 : 1));
const DURATION = Number(value("duration", QUICK ? 0.6 : 3));
const SETTLE = QUICK ? 1 : 3; // idle: seconds between the last handshake and the RSS sample
const ONLY = value("only", "").split(",").filter(Boolean);
const SERVERS = value("servers", "").split(",").filter(Boolean);
const OUT = path.resolve(ROOT, value("out", "docs/benchmarks.md"));
const WRITE = !flag("no-write");
const CC = value("cc", null);
const IDLE_WARM = Number(value("idle-warm", 0));
const CC_FILE = "/proc/sys/net/ipv4/tcp_congestion_control";
const CLUSTER = ONLY.length === 0 || ONLY.some((o) => "cluster".includes(o));
const CLUSTER_SUBS = Number(value("cluster-subs", 1000));

// ---------------------------------------------------------------------------------------------
// Servers, clients and scenarios

const NODE = process.execPath;
const SERVER_DEFS = {
  raw: { label: "raw node:net ceiling", script: "bench/servers/raw.mjs", ceiling: true },
  // Not a contender: echoes the received bytes unparsed, to show what moving the bytes costs any Node server.
  floor: { label: "node:net byte echo (no WebSocket work)", script: "bench/servers/floor.mjs", ceiling: true },
  // Not a contender: a C server that costs next to nothing, to measure the load generator's own capacity.
  reflect: { label: "C reflector", cmd: LOADGEN, args: ["reflect"], capacity: true },
  ws: { label: "ws", script: "bench/servers/ws.mjs", env: { WS_NO_BUFFER_UTIL: "1" } },
  "ws-bufferutil": { label: "ws + bufferutil", script: "bench/servers/ws.mjs" },
  // The ws baseline's own code, with its import switched to wshub/ws (src/compat/).
  "wshub-ws": { label: "wshub/ws (ws's API)", script: "bench/servers/ws.mjs", args: ["--impl", "wshub"], highlight: true },
  wshub: { label: "wshub", script: "bench/servers/wshub.mjs", highlight: true },
  "wshub-arraybuffer": { label: "wshub (arraybuffer)", script: "bench/servers/wshub.mjs", args: ["--binary-type", "arraybuffer"], highlight: true },
};
const CLIENT_DEFS = {
  node: { label: "Node WebSocket (undici)", impl: "node", nodeArgs: ["--experimental-websocket"] },
  ws: { label: "ws client", impl: "ws", env: { WS_NO_BUFFER_UTIL: "1" } },
  wshub: { label: "wshub client", impl: "wshub", highlight: true },
};
const STD = ["raw", "ws", "ws-bufferutil", "wshub", "wshub-ws", "reflect"];
const ECHO = ["raw", "floor", "ws", "ws-bufferutil", "wshub", "wshub-ws", "reflect"];
const BIN = ["raw", "floor", "ws", "ws-bufferutil", "wshub", "wshub-arraybuffer", "reflect"];
const IDLE = ["raw", "ws", "ws-bufferutil", "wshub", "reflect"];

/**
 * The compressed-echo payload: 2 KiB of chat-like JSON, deflated once here (RFC 7692 §7.2.1: compress,
 * then drop the trailing 00 00 ff ff). The load generator offers client_no_context_takeover, so the same
 * compressed frame is valid every time; it also asks for server_no_context_takeover so that every server
 * compresses each message on its own.
 */
function deflatePayload() {
  const file = path.join(BUILD_DIR, "deflate-2k.bin");
  const items = [];
  for (let i = 0; items.join(",").length < 2000; i++) items.push(JSON.stringify({ id: i, room: "lobby", user: `user-${i % 7}`, text: "hello there, this is message number " + i, ts: 1700000000000 + i * 17 }));
  const text = Buffer.from(("[" + items.join(",")).slice(0, 2047) + "]");
  const z = deflateRawSync(text, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
  mkdirSync(BUILD_DIR, { recursive: true });
  writeFileSync(file, z.subarray(0, z.length - 4));
  return { file, size: text.length, compressed: z.length - 4 };
}
const DEFLATE = { extensions: "permessage-deflate; client_no_context_takeover; server_no_context_takeover" };

const MSGS = { key: "rate", label: "messages/s", better: "higher" };
const DELIV = { key: "rate", label: "deliveries/s", better: "higher" };
const SCENARIOS = [
  { id: "echo-32-16", title: "Echo 32 B text, 100 connections × 16 in flight", kind: "echo", servers: ECHO,
    lg: ["echo", "--conns", "100", "--inflight", "16", "--size", "32"], metrics: [{ ...MSGS, target: { vs: "ws", min: 2.0 } }] },
  { id: "echo-32-128", title: "Echo 32 B text, 100 connections × 128 in flight", kind: "echo", servers: ECHO,
    lg: ["echo", "--conns", "100", "--inflight", "128", "--size", "32"], metrics: [{ ...MSGS, target: { vs: "ws", min: 3.0 } }] },
  { id: "echo-64k", title: "Echo 64 KiB binary, 16 connections × 4 in flight", kind: "echo", servers: BIN,
    lg: ["echo", "--conns", "16", "--inflight", "4", "--size", "65536", "--binary"], metrics: [{ ...MSGS, target: { vs: "ws", min: 4.5 } }] },
  { id: "echo-1m", title: "Echo 1 MiB binary, 4 connections × 2 in flight", kind: "echo", servers: BIN,
    lg: ["echo", "--conns", "4", "--inflight", "2", "--size", "1048576", "--binary"], metrics: [{ ...MSGS, target: { vs: "ws", min: 4.5 } }] },
  { id: "bcast-1k", title: "Broadcast 32 B to 1,000 subscribers (publisher keeps 128 messages in flight)", kind: "bcast", servers: STD,
    lg: ["bcast", "--conns", "1000", "--inflight", "128", "--size", "32"], metrics: [{ ...DELIV, target: { vs: "ws", min: 4.0 } }] },
  { id: `bcast-${BIG_ID}`, title: `Broadcast 32 B to ${BIG_TXT} subscribers (publisher keeps 32 messages in flight)`, kind: "bcast", servers: STD,
    lg: ["bcast", "--conns", String(BIG), "--inflight", "32", "--size", "32"], metrics: [{ ...DELIV, target: { vs: "ws", min: 4.0 } }] },
  { id: `idle-${BIG_ID}`, title: `${BIG_TXT} idle connections`, kind: "idle", servers: IDLE, conns: BIG,
    lg: ["idle", "--conns", String(BIG), "--concurrency", "256"],
    metrics: [
      { key: "hsRate", label: "handshakes/s", better: "higher", target: { vs: "ws", min: 1.4 } },
      { key: "rssPerConn", label: "server RSS per connection (bytes)", better: "lower", target: { vs: "raw", max: 1.1 } },
      { key: "heapPerConn", label: "JS heap + external per connection (bytes)", better: "lower" },
    ] },
  { id: "echo-deflate", title: "Echo 2 KiB JSON text with permessage-deflate, 100 connections × 8 in flight", kind: "echo", servers: ["ws", "wshub"],
    serverArgs: ["--deflate"], deflate: true,
    lg: ["echo", "--conns", "100", "--inflight", "8", "--extensions", DEFLATE.extensions, "--rsv1"], metrics: [{ ...MSGS }] },
  { id: "client-recv", title: "Client receive: 32 B text stream from a raw sender", kind: "client", servers: ["node", "ws", "wshub"],
    metrics: [{ ...MSGS, target: { vs: "ws", min: 1.5 }, target2: { vs: "node", min: 2.0 } }] },
];

// ---------------------------------------------------------------------------------------------
// One run

async function startServer(id, mode, extra = []) {
  const def = SERVER_DEFS[id];
  const child = def.cmd
    ? spawnPinned(SERVER_CORE, def.cmd, [...def.args, "--mode", mode, ...extra])
    : spawnPinned(SERVER_CORE, NODE, ["--expose-gc", def.script, "--mode", mode, ...(def.args ?? []), ...extra], { env: def.env });
  const lines = new JsonLines(child, `${id} server`);
  const { port } = await lines.next((m) => m.port !== undefined, 15_000);
  return { child, lines, port, pid: child.pid };
}

async function gc(server) {
  server.child.stdin.write("gc\n");
  return server.lines.next((m) => m.gc !== undefined, 15_000);
}

/** echo / bcast: one load generator run against one fresh server. */
async function runLoad(sc, id) {
  const server = await startServer(id, sc.kind, sc.serverArgs);
  try {
    const payload = sc.deflate ? ["--payload-file", deflatePayload().file] : [];
    const lg = spawnPinned(LOAD_CORE, LOADGEN, [...sc.lg, ...payload, "--port", String(server.port), "--warmup", String(WARMUP), "--duration", String(DURATION)]);
    const lines = new JsonLines(lg, `loadgen (${id})`);
    const limit = 90_000 + (WARMUP + DURATION) * 1000;
    const connected = await lines.next((m) => m.event === "connected", limit);
    await lines.next((m) => m.event === "measure_start", limit);
    const s0 = cpuSeconds(server.pid);
    const k0 = cpuTimes();
    const q0 = KSOFTIRQD.map((pid) => cpuSeconds(pid));
    await lines.next((m) => m.event === "measure_end", limit);
    const s1 = cpuSeconds(server.pid);
    const busy = coreBusy(k0, cpuTimes());
    const softirqd = KSOFTIRQD.map((pid, i) => cpuSeconds(pid) - q0[i]);
    const res = await lines.next((m) => m.event === "result", 10_000);
    await stop(lg);
    if (res.errors > 0) throw new Error(`${res.errors} connection(s) failed during the run`);
    // The load generator checks every data frame it gets during the warm-up (FIN, opcode, length, payload bytes).
    if (res.verify?.errors > 0) throw new Error(`${res.verify.errors} frame(s) were not the message that was sent (checked during the warm-up)`);
    if (res.verify?.on && !(res.verify.verified > 0)) throw new Error("no message was checked during the warm-up");
    return {
      rate: res.rate,
      mbps: res.mbps,
      hsRate: connected.rate,
      serverCpu: (s1 - s0) / res.seconds,
      loadCpu: res.cpu.util,
      // Whole-core busy shares over the window (anyone's work): well above the process's own share means other
      // work ran on that core; both cores far from full means the run was latency-bound (or stalled).
      serverCoreBusy: busy[SERVER_CORE],
      loadCoreBusy: busy[LOAD_CORE],
      serverCoreSoftirqd: softirqd[SERVER_CORE] / res.seconds,
      loadCoreSoftirqd: softirqd[LOAD_CORE] / res.seconds,
      verified: res.verify?.verified,
      rss: rssBytes(server.pid),
    };
  } finally {
    await stop(server.child);
  }
}

/** idle: handshakes/s, then RSS per connection after a settle (both sides collected first). */
async function runIdle(sc, id) {
  // The C reflector answers the handshakes and then only reads (its broadcast mode: no per-connection pipe).
  const server = await startServer(id, SERVER_DEFS[id].capacity ? "bcast" : "echo");
  try {
    await sleep(300);
    if (IDLE_WARM > 0) {
      const warm = spawnPinned(LOAD_CORE, LOADGEN, ["idle", "--conns", String(IDLE_WARM), "--port", String(server.port), "--hold", "300"]);
      const wl = new JsonLines(warm, `warm-up loadgen (${id})`);
      await wl.next((m) => m.event === "connected", 120_000);
      warm.stdin.write("done\n");
      await wl.next((m) => m.event === "result", 10_000);
      await stop(warm);
      await sleep(1000);
    }
    const heap0 = await gc(server);
    const rss0 = rssBytes(server.pid);
    const c0 = cpuSeconds(server.pid);
    const lg = spawnPinned(LOAD_CORE, LOADGEN, [...sc.lg, "--port", String(server.port), "--hold", "300"]);
    const lines = new JsonLines(lg, `loadgen (${id})`);
    const connected = await lines.next((m) => m.event === "connected", 120_000);
    const c1 = cpuSeconds(server.pid);
    await sleep(SETTLE * 1000);
    const heap1 = await gc(server);
    const rss1 = rssBytes(server.pid);
    lg.stdin.write("done\n");
    const res = await lines.next((m) => m.event === "result", 10_000);
    await stop(lg);
    if (res.open !== sc.conns) throw new Error(`${sc.conns - res.open} connection(s) dropped while idle`);
    return {
      hsRate: connected.rate,
      rssPerConn: (rss1 - rss0) / sc.conns,
      heapPerConn: (heap1.heapUsed + heap1.external - heap0.heapUsed - heap0.external) / sc.conns,
      rss: rss1,
      serverCpu: (c1 - c0) / connected.seconds,
      loadCpu: connected.cpu / connected.seconds,
    };
  } finally {
    await stop(server.child);
  }
}

/** client: the raw stream sender on the load core, the client under test on the server core. */
async function runClient(sc, id) {
  const def = CLIENT_DEFS[id];
  const sender = spawnPinned(LOAD_CORE, NODE, ["bench/servers/stream.mjs"]);
  const slines = new JsonLines(sender, "stream sender");
  try {
    const { port } = await slines.next((m) => m.port !== undefined, 15_000);
    const client = spawnPinned(SERVER_CORE, NODE, [...(def.nodeArgs ?? []), "bench/clients/recv.mjs", "--impl", def.impl,
      "--url", `ws://127.0.0.1:${port}/`, "--warmup", String(WARMUP), "--duration", String(DURATION)], { env: def.env });
    const lines = new JsonLines(client, `${id} client`);
    const limit = 30_000 + (WARMUP + DURATION) * 1000;
    await lines.next((m) => m.event === "measure_start", limit);
    const s0 = cpuSeconds(sender.pid);
    await lines.next((m) => m.event === "measure_end", limit);
    const s1 = cpuSeconds(sender.pid);
    const res = await lines.next((m) => m.event === "result", 10_000);
    await stop(client);
    return { rate: res.rate, mbps: res.mbps, serverCpu: res.cpu.util, loadCpu: (s1 - s0) / res.seconds };
  } finally {
    await stop(sender);
  }
}

// ---------------------------------------------------------------------------------------------
// Statistics

const median = (xs) => {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const finite = (xs) => xs.filter(Number.isFinite);
const min = (xs) => (finite(xs).length ? Math.min(...finite(xs)) : NaN);
const max = (xs) => (finite(xs).length ? Math.max(...finite(xs)) : NaN);
const summary = (xs) => ({ median: median(xs), min: min(xs), max: max(xs), n: finite(xs).length });

/** Ratios a/b taken round by round (a run that failed leaves its round out). */
function ratios(runsA, runsB, key) {
  const out = [];
  for (let r = 0; r < Math.min(runsA.length, runsB.length); r++) {
    const a = runsA[r]?.[key];
    const b = runsB[r]?.[key];
    if (Number.isFinite(a) && Number.isFinite(b) && b !== 0) out.push(a / b);
  }
  return summary(out);
}

const fmtRange = (s, f = short) => (Number.isFinite(s.median) ? `${f(s.median)} (${f(s.min)}–${f(s.max)})` : "failed");
const fmtRatio = (s) => (Number.isFinite(s.median) ? `${s.median.toFixed(2)}× (${s.min.toFixed(2)}–${s.max.toFixed(2)})` : "—");
const pct = (v) => (Number.isFinite(v) ? `${Math.round(v * 100)}%` : "—");

// ---------------------------------------------------------------------------------------------
// Main

function machine() {
  const cpu = os.cpus()[0]?.model ?? "unknown";
  let ws = "?";
  let bu = "?";
  try {
    ws = JSON.parse(execFileSync(NODE, ["-p", "JSON.stringify(require('ws/package.json').version)"], { cwd: ROOT }).toString());
    bu = JSON.parse(execFileSync(NODE, ["-p", "JSON.stringify(require('bufferutil/package.json').version)"], { cwd: ROOT }).toString());
  } catch {}
  return { nproc: os.availableParallelism?.() ?? os.cpus().length, cpu, node: process.version, ws, bufferutil: bu, kernel: os.release(), fdLimit: childFdLimit() };
}

/** The machine's default congestion control; with --cc, switched for the run (restored by the returned function). */
function switchCongestionControl() {
  const machineCc = existsSync(CC_FILE) ? readFileSync(CC_FILE, "utf8").trim() : "unknown";
  if (CC === null || CC === machineCc) return { machineCc, serverCc: machineCc, restore: () => {} };
  try {
    writeFileSync(CC_FILE, CC);
  } catch (err) {
    throw new Error(`--cc ${CC}: cannot write ${CC_FILE} (${err.code ?? err.message}; needs root, and the algorithm must be in net.ipv4.tcp_available_congestion_control)`);
  }
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    try {
      writeFileSync(CC_FILE, machineCc);
    } catch (err) {
      console.error(`could not restore ${CC_FILE} to ${machineCc}: ${err.message}`);
    }
  };
  process.once("exit", restore);
  for (const [sig, code] of [["SIGINT", 130], ["SIGTERM", 143]]) process.once(sig, () => (restore(), process.exit(code)));
  return { machineCc, serverCc: CC, restore };
}

async function main() {
  const started = Date.now();
  buildLoadgen();
  const cc = switchCongestionControl();
  try {
    await runAll(started, cc);
  } finally {
    cc.restore();
  }
}

async function runAll(started, cc) {
  const scenarios = SCENARIOS.filter((s) => ONLY.length === 0 || ONLY.some((o) => s.id.includes(o)));
  const results = {};
  for (const sc of scenarios) {
    const ids = sc.servers.filter((s) => SERVERS.length === 0 || SERVERS.includes(s));
    results[sc.id] = { sc, ids, runs: Object.fromEntries(ids.map((id) => [id, []])), errors: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const id of ids) {
        const t0 = Date.now();
        let run;
        try {
          run = sc.kind === "idle" ? await runIdle(sc, id) : sc.kind === "client" ? await runClient(sc, id) : await runLoad(sc, id);
        } catch (err) {
          run = { error: String(err.message ?? err) };
          results[sc.id].errors.push(`round ${round + 1}, ${id}: ${run.error}`);
        }
        results[sc.id].runs[id].push(run);
        const shown = run.error ? `FAILED: ${run.error}` : sc.metrics.map((mt) => `${short(run[mt.key])} ${mt.label}`).join(", ") +
          (Number.isFinite(run.serverCpu) ? `, server cpu ${pct(run.serverCpu)}` : "") + (Number.isFinite(run.loadCpu) ? `, load cpu ${pct(run.loadCpu)}` : "") +
          (Number.isFinite(run.serverCoreBusy) ? ` (cores busy ${pct(run.serverCoreBusy)} / ${pct(run.loadCoreBusy)}, of which ksoftirqd ${pct(run.serverCoreSoftirqd)} / ${pct(run.loadCoreSoftirqd)})` : "");
        console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${sc.id} round ${round + 1}/${ROUNDS} ${id.padEnd(18)} ${shown} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      }
    }
  }
  // The cluster scenario: its own processes and Redis, its own section of the report.
  let cluster = null;
  if (CLUSTER) {
    cluster = await runCluster({ rounds: ROUNDS, warmup: WARMUP, duration: DURATION, subs: CLUSTER_SUBS,
      cmd: `npm run bench${argv.length ? " -- " + argv.join(" ") : ""}`,
    }, (line) => console.log(line));
    if (scenarios.length === 0) {
      if (WRITE) {
        writeSection(OUT, cluster);
        console.log(`wrote the cluster section of ${path.relative(ROOT, OUT)} (the rest of it unchanged)`);
      } else console.log(cluster);
      return;
    }
  }
  const elapsed = (Date.now() - started) / 1000;
  const charts = new Map();
  const md = report(results, { ...machine(), ...cc }, elapsed, charts, cluster ?? readSection(OUT));
  if (WRITE) {
    writeFileSync(OUT, md);
    mkdirSync(chartDir(), { recursive: true });
    for (const [file, svg] of charts) writeFileSync(path.join(chartDir(), file), svg);
    // Charts of scenarios this run did not produce are not linked any more: remove them.
    for (const f of readdirSync(chartDir())) if (f.endsWith(".svg") && !charts.has(f)) rmSync(path.join(chartDir(), f));
    console.log(`wrote ${path.relative(ROOT, OUT)} and charts in ${path.relative(ROOT, chartDir())}/ (${elapsed.toFixed(0)} s)`);
  } else console.log(md); // --no-write: nothing on disk changes (no report, no charts)
}

const HUB = await import(path.join(ROOT, "dist/index.js")).then((m) => typeof m.Hub === "function", () => false) ||
  (existsSync(path.join(ROOT, "dist/hub/index.js")) && (await import(path.join(ROOT, "dist/hub/index.js")).then((m) => typeof m.Hub === "function", () => false)));
const chartDir = () => path.join(path.dirname(OUT), "benchmarks");

/** Builds the report text; the SVG charts it links go into `charts` (file name → SVG), written by main() unless --no-write. */
function report(results, m, elapsed, charts, clusterSection) {
  const date = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const cmd = `npm run bench${argv.length ? " -- " + argv.join(" ") : ""}`;
  const L = [];
  L.push("# Benchmarks");
  L.push("");
  L.push(`Generated by \`${cmd}\` on ${date}${QUICK ? ` — **quick run** (${ROUNDS} rounds, ${WARMUP} s + ${DURATION} s windows, ${BIG_TXT} instead of 10,000 connections: numbers are indicative only)` : ""}, in ${elapsed.toFixed(0)} s.`);
  L.push("");
  L.push(`Machine: ${m.nproc} CPUs (${m.cpu}), Linux ${m.kernel}, Node ${m.node}, ws ${m.ws}, bufferutil ${m.bufferutil}, descriptor limit ${m.fdLimit}.`);
  L.push("");
  L.push("## Method");
  L.push("");
  L.push(`- Each server runs as its own process pinned to core ${SERVER_CORE}${HAVE_TASKSET ? "" : " (taskset missing: NOT pinned)"}; the load generator (C, \`bench/loadgen/loadgen.c\`, one process) runs pinned to core ${LOAD_CORE}. A fresh server process is started for every run.`);
  L.push("- The load generator: raw sockets and epoll; frames are built and masked once before the run and sent with `write()` straight from memory, as many per call as are due (echo: each connection's are written once the epoll round's events are handled, not after each read). It reads only frame headers: payloads of 16 KiB and more are dropped in the kernel with `recv(MSG_TRUNC)` (TCP discards the bytes without copying them to user space) and only the next header is read; smaller frames are read in blocks of up to 256 KiB. Its sockets use CUBIC congestion control (the kernel's built-in default; with BBR, the pacing cost the load generator about 40% more CPU per 1 MiB message). " +
    (m.serverCc === m.machineCc
      ? `The servers' sockets use the machine's default, ${m.machineCc} (Node cannot set congestion control per socket).`
      : `The servers' sockets use ${m.serverCc}: \`--cc ${m.serverCc}\` switched the machine's default (${m.machineCc}) for this run and restored it afterwards (Node cannot set congestion control per socket).`));
  L.push("- Correctness: during the warm-up the load generator reads every data frame in full and checks it against what it sent (FIN, RSV bits, opcode, length, payload byte for byte, unmasked when the peer echoes masked frames); a run with a mismatch, or with no message checked, fails. Not in the compressed scenario (the server's frames are compressed). In the measured window it counts complete data messages from the headers (control frames and non-final fragments are not counted; a close frame ends the connection and fails the run).");
  L.push(`- ${ROUNDS} rounds; in every round each server runs once, in the same order (A/B/C/D, A/B/C/D, …). Cells show the median and, in brackets, the min–max over rounds. Ratios are taken round by round (wshub in round r over ws in round r), then summarised the same way.`);
  L.push(`- Each run: all handshakes, ${WARMUP} s warm-up, ${DURATION} s measured window. CPU columns: the server's utime+stime over the window (/proc/<pid>/stat) and the load generator's own getrusage, as a share of one core.`);
  L.push("- Echo servers answer each message with `ws.send(data)` (wshub: `ws.onmessage = (e) => ws.send(e.data)`; the server-side default binaryType is already `nodebuffer`, and a row with `arraybuffer` is shown for binary). Broadcast: every received message goes to every connection (wshub: `hub.broadcast(e.data)` when the Hub exists, else a loop over `wss.clients`; ws: a loop over `wss.clients`; raw: framed once, written to all). The publisher keeps a fixed number of messages in flight (a message leaves the window once every subscriber has it).");
  L.push(`- wshub broadcast used ${HUB ? "`new Hub(wss)` and `hub.broadcast(data)` (src/hub)" : "a loop over `wss.clients` (no Hub in dist/ at the time of the run)"}.`);
  L.push("- Plain `ws` runs with `WS_NO_BUFFER_UTIL=1`; `ws + bufferutil` loads the native addon.");
  L.push("- Idle: the load generator opens the connections 256 at a time (handshakes/s = connections / time to the last handshake); RSS per connection = (server RSS after a settle of " + SETTLE + " s and a forced GC − RSS before any connection after a forced GC) / N. " +
    (IDLE_WARM > 0 ? `With \`--idle-warm ${IDLE_WARM}\`: each server first took ${IDLE_WARM.toLocaleString("en-US")} connections, closed again 1 s before the measured ones (JIT and heap warmed).` : "Each server is freshly started: its handshakes include the JIT compiling its code and the heap growing (`--idle-warm N` warms it first)."));
  L.push("- Client receive: a raw node:net sender (`bench/servers/stream.mjs`, pinned to the load core) writes 32 B text frames as fast as the socket drains; the client under test (pinned to the server core) counts `message` events. Its CPU is in the server column, the sender's in the load column.");
  L.push("");

  // Targets
  L.push("## Targets (wshub against the baseline, ratio median (min–max) over rounds)");
  L.push("");
  L.push("| Scenario | Metric | Target | Measured | Met | Node byte echo ÷ ws |");
  L.push("|---|---|---|---|---|---|");
  for (const { sc, runs } of Object.values(results)) {
    for (const mt of sc.metrics) {
      for (const t of [mt.target, mt.target2].filter(Boolean)) {
        if (!runs.wshub || !runs[t.vs]) continue;
        const r = ratios(runs.wshub, runs[t.vs], mt.key);
        const goal = t.min !== undefined ? `≥ ${t.min}× ${t.vs}` : `≤ ${t.max}× ${t.vs}`;
        const met = !Number.isFinite(r.median) ? "—" : t.min !== undefined ? (r.median >= t.min ? "yes" : `no (${(r.median / t.min * 100).toFixed(0)}% of target)`) : r.median <= t.max ? "yes" : `no (${((r.median / t.max - 1) * 100).toFixed(0)}% over)`;
        // What a Node server that does no WebSocket work at all reaches against the same baseline, same rounds.
        const floor = runs.floor && t.vs === "ws" ? fmtRatio(ratios(runs.floor, runs.ws, mt.key)) : "—";
        L.push(`| ${sc.id} | ${mt.label} | ${goal} | ${fmtRatio(r)} | ${met} | ${floor} |`);
      }
    }
  }
  if (results["echo-deflate"]?.runs.wshub && results["echo-deflate"].runs.ws) {
    L.push(`| echo-deflate | messages/s | none set | ${fmtRatio(ratios(results["echo-deflate"].runs.wshub, results["echo-deflate"].runs.ws, "rate"))} | — | — |`);
  } else L.push("| echo-deflate | compressed echo | — | not run | — | — |");
  L.push("");
  L.push("*Node byte echo ÷ ws*: `bench/servers/floor.mjs` answers the upgrade, then writes every chunk it reads straight back — no frame parsing, no unmasking, no framing (the frames return masked; the load generator accepts them). It is what moving the bytes costs any Node server on this machine, so no Node WebSocket server can be expected to pass that ratio over `ws` in the same run.");
  L.push("");

  // Load generator headroom
  const lgRows = Object.values(results).filter(({ sc, runs }) => (sc.kind === "echo" || sc.kind === "bcast" || sc.kind === "idle") && runs.wshub && (runs.raw || runs.reflect));
  if (lgRows.length) {
    L.push("## Is the load generator the bottleneck?");
    L.push("");
    L.push("The load generator must sustain at least 3× the rate wshub reaches. The same load generator run (same connections, in-flight window and message) is pointed at two other servers on the server core:");
    L.push("");
    L.push("- the raw node:net ceiling (`bench/servers/raw.mjs`): a Node server doing the least a WebSocket server must do. It is a Node process on the server core, so once wshub gets close to it — or beats it, as with 64 KiB and 1 MiB messages, where its JavaScript unmasking costs more than wshub's — this ratio says more about that server than about the load generator;");
    L.push("- the C reflector (`loadgen reflect`, in `bench/loadgen/loadgen.c`), which costs far less per message than any server. Echo: after a fixed 101 it sends back every byte it receives unchanged — no frame parsing, no unmasking, so the load generator gets its own masked frames back (it accepts them; a real server must not mask, RFC 6455 §5.1) — with `splice()` through a pipe (socket → pipe → socket, nothing copied to user space) when the connection's first frame is under 256 KiB, and with one `read()` of up to 1 MiB and one `write()` of the same bytes for bigger ones. Broadcast: it unmasks the publisher's messages, frames all that one read brought once, and `write()`s that batch to every subscriber. Idle (handshakes/s): it answers each request with a fixed 101 (no SHA-1) and then only reads; the rates and CPU shares of that row are over the handshakes. Its sockets use CUBIC like the load generator's. The pair runs as fast as the slower of the two allows: if only the load generator's core is full, the rate is the load generator's capacity; if the reflector's core is full too (or only it is), the load generator's capacity is at least that rate.");
    L.push("");
    L.push("CPU columns: the load generator's own getrusage over the window and the server's (or reflector's) utime+stime, as a share of one core. On loopback the sending process also runs the kernel's TCP receive work for its peer's socket, so each side's CPU includes part of the other's network cost. *Est. capacity* = reflector rate ÷ the load generator's CPU share there ÷ wshub's rate, round by round: a linear extrapolation to a full core (tick-based CPU accounting; a lightly loaded load generator spends relatively more on wake-ups, so it tends to understate). *≥ 3×*: \"yes\" when a measured ratio (raw or reflector) reaches 3, \"estimated\" when only the extrapolation does.");
    L.push("");
    L.push("| Scenario | wshub | load gen. CPU at wshub | raw ceiling ÷ wshub | load gen. CPU at raw | C reflector ÷ wshub | reflector CPU / load gen. CPU at reflector | est. capacity ÷ wshub | ≥ 3× |");
    L.push("|---|---|---|---|---|---|---|---|---|");
    for (const { sc, runs } of lgRows) {
      // idle: the handshake rate, with both sides' CPU over the handshakes
      const key = sc.kind === "idle" ? "hsRate" : "rate";
      const w = summary(runs.wshub.map((x) => x[key]));
      const r = runs.raw ? ratios(runs.raw, runs.wshub, key) : summary([]);
      const c = runs.reflect ? ratios(runs.reflect, runs.wshub, key) : summary([]);
      const est = runs.reflect ? ratios(runs.reflect.map((x) => ({ cap: x.loadCpu > 0 ? x[key] / x.loadCpu : NaN })), runs.wshub.map((x) => ({ cap: x[key] })), "cap") : summary([]);
      const best = Math.max(Number.isFinite(r.median) ? r.median : 0, Number.isFinite(c.median) ? c.median : 0);
      const met = best >= 3 ? "yes" : est.median >= 3 ? "estimated" : best > 0 ? "no" : "—";
      const cpu = (rs, key) => (rs ? pct(median(rs.map((x) => x[key]))) : "—");
      L.push(`| ${sc.kind === "idle" ? `${sc.id} (handshakes/s)` : sc.id} | ${fmtRange(w)} | ${cpu(runs.wshub, "loadCpu")} | ${fmtRatio(r)} | ${cpu(runs.raw, "loadCpu")} | ${fmtRatio(c)} | ${runs.reflect ? `${cpu(runs.reflect, "serverCpu")} / ${cpu(runs.reflect, "loadCpu")}` : "—"} | ${fmtRatio(est)} | ${met} |`);
    }
    // Other work on the pinned cores during the window (the machine may be shared): core busy share − the share of our
    // process there − the core's ksoftirqd (network work the kernel deferred, for our processes or anyone's).
    const disturbed = [];
    for (const { sc, runs } of lgRows) {
      for (const id of ["wshub", "raw", "reflect"]) {
        (runs[id] ?? []).forEach((x, round) => {
          const o0 = x.serverCoreBusy - x.serverCpu - (x.serverCoreSoftirqd || 0);
          const o1 = x.loadCoreBusy - x.loadCpu - (x.loadCoreSoftirqd || 0);
          if (o0 > 0.15 || o1 > 0.15) disturbed.push(`${sc.id} round ${round + 1} ${id}: core ${SERVER_CORE} busy ${pct(x.serverCoreBusy)} (server ${pct(x.serverCpu)}, ksoftirqd ${pct(x.serverCoreSoftirqd)}), core ${LOAD_CORE} busy ${pct(x.loadCoreBusy)} (load generator ${pct(x.loadCpu)}, ksoftirqd ${pct(x.loadCoreSoftirqd)})`);
        });
      }
    }
    L.push("");
    L.push(disturbed.length ? `Runs with other work on a pinned core (the core's busy share, from /proc/stat, more than 15 points above the process pinned there plus that core's ksoftirqd thread — another process, or kernel work not charged to a thread): ${disturbed.join("; ")}.` : "No run in this table had other work on a pinned core (each core's busy share, from /proc/stat, within 15 points of the process pinned there plus that core's ksoftirqd thread).");
    L.push("");
  }

  // Scenarios
  L.push("## Results");
  L.push("");
  for (const { sc, ids, runs, errors } of Object.values(results)) {
    L.push(`### ${sc.title} (\`${sc.id}\`)`);
    L.push("");
    const defs = sc.kind === "client" ? CLIENT_DEFS : SERVER_DEFS;
    for (const mt of sc.metrics) {
      const base = sc.kind === "idle" && mt.key !== "hsRate" ? "raw" : "ws";
      const f = mt.key === "rssPerConn" || mt.key === "heapPerConn" ? (v) => (Number.isFinite(v) ? `${(v / 1024).toFixed(1)} KiB` : "—") : short;
      L.push(`| ${sc.kind === "client" ? "Client" : "Server"} | ${mt.label} | vs ${defs[base]?.label ?? base} | ${sc.kind === "client" ? "client CPU | sender CPU" : sc.kind === "idle" ? "server CPU during handshakes | load generator CPU during handshakes" : "server CPU | load generator CPU"} |`);
      L.push("|---|---|---|---|---|");
      const rows = [];
      for (const id of ids) {
        if (defs[id].capacity) continue;
        const s = summary(runs[id].map((x) => x[mt.key]));
        const r = runs[base] ? ratios(runs[id], runs[base], mt.key) : summary([]);
        L.push(`| ${defs[id].label} | ${fmtRange(s, f)} | ${id === base ? "1" : fmtRatio(r)} | ${pct(median(runs[id].map((x) => x.serverCpu)))} | ${pct(median(runs[id].map((x) => x.loadCpu)))} |`);
        rows.push({ label: defs[id].label, ...s, highlight: defs[id].highlight, ceiling: defs[id].ceiling, ratio: id !== base && Number.isFinite(r.median) ? `${r.median.toFixed(2)}× ${base}` : "" });
      }
      L.push("");
      const file = `${sc.id}${sc.metrics.length > 1 ? "-" + mt.key : ""}.svg`;
      const unit = mt.key === "rssPerConn" || mt.key === "heapPerConn" ? "bytes per connection (lower is better)" : `${mt.label} (higher is better)`;
      charts.set(file, barChart({ title: `${sc.title}: ${mt.label}`, unit, rows, note: `${QUICK ? "quick run, " : ""}${ROUNDS} rounds, ${new Date().toISOString().slice(0, 10)}` }));
      L.push(`![${sc.title}: ${mt.label}](benchmarks/${file})`);
      L.push("");
    }
    if (sc.deflate) {
      const d = deflatePayload();
      L.push(`The load generator offers \`${DEFLATE.extensions}\` and sends one pre-compressed frame (${d.size} B of JSON text, ${d.compressed} B deflated) with RSV1 set; servers answer with compressed frames (counted, not inflated). The raw ceiling has no permessage-deflate, so it is not in this scenario. The issue sets no target for it.`);
      L.push("");
    }
    if (errors.length) {
      L.push("Failed runs:");
      for (const e of errors) L.push(`- ${e}`);
      L.push("");
    }
  }
  if (clusterSection) {
    L.push(clusterSection);
    L.push("");
  }
  const notes = path.join(ROOT, "bench", "notes.md");
  if (existsSync(notes)) {
    L.push(readFileSync(notes, "utf8").trim());
    L.push("");
  }
  L.push("## Reproducing");
  L.push("");
  L.push("```");
  L.push("npm run bench              # full run, about 10–15 minutes");
  L.push("npm run bench -- --quick   # under 3 minutes, short windows");
  L.push("npm run bench -- --cc cubic   # the servers' sockets on CUBIC for the run (root; the machine's default is restored)");
  L.push("npm run bench -- --only idle --idle-warm 3000   # handshakes of warmed servers (3,000 connections opened and closed first)");
  L.push("npm run bench -- --only echo-32 --servers ws,wshub --rounds 5");
  L.push("npm run bench -- --only cluster   # the cluster scenario only (redis-server, 3+3 nodes, 1,000 subscribers); rewrites only its section");
  L.push("node bench/cluster.mjs --subs 100 --rounds 1 --no-write   # the same, small, printed only");
  L.push("node bench/profile.mjs echo-32-16   # CPU profile of the wshub server under one scenario (self time, mapped to src/)");
  L.push("taskset -c 0 node bench/handshake-cpu.mjs wshub --profile   # server CPU per handshake (wshub|ws|raw), 10,000 connections");
  L.push("node --expose-gc bench/heap.mjs wshub  # JS heap kept per idle connection, by constructor (`net`: a bare node:net socket, `ws`)");
  L.push("```");
  L.push("");
  L.push("The load generator is compiled on first use with `cc -O2` into `bench/.build/` (gitignored). It needs Linux (epoll); `taskset` (util-linux) is used for pinning when present.");
  L.push("");
  return L.join("\n");
}

await main();
