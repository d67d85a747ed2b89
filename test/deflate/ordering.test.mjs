// RFC 7692 §6/§7.2 sending and receiving: order kept although zlib is asynchronous, the close frame last,
// control frames never compressed, the process-wide zlib limiter, lazy contexts released after each message
// without context takeover, broadcast frames compressed once, corrupt data failing with 1007.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { randomBytes } from "node:crypto";
import WS from "ws";
import { WebSocket, WebSocketServer, compressMessageOnce } from "../../dist/index.js";
import { ZlibLimiter, sharedZlibLimiter } from "../../dist/node/deflate-limiter.js";
import { text, binary, collect, collectWs } from "./helpers.mjs";
import { listening, opened, withTimeout, waitFor } from "../helpers/index.mjs";

function mixed(count) {
  const out = [];
  for (let i = 0; i < count; i++) {
    const kind = i % 5;
    if (kind === 0) out.push(`small ${i}`);
    else if (kind === 1) out.push(text(5000 + i, i));
    else if (kind === 2) out.push(binary(i % 3 === 0 ? 300 : 150000));
    else if (kind === 3) out.push(text(200000, i));
    else out.push(`#${i}:` + "z".repeat(i % 2000));
  }
  return out;
}

function assertSame(got, sent) {
  assert.equal(got.length, sent.length);
  for (let i = 0; i < sent.length; i++) {
    if (typeof sent[i] === "string") assert.ok(got[i] === sent[i], `message ${i} in order`);
    else assert.ok(Buffer.from(got[i]).equals(sent[i]), `binary message ${i} in order`);
  }
}

async function server(options = {}) {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, ...options });
  await listening(wss);
  return wss;
}

describe("RFC 7692 §7.2 ordering with asynchronous zlib", () => {
  it("our server → ws client: 400 small and large messages arrive in order, pings uncompressed, close last", async () => {
    const wss = await server({ perMessageDeflate: { threshold: 100 } });
    const conn = new Promise((r) => wss.once("connection", r));
    const c = new WS(wss.url, { perMessageDeflate: true });
    try {
      await opened(c);
      const s = await conn;
      const sent = mixed(400);
      const got = collectWs(c, sent.length, 30000);
      let pongs = 0;
      c.on("ping", () => pongs++);
      for (let i = 0; i < sent.length; i++) {
        s.send(sent[i]);
        // RFC 7692 §6.1: control frames are never compressed (ws fails the connection on RSV1 control frames).
        if (i % 50 === 0) s.ping("p");
      }
      const closeEvent = new Promise((r) => c.once("close", (code) => r(code)));
      s.close(1000, "done"); // must leave after the queued messages
      assertSame(await got, sent);
      assert.equal(await withTimeout(closeEvent, 5000, "close"), 1000);
      assert.ok(pongs >= 1, "pings answered");
    } finally {
      c.terminate();
      await wss.close({ timeout: 500 });
    }
  });

  it("our client → our server (context takeover both ways): order kept, echo order kept", async () => {
    const wss = await server({ perMessageDeflate: { serverNoContextTakeover: false, clientNoContextTakeover: false, threshold: 0 } });
    wss.on("connection", (ws) => {
      ws.binaryType = "nodebuffer";
      ws.addEventListener("message", (e) => ws.send(e.data));
    });
    const c = new WebSocket(wss.url, [], { perMessageDeflate: { threshold: 0 } });
    c.binaryType = "nodebuffer";
    try {
      await opened(c);
      assert.equal(c.extensions, "permessage-deflate");
      const sent = mixed(300);
      const got = collect(c, sent.length, 30000);
      for (const m of sent) c.send(m);
      assert.ok(c.bufferedAmount > 0, "queued messages count in bufferedAmount");
      assertSame(await got, sent);
    } finally {
      c.close();
      await wss.close({ timeout: 500 });
    }
  });

  it("close() right after sends from our client: every message reaches a ws server before the close frame", async () => {
    const { WebSocketServer: WSServer } = await import("ws");
    const wss = new WSServer({ port: 0, host: "127.0.0.1", perMessageDeflate: true });
    await listening(wss);
    const peer = new Promise((r) => wss.once("connection", r));
    const c = new WebSocket(`ws://127.0.0.1:${wss.address().port}/`);
    try {
      await opened(c);
      const p = await peer;
      const got = [];
      p.on("message", (d, isBinary) => got.push(isBinary ? Buffer.from(d) : d.toString()));
      const closeCode = new Promise((r) => p.once("close", (code) => r(code)));
      const sent = mixed(60);
      for (const m of sent) c.send(m);
      c.close(1000);
      assert.equal(await withTimeout(closeCode, 10000, "ws close"), 1000);
      assertSame(got, sent);
    } finally {
      await new Promise((r) => wss.close(r));
    }
  });
});

