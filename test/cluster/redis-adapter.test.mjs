/**
 * RedisAdapter against a real redis-server (started on a free loopback port, stopped at the end): three adapters,
 * each bound to a FakeLocal (a recorded stand-in for a hub), as three nodes of one cluster.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { RedisAdapter } from "../../dist/cluster/index.js";
import { OutgoingMessage } from "../../dist/hub/message.js";
import { createClient } from "redis";
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

describe("RedisAdapter: except and binary", () => {
  it("skips excepted ids on other nodes and keeps the binary flag and bytes", async () => {
    const nodes = await cluster(2);
    const [a, b] = nodes;
    try {
      b.local.open("b1", "b2");
      a.adapter.broadcast(new OutgoingMessage(Buffer.from([0, 1, 2, 255]), true), new Set(["b2", "zz"]));
      a.adapter.broadcast(text("é✓"), new Set(["b1"]));
      await Promise.all([b.local.waitReceived("b1", 1), b.local.waitReceived("b2", 1)]);
      const [bin] = b.local.received.get("b1");
      assert.equal(bin.binary, true);
      assert.deepEqual(bin.bytes, Buffer.from([0, 1, 2, 255]));
      assert.deepEqual(b.local.received.get("b2").map(({ text, binary }) => ({ text, binary })), [{ text: "é✓", binary: false }]);
      assert.equal(b.local.received.get("b1").length, 1);
    } finally {
      await nodes.close();
    }
  });
});

describe("RedisAdapter: rooms", () => {
  it("publish reaches only the members, on nodes with members, once each; a node unsubscribes when its last member leaves", async () => {
    const nodes = await cluster(3);
    const [a, b, c] = nodes;
    try {
      a.local.open("a1");
      b.local.open("b1", "b2");
      c.local.open("c1");
      a.local.join("a1", "red");
      b.local.join("b1", "red");
      const channel = `${nodes.keyPrefix}:room:red`;
      // Subscriptions are asynchronous: wait until Redis counts both nodes on the room's (sharded) channel.
      await eventually(async () => (await redisCommand(redis.url, "PUBSUB", "SHARDNUMSUB", channel))[1] === 2, 5000, "two subscribers");
      a.adapter.publish("red", text("r1"), null);
      c.adapter.publish("red", text("r2"), null);
      await b.local.waitReceived("b1", 2);
      await a.local.waitReceived("a1", 1);
      assert.deepEqual(b.local.texts("b1"), ["r1", "r2"]);
      assert.deepEqual(a.local.texts("a1"), ["r2"]); // not its own r1: its hub delivered that one
      assert.deepEqual(b.local.texts("b2"), []);
      assert.deepEqual(c.local.texts("c1"), []);
      assert.equal(c.adapter.stats().crossedIn, 0, "C has no member: it never received the room's messages");

      b.local.leave("b1", "red");
      await eventually(async () => (await redisCommand(redis.url, "PUBSUB", "SHARDNUMSUB", channel))[1] === 1, 5000, "B unsubscribed");
      c.adapter.publish("red", text("r3"), null);
      await a.local.waitReceived("a1", 2);
      assert.deepEqual(a.local.texts("a1"), ["r2", "r3"]);
      assert.equal(b.local.received.get("b1").length, 2);
    } finally {
      await nodes.close();
    }
  });

  it("with shardedPubSub: false, rooms use plain PUBLISH/SUBSCRIBE", async () => {
    const nodes = await cluster(2, { shardedPubSub: false });
    const [a, b] = nodes;
    try {
      b.local.open("b1");
      b.local.join("b1", "blue");
      const channel = `${nodes.keyPrefix}:room:blue`;
      await eventually(async () => (await redisCommand(redis.url, "PUBSUB", "NUMSUB", channel))[1] === 1, 5000, "subscriber");
      a.adapter.publish("blue", text("x"), new Set(["nobody"]));
      await b.local.waitReceived("b1", 1);
      assert.deepEqual(b.local.texts("b1"), ["x"]);
    } finally {
      await nodes.close();
    }
  });
});

describe("RedisAdapter: operations on a connection of another node", () => {
  it("sendTo, join, leave and disconnect reach the node holding the id and resolve with its answer", async () => {
    const nodes = await cluster(3);
    const [a, b, c] = nodes;
    try {
      a.local.open("a1");
      c.local.open("c1", "c2");
      await eventually(async () => (await a.adapter.isOnline("c1")) === true, 5000, "c1 in presence");

      assert.equal(await a.adapter.sendTo("c1", text("hello c1")), "sent");
      assert.deepEqual(c.local.texts("c1"), ["hello c1"]);
      assert.equal(await a.adapter.sendTo("nobody", text("x")), "unknown");
      assert.equal(await a.adapter.sendTo("a1", text("local")), "sent"); // a local id: delivered here
      assert.deepEqual(a.local.texts("a1"), ["local"]);

      assert.equal(await b.adapter.join("c2", "green"), true);
      assert.deepEqual([...c.local.conns.get("c2")], ["green"]);
      assert.equal(await b.adapter.join("nobody", "green"), false);
      assert.deepEqual(await a.adapter.roomMembers("green"), ["c2"]);
      assert.equal(await b.adapter.leave("c2", "green"), true);
      assert.equal(await b.adapter.leave("c2", "green"), false, "not a member any more");
      assert.deepEqual(await a.adapter.roomMembers("green"), []);

      assert.equal(await a.adapter.disconnect("c2", 4001, "bye"), true);
      assert.deepEqual(c.local.disconnected, [{ id: "c2", code: 4001, reason: "bye" }]);
      assert.equal(await a.adapter.isOnline("c2"), false);
      assert.equal(await a.adapter.disconnect("c2", 4001, "again"), false);
      assert.equal(a.adapter.stats().notCrossed, 0);
    } finally {
      await nodes.close();
    }
  });

  it("messages to one node keep their order with broadcasts from the same publisher", async () => {
    const nodes = await cluster(2);
    const [a, b] = nodes;
    try {
      b.local.open("b1");
      await eventually(async () => a.adapter.isOnline("b1"), 5000, "b1 in presence");
      const sends = [];
      for (let i = 0; i < 50; i++) {
        a.adapter.broadcast(text(`all${i}`), null);
        sends.push(a.adapter.sendTo("b1", text(`to${i}`)));
      }
      assert.deepEqual(new Set(await Promise.all(sends)), new Set(["sent"]));
      await b.local.waitReceived("b1", 100);
      const expected = [];
      for (let i = 0; i < 50; i++) expected.push(`all${i}`, `to${i}`);
      assert.deepEqual(b.local.texts("b1"), expected);
    } finally {
      await nodes.close();
    }
  });
});

describe("RedisAdapter: queries", () => {
  it("allIds, isOnline, roomMembers, roomSize and nodeCounts cover every live node", async () => {
    const nodes = await cluster(3);
    const [a, b, c] = nodes;
    try {
      a.local.open("a1", "a2");
      b.local.open("b1");
      c.local.open("c1", "c2", "c3");
      a.local.join("a1", "lobby");
      b.local.join("b1", "lobby");
      c.local.join("c3", "lobby");
      c.local.join("c3", "vip");
      await eventually(async () => (await b.adapter.allIds()).length === 6, 5000, "six ids");
      for (const { adapter } of nodes) {
        assert.deepEqual((await adapter.allIds()).sort(), ["a1", "a2", "b1", "c1", "c2", "c3"]);
        assert.deepEqual((await adapter.roomMembers("lobby")).sort(), ["a1", "b1", "c3"]);
        assert.equal(await adapter.roomSize("lobby"), 3);
        assert.equal(await adapter.roomSize("vip"), 1);
        assert.equal(await adapter.roomSize("none"), 0);
        assert.deepEqual(await adapter.nodeCounts(), { "node-A": 2, "node-B": 1, "node-C": 3 });
        assert.equal(await adapter.isOnline("c2"), true);
        assert.equal(await adapter.isOnline("zz"), false);
      }
      c.local.close("c3");
      await eventually(async () => (await a.adapter.roomSize("lobby")) === 2, 5000, "c3 left presence");
      assert.equal(await a.adapter.roomSize("vip"), 0);
    } finally {
      await nodes.close();
    }
  });

  it("connections() lists every live node's connections with their node and meta; roomSizes() sums rooms over nodes", async () => {
    const nodes = await cluster(3);
    const [a, b, c] = nodes;
    try {
      a.local.open("a1", "a2");
      b.local.open("b1");
      a.local.setMeta("a1", JSON.stringify({ nick: "ana" }));
      b.local.setMeta("b1", "bo");
      a.local.join("a1", "lobby");
      b.local.join("b1", "lobby");
      b.local.join("b1", "vip");
      const expected = [
        { id: "a1", node: "node-A", meta: JSON.stringify({ nick: "ana" }) },
        { id: "a2", node: "node-A", meta: null },
        { id: "b1", node: "node-B", meta: "bo" },
      ];
      const byId = (x, y) => x.id.localeCompare(y.id);
      await eventually(async () => JSON.stringify((await c.adapter.connections()).sort(byId)) === JSON.stringify(expected), 5000, "meta seen");
      for (const { adapter } of nodes) {
        assert.deepEqual((await adapter.connections()).sort(byId), expected);
        assert.deepEqual(await adapter.roomSizes(), { lobby: 2, vip: 1 });
      }
      b.local.setMeta("b1", null);
      a.local.close("a1");
      await eventually(async () => (await c.adapter.connections()).length === 2, 5000, "a1 gone");
      assert.deepEqual((await c.adapter.connections()).sort(byId), [
        { id: "a2", node: "node-A", meta: null },
        { id: "b1", node: "node-B", meta: null },
      ]);
      assert.deepEqual(await c.adapter.roomSizes(), { lobby: 1, vip: 1 });
      // After a reconnect the presence is written again from the snapshot, meta included.
      a.local.setMeta("a2", "again");
      await a.adapter.close();
      await eventually(async () => (await c.adapter.connections()).length === 1, 5000, "a's presence removed");
    } finally {
      await nodes.close();
    }
  });

  it("close() removes the node's presence at once", async () => {
    const nodes = await cluster(2);
    const [a, b] = nodes;
    try {
      b.local.open("b1");
      b.local.join("b1", "r");
      await eventually(async () => (await a.adapter.isOnline("b1")) === true, 5000, "b1 in presence");
      await b.adapter.close();
      assert.equal(await a.adapter.isOnline("b1"), false);
      assert.deepEqual(await a.adapter.nodeCounts(), { "node-A": 0 });
      assert.deepEqual(await redisCommand(redis.url, "KEYS", `${nodes.keyPrefix}:*node-B*`), []);
      assert.deepEqual(b.local.errors, []);
    } finally {
      await nodes.close();
    }
  });
});

describe("RedisAdapter: given a node-redis client", () => {
  it("copies its settings (duplicate) and never connects or closes the client itself", async () => {
    const client = createClient({ url: redis.url });
    const a = new RedisAdapter({ client, keyPrefix: "dup" });
    const b = new RedisAdapter({ url: redis.url, keyPrefix: "dup" });
    const la = new FakeLocal("A", a);
    const lb = new FakeLocal("B", b);
    try {
      await Promise.all([la.waitState(true), lb.waitState(true)]);
      lb.open("b1");
      a.broadcast(text("via a duplicated client"), null);
      await lb.waitReceived("b1", 1);
      assert.deepEqual(lb.texts("b1"), ["via a duplicated client"]);
      assert.equal(client.isOpen, false);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
    assert.equal(client.isOpen, false);
  });
});

describe("RedisAdapter: scripts", () => {
  it("run by SHA1, and by their text again if Redis forgot them (SCRIPT FLUSH)", async () => {
    const nodes = await cluster(2);
    const [a, b] = nodes;
    try {
      b.local.open("b1");
      await eventually(async () => (await a.adapter.isOnline("b1")) === true, 5000, "b1 in presence");
      await redisCommand(redis.url, "SCRIPT", "FLUSH");
      assert.equal(await a.adapter.sendTo("b1", text("after flush")), "sent");
      assert.deepEqual(await a.adapter.allIds(), ["b1"]);
      assert.deepEqual(b.local.texts("b1"), ["after flush"]);
      assert.deepEqual(a.local.errors, []);
    } finally {
      await nodes.close();
    }
  });
});

describe("RedisAdapter: bad input on its channels", () => {
  it("a message that does not parse is reported (WSHUB_ERR_CLUSTER_WIRE) and dropped; the node goes on", async () => {
    const nodes = await cluster(2);
    const [a, b] = nodes;
    try {
      b.local.open("b1");
      const reported = new Promise((resolve) => b.local.once("adapterError", resolve));
      await redisCommand(redis.url, "PUBLISH", `${nodes.keyPrefix}:all`, "not a wshub message");
      const err = await reported;
      assert.equal(err.code, "WSHUB_ERR_CLUSTER_WIRE");
      assert.equal(b.adapter.stats().errors, 1);
      a.adapter.broadcast(text("still here"), null);
      await b.local.waitReceived("b1", 1);
      assert.deepEqual(b.local.texts("b1"), ["still here"]);
    } finally {
      await nodes.close();
    }
  });
});
