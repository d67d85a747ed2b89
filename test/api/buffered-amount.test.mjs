// WHATWG WebSockets — the bufferedAmount attribute: application bytes queued by send() and not yet transmitted to
// the network (no framing overhead), which keep counting once the closing handshake has started.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { Blob } from "node:buffer";
import { WebSocket } from "../../dist/index.js";
import { startApiServer, openClient, closeAndWait } from "./fixtures.mjs";
import { closed, withTimeout, sleep, waitFor } from "../helpers/index.mjs";

/** Resolves once `ws.bufferedAmount` is 0; rejects after `ms`. */
const drained = (ws, ms = 10_000) => waitFor(() => ws.bufferedAmount === 0, "bufferedAmount 0", ms);

describe("WHATWG WebSockets §bufferedAmount", () => {
  let srv;
  before(async () => (srv = await startApiServer()));
  after(() => srv.close());

  it("is 0 while CONNECTING, and a send() that throws there adds nothing", async () => {
    const ws = new WebSocket(srv.url + "/sink");
    assert.equal(ws.bufferedAmount, 0);
    assert.throws(() => ws.send("x"));
    assert.equal(ws.bufferedAmount, 0);
    await withTimeout(new Promise((r) => (ws.onopen = r)), 5000, "open");
    assert.equal(ws.bufferedAmount, 0);
    await closeAndWait(ws);
  });

  it("send() steps: a string adds its UTF-8 byte length (not its UTF-16 length), without framing", async () => {
    const ws = await openClient(srv.url + "/sink");
    ws.send("héllo✓"); // 1 + 2 + 1 + 1 + 1 + 3
    assert.equal(ws.bufferedAmount, 9);
    ws.send("😀"); // 4 bytes, 2 UTF-16 units
    assert.equal(ws.bufferedAmount, 13);
    ws.send("");
    assert.equal(ws.bufferedAmount, 13);
    await drained(ws);
    await closeAndWait(ws);
  });

  it("send() steps: ArrayBuffer, views (their byteLength) and Blobs (their size) add up within a task", async () => {
    const ws = await openClient(srv.url + "/sink");
    ws.send(new ArrayBuffer(10));
    ws.send(new Uint32Array(4).subarray(1)); // 12 bytes
    ws.send(new DataView(new ArrayBuffer(100), 10, 5));
    ws.send(new Blob(["abc", new Uint8Array(7)])); // 10 bytes
    ws.send(Buffer.alloc(300));
    assert.equal(ws.bufferedAmount, 10 + 12 + 5 + 10 + 300);
    await drained(ws);
    await srv.waitReceived(5);
    await closeAndWait(ws);
  });

  it("decreases to 0 once the data is transmitted; pings and close frames never count", async () => {
    const ws = await openClient(srv.url + "/echo");
    ws.send("x".repeat(1000));
    ws.ping("p");
    assert.equal(ws.bufferedAmount, 1000);
    await drained(ws);
    ws.ping("only a ping");
    assert.equal(ws.bufferedAmount, 0);
    await closeAndWait(ws);
  });

  it("counts data the kernel would not take yet (peer not reading), then drains to 0 when the peer reads", async () => {
    srv.received.length = 0;
    // Without compression, so that every byte has to cross TCP.
    const ws = await openClient(srv.url + "/sink", [], { perMessageDeflate: false });
    assert.equal(ws.extensions, "");
    const sws = srv.connections.at(-1);
    sws._transport.socket.pause(); // the server stops reading: TCP buffers fill up
    const chunk = new Uint8Array(1 << 20);
    const n = 48;
    for (let i = 0; i < n; i++) ws.send(chunk);
    assert.equal(ws.bufferedAmount, n << 20);
    // A sleep to assert that something does not happen: while the server reads nothing, the count does not
    // reach 0 (the kernel takes what its buffers hold, the rest stays queued).
    await sleep(200);
    const stuck = ws.bufferedAmount;
    assert.ok(stuck > 0 && stuck <= n << 20, `some data is still queued (${stuck})`);
    assert.equal(stuck % (1 << 20), 0, "whole messages leave the count (no framing bytes in it)");
    sws._transport.socket.resume();
    await drained(ws, 20_000);
    await srv.waitReceived(n, 20_000);
    await closeAndWait(ws);
  });

  it("with permessage-deflate: counts the uncompressed payload (application data), including messages waiting for zlib", async () => {
    srv.received.length = 0;
    const ws = await openClient(srv.url + "/sink");
    assert.match(ws.extensions, /permessage-deflate/);
    const text = "compressible ".repeat(20_000); // 260,000 bytes
    ws.send(text);
    ws.send("small");
    ws.send(new Uint8Array(100_000));
    assert.equal(ws.bufferedAmount, 260_000 + 5 + 100_000);
    await drained(ws);
    const got = await srv.waitReceived(3);
    assert.equal(got[0], text, "the order and content survive compression");
    assert.equal(got[1], "small");
    assert.equal(got[2].length, 100_000);
    await closeAndWait(ws);
  });

  it("send() steps: after close() the data is not sent, yet bufferedAmount grows by its size and never goes down", async () => {
    srv.received.length = 0;
    const ws = await openClient(srv.url + "/sink");
    const c = closed(ws);
    ws.close();
    ws.send("12345");
    ws.send(new Uint8Array(10));
    ws.send(new Blob(["abc"]));
    assert.equal(ws.bufferedAmount, 18);
    await c;
    assert.equal(ws.readyState, WebSocket.CLOSED);
    ws.send("after CLOSED");
    assert.equal(ws.bufferedAmount, 18 + 12);
    await sleep(30); // nothing may happen: the count never goes down after close
    assert.equal(ws.bufferedAmount, 30);
    assert.equal(srv.received.length, 0);
  });

  it("server-side connections count the same way", async () => {
    const ws = await openClient(srv.url + "/sink");
    const sws = srv.connections.at(-1);
    assert.equal(sws.bufferedAmount, 0);
    sws.send("héllo");
    sws.send(new Uint8Array(20));
    assert.equal(sws.bufferedAmount, 26);
    await drained(sws);
    const c = closed(ws);
    sws.close(1000);
    sws.send("late");
    assert.equal(sws.bufferedAmount, 4);
    await c;
  });
});
