// WHATWG WebSockets — the send(data) method steps, on the Node client and on server-side connections.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { Blob } from "node:buffer";
import { WebSocket } from "../../dist/index.js";
import { startApiServer, openClient, closeAndWait } from "./fixtures.mjs";
import { closed, nextEvent, withTimeout, sleep, messageQueue } from "../helpers/index.mjs";

/** What the /sink server received, as [kind, hex-or-text]. */
const view = (d) => (typeof d === "string" ? ["text", d] : ["binary", Buffer.from(d).toString("hex")]);

describe("WHATWG WebSockets §send(data)", () => {
  let srv;
  before(async () => (srv = await startApiServer()));
  after(() => srv.close());

  async function sink() {
    srv.received.length = 0;
    return openClient(srv.url + "/sink");
  }

  it("step 1: while CONNECTING, send() throws an InvalidStateError DOMException (and buffers nothing)", async () => {
    const ws = new WebSocket(srv.url + "/sink");
    for (const data of ["x", new Uint8Array(1), new ArrayBuffer(1), new Blob(["x"])]) {
      assert.throws(
        () => ws.send(data),
        (e) => e instanceof DOMException && e.name === "InvalidStateError" && e.code === 11,
      );
    }
    assert.equal(ws.bufferedAmount, 0);
    await nextEvent(ws, "open");
    await closeAndWait(ws);
  });

  it("WebIDL: send() without an argument throws TypeError; a SharedArrayBuffer (or a view on one) is not a BufferSource", async () => {
    const ws = await sink();
    assert.throws(() => ws.send(), TypeError);
    assert.throws(() => ws.send(new SharedArrayBuffer(4)), TypeError);
    assert.throws(() => ws.send(new Uint8Array(new SharedArrayBuffer(4))), TypeError);
    await closeAndWait(ws);
  });

  it("step 2, string: sent as a text frame of its UTF-8 bytes; lone surrogates become U+FFFD (USVString)", async () => {
    const ws = await sink();
    ws.send("hello");
    ws.send("héllo ✓ 😀");
    ws.send("");
    ws.send("a\uD800b");
    const got = await srv.waitReceived(4);
    assert.deepEqual(got.map(view), [
      ["text", "hello"],
      ["text", "héllo ✓ 😀"],
      ["text", ""],
      ["text", "a\uFFFDb"],
    ]);
    await closeAndWait(ws);
  });

  it("step 2, string (WebIDL conversion): a value that is not a BufferSource or Blob is sent as its string", async () => {
    const ws = await sink();
    ws.send(42);
    ws.send(null);
    ws.send({ toString: () => "custom" });
    ws.send(undefined);
    const got = await srv.waitReceived(4);
    assert.deepEqual(got.map(view), [
      ["text", "42"],
      ["text", "null"],
      ["text", "custom"],
      ["text", "undefined"],
    ]);
    await closeAndWait(ws);
  });

  it("step 2, ArrayBuffer and every ArrayBufferView (typed arrays, DataView, Buffer): exactly the viewed bytes, as binary", async () => {
    const ws = await sink();
    const backing = new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    ws.send(new Uint8Array([1, 2, 3]).buffer);
    ws.send(backing.subarray(2, 5));
    ws.send(new DataView(backing.buffer, 6, 3));
    ws.send(new Uint16Array([0x0102]));
    ws.send(new Int32Array([-1]));
    ws.send(new Float64Array([1]));
    ws.send(new BigUint64Array([1n]));
    ws.send(Buffer.from("buf"));
    ws.send(new Uint8ClampedArray([255]));
    ws.send(new ArrayBuffer(0));
    const got = await srv.waitReceived(10);
    const le = (arr) => Buffer.from(arr.buffer).toString("hex");
    assert.deepEqual(got.map(view), [
      ["binary", "010203"],
      ["binary", "020304"],
      ["binary", "060708"],
      ["binary", le(new Uint16Array([0x0102]))],
      ["binary", "ffffffff"],
      ["binary", le(new Float64Array([1]))],
      ["binary", le(new BigUint64Array([1n]))],
      ["binary", Buffer.from("buf").toString("hex")],
      ["binary", "ff"],
      ["binary", ""],
    ]);
    await closeAndWait(ws);
  });

  it("step 2, Blob: sent as binary; order is kept across kinds while the Blob is read", async () => {
    const ws = await sink();
    ws.send(new Blob(["first blob"]));
    ws.send("text after blob");
    ws.send(new Uint8Array([7, 7]));
    ws.send(new Blob([new Uint8Array([1, 2]), "x"]));
    ws.send("last");
    const got = await srv.waitReceived(5);
    assert.deepEqual(got.map(view), [
      ["binary", Buffer.from("first blob").toString("hex")],
      ["text", "text after blob"],
      ["binary", "0707"],
      ["binary", "010278"],
      ["text", "last"],
    ]);
    await closeAndWait(ws);
  });

  it("step 2: the bytes are taken at the time of the call (later changes to the buffer are not sent)", async () => {
    const ws = await sink();
    const small = new Uint8Array([1, 2, 3]);
    ws.send(small);
    small.fill(9);
    const big = new Uint8Array(64 * 1024).fill(1);
    ws.send(new Blob(["b"])); // queue the next send behind a Blob
    ws.send(big);
    big.fill(2);
    const compressed = new Uint8Array(100_000).fill(5); // large enough for permessage-deflate to compress it
    await srv.waitReceived(3); // the Blob's queue has drained: this send is compressed at once
    ws.send(compressed);
    compressed.fill(6);
    const got = await srv.waitReceived(4);
    assert.match(ws.extensions, /permessage-deflate/);
    assert.equal(Buffer.from(got[0]).toString("hex"), "010203");
    assert.ok(Buffer.from(got[2]).every((b) => b === 1));
    assert.equal(got[3].length, 100_000);
    assert.ok(Buffer.from(got[3]).every((b) => b === 5), "the compressed message carries the bytes of send() time");
    await closeAndWait(ws);
  });

  it("step 2: once CLOSING, data is not sent and send() does not throw", async () => {
    const ws = await sink();
    ws.send("before");
    ws.close(1000);
    assert.equal(ws.readyState, WebSocket.CLOSING);
    assert.doesNotThrow(() => ws.send("after close"));
    assert.doesNotThrow(() => ws.send(new Uint8Array(4)));
    assert.doesNotThrow(() => ws.send(new Blob(["x"])));
    await closed(ws).catch(() => {});
    await sleep(50); // nothing may happen: no data after "before" reaches the server
    assert.deepEqual(srv.received.map(view), [["text", "before"]]);
    assert.doesNotThrow(() => ws.send("after CLOSED"));
  });

  it("step 2: a 1 MiB binary and a 1 MiB text message round-trip through /echo", async () => {
    const ws = await openClient(srv.url + "/echo");
    ws.binaryType = "arraybuffer";
    const inbox = messageQueue(ws);
    const bin = new Uint8Array(1 << 20).map((_, i) => (i * 31) & 0xff);
    const text = "é".repeat(1 << 19);
    ws.send(bin);
    ws.send(text);
    const a = await inbox.next();
    const b = await inbox.next();
    assert.ok(a instanceof ArrayBuffer);
    assert.ok(Buffer.from(a).equals(Buffer.from(bin)));
    assert.equal(b, text);
    await closeAndWait(ws);
  });

  it("server-side connections: send() takes the same kinds (string, ArrayBuffer, views, Blob) and keeps their order", async () => {
    const ws = await openClient(srv.url + "/sink");
    ws.binaryType = "arraybuffer";
    const inbox = messageQueue(ws);
    const sws = srv.connections.at(-1);
    sws.send(new Blob(["blob-first"]));
    sws.send("text");
    sws.send(new Uint16Array([0xffff]).buffer);
    sws.send(new DataView(new Uint8Array([5, 6, 7]).buffer, 1));
    const big = new Uint8Array(32 * 1024).fill(3);
    sws.send(big);
    big.fill(4); // a large non-Buffer payload is copied at send() time on the server too
    const got = [];
    for (let i = 0; i < 5; i++) got.push(await inbox.next());
    assert.equal(Buffer.from(got[0]).toString(), "blob-first");
    assert.equal(got[1], "text");
    assert.equal(Buffer.from(got[2]).toString("hex"), "ffff");
    assert.equal(Buffer.from(got[3]).toString("hex"), "0607");
    assert.ok(Buffer.from(got[4]).every((b) => b === 3));
    assert.throws(() => sws.send(), TypeError);
    await closeAndWait(ws);
  });

  it("a Blob that cannot be read fails the connection: error, then close 1006 (send() steps, 'fail the WebSocket connection')", async () => {
    const ws = await sink();
    const broken = new Blob(["x"]);
    Object.defineProperty(broken, "arrayBuffer", { value: () => Promise.reject(new Error("unreadable")) });
    const order = [];
    ws.onerror = (ev) => order.push(["error", ev.error?.message]);
    const c = withTimeout(new Promise((r) => (ws.onclose = (ev) => r(ev))), 5000, "close");
    ws.send(broken);
    const ev = await c;
    assert.deepEqual(order, [["error", "unreadable"]]);
    assert.deepEqual([ev.code, ev.wasClean], [1006, false]);
  });
});
