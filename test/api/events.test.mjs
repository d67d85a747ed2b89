// WHATWG WebSockets — "Feedback from the protocol" (the open, message, error and close events), the CloseEvent
// interface, and the event handler IDL attributes (HTML §8.1.8.1) of WebSocket.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { WebSocket, CloseEvent, HandshakeError, ProtocolError } from "../../dist/index.js";
import { startApiServer, openClient, recordEvents } from "./fixtures.mjs";
import { closed, startRawServer, nextEvent, serverFrame, closePayload, sleep } from "../helpers/index.mjs";

describe("WHATWG WebSockets §Feedback from the protocol — event objects", () => {
  let srv;
  before(async () => (srv = await startApiServer()));
  after(() => srv.close());

  it("connection established, step 4: open is a plain Event, not cancelable, target the WebSocket, readyState OPEN", async () => {
    const ws = new WebSocket(srv.url + "/echo");
    const ev = await nextEvent(ws, "open");
    assert.equal(ev.constructor, Event);
    assert.equal(ev.type, "open");
    assert.equal(ev.cancelable, false);
    assert.equal(ev.bubbles, false);
    assert.equal(ev.target, ws);
    assert.equal(ws.readyState, WebSocket.OPEN);
    const c = closed(ws);
    ws.close();
    await c;
  });

  it("message received, step 4: a MessageEvent with data and origin = the serialization of url's origin", async () => {
    const ws = await openClient(srv.url + "/echo");
    const m = nextEvent(ws, "message");
    ws.send("ping me");
    const ev = await m;
    assert.ok(ev instanceof MessageEvent);
    assert.equal(ev.constructor.name, "MessageEvent");
    assert.equal(ev.data, "ping me");
    assert.equal(ev.origin, srv.url);
    assert.equal(ev.lastEventId, "");
    assert.equal(ev.target, ws);
    const c = closed(ws);
    ws.close();
    await c;
  });

  it("connection closed, step 3: close is a CloseEvent (our class, Node 20 has none) with code, reason, wasClean", async () => {
    const ws = await openClient(srv.url + "/echo");
    const c = closed(ws);
    ws.close(4321, "reason ✓");
    const ev = await c;
    assert.ok(ev instanceof CloseEvent);
    assert.ok(ev instanceof Event);
    assert.equal(ev.constructor.name, "CloseEvent");
    assert.deepEqual([ev.type, ev.code, ev.reason, ev.wasClean], ["close", 4321, "reason ✓", true]);
  });

  it("CloseEvent(type, init): defaults wasClean false, code 0, reason ''; code is an unsigned short; read-only getters", () => {
    const d = new CloseEvent("close");
    assert.deepEqual([d.wasClean, d.code, d.reason], [false, 0, ""]);
    const e = new CloseEvent("close", { wasClean: true, code: 65536 + 1000, reason: "r", cancelable: true });
    assert.deepEqual([e.wasClean, e.code, e.reason, e.cancelable], [true, 1000, "r", true]);
    assert.equal(typeof Object.getOwnPropertyDescriptor(CloseEvent.prototype, "code").get, "function");
    assert.throws(() => {
      "use strict";
      e.code = 1;
    }, TypeError);
  });

  it("failed connection (handshake refused 403): error is a plain Event (Node extra: .error names the cause), then close 1006", async () => {
    const ws = new WebSocket(srv.url + "/refuse");
    const events = recordEvents(ws);
    const ev = await closed(ws);
    assert.deepEqual(events.map((e) => [e.type, e.readyState]), [
      ["error", 3],
      ["close", 3],
    ]);
    const err = events[0].ev;
    assert.equal(err.constructor, Event);
    assert.ok(err.error instanceof HandshakeError);
    assert.match(err.error.message, /403/);
    assert.equal(Object.keys(err).includes("error"), false, "the extra is not enumerable");
    assert.deepEqual([ev.code, ev.reason, ev.wasClean], [1006, "", false]);
  });

  it("failed connection (nothing listens on the port): error, then close 1006 wasClean false", async () => {
    const ws = new WebSocket("ws://127.0.0.1:1/");
    const events = recordEvents(ws);
    const ev = await closed(ws);
    assert.deepEqual(events.map((e) => e.type), ["error", "close"]);
    assert.deepEqual([ev.code, ev.wasClean], [1006, false]);
  });
});