describe("process-wide zlib concurrency limit (issue 6 limits)", () => {
  it("ZlibLimiter runs at most `limit` jobs and the rest in FIFO order", async () => {
    const l = new ZlibLimiter(2);
    const started = [];
    const releases = [];
    for (let i = 0; i < 5; i++) l.run((release) => {
      started.push(i);
      releases.push(release);
    });
    assert.deepEqual(started, [0, 1]);
    assert.equal(l.active, 2);
    assert.equal(l.waiting, 3);
    releases[0]();
    releases[0](); // a second call does nothing
    await Promise.resolve();
    assert.deepEqual(started, [0, 1, 2]);
    releases[1]();
    releases[2]();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(started, [0, 1, 2, 3, 4]);
    releases[3]();
    releases[4]();
    assert.equal(l.active, 0);
  });

  it("40 connections compressing at once never exceed the limit, and every message arrives", async () => {
    const LIMIT = 3;
    const wss = await server({ perMessageDeflate: { threshold: 0, concurrencyLimit: LIMIT } });
    const limiter = sharedZlibLimiter(LIMIT);
    const conns = [];
    wss.on("connection", (ws) => conns.push(ws));
    const clients = [];
    try {
      for (let i = 0; i < 40; i++) clients.push(new WS(wss.url, { perMessageDeflate: true }));
      await Promise.all(clients.map((c) => opened(c)));
      await waitFor(() => conns.length >= 40, "connections", 5000);
      let maxActive = 0;
      let maxWaiting = 0;
      const poll = setInterval(() => {
        maxActive = Math.max(maxActive, limiter.active);
        maxWaiting = Math.max(maxWaiting, limiter.waiting);
      }, 0);
      const payload = text(64 * 1024, 5);
      const all = clients.map((c) => collectWs(c, 5, 30000));
      for (const s of conns) for (let k = 0; k < 5; k++) s.send(payload);
      maxWaiting = Math.max(maxWaiting, limiter.waiting);
      maxActive = Math.max(maxActive, limiter.active);
      const results = await Promise.all(all);
      clearInterval(poll);
      for (const r of results) assert.ok(r.every((m) => m === payload));
      assert.ok(maxActive <= LIMIT, `at most ${LIMIT} in flight, saw ${maxActive}`);
      assert.ok(maxWaiting > 0, "operations beyond the limit waited in the queue");
      assert.equal(limiter.active, 0);
    } finally {
      for (const c of clients) c.terminate();
      await wss.close({ timeout: 500 });
    }
  });
  it("connections dropped while zlib works on them give their slots back", async () => {
    const LIMIT = 2;
    const wss = await server({ perMessageDeflate: { threshold: 0, concurrencyLimit: LIMIT } });
    const limiter = sharedZlibLimiter(LIMIT);
    const conns = [];
    wss.on("connection", (ws) => conns.push(ws));
    try {
      const clients = [];
      for (let i = 0; i < 8; i++) clients.push(new WS(wss.url, { perMessageDeflate: { threshold: 0 } }));
      await Promise.all(clients.map((c) => opened(c)));
      await waitFor(() => conns.length >= 8, "connections", 5000);
      const big = text(2 * 1024 * 1024, 8);
      for (const s of conns) s.send(big);
      for (const c of clients) c.send(big); // inflation in flight on the server too
      await new Promise((r) => setTimeout(r, 5)); // Not a wait: pacing, so the clients' messages start arriving
      for (const s of conns) s.terminate();
      await waitFor(() => limiter.active === 0 && limiter.waiting === 0, "limiter drained", 15000);
      // The pool still works.
      const conn = new Promise((r) => wss.once("connection", r));
      const c = new WS(wss.url, { perMessageDeflate: true });
      await opened(c);
      const s = await conn;
      const got = collectWs(c, 1);
      s.send(text(5000, 1));
      assert.equal((await got)[0], text(5000, 1));
      c.terminate();
    } finally {
      await wss.close({ timeout: 500 });
    }
  });
});

