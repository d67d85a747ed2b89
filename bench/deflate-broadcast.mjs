#!/usr/bin/env node
/**
 * 5,000 permessage-deflate connections receiving a Hub broadcast (issue 6): the server's peak RSS.
 *
 *   node bench/deflate-broadcast.mjs [--conns 5000] [--broadcasts 5] [--size 16384] [--client-procs 2]
 *
 * A wshub server (WebSocketServer with perMessageDeflate: true, the defaults — no context takeover — and a Hub)
 * runs in its own process, pinned to core 0 when taskset exists; `ws` clients with perMessageDeflate run in
 * --client-procs processes pinned to core 1, all on 127.0.0.1. Once every client is connected, the server
 * broadcasts a compressible JSON message of --size bytes --broadcasts times (waiting each time until every
 * client has it, intact); the script then prints the server's VmHWM (peak RSS) and VmRSS from
 * /proc/<pid>/status, the bytes on the wire per delivery, and the time per broadcast. Run `npm run build` first.
 */
import { spawn, execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const argv = process.argv.slice(2);
const value = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i !== -1 && argv[i + 1] !== undefined ? argv[i + 1] : dflt;
};
const role = value("role", "main");

const WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon phi chi psi omega".split(" ");
/** Chat-like JSON of exactly n bytes (ASCII), different for each seed. */
function json(n, seed) {
  let s = "[";
  let x = (seed * 2654435761) >>> 0;
  while (s.length < n) {
    x = (x * 1103515245 + 12345) >>> 0;
    s += `{"id":${x % 100000},"user":"${WORDS[x % WORDS.length]}","room":"${WORDS[(x >>> 8) % WORDS.length]}","text":"${WORDS[(x >>> 16) % WORDS.length]} ${WORDS[(x >>> 20) % WORDS.length]}"},`;
  }
  return s.slice(0, n - 1) + "]";
}

function status(pid) {
  const s = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? NaN) * 1024;
  return { hwm: kb("VmHWM"), rss: kb("VmRSS") };
}

// ---- server process ----
if (role === "server") {
  const { WebSocketServer, Hub } = await import(path.join(ROOT, "dist/index.js"));
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", backlog: 4096, perMessageDeflate: true });
  const hub = new Hub(wss, { heartbeatInterval: 0 });
  wss.on("listening", () => process.send({ type: "port", port: wss.address().port }));
  process.on("message", (m) => {
    if (m.type === "broadcast") process.send({ type: "sent", recipients: hub.broadcast(m.data) });
    else if (m.type === "count") process.send({ type: "count", size: hub.size });
    else if (m.type === "exit") process.exit(0);
  });
}

// ---- client process ----
if (role === "client") {
  const { default: WS } = await import("ws");
  const port = Number(value("port"));
  const count = Number(value("count"));
  const sockets = [];
  let expected = null;
  let received = 0;
  let bad = 0;
  let extensionsOk = 0;
  const onMessage = (data) => {
    if (data.toString() !== expected) bad++;
    received++;
    if (received === sockets.length) process.send({ type: "received", received, bad });
  };
  const open = (i) =>
    new Promise((resolve, reject) => {
      const ws = new WS(`ws://127.0.0.1:${port}/`, { perMessageDeflate: true });
      ws.once("open", () => {
        if (/permessage-deflate/.test(ws.extensions)) extensionsOk++;
        sockets.push(ws);
        resolve();
      });
      ws.once("error", reject);
      ws.on("message", onMessage);
      void i;
    });
  for (let i = 0; i < count; i += 250) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + 250); j++) batch.push(open(j));
    await Promise.all(batch);
  }
  const bytesRead = () => sockets.reduce((a, ws) => a + ws._socket.bytesRead, 0);
  process.send({ type: "ready", open: sockets.length, extensionsOk });
  process.on("message", (m) => {
    if (m.type === "expect") {
      expected = m.data;
      received = 0;
      bad = 0;
      process.send({ type: "expecting", bytesRead: bytesRead() });
    } else if (m.type === "bytes") {
      process.send({ type: "bytes", bytesRead: bytesRead() });
    } else if (m.type === "exit") {
      for (const ws of sockets) ws.terminate();
      process.exit(0);
    }
  });
}

