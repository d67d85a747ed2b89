/**
 * The Hub's methods (issue 4, Build): registry under UUIDs, send / broadcast / publish with their results, rooms,
 * typed user data, frame-once delivery, idle timeout, options, adapter seam, stats and Prometheus text, close().
 * Every test runs a real server and real clients over loopback.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, get as httpGet } from "node:http";
import { Hub, HUB_DEFAULTS, InProcessAdapter, OutgoingMessage, WebSocket, WebSocketServer } from "../../dist/index.js";
import { withTimeout, startServer, nextEvent, messageQueue, rawConnect, waitFor, FakeClock } from "../helpers/index.mjs";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Server + hub; `clients(n)` opens n clients and resolves once the hub holds them. */
async function setup(hubOptions = {}, serverOptions = {}) {
  const wss = await startServer(serverOptions);
  const hub = new Hub(wss, hubOptions);
  const opened = [];
  const connect = async (path = "/") => {
    const registered = nextEvent(hub, "connection");
    const ws = new WebSocket(wss.url.replace(/\/$/, path));
    ws.binaryType = "nodebuffer";
    opened.push(ws);
    await nextEvent(ws, "open");
    const serverSide = await registered;
    return { ws, server: serverSide, inbox: messageQueue(ws) };
  };
  const clients = async (n) => {
    const out = [];
    for (let i = 0; i < n; i++) out.push(await connect());
    return out;
  };
  const stop = async () => {
    for (const ws of opened) if (ws.readyState < 2) ws.terminate();
    await withTimeout(hub.close({ timeout: 1000 }), 5000, "hub.close");
    await withTimeout(wss.close({ timeout: 1000 }), 5000, "wss.close");
  };
  return { wss, hub, connect, clients, stop };
}

describe("Hub registry: every connection under its UUID", () => {
  it("registers on open, get/has/size/iteration/ids, removes on close with the close code", async () => {
    const t = await setup();
    try {
      const [a, b, c] = await t.clients(3);
      assert.equal(t.hub.size, 3);
      for (const x of [a, b, c]) {
        assert.match(x.server.id, UUID);
        assert.equal(t.hub.has(x.server.id), true);
        assert.equal(t.hub.get(x.server.id), x.server);
      }
      assert.deepEqual(new Set([...t.hub].map((ws) => ws.id)), new Set([a.server.id, b.server.id, c.server.id]));
      assert.deepEqual(new Set(t.hub.ids()), new Set([a.server.id, b.server.id, c.server.id]));
      assert.equal([...t.hub.connections()].length, 3);
      assert.equal(t.hub.has("no-such-id"), false);
      assert.equal(t.hub.get("no-such-id"), undefined);

      const gone = new Promise((resolve) => t.hub.once("disconnect", (ws, code, reason) => resolve({ ws, code, reason })));
      b.ws.close(4000, "bye");
      const d = await withTimeout(gone, 5000, "disconnect");
      assert.equal(d.ws, b.server);
      assert.equal(d.code, 4000);
      assert.equal(d.reason, "bye");
      assert.equal(t.hub.size, 2);
      assert.equal(t.hub.has(b.server.id), false);

      // An abrupt end (no close frame) is reported as 1006.
      const gone2 = new Promise((resolve) => t.hub.once("disconnect", (ws, code) => resolve(code)));
      c.ws.terminate();
      assert.equal(await withTimeout(gone2, 5000, "disconnect"), 1006);
      assert.equal(t.hub.size, 1);
    } finally {
      await t.stop();
    }
  });

  it("typed user data set by the authenticate hook is on ws.data", async () => {
    const t = await setup({}, {
      authenticate: ({ url }) => {
        const user = url.searchParams.get("user");
        return user ? { accept: true, data: { user, joined: 1 } } : { accept: false, status: 401 };
      },
    });
    try {
      const a = await t.connect("/?user=alice");
      assert.deepEqual(t.hub.get(a.server.id).data, { user: "alice", joined: 1 });
    } finally {
      await t.stop();
    }
  });

  it("attach() registers connections that were open before the hub existed; add() refuses duplicates; detach()", async () => {
    const wss = await startServer();
    const ws = new WebSocket(wss.url);
    const [serverSide] = await Promise.all([nextEvent(wss, "connection"), nextEvent(ws, "open")]);
    const hub = new Hub(null, { heartbeatInterval: 0 });
    try {
      assert.equal(hub.size, 0);
      hub.attach(wss);
      assert.equal(hub.size, 1);
      assert.equal(hub.has(serverSide.id), true);
      assert.equal(hub.add(serverSide), false);
      assert.throws(() => hub.attach(new WebSocketServer({ noServer: true })), /already attached/);
      hub.detach();
      // The server's connection event has run every listener (a hub registers in one) once it is seen here.
      const accepted = nextEvent(wss, "connection");
      const ws2 = new WebSocket(wss.url);
      await nextEvent(ws2, "open");
      await accepted;
      assert.equal(hub.size, 1, "a detached hub registers nothing new");
      ws2.terminate();
    } finally {
      ws.terminate();
      await hub.close({ timeout: 500 });
      await wss.close({ timeout: 500 });
    }
  });
});

