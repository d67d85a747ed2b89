// WHATWG WebSockets — readyState: CONNECTING → OPEN → CLOSING → CLOSED, changed by the spec's steps in order.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { WebSocket } from "../../dist/index.js";
import { startApiServer, openClient, recordEvents } from "./fixtures.mjs";
import { closed, startRawServer, serverFrame, closePayload, sleep, waitFor } from "../helpers/index.mjs";

describe("WHATWG WebSockets §readyState", () => {
  let srv;
  before(async () => (srv = await startApiServer()));
  after(() => srv.close());

  it("constructor: CONNECTING (0) until the connection is established", async () => {
    const ws = new WebSocket(srv.url + "/echo");
    assert.equal(ws.readyState, 0);
    await sleep(0); // one turn of the event loop; nothing may happen yet (still CONNECTING)
    const events = recordEvents(ws);
    await new Promise((r) => ws.addEventListener("open", r, { once: true }));
    assert.deepEqual(events.map((e) => [e.type, e.readyState]), [["open", 1]]);
    const c = closed(ws);
    ws.close();
    await c;
  });

  it("connection established, step 1: readyState is OPEN (1) before open fires, and stays OPEN for messages", async () => {
    const ws = await openClient(srv.url + "/echo");
    const events = recordEvents(ws);
    ws.send("a");
    await new Promise((r) => ws.addEventListener("message", r, { once: true }));
    assert.deepEqual(events.map((e) => [e.type, e.readyState]), [["message", 1]]);
    const c = closed(ws);
    ws.close();
    await c;
  });

  it("close() step 3: CLOSING (2) synchronously; connection closed step 1: CLOSED (3) before close fires", async () => {
    const ws = await openClient(srv.url + "/echo");
    const events = recordEvents(ws);
    const c = closed(ws);
    ws.close();
    assert.equal(ws.readyState, 2);
    await c;
    assert.deepEqual(events.map((e) => [e.type, e.readyState]), [["close", 3]]);
    assert.equal(ws.readyState, 3);
  });

  it("closing handshake started by the server: CLOSING (2) when its close frame arrives, CLOSED (3) when TCP closes", async () => {
    let release;
    const raw = await startRawServer((socket) => {
      socket.write(serverFrame(0x8, closePayload(4000, "bye")));
      release = () => socket.end(); // keep TCP open until the test has looked at readyState
    });
    try {
      const ws = new WebSocket(raw.url);
      const c = closed(ws);
      await new Promise((r) => ws.addEventListener("open", r, { once: true }));
      await waitFor(() => ws.readyState !== 1, "the server's close frame", 3000);
      assert.equal(ws.readyState, 2, "CLOSING while the server keeps TCP open");
      await sleep(50); // nothing may happen: still CLOSING while the server keeps TCP open
      assert.equal(ws.readyState, 2);
      release();
      const ev = await c;
      assert.equal(ws.readyState, 3);
      assert.deepEqual([ev.code, ev.reason, ev.wasClean], [4000, "bye", true]);
    } finally {
      await raw.close();
    }
  });

  it("message received, step 1: a message arriving while CLOSING is not delivered", async () => {
    const ws = await openClient(srv.url + "/echo");
    const events = recordEvents(ws);
    ws.send("echo me");
    const c = closed(ws);
    ws.close(); // the echo arrives after this: not OPEN any more
    await c;
    assert.deepEqual(events.map((e) => e.type), ["close"]);
  });

  it("fail while CONNECTING (close()): CLOSING (2) at once, CLOSED (3) for error and close", async () => {
    const ws = new WebSocket(srv.url + "/echo");
    const events = recordEvents(ws);
    const c = closed(ws);
    ws.close();
    assert.equal(ws.readyState, 2);
    await c;
    assert.deepEqual(events.map((e) => [e.type, e.readyState]), [
      ["error", 3],
      ["close", 3],
    ]);
  });

  it("refused handshake: CONNECTING until it fails, then CLOSED (3) at error and close", async () => {
    const ws = new WebSocket(srv.url + "/refuse");
    assert.equal(ws.readyState, 0);
    const events = recordEvents(ws);
    await closed(ws);
    assert.deepEqual(events.map((e) => [e.type, e.readyState]), [
      ["error", 3],
      ["close", 3],
    ]);
  });

  it("server-side connections: OPEN (1) in the connection handler, CLOSING after close(), CLOSED at close", async () => {
    const ws = await openClient(srv.url + "/echo");
    const sws = srv.connections.at(-1);
    assert.equal(sws.readyState, 1);
    const events = recordEvents(sws);
    const c = closed(ws);
    sws.close(1000);
    assert.equal(sws.readyState, 2);
    await c;
    await waitFor(() => events.length > 0, "the server-side close event");
    assert.deepEqual(events.map((e) => [e.type, e.readyState]), [["close", 3]]);
  });

  it("server-side: a client that vanishes gives CLOSED (3) with close 1006 and no error event", async () => {
    const ws = await openClient(srv.url + "/echo");
    const sws = srv.connections.at(-1);
    const events = recordEvents(sws);
    const c = closed(sws);
    ws.terminate();
    const ev = await c;
    assert.deepEqual(events.map((e) => [e.type, e.readyState]), [["close", 3]]);
    assert.deepEqual([ev.code, ev.wasClean], [1006, false]);
  });
});
