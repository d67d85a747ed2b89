// WHATWG WebSockets — the close(code, reason) method steps and the closing of the connection.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { Blob } from "node:buffer";
import { WebSocket } from "../../dist/index.js";
import { startApiServer, openClient, recordEvents } from "./fixtures.mjs";
import { closed, withTimeout, sleep, waitFor } from "../helpers/index.mjs";

const isError = (name) => (e) => e instanceof DOMException && e.name === name;

describe("WHATWG WebSockets §close(code, reason)", () => {
  let srv;
  before(async () => (srv = await startApiServer()));
  after(() => srv.close());

  async function lastServerClose() {
    // The latest connection is this test's: once it is CLOSED, its close event is recorded.
    const sws = srv.connections.at(-1);
    await waitFor(() => sws.readyState === 3, "the server's close event", 3000);
    return srv.closes.at(-1);
  }

  it("step 1: a code other than 1000 or 3000-4999 throws InvalidAccessError (code 15), whatever the state", async () => {
    const ws = await openClient(srv.url + "/echo");
    for (const code of [0, 999, 1001, 1005, 1006, 1015, 2999, 5000, 65535, -1, Number.NaN]) {
      assert.throws(() => ws.close(code), (e) => isError("InvalidAccessError")(e) && e.code === 15, `code ${code}`);
    }
    assert.equal(ws.readyState, WebSocket.OPEN, "nothing happened");
    const c = closed(ws);
    ws.close(3000);
    await c;
    assert.throws(() => ws.close(1001), isError("InvalidAccessError"), "checked even when CLOSED");
  });

  it("step 1 (WebIDL [Clamp] unsigned short): 66536 clamps to 65535 (not 1000 modulo 2^16); null is 0; 4999.5 rounds to even 5000", async () => {
    const ws = await openClient(srv.url + "/echo");
    assert.throws(() => ws.close(66536), isError("InvalidAccessError"));
    assert.throws(() => ws.close(null), isError("InvalidAccessError"));
    assert.throws(() => ws.close(4999.5), isError("InvalidAccessError"));
    const c = closed(ws);
    ws.close(3000.5); // rounds half to even: 3000
    const ev = await c;
    assert.equal(ev.code, 3000);
  });

  it("step 2: a reason over 123 UTF-8 bytes throws SyntaxError; exactly 123 bytes is fine", async () => {
    const ws = await openClient(srv.url + "/echo");
    assert.throws(() => ws.close(1000, "x".repeat(124)), (e) => isError("SyntaxError")(e) && e.code === 12);
    assert.throws(() => ws.close(1000, "é".repeat(62)), isError("SyntaxError"), "62 × 2 bytes = 124");
    assert.throws(() => ws.close(4000, "😀".repeat(31)), isError("SyntaxError"), "31 × 4 bytes = 124");
    assert.equal(ws.readyState, WebSocket.OPEN);
    const reason = "é".repeat(61) + "x"; // 123 bytes
    const c = closed(ws);
    ws.close(4000, reason);
    const ev = await c;
    assert.deepEqual([ev.code, ev.reason, ev.wasClean], [4000, reason, true]);
    assert.deepEqual(await lastServerClose(), { code: 4000, reason, wasClean: true });
  });

  it("steps 1-2 order: an invalid code is reported before a too long reason", async () => {
    const ws = await openClient(srv.url + "/echo");
    assert.throws(() => ws.close(42, "x".repeat(200)), isError("InvalidAccessError"));
    const c = closed(ws);
    ws.close();
    await c;
  });

  it("step 3, closing handshake not started: start it, readyState CLOSING at once; the server sees the code and reason", async () => {
    const ws = await openClient(srv.url + "/echo");
    const events = recordEvents(ws);
    const c = closed(ws);
    ws.close(1000, "bye now");
    assert.equal(ws.readyState, WebSocket.CLOSING);
    const ev = await c;
    assert.deepEqual([ev.code, ev.reason, ev.wasClean], [1000, "bye now", true]);
    assert.deepEqual(await lastServerClose(), { code: 1000, reason: "bye now", wasClean: true });
    assert.deepEqual(events.map((e) => e.type), ["close"], "no error event on a clean close");
  });

  it("step 3: close() with neither code nor reason sends a close frame without a body (both sides see 1005)", async () => {
    const ws = await openClient(srv.url + "/echo");
    const c = closed(ws);
    ws.close();
    const ev = await c;
    assert.deepEqual([ev.code, ev.reason, ev.wasClean], [1005, "", true]);
    assert.equal((await lastServerClose()).code, 1005);
  });

  it("step 3: close(undefined, reason) — code missing (WebIDL: undefined is a missing optional argument) — sends 1000 with the reason", async () => {
    // Note: Chromium converts the undefined to 0 and throws InvalidAccessError here; we follow WebIDL and the spec.
    const ws = await openClient(srv.url + "/echo");
    const c = closed(ws);
    ws.close(undefined, "only a reason");
    const ev = await c;
    assert.deepEqual([ev.code, ev.reason], [1000, "only a reason"]);
    assert.equal((await lastServerClose()).reason, "only a reason");
  });

  it("step 3, CLOSING or CLOSED: a second close() does nothing (one close frame, the first code)", async () => {
    const ws = await openClient(srv.url + "/echo");
    const events = recordEvents(ws);
    const c = closed(ws);
    ws.close(4001, "first");
    ws.close(4002, "second");
    assert.equal(ws.readyState, WebSocket.CLOSING);
    const ev = await c;
    ws.close(4003, "third");
    assert.equal(ws.readyState, WebSocket.CLOSED);
    assert.deepEqual([ev.code, ev.reason], [4001, "first"]);
    assert.deepEqual(await lastServerClose(), { code: 4001, reason: "first", wasClean: true });
    await sleep(30); // nothing may happen: no second close event
    assert.equal(events.filter((e) => e.type === "close").length, 1, "one close event");
  });

  it("step 3, not yet established: fail the connection — readyState CLOSING at once, then error, close 1006, wasClean false, no open", async () => {
    const ws = new WebSocket(srv.url + "/echo");
    const events = recordEvents(ws);
    const c = closed(ws);
    ws.close(1000, "never mind");
    assert.equal(ws.readyState, WebSocket.CLOSING);
    const ev = await c;
    assert.deepEqual(events.map((e) => [e.type, e.readyState]), [
      ["error", 3],
      ["close", 3],
    ]);
    assert.deepEqual([ev.code, ev.reason, ev.wasClean], [1006, "", false]);
    await sleep(50); // nothing may happen: no open event
    assert.equal(events.length, 2, "no open event afterwards");
  });

  it("close() does not discard previously sent messages: a Blob still being read is sent before the close frame", async () => {
    srv.received.length = 0;
    const ws = await openClient(srv.url + "/sink");
    ws.send(new Blob(["blob before close"]));
    ws.send("text before close");
    const c = closed(ws);
    ws.close(1000, "after the blob");
    assert.equal(ws.readyState, WebSocket.CLOSING);
    const ev = await c;
    assert.equal(ev.code, 1000);
    assert.deepEqual(
      srv.received.map((d) => (typeof d === "string" ? d : Buffer.from(d).toString())),
      ["blob before close", "text before close"],
    );
  });

  it("a server-initiated close(4000, 'bye'): the client echoes it and both see 4000 'bye', wasClean true", async () => {
    const ws = new WebSocket(srv.url + "/close/4000/bye");
    const events = recordEvents(ws);
    const ev = await closed(ws);
    assert.deepEqual(events.map((e) => e.type), ["open", "close"]);
    assert.deepEqual([ev.code, ev.reason, ev.wasClean], [4000, "bye", true]);
    assert.deepEqual(await withTimeout(lastServerClose(), 4000, "server close"), { code: 4000, reason: "bye", wasClean: true });
  });

  it("server-side close() takes every code RFC 6455 §7.4 allows on the wire, throws RangeError for the others; second close is a no-op", async () => {
    const ws = await openClient(srv.url + "/echo");
    const sws = srv.connections.at(-1);
    for (const bad of [999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 1000.5, "1000"]) {
      assert.throws(() => sws.close(bad), RangeError, `code ${bad}`);
    }
    assert.throws(() => sws.close(1000, "x".repeat(124)), RangeError);
    assert.equal(sws.readyState, WebSocket.OPEN, "a refused close() changes nothing");
    const c = closed(ws);
    sws.close(4100, "server says bye");
    assert.equal(sws.readyState, WebSocket.CLOSING);
    sws.close(4200);
    const ev = await c;
    assert.deepEqual([ev.code, ev.reason, ev.wasClean], [4100, "server says bye", true]);
  });
});
