// RFC 7692 §7.1.1.1 / issue 6: Hub broadcasts and publishes to permessage-deflate peers are compressed once and
// the compressed bytes are shared when no peer keeps a server context (server_no_context_takeover); peers that
// cannot share the frame fall back to their own compression. Checked on the wire (RSV1, one Buffer object for
// every socket) and end to end (ws and our client inflate the same message).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { inflateRawSync, constants as zc } from "node:zlib";
import WS from "ws";
import { WebSocket, WebSocketServer, Hub } from "../../dist/index.js";
import { text, binary, collect, collectWs } from "./helpers.mjs";
import { listening, opened, withTimeout } from "../helpers/index.mjs";

/** A raw TCP client that offers permessage-deflate and records every server frame (unmasked) as it is. */
async function rawPeer(port, offer = "permessage-deflate") {
  const sock = connect(port, "127.0.0.1");
  sock.write(
    `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n` +
      `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: ${offer}\r\n\r\n`,
  );
  let buf = Buffer.alloc(0);
  let head = null;
  const frames = [];
  let waiter = null;
  const parse = () => {
    for (;;) {
      if (buf.length < 2) return;
      let len = buf[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (buf.length < 10) return;
        len = Number(buf.readBigUInt64BE(2));
        off = 10;
      }
      if (buf.length < off + len) return;
      frames.push({ fin: (buf[0] & 0x80) !== 0, rsv1: (buf[0] & 0x40) !== 0, opcode: buf[0] & 0x0f, payload: Buffer.from(buf.subarray(off, off + len)) });
      buf = buf.subarray(off + len);
      if (waiter !== null && frames.length >= waiter.n) {
        const w = waiter;
        waiter = null;
        w.resolve();
      }
    }
  };
  const handshake = new Promise((resolve, reject) => {
    sock.on("error", reject);
    sock.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      if (head === null) {
        const i = buf.indexOf("\r\n\r\n");
        if (i === -1) return;
        head = buf.subarray(0, i).toString("latin1");
        buf = buf.subarray(i + 4);
        resolve(head);
      }
      parse();
    });
  });
  return {
    sock,
    frames,
    head: await withTimeout(handshake, 5000, "raw handshake"),
    /** Resolves once `n` frames have arrived in all. */
    frameCount(n) {
      if (frames.length >= n) return Promise.resolve();
      return withTimeout(new Promise((resolve) => (waiter = { n, resolve })), 10000, `${n} frames`);
    },
  };
}

/** RFC 7692 §7.2.2: append 0x00 0x00 0xff 0xff and inflate. */
function inflateMessage(payload) {
  return inflateRawSync(Buffer.concat([payload, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: zc.Z_SYNC_FLUSH });
}

async function hubServer(perMessageDeflate = true, hubOptions = {}) {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate });
  await listening(wss);
  const hub = new Hub(wss, { heartbeatInterval: 0, ...hubOptions });
  const joined = (n) => withTimeout(new Promise((resolve) => {
    const check = () => {
      if (hub.size >= n) {
        hub.off("connection", check);
        resolve();
      }
    };
    hub.on("connection", check);
    check();
  }), 5000, `${n} connections`);
  const stop = async () => {
    await withTimeout(hub.close({ timeout: 1000 }), 5000, "hub.close");
    await withTimeout(wss.close({ timeout: 1000 }), 5000, "wss.close");
  };
  return { wss, hub, port: wss.address().port, joined, stop };
}

/** Records the chunks written to each server-side socket (SocketTransport writes every frame with socket.write). */
function tapWrites() {
  const written = new Map();
  function tap(ws) {
    const socket = ws._transport.socket;
    const chunks = [];
    written.set(ws.id, chunks);
    const write = socket.write;
    socket.write = function (chunk, ...rest) {
      chunks.push(chunk);
      return write.call(this, chunk, ...rest);
    };
  }
  return { written, tap };
}

