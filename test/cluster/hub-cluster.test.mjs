/**
 * Three real wshub processes (WebSocketServer + Hub + RedisAdapter) on one real redis-server, with `ws` clients:
 * broadcast, room publish and send(id) across nodes — every intended recipient gets each message exactly once,
 * in order per publisher, and nobody else gets it.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { withTimeout } from "../helpers/index.mjs";
import { startRedis } from "../helpers/redis-server.mjs";
import { eventually } from "./fake-local.mjs";

const NODE = fileURLToPath(new URL("./hub-node.mjs", import.meta.url));

class NodeProcess {
  constructor(url, keyPrefix, nodeId) {
    this.nodeId = nodeId;
    this.errors = [];
    this.states = [];
    this.stateWaiters = [];
    this.child = fork(NODE, [url, keyPrefix, nodeId], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    this.pending = new Map();
    this.seq = 0;
    this.exited = new Promise((resolve) => this.child.once("exit", (code, signal) => resolve(signal ?? code)));
    this.ready = withTimeout(
      new Promise((resolve, reject) => {
        this.child.on("message", (m) => {
          if (m.ready) resolve((this.port = m.ready));
          else if (m.event === "error") this.errors.push(m.message);
          else if (m.event === "clusterState") {
            this.states.push(m.connected);
            for (const w of [...this.stateWaiters]) w();
          }
          else if (m.seq !== undefined) {
            const p = this.pending.get(m.seq);
            this.pending.delete(m.seq);
            if (m.error) p.reject(new Error(m.error));
            else p.resolve(m.result);
          }
        });
        this.child.once("exit", (code) => reject(new Error(`${nodeId} exited (${code}) before it was ready`)));
      }),
      10_000,
      `${nodeId} ready`,
    );
  }

  call(op, args = {}) {
    const seq = ++this.seq;
    return withTimeout(
      new Promise((resolve, reject) => {
        this.pending.set(seq, { resolve, reject });
        this.child.send({ seq, op, ...args });
      }),
      10_000,
      `${this.nodeId}.${op}`,
    );
  }

  /** Resolves once the node's hub has emitted clusterState(connected) (at once if that was the last one). */
  waitState(connected, ms = 5000) {
    return withTimeout(
      new Promise((resolve) => {
        const check = () => {
          if (this.states.at(-1) !== connected) return;
          this.stateWaiters.splice(this.stateWaiters.indexOf(check), 1);
          resolve();
        };
        this.stateWaiters.push(check);
        check();
      }),
      ms,
      `${this.nodeId}: clusterState(${connected})`,
    );
  }

  async stop() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5000);
    this.call("close").catch(() => {});
    await this.exited;
    clearTimeout(timer);
  }
}