/**
 * Connects a client to a raw server that runs `behave(socket)` after the opening handshake, and resolves once the
 * client has closed with { events } (recordEvents) and { ev } (its close event). The raw server is closed after.
 */
async function clientAgainstRaw(behave) {
  const raw = await startRawServer(behave);
  try {
    const ws = new WebSocket(raw.url);
    const events = recordEvents(ws);
    const ev = await closed(ws);
    return { events, ev };
  } finally {
    await raw.close();
  }
}

describe("WHATWG WebSockets §Feedback from the protocol — abnormal closures (raw TCP peer)", () => {
  it("the TCP connection lost without a close frame: close 1006, wasClean false, and no error event (not failed; as Chromium)", async () => {
    const { events, ev } = await clientAgainstRaw((socket) => {
      socket.write(serverFrame(0x1, "one message"));
      // Not waits: the peer's script spaces its writes so they arrive as separate packets.
      setTimeout(() => {
        socket.write(Buffer.from([0x82, 0x7e, 0x10])); // half a frame header, then the socket goes away
        setTimeout(() => socket.destroy(), 20);
      }, 20);
    });
    assert.deepEqual(events.map((e) => [e.type, e.readyState]), [
      ["open", 1],
      ["message", 1],
      ["close", 3],
    ]);
    assert.deepEqual([ev.code, ev.reason, ev.wasClean], [1006, "", false]);
  });

  it("the TCP connection reset: close 1006, wasClean false", async () => {
    // Not a wait: the peer resets the connection a little after the 101.
    const { ev } = await clientAgainstRaw((socket) => setTimeout(() => socket.resetAndDestroy(), 20));
    assert.deepEqual([ev.code, ev.wasClean], [1006, false]);
  });

  it("a protocol violation by the server (masked frame) fails the connection: error (with the ProtocolError), then close 1006", async () => {
    const { events, ev } = await clientAgainstRaw((socket) => socket.write(Buffer.from([0x81, 0x81, 1, 2, 3, 4, 0x61])));
    assert.deepEqual(events.map((e) => [e.type, e.readyState]), [
      ["open", 1],
      ["error", 3],
      ["close", 3],
    ]);
    assert.ok(events[1].ev.error instanceof ProtocolError);
    assert.equal(events[1].ev.error.closeCode, 1002);
    assert.deepEqual([ev.code, ev.wasClean], [1006, false]);
  });

  it("a close frame from the server and then TCP closed: close with its code and reason, wasClean true, no error", async () => {
    const { events, ev } = await clientAgainstRaw((socket) => {
      socket.write(serverFrame(0x8, closePayload(4500, "raw bye")));
      socket.once("data", () => setTimeout(() => socket.end(), 10)); // the peer ends TCP a little after the echo
    });
    assert.deepEqual(events.map((e) => e.type), ["open", "close"]);
    assert.deepEqual([ev.code, ev.reason, ev.wasClean], [4500, "raw bye", true]);
  });

  it("a message arriving after the server's close frame is not delivered (the parser stops at the close)", async () => {
    const { events } = await clientAgainstRaw((socket) => {
      socket.write(Buffer.concat([serverFrame(0x8, closePayload(1000)), serverFrame(0x1, "too late")]));
      socket.once("data", () => setTimeout(() => socket.end(), 10)); // the peer ends TCP a little after the echo
    });
    assert.deepEqual(events.map((e) => e.type), ["open", "close"]);
  });
});

