/**
 * The hub sees connections only through the HubConnection interface (src/hub/connection.ts): these tests drive a
 * Hub with in-memory fakes, no socket, and check what it asks of them and of its adapter.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Hub, InProcessAdapter, OutgoingMessage } from "../../dist/index.js";

class FakeConnection extends EventTarget {
  static next = 0;
  constructor(id = `fake-${++FakeConnection.next}`) {
    super();
    this.id = id;
    this.readyState = 1;
    this.pendingBytes = 0;
    this.bytesRead = 0;
    this.bytesWritten = 0;
    this.sent = [];
    this.closedWith = null;
    this.pings = 0;
  }
  sendPrepared(message) {
    if (this.readyState !== 1) return false;
    this.sent.push(message);
    return true;
  }
  keepalive() {
    this.pings++;
    return true;
  }
  close(code, reason) {
    this.closedWith = [code, reason];
    this.readyState = 2;
  }
  terminate() {
    this.finish(1006, "");
  }
  drained() {
    return Promise.resolve(this.readyState === 1);
  }
  /** The peer finished the closing handshake (or the socket died): the close event. */
  finish(code, reason) {
    this.readyState = 3;
    const ev = new Event("close");
    Object.assign(ev, { code, reason });
    this.dispatchEvent(ev);
  }
  receive(data) {
    const ev = new Event("message");
    Object.assign(ev, { data });
    this.dispatchEvent(ev);
  }
}

const text = (m) => Buffer.from(m.payload).toString();