/** A `ws` client on a node; records every message after its hello. */
async function client(port) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}`);
  const c = { ws, id: null, got: [], waiters: [] };
  await withTimeout(
    new Promise((resolve, reject) => {
      ws.on("message", (data) => {
        const text = data.toString();
        if (c.id === null && text.startsWith("hello:")) {
          c.id = text.slice(6);
          resolve();
          return;
        }
        c.got.push(text);
        for (const w of [...c.waiters]) w();
      });
      ws.once("error", reject);
    }),
    5000,
    "client hello",
  );
  c.waitFor = (pred, label) =>
    withTimeout(
      new Promise((resolve) => {
        const check = () => {
          if (!pred(c.got)) return;
          c.waiters.splice(c.waiters.indexOf(check), 1);
          resolve();
        };
        c.waiters.push(check);
        check();
      }),
      5000,
      `${c.id}: ${label}`,
    );
  return c;
}

let redis;
let nodes = [];
let clients = [];

before(async () => {
  redis = await startRedis();
  nodes = ["node-0", "node-1", "node-2"].map((id) => new NodeProcess(redis.url, "hubs", id));
  await Promise.all(nodes.map((n) => n.ready));
  // Two clients per node: c[0], c[1] on node-0, c[2], c[3] on node-1, c[4], c[5] on node-2.
  for (const n of nodes) for (let i = 0; i < 2; i++) clients.push(await client(n.port));
  await eventually(async () => (await nodes[0].call("ids")).length === 6, 5000, "six ids in presence");
});

after(async () => {
  for (const c of clients) c.ws.terminate();
  await Promise.all(nodes.map((n) => n.stop()));
  await redis?.close();
});

describe("three wshub processes over Redis", () => {
  it("broadcast: every client of every node gets each message exactly once, in order per publisher", async () => {
    const N = 100;
    const calls = [];
    for (let i = 0; i < N; i++) {
      calls.push(nodes[0].call("broadcast", { data: `b0-${i}` }), nodes[1].call("broadcast", { data: `b1-${i}` }));
    }
    const local = await Promise.all(calls);
    assert.ok(local.every((n) => n === 2), "each broadcast reached its node's own 2 clients locally");
    await Promise.all(clients.map((c) => c.waitFor((got) => got.length >= 2 * N, `${2 * N} broadcasts`)));
    for (const c of clients) {
      assert.equal(c.got.length, 2 * N, "nothing twice");
      assert.deepEqual(c.got.filter((t) => t.startsWith("b0-")), Array.from({ length: N }, (_, i) => `b0-${i}`));
      assert.deepEqual(c.got.filter((t) => t.startsWith("b1-")), Array.from({ length: N }, (_, i) => `b1-${i}`));
    }
    for (const c of clients) c.got.length = 0;
  });

  it("publish(room): only the members (joined from another node) get it, once each, in order", async () => {
    const [c0, c1, c2, c3, c4, c5] = clients;
    // node-2 puts a client of node-0 and one of node-1 in the room (remote joins).
    assert.equal(await nodes[2].call("join", { id: c1.id, room: "blue" }), true);
    assert.equal(await nodes[2].call("join", { id: c3.id, room: "blue" }), true);
    assert.deepEqual((await nodes[2].call("members", { room: "blue" })).sort(), [c1.id, c3.id].sort());
    const N = 50;
    for (let i = 0; i < N; i++) await nodes[2].call("publish", { room: "blue", data: `r-${i}` });
    await Promise.all([c1, c3].map((c) => c.waitFor((got) => got.length >= N, `${N} room messages`)));
    // A marker broadcast from the same publisher: once everyone has it, anything from the room would have come.
    await nodes[2].call("broadcast", { data: "end" });
    await Promise.all(clients.map((c) => c.waitFor((got) => got.includes("end"), "marker")));
    const room = Array.from({ length: N }, (_, i) => `r-${i}`);
    assert.deepEqual(c1.got, [...room, "end"]);
    assert.deepEqual(c3.got, [...room, "end"]);
    for (const c of [c0, c2, c4, c5]) assert.deepEqual(c.got, ["end"]);
    for (const c of clients) c.got.length = 0;
  });

  it("send(id) to a connection of another node: that client alone gets each message once, in order", async () => {
    const target = clients[5]; // on node-2
    const N = 40;
    const results = [];
    for (let i = 0; i < N; i++) {
      results.push(nodes[0].call(i % 2 === 0 ? "send" : "sendAsync", { id: target.id, data: `s-${i}` }));
    }
    const r = await Promise.all(results);
    assert.deepEqual(new Set(r.filter((_, i) => i % 2 === 0)), new Set(["remote"]));
    assert.deepEqual(new Set(r.filter((_, i) => i % 2 === 1)), new Set(["sent"]));
    assert.equal(await nodes[1].call("sendAsync", { id: "no-such-id", data: "x" }), "unknown");
    await target.waitFor((got) => got.length >= N, `${N} direct messages`);
    await nodes[0].call("broadcast", { data: "end" });
    await Promise.all(clients.map((c) => c.waitFor((got) => got.includes("end"), "marker")));
    assert.deepEqual(target.got, [...Array.from({ length: N }, (_, i) => `s-${i}`), "end"]);
    for (const c of clients.slice(0, 5)) assert.deepEqual(c.got, ["end"]);
    assert.deepEqual(await nodes[1].call("nodes"), { "node-0": 2, "node-1": 2, "node-2": 2 });
    for (const n of nodes) assert.deepEqual(n.errors, []);
    const stats = await nodes[0].call("stats");
    assert.equal(stats.clusterConnected, 1);
    assert.equal(stats.clusterNotCrossed, 0);
  });
});

/** The numbers n of messages "<prefix>n" a client got, in arrival order. */
function seqOf(c, prefix) {
  return c.got.filter((t) => t.startsWith(prefix)).map((t) => Number(t.slice(prefix.length)));
}

function assertIncreasing(list, label) {
  for (let i = 1; i < list.length; i++) assert.ok(list[i] > list[i - 1], `${label}: ${list[i - 1]} then ${list[i]} (duplicate or out of order)`);
}

describe("three wshub processes over Redis: remote leave and disconnect, queries", () => {
  it("a client of node-0 is put in a room, taken out, then disconnected by node-2; every node's queries follow", async () => {
    const extra = await client(nodes[0].port);
    try {
      await eventually(async () => (await nodes[2].call("isOnline", { id: extra.id })) === true, 5000, "extra client in presence");
      assert.equal(await nodes[2].call("join", { id: extra.id, room: "green" }), true);
      assert.equal(await nodes[1].call("roomSize", { room: "green" }), 1);
      assert.equal(await nodes[1].call("leave", { id: extra.id, room: "green" }), true);
      assert.equal(await nodes[1].call("leave", { id: extra.id, room: "green" }), false);
      assert.equal(await nodes[2].call("roomSize", { room: "green" }), 0);
      const closed = new Promise((resolve) => extra.ws.once("close", (code, reason) => resolve([code, reason.toString()])));
      assert.equal(await nodes[2].call("disconnect", { id: extra.id, code: 4000, reason: "bye from node-2" }), true);
      assert.deepEqual(await withTimeout(closed, 5000, "close"), [4000, "bye from node-2"]);
      await eventually(async () => (await nodes[1].call("isOnline", { id: extra.id })) === false, 5000, "extra client gone");
      assert.equal((await nodes[1].call("ids")).length, 6);
      assert.equal(await nodes[2].call("disconnect", { id: extra.id, code: 4000, reason: "" }), false);
    } finally {
      extra.ws.terminate();
    }
  });
});

describe("three wshub processes over Redis: faults during traffic", () => {
  it("Redis stopped and restarted: no crash, local delivery never stops, cross-node delivery is back within 5 s", async () => {
    for (const c of clients) c.got.length = 0;
    await nodes[0].call("startTraffic", { prefix: "t-", every: 5 });
    await Promise.all(clients.map((c) => c.waitFor((got) => got.length >= 20, "traffic flowing")));
    await redis.stop();
    await Promise.all(nodes.map((n) => n.waitState(false)));
    const remoteBefore = seqOf(clients[2], "t-").length;
    // Cut off: node-0's own clients go on receiving; other nodes' clients get nothing from node-0.
    await clients[0].waitFor((got) => got.length >= remoteBefore + 40, "local delivery while Redis is down");
    const restartAt = Date.now();
    await redis.start();
    const lastBefore = seqOf(clients[2], "t-").at(-1) ?? -1;
    await Promise.all([2, 3, 4, 5].map((i) => clients[i].waitFor((got) => seqOf(clients[i], "t-").at(-1) > lastBefore + 20, "traffic across again")));
    const back = Date.now() - restartAt;
    await Promise.all(nodes.map((n) => n.waitState(true)));
    const total = await nodes[0].call("stopTraffic");
    await nodes[0].call("broadcast", { data: "end" });
    await Promise.all(clients.map((c) => c.waitFor((got) => got.includes("end"), "marker")));
    assert.ok(back < 5000, `cross-node delivery back ${back} ms after redis-server started`);
    // node-0's own clients: every message, once, in order — Redis has no part in local delivery.
    for (const c of clients.slice(0, 2)) assert.deepEqual(seqOf(c, "t-"), Array.from({ length: total }, (_, i) => i));
    // Other nodes: at-most-once and in order; what was published while cut off is missing, nothing twice.
    for (const c of clients.slice(2)) {
      const seen = seqOf(c, "t-");
      assertIncreasing(seen, c.id);
      assert.ok(seen.length < total, "messages published while Redis was down did not cross");
      assert.equal(seen.at(-1), total - 1);
    }
    const stats = await nodes[0].call("stats");
    assert.equal(stats.clusterConnected, 1);
    assert.equal(stats.clusterOutages, 1);
    assert.ok(stats.clusterNotCrossed > 0);
    for (const n of nodes) assert.deepEqual(n.states.slice(-2), [false, true]);
    console.log(`# hubs: Redis restart during traffic — ${total} messages from node-0, cross-node delivery back after ${back} ms, notCrossed ${stats.clusterNotCrossed}`);
    for (const c of clients) c.got.length = 0;
  });

  it("a node killed with SIGKILL: the other two keep serving, its ids leave presence within presenceTtl (3 s)", async () => {
    await eventually(async () => Object.keys(await nodes[0].call("nodes")).length === 3, 5000, "three nodes in presence");
    await nodes[0].call("startTraffic", { prefix: "k-", every: 5 });
    await Promise.all(clients.map((c) => c.waitFor((got) => got.length >= 10, "traffic flowing")));
    nodes[2].child.kill("SIGKILL");
    assert.equal(await nodes[2].exited, "SIGKILL");
    const killedAt = Date.now();
    await eventually(async () => !("node-2" in (await nodes[1].call("nodes"))), 4000, "node-2 gone from presence", 50);
    const gone = Date.now() - killedAt;
    const seenAt = [0, 1, 2, 3].map((i) => seqOf(clients[i], "k-").length);
    await Promise.all([0, 1, 2, 3].map((i) => clients[i].waitFor(() => seqOf(clients[i], "k-").length >= seenAt[i] + 20, "still served")));
    const total = await nodes[0].call("stopTraffic");
    await nodes[0].call("broadcast", { data: "end" });
    await Promise.all(clients.slice(0, 4).map((c) => c.waitFor((got) => got.includes("end"), "marker")));
    for (const c of clients.slice(0, 4)) assert.deepEqual(seqOf(c, "k-"), Array.from({ length: total }, (_, i) => i));
    assert.deepEqual(await nodes[0].call("nodes"), { "node-0": 2, "node-1": 2 });
    assert.equal((await nodes[1].call("ids")).length, 4);
    assert.ok(gone <= 3000 + 500, `node-2's ids left presence ${gone} ms after the kill`);
    console.log(`# hubs: node-2 SIGKILLed during traffic — its ids left presence after ${gone} ms (presenceTtl 3000 ms)`);
  });
});
