#!/usr/bin/env node
/**
 * Server CPU per opening handshake: the server under test runs in this process (pin it with taskset), the C load
 * generator opens N connections 256 at a time (--concurrency) from the other core. Prints the load generator's
 * handshake rate and this process's user and system CPU time per handshake, from the first connection to the Nth — a steadier figure
 * than the rate, which also depends on both sides' wake-ups. With --profile, the top self-time entries of a CPU
 * profile of the same span (the inspector's sampling profiler, so shutdown is not in it).
 *
 *   taskset -c 0 node bench/handshake-cpu.mjs [wshub|ws|raw] [--conns 10000] [--concurrency 256] [--profile] [--top 30]
 * (raw: a node:net server that answers the upgrade and nothing else; ws runs without bufferutil only when
 * WS_NO_BUFFER_UTIL=1 is set.)
 */
import { Session } from "node:inspector/promises";
import { createServer } from "node:net";
import { LOADGEN, LOAD_CORE, buildLoadgen, spawnPinned, JsonLines, stop } from "./lib/proc.mjs";
import { minimalUpgradeResponse } from "./servers/control.mjs";

const argv = process.argv.slice(2);
const opt = (name, dflt) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : dflt);
const which = argv[0] && !argv[0].startsWith("--") ? argv[0] : "wshub";
const N = Number(opt("conns", 10000));
const TOP = Number(opt("top", 30));
const PROFILE = argv.includes("--profile");

let count = 0;
let allDone;
const finished = new Promise((resolve) => (allDone = resolve));
const counted = () => {
  if (++count === N) allDone();
};

/** Starts the server under test on 127.0.0.1; resolves with its port. */
async function startServer() {
  if (which === "wshub") {
    const { WebSocketServer } = await import("../dist/index.js");
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", backlog: 4096 });
    wss.on("connection", (ws) => {
      ws.onmessage = (e) => ws.send(e.data);
      ws.onerror = () => {};
      counted();
    });
    await new Promise((r) => wss.on("listening", r));
    return wss.address().port;
  }
  if (which === "ws") {
    const { WebSocketServer } = await import("ws");
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", backlog: 4096 });
    wss.on("connection", (ws) => {
      ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
      ws.on("error", () => {});
      counted();
    });
    await new Promise((r) => wss.on("listening", r));
    return wss.address().port;
  }
  if (which === "raw") {
    const server = createServer({ noDelay: true }, (socket) => {
      socket.on("error", () => {});
      let head = "";
      socket.on("data", function onHead(chunk) {
        head += chunk.latin1Slice(0, chunk.length);
        const end = head.indexOf("\r\n\r\n");
        if (end === -1) return;
        socket.write(minimalUpgradeResponse(head.slice(0, end)));
        head = "";
        socket.off("data", onHead);
        socket.on("data", () => {});
        counted();
      });
    });
    await new Promise((r) => server.listen(0, "127.0.0.1", 4096, r));
    return server.address().port;
  }
  console.error("usage: node bench/handshake-cpu.mjs [wshub|ws|raw] [--conns N] [--profile] [--top K]");
  process.exit(2);
}

const port = await startServer();
buildLoadgen();
const session = new Session();
if (PROFILE) {
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 100 });
  await session.post("Profiler.start");
}
const cpu0 = process.cpuUsage();
const lg = spawnPinned(LOAD_CORE, LOADGEN, ["idle", "--conns", String(N), "--concurrency", String(opt("concurrency", 256)), "--port", String(port), "--hold", "60"]);
const lines = new JsonLines(lg, "loadgen");
const connected = await lines.next((m) => m.event === "connected", 120_000);
await finished;
const cpu = process.cpuUsage(cpu0);
const us = (v) => (v / N).toFixed(1);
console.log(`${which}: ${connected.rate.toFixed(0)} handshakes/s, ${us(cpu.user + cpu.system)} µs CPU per handshake (user ${us(cpu.user)}, system ${us(cpu.system)}), ${N} connections`);

if (PROFILE) {
  const { profile } = await session.post("Profiler.stop");
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const cf = byId.get(id).callFrame;
    const key = `${cf.functionName || "(anonymous)"} ${cf.url.replace(/^.*\/(dist|node_modules)\//, "$1/")}:${cf.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + profile.timeDeltas[i]);
    total += profile.timeDeltas[i];
  });
  for (const [key, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`${((100 * t) / total).toFixed(1).padStart(5)}%  ${key}`);
}
lg.stdin.write("done\n");
await stop(lg);
process.exit(0);
