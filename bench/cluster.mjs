#!/usr/bin/env node
/**
 * The cluster scenario of `npm run bench` (issue 15): 3 server nodes on one real redis-server, a publisher on
 * node A, N subscribers (default 1,000) spread evenly over the 3 nodes, wshub and socket.io 4 +
 * @socket.io/redis-adapter side by side in the same run; then `wshub serve --workers 2 --redis` against one
 * wshub process without Redis, with the same clients.
 *
 * Measured per system and round:
 * - deliveries/s at the maximum rate: the publisher keeps --window messages in flight, counted in deliveries
 *   (sent × subscribers − delivered < window × subscribers; the subscribers' counts come back over IPC each
 *   event-loop turn);
 * - p50/p99 publish→receive latency at half that rate (the publisher paces itself, 1 ms timer; each payload
 *   carries its send time on the machine's monotonic clock, read by the subscribers' processes).
 * After each phase the run waits until every subscriber has every message (else it reports the loss), and
 * each subscriber checks that the sequence numbers it gets follow each other (one publisher, in order).
 *
 * Run by bench/run.mjs (`npm run bench -- --only cluster`) or on its own:
 *   node bench/cluster.mjs [--subs 1000] [--rounds 2] [--warmup 1] [--duration 3] [--window 32]
 *                          [--load-procs 2] [--systems wshub,socketio,workers,single] [--out docs/benchmarks.md] [--no-write]
 * Writes (or replaces) its own section of docs/benchmarks.md, between <!-- cluster:start --> and <!-- cluster:end -->.
 * Nothing is pinned (3 nodes, Redis, the load processes and the publisher share the machine's cores).
 */
import { spawn, fork } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ROOT, JsonLines, cpuSeconds, sleep } from "./lib/proc.mjs";
import { startRedis, freePort } from "../test/helpers/redis-server.mjs";
import { clusterReport, writeSection, readSection, redisVersion, loadavg, kfmt, ms, pct } from "./lib/cluster-report.mjs";

export { writeSection, readSection };

const NODE = process.execPath;
const CLI = path.join(ROOT, "dist/cli/main.js");
const SUBS_SCRIPT = path.join(ROOT, "bench/clients/cluster-subs.mjs");

export const CLUSTER_SYSTEMS = {
  wshub: { label: "wshub, 3 nodes + RedisAdapter", impl: "ws", kind: "cluster", latency: true },
  socketio: { label: "socket.io 4, 3 nodes + @socket.io/redis-adapter", impl: "socketio", kind: "cluster", latency: true },
  workers: { label: "wshub serve --workers 2 --redis (one port)", impl: "ws", kind: "workers" },
  single: { label: "wshub serve, one process, no Redis", impl: "ws", kind: "single" },
};

// ---------------------------------------------------------------------------------------------
// Processes

const nowUs = () => {
  const t = process.hrtime();
  return t[0] * 1e6 + t[1] / 1e3;
};

/** Waits until `test()` is true (checked on every output chunk of `child`), or fails after `ms`. */
function waitOutput(child, test, ms, what) {
  return new Promise((resolve, reject) => {
    let out = "";
    const check = () => {
      if (test(out)) done();
    };
    const onData = (d) => {
      out += d;
      check();
    };
    const onExit = (code, signal) => finish(new Error(`${what}: exited (${code ?? signal}) before it was ready:\n${out}`));
    const timer = setTimeout(() => finish(new Error(`${what}: not ready within ${ms} ms:\n${out}`)), ms);
    const finish = (err) => {
      clearTimeout(timer);
      child.stdout.off("data", onData);
      child.stderr.off("data", onData);
      child.off("exit", onExit);
      err ? reject(err) : resolve(out);
    };
    const done = () => finish(null);
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", onExit);
  });
}

/** Ends one child we started, by its PID: SIGTERM, then SIGKILL after `ms`. */
async function stopChild(child, ms = 5000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), ms);
  await exited;
  clearTimeout(timer);
}