describe("Hub send / broadcast", () => {
  it("send(id) delivers text and binary; 'unknown' for an unknown id; 'closed' for a closing connection", async () => {
    const t = await setup();
    try {
      const [a, b] = await t.clients(2);
      assert.equal(t.hub.send(a.server.id, "hello"), "sent");
      assert.equal(await a.inbox.next(), "hello");
      assert.equal(t.hub.send(a.server, Buffer.from([1, 2, 3])), "sent");
      assert.deepEqual(await a.inbox.next(), Buffer.from([1, 2, 3]));
      assert.equal(t.hub.send(a.server, "as binary", { binary: true }), "sent");
      assert.deepEqual(await a.inbox.next(), Buffer.from("as binary"));
      assert.equal(t.hub.send("00000000-0000-4000-8000-000000000000", "x"), "unknown");
      b.server.close(1000);
      assert.equal(t.hub.send(b.server.id, "late"), "closed");
      const st = t.hub.stats();
      assert.equal(st.messagesOut, 3);
    } finally {
      await t.stop();
    }
  });

  it("send() reports 'backpressure' past maxBufferedBytes; sendAsync() waits for the drain and resolves 'sent'", async () => {
    const t = await setup({ maxBufferedBytes: 64 * 1024 });
    try {
      const [a] = await t.clients(1);
      const big = Buffer.alloc(1024 * 1024, 7);
      assert.equal(t.hub.send(a.server.id, big), "backpressure");
      assert.ok(t.hub.bufferedAmount(a.server.id) > 64 * 1024);
      const r = await withTimeout(t.hub.sendAsync(a.server.id, big), 10_000, "sendAsync");
      assert.equal(r, "sent");
      assert.ok(t.hub.bufferedAmount(a.server.id) <= 64 * 1024 + big.length);
      assert.equal((await a.inbox.next()).length, big.length);
      assert.equal((await a.inbox.next()).length, big.length);
      assert.equal(await t.hub.drain("unknown-id"), false);
      assert.equal(t.hub.bufferedAmount("unknown-id"), undefined);
      assert.equal(await t.hub.sendAsync("unknown-id", "x"), "unknown");
    } finally {
      await t.stop();
    }
  });

  it("broadcast() reaches everyone, honours except (connection, id, list), returns the recipient count", async () => {
    const t = await setup();
    try {
      const [a, b, c] = await t.clients(3);
      assert.equal(t.hub.broadcast("all"), 3);
      for (const x of [a, b, c]) assert.equal(await x.inbox.next(), "all");
      assert.equal(t.hub.broadcast("not a", { except: a.server }), 2);
      assert.equal(t.hub.broadcast("not b", { except: b.server.id }), 2);
      assert.equal(t.hub.broadcast(new Uint8Array([9]), { except: [a.server, c.server.id] }), 1);
      assert.equal(await a.inbox.next(), "not b");
      assert.equal(await b.inbox.next(), "not a");
      assert.deepEqual(await b.inbox.next(), Buffer.from([9]));
      assert.equal(await c.inbox.next(), "not a");
      assert.equal(await c.inbox.next(), "not b");
    } finally {
      await t.stop();
    }
  });

  it("broadcast and publish frame the message once: every socket gets the very same Buffer objects", async () => {
    // Without permessage-deflate (with it, messages from the threshold up are compressed once and shared:
    // test/deflate/hub-broadcast.test.mjs).
    const t = await setup({}, { perMessageDeflate: false });
    try {
      const peers = await t.clients(4);
      const written = peers.map(() => []);
      peers.forEach((p, i) => {
        const socket = p.server._transport.socket;
        const write = socket.write;
        socket.write = function (chunk, ...rest) {
          written[i].push(chunk);
          return write.call(this, chunk, ...rest);
        };
      });
      // Small message: header and payload in one buffer, built once.
      t.hub.broadcast("small");
      const first = written.map((w) => w.at(-1));
      for (const chunk of first) assert.equal(chunk, first[0], "same Buffer object for every recipient");
      assert.deepEqual(Buffer.from(first[0]), Buffer.from([0x81, 5, ...Buffer.from("small")]));
      // Large message: a shared header, and the caller's payload itself (no copy).
      const big = Buffer.alloc(100_000, 3);
      for (const p of peers) t.hub.join(p.server, "r");
      t.hub.publish("r", big);
      for (const w of written) {
        assert.equal(w.at(-1), big, "payload written without a copy");
        assert.equal(w.at(-2), written[0].at(-2), "one header for all");
      }
      for (const p of peers) {
        assert.equal(await p.inbox.next(), "small");
        assert.deepEqual(await p.inbox.next(), big);
      }
    } finally {
      await t.stop();
    }
  });
});