describe("RFC 7692 §7.1.1 zlib contexts: lazy, and released after each message without takeover", () => {
  for (const takeover of [false, true]) {
    it(`${takeover ? "with" : "without"} context takeover`, async () => {
      const wss = await server({ perMessageDeflate: { threshold: 0, serverNoContextTakeover: !takeover, clientNoContextTakeover: !takeover } });
      const conn = new Promise((r) => wss.once("connection", r));
      const c = new WS(wss.url, { perMessageDeflate: { threshold: 0 } });
      try {
        await opened(c);
        const s = await conn;
        const codec = s._transport.deflate.codec;
        assert.equal(codec.hasInflateContext, false, "no inflate context before the first message");
        assert.equal(codec.hasDeflateContext, false, "no deflate context before the first message");
        const echoed = collect(s, 1);
        c.send(text(3000, 1));
        await echoed;
        assert.equal(codec.hasInflateContext, takeover);
        const got = collectWs(c, 1);
        s.send(text(3000, 2));
        await got;
        assert.equal(codec.hasDeflateContext, takeover);
      } finally {
        c.terminate();
        await wss.close({ timeout: 500 });
      }
    });
  }
});

describe("compress once for many peers (hub broadcasts, RFC 7692 §7.1.1.1)", () => {
  it("one compressed frame is accepted by server_no_context_takeover peers and decoded by each", async () => {
    const wss = await server({ perMessageDeflate: true });
    const conns = [];
    wss.on("connection", (ws) => conns.push(ws));
    const clients = [new WS(wss.url, { perMessageDeflate: true }), new WS(wss.url, { perMessageDeflate: true }), new WS(wss.url)];
    try {
      await Promise.all(clients.map((c) => opened(c)));
      await waitFor(() => conns.length >= 3, "connections", 5000);
      const msg = text(50000, 11);
      const frame = await compressMessageOnce(msg);
      assert.equal(frame[0], 0x80 | 0x40 | 0x1, "FIN, RSV1, text");
      assert.ok(frame.length < 20000, `compressed frame ${frame.length} B`);
      const got = clients.map((c) => collectWs(c, 2));
      for (const s of conns) {
        assert.equal(s._transport.deflate.codec.acceptsSharedFrame(15), true);
        s.send("before");
        assert.equal(s._transport.sendPreparedFrame(frame), true);
      }
      for (const r of await Promise.all(got)) assert.deepEqual(r, ["before", msg]);
    } finally {
      for (const c of clients) c.terminate();
      await wss.close({ timeout: 500 });
    }
  });
  it("peers with server context takeover or a smaller window do not accept a shared frame", async () => {
    const wss = await server({ perMessageDeflate: { serverNoContextTakeover: false } });
    const conn = new Promise((r) => wss.once("connection", r));
    const c = new WS(wss.url, { perMessageDeflate: true });
    try {
      await opened(c);
      const s = await conn;
      assert.equal(s._transport.deflate.codec.acceptsSharedFrame(15), false);
    } finally {
      c.terminate();
      await wss.close({ timeout: 500 });
    }
    const wss2 = await server({ perMessageDeflate: { serverMaxWindowBits: 10 } });
    const conn2 = new Promise((r) => wss2.once("connection", r));
    const c2 = new WS(wss2.url, { perMessageDeflate: true });
    try {
      await opened(c2);
      const s = await conn2;
      assert.equal(s._transport.deflate.codec.acceptsSharedFrame(15), false);
      assert.equal(s._transport.deflate.codec.acceptsSharedFrame(10), true);
    } finally {
      c2.terminate();
      await wss2.close({ timeout: 500 });
    }
  });
});

describe("RFC 7692 §8 invalid compressed data", () => {
  it("a RSV1 message that does not inflate fails the connection with 1007", async () => {
    const wss = await server({ perMessageDeflate: true });
    try {
      const port = wss.address().port;
      const sock = connect(port, "127.0.0.1");
      sock.on("error", () => {});
      let buf = Buffer.alloc(0);
      const code = withTimeout(new Promise((resolve, reject) => {
        sock.on("data", (d) => {
          buf = Buffer.concat([buf, d]);
          const end = buf.indexOf("\r\n\r\n");
          if (end === -1) return;
          if (!sock.sentFrame) {
            sock.sentFrame = true;
            assert.match(buf.subarray(0, end).toString(), /permessage-deflate/);
            const payload = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x12, 0x34]); // BTYPE=11: invalid block type
            const key = randomBytes(4);
            const masked = Buffer.from(payload.map((b, i) => b ^ key[i & 3]));
            sock.write(Buffer.concat([Buffer.from([0xc2, 0x80 | payload.length]), key, masked]));
          }
          const frames = buf.subarray(end + 4);
          if (frames.length >= 4) resolve(frames.readUInt16BE(2));
        });
        sock.on("close", () => reject(new Error("closed without a close frame")));
      }), 5000, "close frame");
      sock.write(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n`);
      assert.equal(await code, 1007);
      sock.destroy();
    } finally {
      await wss.close({ timeout: 500 });
    }
  });
});