describe("Hub over the HubConnection interface (fakes, no sockets)", () => {
  it("broadcast writes one shared OutgoingMessage to every open connection, skipping except and closed ones", async () => {
    const hub = new Hub(null, { heartbeatInterval: 0 });
    const [a, b, c] = [new FakeConnection(), new FakeConnection(), new FakeConnection()];
    for (const x of [a, b, c]) assert.equal(hub.add(x), true);
    assert.equal(hub.add(a), false, "registered once");
    c.readyState = 2;
    assert.equal(hub.broadcast("hi", { except: b }), 1);
    assert.equal(a.sent.length, 1);
    assert.equal(b.sent.length, 0);
    assert.equal(c.sent.length, 0);
    assert.ok(a.sent[0] instanceof OutgoingMessage);
    assert.equal(text(a.sent[0]), "hi");
    const d = new FakeConnection();
    hub.add(d);
    hub.broadcast(new Uint8Array([1, 2]));
    assert.equal(a.sent[1], d.sent[0], "the same message object (one frame) for every recipient");
    await hub.close({ timeout: 0 });
  });

  it("rooms, disconnect with server close codes, the close event removes the connection from its rooms", async () => {
    const hub = new Hub(null, { heartbeatInterval: 0 });
    const a = new FakeConnection();
    const b = new FakeConnection();
    hub.add(a);
    hub.add(b);
    assert.equal(hub.join(a, "r"), true);
    assert.equal(hub.join(a.id, "r"), false);
    assert.equal(hub.publish("r", "p"), 1);
    assert.deepEqual(await hub.cluster.members("r"), [a.id]);
    assert.equal(await hub.cluster.roomSize("r"), 1);
    assert.deepEqual((await hub.cluster.ids()).sort(), [a.id, b.id].sort());
    assert.deepEqual(await hub.cluster.nodes(), { [hub.nodeId]: 2 });
    assert.deepEqual(await hub.cluster.rooms(), { r: 1 });
    assert.equal(hub.setMeta(a, '{"nick":"ana"}'), true);
    assert.equal(hub.setMeta("nobody", "x"), false);
    assert.throws(() => hub.setMeta(a, 42), TypeError);
    assert.throws(() => hub.setMeta(a, "x".repeat(4097)), RangeError);
    assert.equal(hub.metaOf(a), '{"nick":"ana"}');
    assert.deepEqual(await hub.cluster.connections(), [
      { id: a.id, node: hub.nodeId, meta: '{"nick":"ana"}' },
      { id: b.id, node: hub.nodeId, meta: null },
    ]);
    assert.equal(await hub.cluster.isOnline(b.id), true);
    assert.equal(await hub.cluster.isOnline("nobody"), false);
    for (const code of [1001, 1008, 1011, 1013]) assert.doesNotThrow(() => hub.disconnect("nobody", code));
    for (const bad of [1004, 1005, 1006, 1015, 2999, 999]) assert.throws(() => hub.disconnect(a, bad), RangeError);
    assert.equal(hub.disconnect(a, 1013, "try again later"), true);
    assert.deepEqual(a.closedWith, [1013, "try again later"]);
    const gone = new Promise((resolve) => hub.once("disconnect", (ws, code, reason) => resolve([ws, code, reason])));
    a.finish(1013, "try again later");
    assert.deepEqual(await gone, [a, 1013, "try again later"]);
    assert.equal(hub.hasRoom("r"), false);
    assert.equal(hub.size, 1);
    assert.equal(await hub.cluster.disconnect(b, 1001, "bye"), true);
    assert.deepEqual(b.closedWith, [1001, "bye"]);
    await assert.rejects(hub.cluster.disconnect(b, 1005), RangeError);
    b.finish(1001, "bye");
    await hub.close({ timeout: 0 });
  });

  it("slow consumers: over maxBufferedBytes a broadcast skips the connection (drop) and counts it", async () => {
    const hub = new Hub(null, { heartbeatInterval: 0, maxBufferedBytes: 100 });
    const a = new FakeConnection();
    const slow = new FakeConnection();
    hub.add(a);
    hub.add(slow);
    const events = [];
    hub.on("slowConsumer", (ws, policy) => events.push([ws, policy]));
    slow.pendingBytes = 99;
    assert.equal(hub.broadcast("x".repeat(10)), 1);
    assert.equal(hub.broadcast("x".repeat(10)), 1);
    assert.deepEqual(events, [[slow, "drop"]], "one event per episode");
    assert.equal(hub.stats().dropped, 2);
    slow.pendingBytes = 0;
    assert.equal(hub.broadcast("x"), 2);
    await hub.close({ timeout: 0 });
  });

  it("hub.close() closes every connection with its code, then closes the adapter; bad codes throw first", async () => {
    let adapterClosed = 0;
    class A extends InProcessAdapter {
      async close() {
        adapterClosed++;
      }
    }
    const hub = new Hub(null, { heartbeatInterval: 0, adapter: new A() });
    const a = new FakeConnection();
    hub.add(a);
    assert.throws(() => hub.close({ code: 1005 }), RangeError);
    assert.throws(() => hub.close({ code: 2999 }), RangeError);
    assert.throws(() => hub.close({ reason: "é".repeat(62) }), RangeError);
    const done = hub.close({ code: 1012, reason: "restart", timeout: 1000 });
    assert.deepEqual(a.closedWith, [1012, "restart"]);
    a.finish(1012, "restart");
    await done;
    assert.equal(adapterClosed, 1);
  });

  it("adapter faults become 'error' events (or stderr) and stats, never a throw", async () => {
    class Failing extends InProcessAdapter {
      clustered = true;
      async sendTo() {
        throw new Error("redis is down");
      }
    }
    const hub = new Hub(null, { heartbeatInterval: 0, adapter: new Failing() });
    const errors = [];
    hub.on("error", (err) => errors.push(err.message));
    assert.equal(hub.send("elsewhere", "x"), "remote");
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(errors, ["redis is down"]);
    assert.equal(hub.stats().adapterErrors, 1);
    hub.removeAllListeners("error");
    const originalError = console.error;
    const lines = [];
    console.error = (line) => lines.push(line);
    try {
      hub.send("elsewhere", "x");
      await new Promise((r) => setImmediate(r));
    } finally {
      console.error = originalError;
    }
    assert.equal(lines.length, 1);
    assert.match(lines[0], /adapter error: redis is down/);
    await hub.close({ timeout: 0 });
  });

  it("messages from another node arrive through LocalDelivery and are framed once for the local recipients", async () => {
    let local;
    class Capture extends InProcessAdapter {
      clustered = true;
      bind(l) {
        local = l;
        super.bind(l);
      }
    }
    const hub = new Hub(null, { heartbeatInterval: 0, adapter: new Capture(), nodeId: "node-a" });
    assert.equal(local.nodeId, "node-a");
    const a = new FakeConnection();
    const b = new FakeConnection();
    hub.add(a);
    hub.add(b);
    hub.join(b, "r");
    const m = new OutgoingMessage(Buffer.from("from b"), false);
    assert.equal(local.deliverAll(m, null), 2);
    assert.equal(local.deliverRoom("r", m, new Set([a.id])), 1);
    assert.equal(local.deliverTo(a.id, m), "sent");
    assert.equal(local.deliverTo("nobody", m), "unknown");
    assert.equal(local.joinLocal(a.id, "s"), true);
    assert.deepEqual(hub.roomsOf(a), ["s"]);
    assert.equal(local.localCount, 2);
    assert.deepEqual(local.localMembers("r"), [b.id]);
    assert.deepEqual([...local.snapshot()].sort(), [[a.id, ["s"], null], [b.id, ["r"], null]].sort());
    assert.equal(local.disconnectLocal(a.id, 1001, ""), true);
    assert.equal(local.disconnectLocal(b.id, 1005, ""), false, "a bad code from another node is refused, not thrown");
    const states = [];
    hub.on("clusterState", (s) => states.push(s));
    local.adapterState(false);
    local.adapterState(true);
    assert.deepEqual(states, [false, true]);
    assert.equal(a.sent.length, 2);
    assert.equal(b.sent.length, 2);
    assert.equal(a.sent[0], b.sent[0]);
    await hub.close({ timeout: 0 });
  });
});