describe("Hub with permessage-deflate (RFC 7692 §6: uncompressed messages stay valid)", () => {
  it("hub sends keep their order behind ws.send() messages still being compressed", async () => {
    const t = await setup({}, { perMessageDeflate: true });
    try {
      const ws = new WebSocket(t.wss.url, [], { perMessageDeflate: true });
      ws.binaryType = "nodebuffer";
      const registered = nextEvent(t.hub, "connection");
      const inbox = messageQueue(ws);
      await nextEvent(ws, "open");
      const server = await registered;
      assert.match(ws.extensions, /permessage-deflate/);
      const big = "compress me ".repeat(20_000);
      server.send(big); // queued for zlib
      assert.equal(t.hub.send(server.id, "after the big one"), "sent");
      t.hub.broadcast(Buffer.alloc(70_000, 1));
      assert.equal(await inbox.next(), big);
      assert.equal(await inbox.next(), "after the big one");
      assert.deepEqual(await inbox.next(), Buffer.alloc(70_000, 1));
      ws.close();
    } finally {
      await t.stop();
    }
  });
});

describe("Hub rooms", () => {
  it("join/leave/publish/roomsOf/members/roomSize/rooms/roomCount; empty rooms are freed", async () => {
    const t = await setup();
    try {
      const [a, b, c] = await t.clients(3);
      assert.equal(t.hub.join(a.server, "red"), true);
      assert.equal(t.hub.join(a.server.id, "red"), false, "already a member");
      assert.equal(t.hub.join(b.server.id, "red"), true);
      assert.equal(t.hub.join(b.server, "blue"), true);
      assert.equal(t.hub.join("unknown-id", "red"), false);
      assert.deepEqual(t.hub.roomsOf(a.server).sort(), ["red"]);
      assert.deepEqual(t.hub.roomsOf(b.server.id).sort(), ["blue", "red"]);
      assert.deepEqual(t.hub.roomsOf(c.server), []);
      assert.deepEqual(new Set(t.hub.members("red")), new Set([a.server, b.server]));
      assert.deepEqual(t.hub.members("nowhere"), []);
      assert.equal(t.hub.roomSize("red"), 2);
      assert.equal(t.hub.roomSize("nowhere"), 0);
      assert.deepEqual(t.hub.rooms().sort(), ["blue", "red"]);
      assert.equal(t.hub.roomCount, 2);
      assert.equal(t.hub.hasRoom("red"), true);

      assert.equal(t.hub.publish("red", "to red"), 2);
      assert.equal(t.hub.publish("red", "red but a", { except: a.server }), 1);
      assert.equal(t.hub.publish("blue", "to blue"), 1);
      assert.equal(t.hub.publish("nowhere", "x"), 0);
      assert.equal(await a.inbox.next(), "to red");
      assert.equal(await b.inbox.next(), "to red");
      assert.equal(await b.inbox.next(), "red but a");
      assert.equal(await b.inbox.next(), "to blue");

      assert.equal(t.hub.leave(b.server, "blue"), true);
      assert.equal(t.hub.leave(b.server, "blue"), false);
      assert.equal(t.hub.hasRoom("blue"), false, "an empty room is freed");
      assert.equal(t.hub.roomCount, 1);
      t.hub.join(c.server, "green");
      t.hub.join(c.server, "red");
      assert.equal(t.hub.leaveAll(c.server), 2);
      assert.equal(t.hub.hasRoom("green"), false);
      assert.equal(t.hub.stats().roomMemberships, 2);

      // A closing connection leaves all its rooms.
      t.hub.join(a.server, "solo");
      const gone = nextEvent(t.hub, "disconnect");
      a.ws.close();
      await gone;
      assert.equal(t.hub.hasRoom("solo"), false);
      assert.deepEqual(t.hub.members("red"), [b.server]);
      const st = t.hub.stats();
      assert.equal(st.rooms, 1);
      assert.equal(st.roomMemberships, 1);
    } finally {
      await t.stop();
    }
  });
});

