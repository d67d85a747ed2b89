/**
 * RedisAdapter when things fail: a node killed with SIGKILL, Redis stopped and restarted, Redis absent at start.
 * Each test starts its own redis-server (free loopback port, own temp dir) and stops it at the end.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { RedisAdapter } from "../../dist/cluster/index.js";
import { OutgoingMessage } from "../../dist/hub/message.js";
import { withTimeout } from "../helpers/index.mjs";
import { RedisServer, startRedis, freePort } from "../helpers/redis-server.mjs";
import { FakeLocal, eventually } from "./fake-local.mjs";

const text = (s) => OutgoingMessage.from(s);
const CHILD = fileURLToPath(new URL("./node-child.mjs", import.meta.url));
const FAST = { reconnectMinDelay: 20, reconnectMaxDelay: 200 };

function node(name, url, keyPrefix, options = {}) {
  const adapter = new RedisAdapter({ url, keyPrefix, ...FAST, ...options });
  return { adapter, local: new FakeLocal(name, adapter) };
}

/** Starts node-child.mjs; resolves once it reports "up". */
async function childNode(url, keyPrefix, nodeId, ttl, ids, room = "") {
  const child = spawn(process.execPath, [CHILD, url, keyPrefix, nodeId, String(ttl), ids.join(","), room], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  await withTimeout(
    new Promise((resolve, reject) => {
      child.stdout.on("data", (d) => {
        out += d;
        if (out.includes("up\n")) resolve();
      });
      child.once("exit", (code) => reject(new Error(`child node exited (${code}) before it was up`)));
    }),
    10_000,
    "child node up",
  );
  child.exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve(signal ?? code)));
  return child;
}

describe("RedisAdapter: a node killed with SIGKILL", () => {
  it("its ids leave presence within presenceTtl; a request to it meanwhile resolves 'unknown' after requestTimeout", async () => {
    const redis = await startRedis();
    const ttl = 1500;
    const a = node("node-A", redis.url, "kill", { presenceTtl: ttl, requestTimeout: 300 });
    let child;
    try {
      await a.local.waitState(true);
      child = await childNode(redis.url, "kill", "node-K", ttl, ["k1", "k2"], "room1");
      await eventually(async () => (await a.adapter.allIds()).length === 2, 5000, "k1 and k2 in presence");
      assert.deepEqual(await a.adapter.roomMembers("room1").then((m) => m.sort()), ["k1", "k2"]);
      assert.equal(await a.adapter.sendTo("k1", text("hi")), "sent");

      child.kill("SIGKILL");
      assert.equal(await child.exited, "SIGKILL");
      const killedAt = Date.now();
      // Dead but not yet expired: the operation goes to its channel, nobody answers.
      const t0 = Date.now();
      assert.equal(await a.adapter.sendTo("k1", text("anyone?")), "unknown");
      assert.ok(Date.now() - t0 >= 250, "waited for requestTimeout");
      assert.equal(a.adapter.stats().notCrossed, 1);

      await eventually(async () => (await a.adapter.allIds()).length === 0, ttl + 1000, "k1, k2 gone", 20);
      const gone = Date.now() - killedAt;
      // Redis expires the keys exactly; the margin is this test's polling (20 ms) and query time on a busy machine.
      assert.ok(gone <= ttl + 500, `ids left presence ${gone} ms after the kill (presenceTtl ${ttl})`);
      console.log(`# SIGKILLed node: its ids left presence ${gone} ms after the kill (presenceTtl ${ttl} ms)`);
      assert.deepEqual(await a.adapter.nodeCounts(), { "node-A": 0 });
      assert.equal(await a.adapter.roomSize("room1"), 0);
      assert.equal(await a.adapter.sendTo("k1", text("x")), "unknown");
      assert.deepEqual(a.local.errors, []);
    } finally {
      if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await a.adapter.close();
      await redis.close();
    }
  });
});

