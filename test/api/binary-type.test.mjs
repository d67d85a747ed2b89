// WHATWG WebSockets — the binaryType attribute and how binary messages are exposed ("message received" step 2).
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { Blob } from "node:buffer";
import { WebSocket } from "../../dist/index.js";
import { startApiServer, openClient, closeAndWait } from "./fixtures.mjs";
import { messageQueue, waitFor } from "../helpers/index.mjs";

describe("WHATWG WebSockets §binaryType", () => {
  let srv;
  before(async () => (srv = await startApiServer()));
  after(() => srv.close());

  it("the initial value is 'blob' on the client; server-side connections start at 'nodebuffer' (Node extension)", async () => {
    const ws = await openClient(srv.url + "/echo");
    assert.equal(ws.binaryType, "blob");
    assert.equal(srv.connections.at(-1).binaryType, "nodebuffer");
    const own = new WebSocket(srv.url + "/echo", [], { binaryType: "arraybuffer" });
    assert.equal(own.binaryType, "arraybuffer", "the Node option sets the initial value");
    own.close();
    await closeAndWait(ws);
  });

  it("setter (WebIDL enumeration): a value that is not a BinaryType is ignored, without exception", async () => {
    const ws = await openClient(srv.url + "/echo");
    ws.binaryType = "arraybuffer";
    for (const bad of ["Blob", "ARRAYBUFFER", "buffer", "", null, undefined, 1]) {
      assert.doesNotThrow(() => (ws.binaryType = bad));
      assert.equal(ws.binaryType, "arraybuffer");
    }
    ws.binaryType = { toString: () => "blob" }; // converted to a string first
    assert.equal(ws.binaryType, "blob");
    await closeAndWait(ws);
  });

  it("message step 2, binaryType 'blob': data is a Blob with the payload bytes and an empty type", async () => {
    const ws = await openClient(srv.url + "/echo");
    const inbox = messageQueue(ws);
    ws.send(new Uint8Array([0, 1, 2, 255]));
    const d = await inbox.next();
    assert.ok(d instanceof Blob);
    assert.equal(d.size, 4);
    assert.equal(d.type, "");
    assert.equal(Buffer.from(await d.arrayBuffer()).toString("hex"), "000102ff");
    await closeAndWait(ws);
  });

  it("message step 2, binaryType 'arraybuffer': data is an ArrayBuffer holding exactly the payload", async () => {
    const ws = await openClient(srv.url + "/echo");
    ws.binaryType = "arraybuffer";
    const inbox = messageQueue(ws);
    ws.send(new Uint8Array([9, 8, 7]));
    ws.send(new Uint8Array(0));
    const big = Buffer.alloc(200_000, 0x5a);
    ws.send(big);
    const a = await inbox.next();
    const empty = await inbox.next();
    const b = await inbox.next();
    assert.ok(a instanceof ArrayBuffer);
    assert.deepEqual([...new Uint8Array(a)], [9, 8, 7]);
    assert.equal(a.byteLength, 3);
    assert.ok(empty instanceof ArrayBuffer);
    assert.equal(empty.byteLength, 0);
    assert.equal(b.byteLength, 200_000);
    assert.ok(Buffer.from(b).equals(big));
    await closeAndWait(ws);
  });

  it("binaryType 'nodebuffer' (Node extension): data is a Buffer (handed over without a copy)", async () => {
    const ws = await openClient(srv.url + "/echo");
    ws.binaryType = "nodebuffer";
    const inbox = messageQueue(ws);
    ws.send(Buffer.from("node"));
    const d = await inbox.next();
    assert.ok(Buffer.isBuffer(d));
    assert.equal(d.toString(), "node");
    await closeAndWait(ws);
  });

  it("message step 2: binaryType is read when each message arrives, so changing it affects the following ones", async () => {
    const ws = await openClient(srv.url + "/echo");
    const got = [];
    const all = new Promise((resolve) => {
      ws.onmessage = (ev) => {
        got.push(ev.data);
        // switch after every message: blob → arraybuffer → nodebuffer → blob
        ws.binaryType = { blob: "arraybuffer", arraybuffer: "nodebuffer", nodebuffer: "blob" }[ws.binaryType];
        if (got.length === 4) resolve();
      };
    });
    for (let i = 0; i < 4; i++) ws.send(new Uint8Array([i]));
    await all;
    assert.ok(got[0] instanceof Blob);
    assert.ok(got[1] instanceof ArrayBuffer && !Buffer.isBuffer(got[1]));
    assert.ok(Buffer.isBuffer(got[2]));
    assert.ok(got[3] instanceof Blob);
    await closeAndWait(ws);
  });

  it("message step 2: text messages are strings whatever binaryType says", async () => {
    const ws = await openClient(srv.url + "/echo");
    const inbox = messageQueue(ws);
    for (const t of ["blob", "arraybuffer", "nodebuffer"]) {
      ws.binaryType = t;
      ws.send(`text as ${t}`);
      assert.equal(await inbox.next(), `text as ${t}`);
    }
    await closeAndWait(ws);
  });

  it("server-side connections honour binaryType the same way", async () => {
    const ws = await openClient(srv.url + "/sink");
    const sws = srv.connections.at(-1);
    const got = [];
    const all = new Promise((resolve) => {
      sws.addEventListener("message", (ev) => {
        got.push(ev.data);
        if (got.length === 3) resolve();
      });
    });
    sws.binaryType = "blob";
    ws.send(new Uint8Array([1]));
    await waitFor(() => got.length === 1, "the first message");
    sws.binaryType = "arraybuffer";
    ws.send(new Uint8Array([2]));
    await waitFor(() => got.length === 2, "the second message");
    sws.binaryType = "nodebuffer";
    ws.send(new Uint8Array([3]));
    await all;
    assert.ok(got[0] instanceof Blob);
    assert.ok(got[1] instanceof ArrayBuffer);
    assert.ok(Buffer.isBuffer(got[2]));
    await closeAndWait(ws);
  });
});