describe("Hub idle timeout", () => {
  it("closes a connection with no data messages for idleTimeout (1000 'idle timeout'); an active one is kept", async () => {
    // On a fake clock: each step of idleTimeout / 4 (the sweep's resolution) is one advance, and the active
    // client's message of that step reaches the hub before it. The sweep closes synchronously in advance().
    const IDLE = 300;
    const clock = new FakeClock();
    const t = await setup({ idleTimeout: IDLE, heartbeatInterval: 0, clock });
    try {
      const [idle, active] = await t.clients(2);
      const closed = nextEvent(idle.ws, "close", 3000);
      const started = clock.now();
      while (idle.server.readyState === WebSocket.OPEN && clock.now() - started < 4 * IDLE) {
        const tick = nextEvent(t.hub, "message");
        active.ws.send("tick");
        await tick;
        clock.advance(IDLE / 4);
      }
      const elapsed = clock.now() - started;
      const ev = await closed;
      assert.equal(ev.code, 1000);
      assert.equal(ev.reason, "idle timeout");
      assert.ok(elapsed >= IDLE && elapsed <= IDLE + IDLE / 4, `closed after ${elapsed} ms of fake time`);
      assert.equal(active.ws.readyState, WebSocket.OPEN);
      assert.equal(t.hub.stats().idleClosed, 1);
    } finally {
      await t.stop();
    }
  });
});