describe("HTML §8.1.8.1 event handler IDL attributes: onopen, onmessage, onerror, onclose", () => {
  let srv;
  before(async () => (srv = await startApiServer()));
  after(() => srv.close());

  it("each handler is called with this = the WebSocket and the event; initial value null", async () => {
    const ws = new WebSocket(srv.url + "/echo");
    assert.deepEqual([ws.onopen, ws.onmessage, ws.onerror, ws.onclose], [null, null, null, null]);
    const seen = [];
    await new Promise((resolve) => {
      ws.onopen = function (ev) {
        seen.push(["open", this === ws, ev.type]);
        ws.send("hi");
      };
      ws.onmessage = function (ev) {
        seen.push(["message", this === ws, ev.data]);
        ws.close();
      };
      ws.onclose = function (ev) {
        seen.push(["close", this === ws, ev.code]);
        resolve();
      };
    });
    assert.deepEqual(seen, [
      ["open", true, "open"],
      ["message", true, "hi"],
      ["close", true, 1005],
    ]);
  });

  it("setting a handler replaces the previous one, which keeps its place among addEventListener listeners", () => {
    const ws = new WebSocket(srv.url + "/echo");
    const order = [];
    ws.addEventListener("message", () => order.push("A"));
    ws.onmessage = () => order.push("H1");
    ws.addEventListener("message", () => order.push("B"));
    const h2 = () => order.push("H2");
    ws.onmessage = h2;
    assert.equal(ws.onmessage, h2);
    ws.dispatchEvent(new MessageEvent("message", { data: 1 }));
    assert.deepEqual(order, ["A", "H2", "B"]);
    ws.close();
  });

  it("setting null removes the handler; setting one again adds it at the end of the listener list", () => {
    const ws = new WebSocket(srv.url + "/echo");
    const order = [];
    ws.onmessage = () => order.push("H1");
    ws.addEventListener("message", () => order.push("A"));
    ws.onmessage = null;
    assert.equal(ws.onmessage, null);
    ws.dispatchEvent(new MessageEvent("message"));
    ws.onmessage = () => order.push("H2");
    ws.dispatchEvent(new MessageEvent("message"));
    assert.deepEqual(order, ["A", "A", "H2"]);
    ws.close();
  });

  it("[LegacyTreatNonObjectAsNull]: a non-object value becomes null; an object is kept but not called", () => {
    const ws = new WebSocket(srv.url + "/echo");
    ws.onerror = () => {};
    ws.onerror = "alert(1)";
    assert.equal(ws.onerror, null);
    ws.onclose = 42;
    assert.equal(ws.onclose, null);
    const obj = { handleEvent: () => assert.fail("a handler object is not called") };
    ws.onmessage = obj;
    assert.equal(ws.onmessage, obj);
    assert.doesNotThrow(() => ws.dispatchEvent(new MessageEvent("message")));
    ws.close();
  });

  it("the event handler processing algorithm: returning false cancels the event (a cancelable one)", () => {
    const ws = new WebSocket(srv.url + "/echo");
    ws.onmessage = () => false;
    const ev = new Event("message", { cancelable: true });
    ws.dispatchEvent(ev);
    assert.equal(ev.defaultPrevented, true);
    ws.onmessage = () => 0;
    const ev2 = new Event("message", { cancelable: true });
    ws.dispatchEvent(ev2);
    assert.equal(ev2.defaultPrevented, false);
    ws.close();
  });

  it("handlers of one WebSocket are independent of another's and of other event types", () => {
    const a = new WebSocket(srv.url + "/echo");
    const b = new WebSocket(srv.url + "/echo");
    const seen = [];
    a.onmessage = () => seen.push("a");
    b.onmessage = () => seen.push("b");
    a.onclose = () => seen.push("a-close");
    a.dispatchEvent(new MessageEvent("message"));
    assert.deepEqual(seen, ["a"]);
    a.close();
    b.close();
  });
});

describe("Node extras on both sides: ping() and the ping/pong events", () => {
  let srv;
  before(async () => (srv = await startApiServer()));
  after(() => srv.close());

  it("a client ping() is answered by the server with a pong carrying the same payload; the server sees a ping event", async () => {
    const ws = await openClient(srv.url + "/echo");
    const sws = srv.connections.at(-1);
    const sping = nextEvent(sws, "ping");
    const pong = nextEvent(ws, "pong");
    ws.ping("heartbeat");
    assert.equal((await sping).data.toString(), "heartbeat");
    assert.equal((await pong).data.toString(), "heartbeat");
    const connecting = new WebSocket(srv.url + "/echo");
    assert.throws(() => connecting.ping(), (e) => e.name === "InvalidStateError");
    const connectingClosed = closed(connecting);
    connecting.close();
    const c = closed(ws);
    ws.close();
    await c;
    await connectingClosed;
  });
});
