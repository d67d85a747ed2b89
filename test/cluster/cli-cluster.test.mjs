/**
 * `wshub serve --redis URL` (and WSHUB_REDIS_URL, --workers N): several wshub processes on one real redis-server act
 * as one server. Broadcast mode: every message from any client of any node reaches every client of every node once,
 * in order per publisher. Chat mode: /healthz reports "degraded" (503) while the node is cut off from Redis, local
 * clients are served meanwhile, and the cluster comes back by itself. --workers: N processes behind one port.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { get as httpGet } from "node:http";
import WebSocket from "ws";
import { withTimeout } from "../helpers/index.mjs";
import { startRedis, freePort, RedisServer } from "../helpers/redis-server.mjs";
import { startServe, runCli } from "../cli/spawn.mjs";

/** Polls `cond` (which may be async) every 50 ms until it holds; rejects after `ms`. */
async function waitFor(cond, ms, label) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${label}: not reached within ${ms} ms`);
    // Polling: these conditions are other processes' states (HTTP answers, log lines, messages in flight).
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Opens a `ws` client and collects its text messages. */
async function client(url) {
  const ws = new WebSocket(url);
  ws.got = [];
  ws.on("message", (data) => ws.got.push(data.toString()));
  ws.closed = new Promise((resolve) => ws.on("close", (code, reason) => resolve([code, reason.toString()])));
  await withTimeout(new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject)), 5000, `open ${url}`);
  return ws;
}

function healthz(port) {
  return new Promise((resolve, reject) => {
    httpGet({ host: "127.0.0.1", port, path: "/healthz" }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode, body: JSON.parse(body) }));
    }).on("error", reject);
  });
}

/** Waits until the node's stderr says it joined the cluster (the adapter subscribed and wrote its presence). */
const joined = (node) => waitFor(() => /connected to the cluster/.test(node.output().stderr), 10_000, "node joined the cluster");

describe("wshub serve --redis: one server over several processes", () => {
  let redis;
  const nodes = [];
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    for (const n of nodes) await n.stop("SIGKILL").catch(() => {});
    await redis?.stop();
  });

  it("broadcast mode on 3 nodes: every client of every node gets every message exactly once, in order per publisher", async () => {
    const ns = [];
    for (let i = 0; i < 3; i++) {
      const n = await startServe(["--mode", "broadcast", "--port", "0", "--redis", redis.url]);
      nodes.push(n);
      ns.push(n);
    }
    await Promise.all(ns.map(joined));
    const clients = [];
    for (const n of ns) for (let k = 0; k < 2; k++) clients.push(await client(`ws://127.0.0.1:${n.port}/`));
    const PER = 50;
    clients.forEach((c, ci) => {
      for (let m = 0; m < PER; m++) c.send(`c${ci}:${m}`);
    });
    const total = PER * clients.length;
    await waitFor(() => clients.every((c) => c.got.length >= total), 15_000, "every message everywhere");
    for (const c of clients) {
      assert.equal(c.got.length, total, "no duplicate");
      for (let ci = 0; ci < clients.length; ci++) {
        const mine = c.got.filter((x) => x.startsWith(`c${ci}:`));
        assert.deepEqual(mine, Array.from({ length: PER }, (_, m) => `c${ci}:${m}`), "all of one publisher's messages, in order");
      }
    }
    for (const c of clients) c.close(1000);
    await Promise.all(clients.map((c) => c.closed));
    for (const n of ns) assert.deepEqual(await n.stop(), { code: 0, signal: null });
  });

  it("WSHUB_REDIS_URL joins the cluster; a node's SIGKILL leaves the others serving", async () => {
    const env = { WSHUB_REDIS_URL: redis.url };
    const a = await startServe(["--mode", "broadcast", "--port", "0"], { env });
    const b = await startServe(["--mode", "broadcast", "--port", "0"], { env });
    nodes.push(a, b);
    await Promise.all([joined(a), joined(b)]);
    const ca = await client(`ws://127.0.0.1:${a.port}/`);
    const cb = await client(`ws://127.0.0.1:${b.port}/`);
    ca.send("one");
    await waitFor(() => cb.got.includes("one") && ca.got.includes("one"), 5000, "crossed");
    await a.stop("SIGKILL");
    const cb2 = await client(`ws://127.0.0.1:${b.port}/`);
    cb.send("two");
    await waitFor(() => cb.got.includes("two") && cb2.got.includes("two"), 5000, "b still serves");
    cb.close();
    cb2.close();
    await Promise.all([cb.closed, cb2.closed]);
    assert.deepEqual(await b.stop(), { code: 0, signal: null });
  });

  it("chat mode: /healthz is 503 degraded while Redis is down, local clients are served, the cluster comes back", async () => {
    const a = await startServe(["--mode", "chat", "--port", "0", "--redis", redis.url]);
    const b = await startServe(["--mode", "chat", "--port", "0", "--redis", redis.url]);
    nodes.push(a, b);
    await Promise.all([joined(a), joined(b)]);
    assert.deepEqual((await healthz(a.port)).status, 200);
    assert.equal((await healthz(a.port)).body.status, "ok");
    const ua = await client(`ws://127.0.0.1:${a.port}/chat?nick=ana`);
    const ub = await client(`ws://127.0.0.1:${b.port}/chat?nick=bo`);
    const said = (ws, text) => ws.got.some((m) => JSON.parse(m).type === "message" && JSON.parse(m).text === text);
    ua.send(JSON.stringify({ type: "message", text: "before" }));
    await waitFor(() => said(ub, "before"), 5000, "chat message crossed nodes");

    await redis.stop();
    await waitFor(async () => (await healthz(a.port)).status === 503, 10_000, "degraded");
    const h = await healthz(a.port);
    assert.equal(h.body.status, "degraded");
    assert.equal(h.body.cluster.connected, false);
    const ua2 = await client(`ws://127.0.0.1:${a.port}/chat?nick=cy`);
    ua.send(JSON.stringify({ type: "message", text: "during" }));
    await waitFor(() => said(ua2, "during") && said(ua, "during"), 5000, "local delivery during the outage");

    await redis.start();
    const back = Date.now();
    await waitFor(async () => (await healthz(a.port)).status === 200 && (await healthz(b.port)).status === 200, 10_000, "healthy again");
    // Cross-node delivery works again within 5 s of Redis coming back.
    await waitFor(
      () => {
        ua.send(JSON.stringify({ type: "message", text: "after" }));
        return said(ub, "after");
      },
      5000,
      "crossing again",
    );
    assert.ok(Date.now() - back < 5000 + 1000);
    for (const ws of [ua, ua2, ub]) ws.close();
    assert.deepEqual(await a.stop(), { code: 0, signal: null });
    assert.deepEqual(await b.stop(), { code: 0, signal: null });
  });

  it("a node started while Redis is unreachable serves its own clients, then joins the cluster when Redis comes", async () => {
    const port = await freePort();
    const late = new RedisServer({ port });
    const a = await startServe(["--mode", "chat", "--port", "0", "--redis", late.url]);
    nodes.push(a);
    try {
      assert.equal((await healthz(a.port)).status, 503);
      const u1 = await client(`ws://127.0.0.1:${a.port}/chat?nick=early`);
      const u2 = await client(`ws://127.0.0.1:${a.port}/chat?nick=bird`);
      u1.send(JSON.stringify({ type: "message", text: "alone" }));
      await waitFor(() => u2.got.some((m) => JSON.parse(m).text === "alone"), 5000, "local delivery without Redis");
      await late.start();
      await waitFor(async () => (await healthz(a.port)).status === 200, 10_000, "joined once Redis came");
      assert.equal(a.child.exitCode, null, "never exited for want of Redis");
      u1.close();
      u2.close();
      assert.deepEqual(await a.stop(), { code: 0, signal: null });
    } finally {
      await late.stop();
    }
  });

  it("--workers 2: two processes behind one port are one broadcast server; SIGTERM ends them all with 1001 and exit 0", async () => {
    const port = await freePort();
    const w = await startWorkers(["--mode", "broadcast", "--port", String(port), "--redis", redis.url, "--workers", "2"]);
    try {
      const clients = [];
      for (let i = 0; i < 6; i++) clients.push(await client(`ws://127.0.0.1:${port}/`));
      clients[0].send("to all");
      await waitFor(() => clients.every((c) => c.got.includes("to all")), 10_000, "every client of both workers");
      assert.ok(clients.every((c) => c.got.length === 1));
      assert.deepEqual(await w.stop(), { code: 0, signal: null });
      for (const c of clients) assert.equal((await c.closed)[0], 1001);
    } finally {
      await w.stop("SIGKILL");
    }
  });

  it("usage errors: --workers without --redis, a bad --redis URL, --workers with port 0", async () => {
    let r = await runCli(["serve", "--workers", "2", "--port", "1234"], { input: null });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--workers needs --redis/);
    r = await runCli(["serve", "--redis", "http://127.0.0.1:1"], { input: null });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--redis must be a redis:\/\/ or rediss:\/\/ URL/);
    r = await runCli(["serve", "--redis", redis.url, "--workers", "2", "--port", "0"], { input: null });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /fixed --port/);
  });
});

/** Starts `wshub serve --workers N` and resolves once every worker listens and joined the cluster. */
async function startWorkers(args) {
  const { spawn } = await import("node:child_process");
  const { MAIN, ROOT } = await import("../cli/spawn.mjs");
  const n = Number(args[args.indexOf("--workers") + 1]);
  const child = spawn(process.execPath, [MAIN, "serve", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  const count = (re) => (stdout.match(re) ?? []).length + (stderr.match(re) ?? []).length;
  await waitFor(() => count(/listening on/g) >= n && count(/connected to the cluster/g) >= n, 15_000, `${n} workers listening: ${stdout} ${stderr}`);
  return {
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
      const r = await exited;
      clearTimeout(t);
      return r;
    },
  };
}