describe("Hub options", () => {
  it("HUB_DEFAULTS documents the defaults; bad values throw", () => {
    assert.deepEqual({ ...HUB_DEFAULTS }, {
      heartbeatInterval: 30_000,
      heartbeatTimeout: 10_000,
      idleTimeout: 0,
      maxBufferedBytes: 4 * 1024 * 1024,
      slowConsumerPolicy: "drop",
      closeTimeout: 5_000,
    });
    assert.throws(() => new Hub(null, { heartbeatInterval: 100, heartbeatTimeout: 200 }), RangeError);
    assert.throws(() => new Hub(null, { maxBufferedBytes: 0 }), RangeError);
    assert.throws(() => new Hub(null, { idleTimeout: -1 }), RangeError);
    assert.throws(() => new Hub(null, { slowConsumerPolicy: "block" }), TypeError);
    assert.throws(() => new Hub(null, { clock: { now: () => 0 } }), /clock must have a setTimeout\(\) method/);
    const hub = new Hub(null, { heartbeatInterval: 0, heartbeatTimeout: 99999, maxBufferedBytes: Infinity });
    assert.equal(hub.options.heartbeatInterval, 0);
    assert.equal(hub.options.maxBufferedBytes, Infinity);
    // RFC 6455 §5.5: the close payload (code + reason) must fit a 125-byte control frame.
    assert.throws(() => hub.close({ reason: "x".repeat(124) }), RangeError);
    assert.equal(hub.closing, false);
  });
});

describe("Hub adapter seam", () => {
  it("local delivery first, then the clustered adapter forwards broadcast and publish with the framed-once message", async () => {
    const calls = [];
    class RecordingAdapter extends InProcessAdapter {
      clustered = true;
      connectionOpened(id) { calls.push(["opened", id]); }
      roomJoined(id, room) { calls.push(["joined", id, room]); }
      connectionClosed(id, rooms) { calls.push(["closed", id, rooms]); }
      broadcast(message, except) {
        calls.push(["broadcast", Buffer.from(message.payload).toString(), except && [...except]]);
      }
      publish(room, message, except) {
        calls.push(["publish", room, Buffer.from(message.payload).toString(), except && [...except]]);
      }
      async sendTo(id, message) {
        calls.push(["sendTo", id, message.binary]);
        return "sent";
      }
      async close() {
        calls.push(["close"]);
      }
    }
    const t = await setup({ adapter: new RecordingAdapter() });
    const [a] = await t.clients(1);
    const id = a.server.id;
    assert.equal(t.hub.broadcast("b", { except: "x" }), 1);
    t.hub.join(a.server, "r");
    assert.equal(t.hub.publish("r", "p"), 1);
    assert.equal(t.hub.send(id, new Uint8Array(2)), "sent", "a local id is written at once, not forwarded");
    assert.equal(t.hub.send("elsewhere", new Uint8Array(2)), "remote");
    assert.equal(await t.hub.sendAsync("elsewhere", "x"), "sent", "sendAsync resolves with the adapter's answer");
    assert.equal(await a.inbox.next(), "b");
    assert.equal(await a.inbox.next(), "p");
    await t.stop();
    assert.deepEqual(calls, [
      ["opened", id],
      ["broadcast", "b", ["x"]],
      ["joined", id, "r"],
      ["publish", "r", "p", null],
      ["sendTo", "elsewhere", true],
      ["sendTo", "elsewhere", false],
      ["closed", id, ["r"]],
      ["close"],
    ]);
    const m = OutgoingMessage.from("é");
    assert.equal(m.binary, false);
    assert.deepEqual(Buffer.from(m.frame), Buffer.from([0x81, 2, 0xc3, 0xa9]));
    assert.equal(m.frameLength, 4);
  });

  it("the in-process adapter forwards nothing: send() to an unknown id is 'unknown', never 'remote'", async () => {
    const t = await setup();
    try {
      assert.equal(t.hub.adapter.clustered, false);
      assert.equal(t.hub.send("nobody", "x"), "unknown");
      assert.equal(await t.hub.sendAsync("nobody", "x"), "unknown");
    } finally {
      await t.stop();
    }
  });
});