describe("RFC 7692 §7.1.1.1 Hub broadcast compressed once for deflate peers (issue 6)", () => {
  it("broadcast of 4 KiB and 200 KiB JSON reaches raw, ws and wshub peers compressed (RSV1) and intact", async () => {
    const t = await hubServer();
    const ws = new WS(`ws://127.0.0.1:${t.port}/`, { perMessageDeflate: true });
    const ours = new WebSocket(`ws://127.0.0.1:${t.port}/`);
    const open = Promise.all([opened(ws), opened(ours)]);
    const raw = await rawPeer(t.port);
    try {
      assert.match(raw.head, /Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover/i);
      await open;
      await t.joined(3);
      assert.match(ours.extensions, /permessage-deflate/);
      assert.match(ws.extensions ?? "", /permessage-deflate/);
      const small = text(4096, 3); // compressed synchronously
      const big = text(200 * 1024, 4); // compressed through zlib's thread pool
      const gotWs = collectWs(ws, 3);
      const gotOurs = collect(ours, 3);
      assert.equal(t.hub.broadcast(small), 3);
      assert.equal(t.hub.broadcast(big), 3);
      assert.equal(t.hub.broadcast("tiny"), 3); // under the 1 KiB threshold: uncompressed
      assert.deepEqual(await gotWs, [small, big, "tiny"]);
      assert.deepEqual(await gotOurs, [small, big, "tiny"]);
      await raw.frameCount(3);
      const [f1, f2, f3] = raw.frames;
      for (const [f, msg] of [[f1, small], [f2, big]]) {
        assert.equal(f.opcode, 1);
        assert.equal(f.fin, true);
        assert.equal(f.rsv1, true, "RSV1 set: the message is compressed");
        assert.ok(f.payload.length < Buffer.byteLength(msg) / 2, `compressed (${f.payload.length} B for ${msg.length} B)`);
        assert.equal(inflateMessage(f.payload).toString(), msg);
      }
      assert.equal(f3.rsv1, false);
      assert.equal(f3.payload.toString(), "tiny");
    } finally {
      ws.terminate();
      ours.close();
      raw.sock.destroy();
      await t.stop();
    }
  });

  it("every socket gets the very same compressed Buffer object (one zlib pass), for broadcast and publish", async () => {
    const t = await hubServer();
    const peers = [];
    try {
      for (let i = 0; i < 4; i++) {
        const p = new WebSocket(`ws://127.0.0.1:${t.port}/`);
        p.binaryType = "arraybuffer";
        peers.push(p);
      }
      await Promise.all(peers.map((p) => opened(p)));
      await t.joined(4);
      const { written, tap } = tapWrites();
      for (const s of t.wss.clients) {
        tap(s);
        t.hub.join(s, "room");
      }
      const msg = text(8000, 9);
      const inboxes = peers.map((p) => collect(p, 2));
      t.hub.broadcast(msg);
      const big = binary(300 * 1024);
      t.hub.publish("room", big);
      const got = await Promise.all(inboxes);
      for (const g of got) {
        assert.equal(g[0], msg);
        assert.ok(Buffer.from(g[1]).equals(big));
      }
      // The compressed frames each socket wrote: the same object for all of them.
      const lists = [...written.values()];
      assert.equal(lists.length, 4);
      const compressed = lists.map((chunks) => chunks.filter((c) => (c[0] & 0x40) !== 0));
      for (const c of compressed) assert.equal(c.length, 2, "two RSV1 frames per socket");
      for (const c of compressed) {
        assert.equal(c[0], compressed[0][0], "broadcast: one Buffer for every socket");
        assert.equal(c[1], compressed[0][1], "publish: one Buffer for every socket");
      }
      assert.equal(compressed[0][0][0], 0xc1); // FIN | RSV1 | text
      assert.equal(compressed[0][1][0], 0xc2); // FIN | RSV1 | binary
    } finally {
      for (const p of peers) p.close();
      await t.stop();
    }
  });

  it("peers with server context takeover fall back to their own compression, in order with ws.send()", async () => {
    const t = await hubServer({ serverNoContextTakeover: false, clientNoContextTakeover: false });
    const ws = new WS(`ws://127.0.0.1:${t.port}/`, { perMessageDeflate: true });
    const open = opened(ws);
    const raw = await rawPeer(t.port);
    try {
      assert.doesNotMatch(raw.head, /server_no_context_takeover/i);
      await open;
      await t.joined(2);
      const msgs = [text(3000, 1), text(3000, 1), text(100 * 1024, 2)];
      const gotWs = collectWs(ws, 4);
      // A direct send still being compressed asynchronously, then broadcasts: order kept.
      const first = text(64 * 1024, 7);
      for (const s of t.wss.clients) s.send(first);
      for (const m of msgs) t.hub.broadcast(m);
      assert.deepEqual(await gotWs, [first, ...msgs]);
      await raw.frameCount(4);
      // With context takeover the second copy of a message compresses against the first: decode in sequence
      // with one inflater, as the peer must (RFC 7692 §7.2.3.2 style back-references across messages).
      const { createInflateRaw } = await import("node:zlib");
      const inf = createInflateRaw();
      const inflateNext = (p) => new Promise((resolve, reject) => {
        const chunks = [];
        const onData = (c) => chunks.push(c);
        inf.on("data", onData);
        inf.once("error", reject);
        inf.write(Buffer.concat([p, Buffer.from([0, 0, 0xff, 0xff])]));
        inf.flush(zc.Z_SYNC_FLUSH, () => {
          inf.off("data", onData);
          resolve(Buffer.concat(chunks).toString());
        });
      });
      const expected = [first, ...msgs];
      for (let i = 0; i < 4; i++) {
        assert.equal(raw.frames[i].rsv1, true, `frame ${i} compressed`);
        assert.equal(await inflateNext(raw.frames[i].payload), expected[i]);
      }
      // The repeated message used the kept context: far smaller the second time.
      assert.ok(raw.frames[2].payload.length < raw.frames[1].payload.length / 4, "second copy compressed against the first");
      inf.close();
    } finally {
      ws.terminate();
      raw.sock.destroy();
      await t.stop();
    }
  });

  it("hub.drain() and sendAsync() wait for messages still in the compression queue", async () => {
    const t = await hubServer(true, { maxBufferedBytes: 64 * 1024 });
    const ws = new WS(`ws://127.0.0.1:${t.port}/`, { perMessageDeflate: true });
    try {
      await opened(ws);
      await t.joined(1);
      const [s] = [...t.wss.clients];
      const big = text(1024 * 1024, 5);
      const got = collectWs(ws, 2);
      // Over 16 KiB: compressed through zlib's thread pool, so it waits in the queue first.
      assert.equal(t.hub.send(s.id, big), "backpressure");
      assert.ok(s._transport.deflate.pendingBytes >= big.length, "counted while being compressed");
      assert.equal(await withTimeout(t.hub.drain(s.id), 10000, "drain"), true);
      assert.equal(s._transport.deflate.pendingBytes, 0, "drain() waited for the compression queue");
      assert.equal(await withTimeout(t.hub.sendAsync(s.id, big), 10000, "sendAsync"), "sent");
      assert.equal(s._transport.deflate.pendingBytes, 0, "sendAsync() waited for the compression queue");
      assert.deepEqual(await got, [big, big]);
    } finally {
      ws.terminate();
      await t.stop();
    }
  });
});