/** `wshub serve --mode broadcast` with the given extra flags; resolves with its URL once ready. */
async function startWshub(extra, { workers = 1, redis = true } = {}) {
  const child = spawn(NODE, [CLI, "serve", "--mode", "broadcast", ...extra], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8");
  const count = (out, re) => (out.match(re) ?? []).length;
  const out = await waitOutput(child, (o) => count(o, /listening on ws:\/\/127\.0\.0\.1:\d+/g) >= workers && (!redis || count(o, /connected to the cluster/g) >= workers),
    20_000, `wshub serve ${extra.join(" ")}`);
  const port = Number(/listening on ws:\/\/127\.0\.0\.1:(\d+)/.exec(out)[1]);
  // Drain its output from now on (a full pipe would block the node).
  child.stdout.resume();
  child.stderr.on("data", (d) => process.stderr.write(`[wshub ${child.pid}] ${d}`));
  return { child, pid: child.pid, url: `ws://127.0.0.1:${port}/` };
}

async function startSocketIo(redisUrl) {
  const child = spawn(NODE, [path.join(ROOT, "bench/servers/socketio-cluster.mjs"), "--redis", redisUrl], { cwd: ROOT, stdio: ["pipe", "pipe", "inherit"] });
  const lines = new JsonLines(child, "socket.io node");
  const { port } = await lines.next((m) => m.port !== undefined, 20_000);
  return { child, pid: child.pid, url: `http://127.0.0.1:${port}`, stop: () => child.stdin.end() };
}

/** The PIDs of a process's children (for --workers: the workers), from /proc. */
function childPids(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

// ---------------------------------------------------------------------------------------------
// Publisher and subscribers

async function openPublisher(impl, url) {
  if (impl === "socketio") {
    const { io } = await import("socket.io-client");
    const s = io(url, { transports: ["websocket"], forceNew: true, reconnection: false });
    s.on("m", () => {}); // its own copy of each message: read and dropped
    await new Promise((resolve, reject) => {
      s.once("connect", resolve);
      s.once("connect_error", reject);
    });
    return { send: (text) => s.emit("p", text), close: () => s.disconnect() };
  }
  const { WebSocket } = await import("ws");
  const ws = new WebSocket(url, { perMessageDeflate: false });
  ws.on("message", () => {}); // its own copy of each message (broadcast mode includes the sender): read and dropped
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  return { send: (text) => ws.send(text), close: () => ws.terminate() };
}

class Subscribers {
  constructor(impl, urls, total, procs) {
    this.total = total;
    this.delivered = 0;
    this.onDelivered = () => {};
    this.children = [];
    this.waiters = [];
    const per = Math.ceil(total / procs);
    for (let p = 0, first = 0; first < total; p++, first += per) {
      const count = Math.min(per, total - first);
      const child = fork(SUBS_SCRIPT, ["--impl", impl, "--urls", urls.join(","), "--first", String(first), "--count", String(count)], { cwd: ROOT, stdio: ["ignore", "inherit", "inherit", "ipc"] });
      child.on("message", (m) => this.#onMessage(child, m));
      child.on("exit", (code, signal) => {
        child.gone = true;
        this.#fail(new Error(`subscriber process ${child.pid} exited (${code ?? signal})`));
      });
      this.children.push(child);
    }
  }
  #onMessage(child, m) {
    if (m.d !== undefined) {
      this.delivered += m.d;
      this.onDelivered();
      return;
    }
    if (m.ev === "error") return this.#fail(new Error(m.message));
    for (const w of [...this.waiters]) {
      if (w.child === child && w.ev === m.ev) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        clearTimeout(w.timer);
        w.resolve(m);
      }
    }
  }
  #fail(err) {
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.failure ??= err;
  }
  /** Resolves with each child's next `ev` message (after sending `cmd`, if given). */
  all(ev, cmd, ms) {
    if (this.failure) return Promise.reject(this.failure);
    return Promise.all(this.children.map((child) => new Promise((resolve, reject) => {
      const w = { child, ev, resolve, reject, timer: setTimeout(() => this.#fail(new Error(`subscribers: no "${ev}" within ${ms} ms`)), ms) };
      this.waiters.push(w);
      if (cmd) child.send({ cmd });
    })));
  }
  pids() {
    return this.children.map((c) => c.pid);
  }
  async close() {
    await Promise.all(this.children.map(async (child) => {
      if (child.gone) return;
      child.removeAllListeners("exit");
      const exited = new Promise((resolve) => child.once("exit", resolve));
      try {
        child.send({ cmd: "exit" });
      } catch {}
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }));
  }
}

// ---------------------------------------------------------------------------------------------
// One system, one round

const cpuOf = (pids) => pids.reduce((s, pid) => s + (cpuSeconds(pid) || 0), 0);

async function runSystem(id, o, redisUrl) {
  const sys = CLUSTER_SYSTEMS[id];
  const nodes = [];
  let subs;
  let pub;
  let pacer;
  try {
    // Nodes
    if (sys.kind === "cluster") {
      for (let i = 0; i < 3; i++) nodes.push(id === "socketio" ? await startSocketIo(redisUrl) : await startWshub(["--port", "0", "--redis", redisUrl]));
    } else if (sys.kind === "workers") {
      nodes.push(await startWshub(["--port", String(await freePort()), "--redis", redisUrl, "--workers", "2"], { workers: 2 }));
    } else {
      nodes.push(await startWshub(["--port", "0"], { redis: false }));
    }
    const urls = nodes.map((n) => n.url);
    const serverPids = () => nodes.flatMap((n) => (sys.kind === "workers" ? childPids(n.pid) : [n.pid]));

    // Subscribers, then the publisher on node A
    const t0 = Date.now();
    subs = new Subscribers(sys.impl, urls, o.subs, o.loadProcs);
    await subs.all("connected", null, 120_000);
    const connectSeconds = (Date.now() - t0) / 1000;
    pub = await openPublisher(sys.impl, urls[0]);
    const N = o.subs;
    let published = 0;
    const publish = () => {
      pub.send(`${published}:${Math.round(nowUs())}`.padEnd(32, " "));
      published++;
    };
    const drain = async (what) => {
      const deadline = Date.now() + 15_000;
      while (subs.delivered < published * N && Date.now() < deadline) await sleep(20); // polling a counter fed by IPC
      if (subs.delivered < published * N) throw new Error(`${what}: ${published * N - subs.delivered} of ${published * N} deliveries missing 15 s after the last publish`);
    };

    // Maximum rate: keep `window` messages in flight
    let max = true;
    subs.onDelivered = () => {
      while (max && published * N - subs.delivered < o.window * N) publish();
    };
    subs.onDelivered();
    await sleep(o.warmup * 1000);
    const d0 = subs.delivered;
    const c0 = { servers: cpuOf(serverPids()), redis: sys.kind === "single" ? 0 : cpuSeconds(o.redisPid), subs: cpuOf(subs.pids()), pub: process.cpuUsage() };
    const w0 = nowUs();
    await sleep(o.duration * 1000);
    const d1 = subs.delivered;
    const w1 = nowUs();
    const secs = (w1 - w0) / 1e6;
    const pubCpu = process.cpuUsage(c0.pub);
    const cpu = {
      servers: (cpuOf(serverPids()) - c0.servers) / secs,
      redis: sys.kind === "single" ? 0 : (cpuSeconds(o.redisPid) - c0.redis) / secs,
      subs: (cpuOf(subs.pids()) - c0.subs) / secs,
      pub: (pubCpu.user + pubCpu.system) / 1e6 / secs,
    };
    max = false;
    const rate = (d1 - d0) / secs;
    await drain("maximum rate");
    const res = { rate, cpu, connectSeconds, published: 0, lost: 0 };

    // Half the maximum rate, paced: latency
    if (sys.latency && o.latency) {
      const mps = o.latencyMps ?? rate / 2 / N; // messages per second
      const phase = async (seconds) => {
        const start = nowUs();
        let sent = 0;
        let err = null;
        await new Promise((resolve) => {
          pacer = setInterval(() => {
            let el = (nowUs() - start) / 1e6;
            if (published * N - subs.delivered > 1000 * N) {
              err = new Error(`half rate: more than 1,000 messages behind (${(mps).toFixed(0)} messages/s)`);
              el = seconds;
            }
            if (el >= seconds) {
              clearInterval(pacer);
              return resolve();
            }
            const due = Math.floor(el * mps) - sent;
            for (let k = 0; k < due; k++) publish(), sent++;
          }, 1);
        });
        if (err) throw err;
        return sent;
      };
      await phase(o.warmup);
      await drain("half rate warm-up");
      await subs.all("reset", "reset", 10_000);
      const sent = await phase(o.duration);
      await drain("half rate");
      const reports = await subs.all("report", "report", 10_000);
      // [all, node A's subscribers, the other nodes' subscribers]
      const hists = [new Map(), new Map(), new Map()];
      for (const r of reports) {
        for (let part = 0; part < 2; part++) {
          const h = r.hist[part];
          for (let k = 0; k < h.length; k += 2) {
            for (const m of [hists[0], hists[1 + part]]) m.set(h[k], (m.get(h[k]) ?? 0) + h[k + 1]);
          }
        }
      }
      res.half = { mps, rate: sent * N / o.duration, samples: [...hists[0].values()].reduce((a, b) => a + b, 0), ...percentiles(hists[0]),
        local: percentiles(hists[1]), remote: percentiles(hists[2]) };
    }
    const reports = await subs.all("report", "report", 10_000);
    res.published = published;
    res.delivered = reports.reduce((s, r) => s + r.delivered, 0);
    res.lost = published * N - res.delivered;
    res.outOfOrder = reports.reduce((s, r) => s + r.outOfOrder, 0);
    res.closed = reports.reduce((s, r) => s + r.closed, 0);
    if (res.outOfOrder > 0) throw new Error(`${res.outOfOrder} message(s) arrived out of order or after a gap`);
    if (res.closed > 0) throw new Error(`${res.closed} subscriber(s) were disconnected`);
    return res;
  } finally {
    clearInterval(pacer);
    pub?.close();
    await subs?.close();
    for (const n of nodes) await (n.stop ? (n.stop(), new Promise((r) => (n.child.exitCode !== null ? r() : n.child.once("exit", r)))) : stopChild(n.child));
  }
}

/** p50/p99/p99.9/max in ms from a histogram of 10 µs buckets. */
function percentiles(hist) {
  const keys = [...hist.keys()].sort((a, b) => a - b);
  const total = keys.reduce((s, k) => s + hist.get(k), 0);
  const at = (q) => {
    let seen = 0;
    for (const k of keys) {
      seen += hist.get(k);
      if (seen >= q * total) return ((k + 1) * 10) / 1000; // bucket's upper edge, ms
    }
    return NaN;
  };
  return { p50: at(0.5), p99: at(0.99), p999: at(0.999), max: keys.length ? ((keys.at(-1) + 1) * 10) / 1000 : NaN };
}


/**
 * Runs the scenario; `log` gets one line per run. Returns the markdown section (with its markers).
 * Options: subs, rounds, warmup, duration, window, loadProcs, systems, latency, cmd.
 */
export async function runCluster(opts = {}, log = console.log) {
  const o = { subs: 1000, rounds: 2, warmup: 1, duration: 3, window: 32, loadProcs: 2, systems: Object.keys(CLUSTER_SYSTEMS), latency: true, ...opts };
  const started = Date.now();
  const load0 = loadavg();
  const redis = await startRedis();
  o.redisPid = redis.pid;
  const runs = Object.fromEntries(o.systems.map((s) => [s, []]));
  const errors = [];
  try {
    for (let round = 0; round < o.rounds; round++) {
      for (const id of o.systems) {
        const t0 = Date.now();
        let r;
        try {
          r = await runSystem(id, o, redis.url);
        } catch (err) {
          r = { error: String(err.message ?? err) };
          errors.push(`round ${round + 1}, ${id}: ${r.error}`);
        }
        runs[id].push(r);
        const shown = r.error ? `FAILED: ${r.error}` : `${kfmt(r.rate)} deliveries/s (cpu: servers ${pct(r.cpu.servers)}, redis ${pct(r.cpu.redis)}, subscribers ${pct(r.cpu.subs)}, publisher ${pct(r.cpu.pub)})` +
          (r.half ? `; at ${kfmt(r.half.rate)}/s p50 ${ms(r.half.p50)} p99 ${ms(r.half.p99)} (node A p50 ${ms(r.half.local.p50)} p99 ${ms(r.half.local.p99)}, B/C p50 ${ms(r.half.remote.p50)} p99 ${ms(r.half.remote.p99)})` : "") + `; ${r.delivered} deliveries, ${r.lost} lost`;
        log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] cluster round ${round + 1}/${o.rounds} ${id.padEnd(9)} ${shown} (${((Date.now() - t0) / 1000).toFixed(1)} s, load ${loadavg()})`);
      }
    }
  } finally {
    await redis.close();
  }
  return clusterReport(runs, errors, o, { started, load0, load1: loadavg(), redisVersion: redisVersion() }, CLUSTER_SYSTEMS);
}


// ---------------------------------------------------------------------------------------------
// On its own

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const value = (name, dflt) => {
    const i = argv.indexOf(`--${name}`);
    return i !== -1 && argv[i + 1] !== undefined ? argv[i + 1] : dflt;
  };
  const opts = {
    subs: Number(value("subs", 1000)),
    rounds: Number(value("rounds", 2)),
    warmup: Number(value("warmup", 1)),
    duration: Number(value("duration", 3)),
    window: Number(value("window", 32)),
    loadProcs: Number(value("load-procs", 2)),
    systems: value("systems", Object.keys(CLUSTER_SYSTEMS).join(",")).split(","),
    latency: !argv.includes("--no-latency"),
    // Diagnostics: a fixed rate for the latency phase instead of half the maximum (messages/s).
    latencyMps: value("latency-mps") !== undefined ? Number(value("latency-mps")) : undefined,
    cmd: `node bench/cluster.mjs${argv.length ? " " + argv.join(" ") : ""}`,
  };
  for (const s of opts.systems) if (!CLUSTER_SYSTEMS[s]) throw new Error(`unknown system ${s} (${Object.keys(CLUSTER_SYSTEMS).join(", ")})`);
  const md = await runCluster(opts);
  const out = path.resolve(ROOT, value("out", "docs/benchmarks.md"));
  if (argv.includes("--no-write")) console.log(md);
  else {
    writeSection(out, md);
    console.log(`wrote the cluster section of ${path.relative(ROOT, out)}`);
  }
}