// ---- main ----
if (role === "main") {
  const CONNS = Number(value("conns", 5000));
  const BROADCASTS = Number(value("broadcasts", 5));
  const SIZE = Number(value("size", 16384));
  const PROCS = Number(value("client-procs", 2));
  const hasTaskset = (() => {
    try {
      execFileSync("sh", ["-c", "command -v taskset"], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  })();
  const self = fileURLToPath(import.meta.url);
  const start = (core, args) => {
    const cmd = hasTaskset ? "taskset" : process.execPath;
    const full = hasTaskset ? ["-c", String(core), process.execPath, self, ...args] : [self, ...args];
    const child = spawn(cmd, full, { cwd: ROOT, stdio: ["ignore", "inherit", "inherit", "ipc"] });
    const inbox = [];
    const waiters = [];
    child.on("message", (m) => {
      const w = waiters.findIndex((x) => x.type === m.type);
      if (w !== -1) waiters.splice(w, 1)[0].resolve(m);
      else inbox.push(m);
    });
    child.next = (type, ms = 120_000) => {
      const i = inbox.findIndex((m) => m.type === type);
      if (i !== -1) return Promise.resolve(inbox.splice(i, 1)[0]);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`timeout waiting for ${type}`)), ms);
        waiters.push({ type, resolve: (m) => (clearTimeout(t), resolve(m)) });
      });
    };
    return child;
  };
  const mib = (b) => `${(b / 1048576).toFixed(1)} MiB`;

  const server = start(0, ["--role", "server"]);
  const { port } = await server.next("port");
  await new Promise((r) => setTimeout(r, 300));
  const idle = status(server.pid);
  const t0 = Date.now();
  const clients = [];
  for (let p = 0; p < PROCS; p++) {
    const n = Math.floor(CONNS / PROCS) + (p < CONNS % PROCS ? 1 : 0);
    clients.push(start(1, ["--role", "client", "--port", String(port), "--count", String(n)]));
  }
  const ready = await Promise.all(clients.map((c) => c.next("ready", 300_000)));
  const connectSeconds = (Date.now() - t0) / 1000;
  const open = ready.reduce((a, r) => a + r.open, 0);
  const deflating = ready.reduce((a, r) => a + r.extensionsOk, 0);
  server.send({ type: "count" });
  const { size: registered } = await server.next("count");
  await new Promise((r) => setTimeout(r, 500));
  const connected = status(server.pid);

  const times = [];
  let wireBytes = 0;
  let bad = 0;
  for (let b = 0; b < BROADCASTS; b++) {
    const msg = json(SIZE, b + 1);
    for (const c of clients) c.send({ type: "expect", data: msg });
    const before = await Promise.all(clients.map((c) => c.next("expecting")));
    const t = process.hrtime.bigint();
    server.send({ type: "broadcast", data: msg });
    const { recipients } = await server.next("sent");
    if (recipients !== open) throw new Error(`broadcast reached ${recipients} of ${open}`);
    const got = await Promise.all(clients.map((c) => c.next("received")));
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
    bad += got.reduce((a, g) => a + g.bad, 0);
    for (const c of clients) c.send({ type: "bytes" });
    const after = await Promise.all(clients.map((c) => c.next("bytes")));
    wireBytes += after.reduce((a, x) => a + x.bytesRead, 0) - before.reduce((a, x) => a + x.bytesRead, 0);
  }
  const end = status(server.pid);
  for (const c of [...clients, server]) c.send({ type: "exit" });

  const deliveries = BROADCASTS * open;
  const sorted = [...times].sort((a, b) => a - b);
  const result = {
    date: new Date().toISOString(),
    node: process.version,
    connections: open,
    registered,
    deflateNegotiated: deflating,
    messageBytes: SIZE,
    broadcasts: BROADCASTS,
    intact: deliveries - bad,
    deliveries,
    wireBytesPerDelivery: Math.round(wireBytes / deliveries),
    connectSeconds: Number(connectSeconds.toFixed(1)),
    msPerBroadcastMedian: Number(sorted[Math.floor(sorted.length / 2)].toFixed(1)),
    serverRssIdle: mib(idle.rss),
    serverRssConnected: mib(connected.rss),
    serverRssEnd: mib(end.rss),
    serverPeakRss: mib(end.hwm),
  };
  console.log(JSON.stringify(result, null, 2));
  if (bad !== 0 || deflating !== open) process.exitCode = 1;
}