describe("RedisAdapter: Redis stopped and restarted", () => {
  for (const appendonly of [false, true]) {
    it(`nodes go on without it, report down then up, and deliver across again within 5 s (appendonly ${appendonly ? "yes" : "no"})`, async () => {
      const redis = await startRedis({ appendonly });
      const a = node("node-A", redis.url, "rs");
      const b = node("node-B", redis.url, "rs");
      try {
        await Promise.all([a.local.waitState(true), b.local.waitState(true)]);
        a.local.open("a1");
        b.local.open("b1");
        b.local.join("b1", "r");
        a.adapter.broadcast(text("before"), null);
        await b.local.waitReceived("b1", 1);

        if (appendonly) await redis.kill(); // a crash: the AOF is all that survives
        else await redis.stop();
        await Promise.all([a.local.waitState(false), b.local.waitState(false)]);
        // Cut off: nothing throws, nothing crosses, everything is counted; queries answer for this node alone.
        const notCrossed = a.adapter.stats().notCrossed;
        a.adapter.broadcast(text("lost"), null);
        a.adapter.publish("r", text("lost"), null);
        assert.equal(await a.adapter.sendTo("b1", text("lost")), "unknown");
        assert.equal(await a.adapter.join("b1", "x"), false);
        assert.equal(a.adapter.stats().notCrossed, notCrossed + 4);
        assert.deepEqual(await a.adapter.allIds(), ["a1"]);
        assert.deepEqual(await a.adapter.nodeCounts(), { "node-A": 1 });
        a.local.open("a2"); // presence changes while cut off are written when Redis is back
        b.local.close("b1");
        b.local.open("b2");
        b.local.join("b2", "r");

        const restartedAt = Date.now();
        await redis.start();
        await Promise.all([a.local.waitState(true), b.local.waitState(true)]);
        const upAfter = Date.now() - restartedAt;
        a.adapter.publish("r", text("after"), null);
        await b.local.waitReceived("b2", 1);
        const deliveredAfter = Date.now() - restartedAt;
        assert.ok(deliveredAfter < 5000, `delivered ${deliveredAfter} ms after Redis came back`);
        assert.deepEqual(b.local.texts("b2"), ["after"]);
        assert.deepEqual(b.local.texts("b1"), ["before"]);
        assert.deepEqual((await a.adapter.allIds()).sort(), ["a1", "a2", "b2"]);
        assert.deepEqual(await a.adapter.roomMembers("r"), ["b2"]);
        assert.equal(await a.adapter.sendTo("b2", text("direct")), "sent");
        assert.deepEqual(b.local.texts("b2"), ["after", "direct"]);
        for (const { adapter, local } of [a, b]) {
          const s = adapter.stats();
          assert.equal(s.connected, true);
          assert.equal(s.outages, 1);
          assert.deepEqual(local.states, [true, false, true]);
          assert.equal(local.errors.length, 1, "one error reported for the outage");
        }
        console.log(`# redis restart (appendonly ${appendonly}): connected again after ${upAfter} ms, delivered after ${deliveredAfter} ms`);
      } finally {
        await Promise.all([a.adapter.close(), b.adapter.close()]);
        await redis.close();
      }
    });
  }
});

describe("RedisAdapter: Redis unreachable at start", () => {
  it("binds without throwing, serves alone, and joins the cluster when Redis comes", async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    const a = node("node-A", url, "late");
    const redis = new RedisServer({ port });
    let b;
    try {
      a.local.open("a1");
      await a.local.waitState(false);
      assert.equal(a.adapter.stats().connected, false);
      assert.equal(a.adapter.stats().outages, 0, "never connected: nothing was lost");
      a.adapter.broadcast(text("alone"), null);
      assert.equal(a.adapter.stats().notCrossed, 1);
      assert.deepEqual(await a.adapter.allIds(), ["a1"]);

      await redis.start();
      await a.local.waitState(true, 5000);
      b = node("node-B", url, "late");
      await b.local.waitState(true);
      b.local.open("b1");
      await eventually(async () => (await a.adapter.isOnline("b1")) === true, 5000, "b1 visible from A");
      assert.deepEqual((await b.adapter.allIds()).sort(), ["a1", "b1"]);
      a.adapter.broadcast(text("joined"), null);
      await b.local.waitReceived("b1", 1);
      assert.deepEqual(b.local.texts("b1"), ["joined"]);
      assert.equal(a.local.errors.length, 1, "the refused connection, reported once");
    } finally {
      await a.adapter.close();
      await b?.adapter.close();
      await redis.close();
    }
  });
});
