#!/usr/bin/env node
/**
 * What a server keeps in the JS heap per idle connection: heap snapshots before and after N connections
 * (opened by the C load generator), diffed by constructor name.
 *
 *   node --expose-gc bench/heap.mjs [wshub|ws|net] [--conns 2000] [--top 25]
 * (net: a plain node:net server that answers the upgrade and keeps reading — what every Node server pays)
 */
import v8 from "node:v8";
import { readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { buildLoadgen, LOADGEN, spawnPinned, JsonLines, stop } from "./lib/proc.mjs";

const argv = process.argv.slice(2);
const opt = (name, dflt) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : dflt);
const which = argv[0] && !argv[0].startsWith("--") ? argv[0] : "wshub";
const N = Number(opt("conns", 2000));
const top = Number(opt("top", 25));
if (typeof globalThis.gc !== "function") {
  console.error("run with: node --expose-gc bench/heap.mjs ...");
  process.exit(2);
}

let wss;
if (which === "wshub") {
  const { WebSocketServer } = await import("../dist/index.js");
  wss = new WebSocketServer({ port: 0, host: "127.0.0.1", backlog: 4096 });
  wss.on("connection", (ws) => {
    ws.onmessage = (e) => ws.send(e.data);
  });
} else if (which === "net") {
  // The baseline every Node server pays: a node:net socket that answered the upgrade and reads on.
  const { createServer } = await import("node:net");
  const { createHash } = await import("node:crypto");
  wss = createServer((socket) => {
    let head = "";
    socket.on("data", function onHead(chunk) {
      head += chunk.latin1Slice(0, chunk.length);
      const end = head.indexOf("\r\n\r\n");
      if (end === -1) return;
      const key = /sec-websocket-key:\s*(\S+)/i.exec(head.slice(0, end))?.[1] ?? "";
      const accept = createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      head = "";
      socket.off("data", onHead);
      socket.on("data", () => {});
    });
    socket.on("error", () => {});
  }).listen(0, "127.0.0.1", 4096);
} else {
  const { WebSocketServer } = await import("ws");
  wss = new WebSocketServer({ port: 0, host: "127.0.0.1", backlog: 4096 });
  wss.on("connection", (ws) => ws.on("message", (d, b) => ws.send(d, { binary: b })));
}
await new Promise((r) => wss.on("listening", r));
const port = wss.address().port;

/** Self size and count per constructor name (objects and closures) or per node type. */
function snapshot(name) {
  globalThis.gc();
  const file = v8.writeHeapSnapshot(path.join(os.tmpdir(), `wshub-bench-${process.pid}-${name}.heapsnapshot`));
  const s = JSON.parse(readFileSync(file, "utf8"));
  rmSync(file);
  const f = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const ti = f.indexOf("type"), ni = f.indexOf("name"), si = f.indexOf("self_size");
  const m = new Map();
  for (let i = 0; i < s.nodes.length; i += f.length) {
    const t = types[s.nodes[i + ti]];
    const key = t === "object" || t === "closure" ? s.strings[s.nodes[i + ni]] || "(anonymous object)" : `(${t})`;
    const e = m.get(key) ?? [0, 0];
    e[0]++;
    e[1] += s.nodes[i + si];
    m.set(key, e);
  }
  return m;
}

buildLoadgen();
const before = snapshot("before");
const lg = spawnPinned(null, LOADGEN, ["idle", "--conns", String(N), "--port", String(port), "--hold", "120"]);
const lines = new JsonLines(lg, "loadgen");
await lines.next((m) => m.event === "connected", 120_000);
await new Promise((r) => setTimeout(r, 1000));
const after = snapshot("after");
lg.stdin.write("done\n");
await stop(lg);

const rows = [];
let total = 0;
for (const [k, [c, sz]] of after) {
  const [c0, s0] = before.get(k) ?? [0, 0];
  total += sz - s0;
  if (sz > s0) rows.push([k, (c - c0) / N, (sz - s0) / N]);
}
rows.sort((a, b) => b[2] - a[2]);
console.log(`${which}: ${(total / N).toFixed(0)} bytes of JS heap per idle connection (${N} connections)`);
for (const [k, count, bytes] of rows.slice(0, top)) console.log(`${bytes.toFixed(0).padStart(7)} B ${count.toFixed(2).padStart(6)} objects  ${k}`);
process.exit(0);
