// createWebSocketStream (ws.md): a Duplex over a WebSocket, with half-close and backpressure; ws is the peer.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { ws, compat, next, listen, urlOf, shutdown, withTimeout } from "./fixtures.mjs";

describe("ws.md createWebSocketStream(websocket[, options])", () => {
  it("writes become messages, messages become chunks; writing before 'open' waits for it", async () => {
    const peer = await listen(ws);
    peer.on("connection", (s) => s.on("message", (d, b) => s.send(Buffer.concat([Buffer.from("echo:"), d]), { binary: b })));
    const c = new compat.WebSocket(urlOf(peer));
    const duplex = compat.createWebSocketStream(c, { encoding: "utf8" });
    duplex.write("first"); // still CONNECTING
    const [chunk] = await next(duplex, "data");
    assert.equal(chunk, "echo:first");
    duplex.destroy();
    await next(duplex, "close");
    assert.equal(c.readyState, c.CLOSED);
    await shutdown(peer);
  });

  it("half-close: end() starts the closing handshake; the readable side ends when the connection closes", async () => {
    const peer = await listen(ws);
    const serverGot = [];
    peer.on("connection", (s) => {
      s.on("message", (d) => serverGot.push(d.toString()));
      s.send("from server");
    });
    const c = new compat.WebSocket(urlOf(peer));
    const duplex = compat.createWebSocketStream(c);
    const chunks = [];
    duplex.on("data", (d) => chunks.push(d.toString()));
    const ended = next(duplex, "end");
    await next(duplex, "data");
    duplex.end("last words");
    await next(duplex, "finish");
    const [code] = await next(c, "close");
    await ended;
    assert.equal(code, 1005);
    assert.deepEqual(chunks, ["from server"]);
    assert.deepEqual(serverGot, ["last words"]);
    await shutdown(peer);
  });

  it("backpressure: a full readable buffer pauses the WebSocket, reading resumes it", async () => {
    const srv = await listen(ws);
    srv.on("connection", (s) => {
      for (let i = 0; i < 64; i++) s.send(Buffer.alloc(1024, i));
    });
    const reader = new compat.WebSocket(urlOf(srv));
    const d = compat.createWebSocketStream(reader, { highWaterMark: 1024 });
    await next(reader, "open");
    await withTimeout(
      new Promise((resolve) => {
        const check = () => (reader.isPaused ? resolve() : setImmediate(check));
        check();
      }),
      5000,
      "pause",
    );
    let total = 0;
    d.on("data", (chunk) => (total += chunk.length));
    await withTimeout(
      new Promise((resolve) => {
        const check = () => (total === 64 * 1024 ? resolve() : setImmediate(check));
        check();
      }),
      5000,
      "all data",
    );
    assert.equal(reader.isPaused, false);
    d.destroy();
    await next(d, "close");
    await shutdown(srv);
  });

  it("pipeline through the stream: bytes out and back, in order", async () => {
    const peer = await listen(ws);
    peer.on("connection", (s) => s.on("message", (m) => s.send(m)));
    const c = new compat.WebSocket(urlOf(peer));
    const d = compat.createWebSocketStream(c);
    const parts = Array.from({ length: 20 }, (_, i) => Buffer.from(`part-${i};`));
    const received = [];
    d.on("data", (x) => {
      received.push(x);
      if (Buffer.concat(received).length === Buffer.concat(parts).length) d.end();
    });
    await withTimeout(pipeline(Readable.from(parts), async function* (src) {
      for await (const p of src) yield p;
    }, async (src) => {
      for await (const p of src) d.write(p);
    }), 5000, "pipeline");
    await next(d, "finish");
    assert.equal(Buffer.concat(received).toString(), Buffer.concat(parts).toString());
    await shutdown(peer);
  });

  it("an 'error' on the WebSocket destroys the stream with it", async () => {
    const peer = await listen(compat, { maxPayload: 4 });
    const c = new ws.WebSocket(urlOf(peer));
    const [s] = await next(peer, "connection");
    const d = compat.createWebSocketStream(s);
    const errP = next(d, "error");
    const closeP = next(d, "close");
    await next(c, "open");
    c.send("too long");
    const [err] = await errP;
    assert.equal(err.code, "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH");
    await closeP;
    await shutdown(peer);
  });
});
