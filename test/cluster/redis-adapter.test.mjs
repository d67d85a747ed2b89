/**
 * RedisAdapter against a real redis-server (started on a free loopback port, stopped at the end): three adapters,
 * each bound to a FakeLocal (a recorded stand-in for a hub), as three nodes of one cluster.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { RedisAdapter } from "../../dist/cluster/index.js";
import { OutgoingMessage } from "../../dist/hub/message.js";
import { startRedis, redisCommand } from "../helpers/redis-server.mjs";
import { FakeLocal, eventually } from "./fake-local.mjs";

const text = (s) => OutgoingMessage.from(s);

let redis;
let prefixCounter = 0;

/** `n` connected nodes sharing a fresh key prefix: [{ adapter, local }]. */
async function cluster(n, options = {}) {
  const keyPrefix = `t${process.pid}x${++prefixCounter}`;
  const nodes = [];
  for (let i = 0; i < n; i++) {
    const adapter = new RedisAdapter({ url: redis.url, keyPrefix, presenceTtl: 3000, requestTimeout: 2000, ...options });
    const local = new FakeLocal(`node-${"ABCDEFG"[i]}`, adapter);
    nodes.push({ adapter, local });
  }
  await Promise.all(nodes.map(({ local }) => local.waitState(true)));
  return Object.assign(nodes, {
    keyPrefix,
    async close() {
      await Promise.all(nodes.map(({ adapter }) => adapter.close()));
    },
  });
}

before(async () => {
  redis = await startRedis();
});

after(async () => {
  await redis?.close();
});

describe("RedisAdapter: broadcast across nodes", () => {
  it("reaches every connection of every other node exactly once, in order, never back to the origin", async () => {
    const nodes = await cluster(3);
    const [a, b, c] = nodes;
    try {
      a.local.open("a1");
      b.local.open("b1", "b2");
      c.local.open("c1");
      const N = 200;
      for (let i = 0; i < N; i++) a.adapter.broadcast(text(`m${i}`), null);
      await Promise.all([b.local.waitReceived("b1", N), b.local.waitReceived("b2", N), c.local.waitReceived("c1", N)]);
      const expected = Array.from({ length: N }, (_, i) => `m${i}`);
      assert.deepEqual(b.local.texts("b1"), expected);
      assert.deepEqual(b.local.texts("b2"), expected);
      assert.deepEqual(c.local.texts("c1"), expected);
      // The origin's hub delivers to its own connections itself: its adapter must not deliver them again.
      // A marker broadcast from B, once it has reached A, proves A's own 200 messages had their chance to come back.
      b.adapter.broadcast(text("marker"), null);
      await a.local.waitReceived("a1", 1);
      assert.deepEqual(a.local.texts("a1"), ["marker"]);
      assert.equal(a.adapter.stats().crossedOut, N);
      assert.equal(b.adapter.stats().crossedIn, N);
    } finally {
      await nodes.close();
    }
  });
});