describe("Hub stats and Prometheus text", () => {
  it("counts connections, messages and bytes; serves metrics() at an HTTP path", async () => {
    const t = await setup();
    const http = createServer((req, res) => {
      if (!handler(req, res)) {
        res.writeHead(404);
        res.end();
      }
    });
    const handler = t.hub.metricsHandler({ path: "/metrics", labels: { instance: "t1" } });
    try {
      const [a, b] = await t.clients(2);
      a.ws.send("one");
      a.ws.send("two");
      await waitFor(() => t.hub.stats().messagesIn === 2, "messagesIn", 3000);
      t.hub.broadcast("x");
      await a.inbox.next();
      await b.inbox.next();
      const st = t.hub.stats();
      assert.equal(st.connections, 2);
      assert.equal(st.connectionsTotal, 2);
      assert.equal(st.messagesIn, 2);
      assert.equal(st.messagesOut, 2);
      assert.ok(st.bytesIn > 0 && st.bytesOut > 0);
      assert.equal(st.dropped, 0);

      await new Promise((r) => http.listen(0, "127.0.0.1", r));
      const { port } = http.address();
      const fetchText = (path) =>
        withTimeout(
          new Promise((resolve, reject) => {
            httpGet({ host: "127.0.0.1", port, path }, (res) => {
              let body = "";
              res.setEncoding("utf8").on("data", (c) => (body += c)).on("end", () => resolve({ status: res.statusCode, type: res.headers["content-type"], body }));
            }).on("error", reject);
          }),
          5000,
          "GET " + path,
        );
      const r = await fetchText("/metrics");
      assert.equal(r.status, 200);
      assert.match(r.type, /^text\/plain; version=0\.0\.4/);
      assert.match(r.body, /^# HELP wshub_connections /m);
      assert.match(r.body, /^# TYPE wshub_connections gauge$/m);
      assert.match(r.body, /^wshub_connections\{instance="t1"\} 2$/m);
      assert.match(r.body, /^wshub_messages_received_total\{instance="t1"\} 2$/m);
      assert.match(r.body, /^wshub_messages_dropped_total\{instance="t1"\} 0$/m);
      assert.equal((await fetchText("/other")).status, 404);
      assert.match(t.hub.metrics(), /^wshub_rooms 0$/m);
    } finally {
      http.close();
      await t.stop();
    }
  });
});

describe("Hub close(): graceful shutdown", () => {
  it("delivers what send() accepted, then 1001 to everyone; resolves with no connection left; later calls are no-ops", async () => {
    const t = await setup();
    const peers = await t.clients(5);
    const closes = peers.map((p) => nextEvent(p.ws, "close", 5000));
    for (const p of peers) t.hub.send(p.server.id, "last words");
    const done = t.hub.close({ code: 1001, reason: "maintenance", timeout: 2000 });
    assert.equal(t.hub.close(), done, "the same promise");
    assert.equal(t.hub.broadcast("after close"), 0);
    await withTimeout(done, 5000, "hub.close");
    assert.equal(t.hub.size, 0);
    for (const [i, p] of peers.entries()) {
      assert.equal(await p.inbox.next(), "last words");
      const ev = await closes[i];
      assert.equal(ev.code, 1001);
      assert.equal(ev.reason, "maintenance");
    }
    await t.wss.close({ timeout: 500 });
  });

  it("destroys peers that do not answer the close within the timeout", async () => {
    const t = await setup();
    // A raw peer that reads but never answers the close frame.
    const registered = nextEvent(t.hub, "connection");
    const { socket } = await rawConnect(t.wss.address().port);
    socket.on("data", () => {});
    socket.on("error", () => {});
    await registered;
    const ended = new Promise((r) => socket.once("close", r));
    const started = Date.now();
    await withTimeout(t.hub.close({ timeout: 300 }), 5000, "hub.close");
    const elapsed = Date.now() - started;
    assert.equal(t.hub.size, 0);
    assert.ok(elapsed >= 290 && elapsed < 2000, `closed in ${elapsed} ms`);
    await withTimeout(ended, 2000, "raw socket closed by the server");
    await t.wss.close({ timeout: 500 });
  });
});

