// RFC 7692 §7.2 fast paths of the codec: small messages are compressed and inflated synchronously (one zlib
// call, the inflated size still capped while inflating), larger ones through process-wide pools of reset zlib
// streams (no context takeover, §7.1.1.1/§7.1.1.2). The limits must hold on every path.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { deflateRawSync, constants as zc } from "node:zlib";
import WS from "ws";
import { WebSocketServer } from "../../dist/index.js";
import { PerMessageDeflate, SYNC_DEFLATE_MAX, SYNC_INFLATE_MAX_INPUT, SYNC_INFLATE_MAX_OUTPUT } from "../../dist/node/deflate.js";
import { resolveCodecOptions } from "../../dist/node/deflate-options.js";
import { pooledStreamCount, clearZlibPools } from "../../dist/node/deflate-pool.js";
import { text, collectWs } from "./helpers.mjs";
import { listening, opened, withTimeout } from "../helpers/index.mjs";

const NO_TAKEOVER = { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };

/** The RFC 7692 §7.2.1 payload of a message: sync-flushed raw deflate without the 0x00 0x00 0xff 0xff tail. */
function compress(data) {
  const out = deflateRawSync(data, { finishFlush: zc.Z_SYNC_FLUSH });
  return out.subarray(0, out.length - 4);
}

function inflateWith(codec, payload, fin = true) {
  return withTimeout(new Promise((resolve) => codec.inflate(payload, fin, (err, data) => resolve({ err, data }))), 10000, "inflate");
}

function serverCodec(maxPayload, params = NO_TAKEOVER) {
  return new PerMessageDeflate(params, true, resolveCodecOptions({}), maxPayload);
}

describe("RFC 7692 §7.2.2 synchronous inflation keeps the maxPayload check", () => {
  it("a small frame is inflated synchronously (done called before inflate() returns)", () => {
    const codec = serverCodec(1 << 20);
    const msg = Buffer.from(text(4000, 2));
    let result = null;
    codec.inflate(compress(msg), true, (err, data) => (result = { err, data }));
    assert.ok(result !== null, "called back synchronously");
    assert.equal(result.err, null);
    assert.ok(Buffer.concat(result.data).equals(msg));
    assert.equal(codec.hasInflateContext, false);
  });

  it("a small frame that inflates past maxPayload (below the synchronous cap) fails with 1009", async () => {
    const codec = serverCodec(100 * 1024);
    const payload = compress(Buffer.alloc(200 * 1024));
    assert.ok(payload.length <= SYNC_INFLATE_MAX_INPUT);
    const { err, data } = await inflateWith(codec, payload);
    assert.equal(data, null);
    assert.equal(err.closeCode, 1009);
    assert.equal(err.code, "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH");
  });

  it("exactly maxPayload inflated is accepted; one byte more is not", async () => {
    const n = 50_000;
    const ok = await inflateWith(serverCodec(n), compress(Buffer.alloc(n, 1)));
    assert.equal(ok.err, null);
    assert.equal(Buffer.concat(ok.data).length, n);
    const over = await inflateWith(serverCodec(n - 1), compress(Buffer.alloc(n, 1)));
    assert.equal(over.err.closeCode, 1009);
  });

  it("a small frame inflating past the synchronous cap is finished asynchronously when maxPayload allows it", async () => {
    const big = Buffer.alloc(4 * SYNC_INFLATE_MAX_OUTPUT, 7);
    const payload = compress(big);
    assert.ok(payload.length <= SYNC_INFLATE_MAX_INPUT, `compressed to ${payload.length} B`);
    const codec = serverCodec(16 << 20);
    let sync = true;
    const p = new Promise((resolve) => codec.inflate(payload, true, (err, data) => resolve({ err, data, sync })));
    sync = false;
    const r = await withTimeout(p, 10000, "inflate");
    assert.equal(r.sync, false, "went through a zlib stream");
    assert.equal(r.err, null);
    assert.ok(Buffer.concat(r.data).equals(big));
    // and against a maxPayload between the cap and the message size: 1009 from the stream path
    const r2 = await inflateWith(serverCodec(2 * SYNC_INFLATE_MAX_OUTPUT), payload);
    assert.equal(r2.err.closeCode, 1009);
  });

  it("invalid data fails with 1007 on the synchronous path", async () => {
    const { err } = await inflateWith(serverCodec(1 << 20), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00]));
    assert.equal(err.closeCode, 1007);
    assert.equal(err.code, "WS_ERR_INFLATE_FAILED");
  });

  it("a fragmented message (fin=false first) goes through the stream path and is counted across frames", async () => {
    const codec = serverCodec(1 << 20);
    const msg = Buffer.from(text(20000, 3));
    const whole = deflateRawSync(msg, { finishFlush: zc.Z_SYNC_FLUSH });
    const payload = whole.subarray(0, whole.length - 4);
    const half = payload.length >> 1;
    const a = await inflateWith(codec, payload.subarray(0, half), false);
    assert.equal(codec.hasInflateContext, true, "held between the frames of one message");
    const b = await inflateWith(codec, payload.subarray(half), true);
    assert.equal(codec.hasInflateContext, false, "handed back after the message");
    assert.ok(Buffer.concat([...a.data, ...b.data]).equals(msg));
  });
});

describe("RFC 7692 §7.2.1 synchronous compression and pooled contexts", () => {
  it("compressSync: used up to SYNC_DEFLATE_MAX without context takeover, never with it", () => {
    const codec = serverCodec(1 << 20);
    const msg = Buffer.from(text(SYNC_DEFLATE_MAX, 4));
    const out = codec.compressSync(msg, msg.length);
    assert.ok(out !== null && out.length < msg.length / 2);
    assert.notDeepEqual([...out.subarray(-4)], [0, 0, 0xff, 0xff], "tail removed");
    assert.equal(codec.compressSync(Buffer.alloc(SYNC_DEFLATE_MAX + 1), SYNC_DEFLATE_MAX + 1), null);
    const takeover = serverCodec(1 << 20, { ...NO_TAKEOVER, serverNoContextTakeover: false });
    assert.equal(takeover.compressSync(msg, msg.length), null);
    assert.equal(codec.hasDeflateContext, false);
  });

  it("300 connections sending 64 KiB messages at once: all intact, idle pooled streams bounded by the limit", async () => {
    clearZlibPools();
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: { concurrencyLimit: 4 } });
    await listening(wss);
    const N = 300;
    const clients = [];
    try {
      const conns = [];
      wss.on("connection", (s) => {
        conns.push(s);
        s.binaryType = "nodebuffer";
        s.onmessage = (e) => s.send(e.data); // inflate (pooled inflater) then compress (pooled deflater)
      });
      for (let i = 0; i < N; i++) clients.push(new WS(wss.url, { perMessageDeflate: { clientNoContextTakeover: true } }));
      await Promise.all(clients.map((c) => opened(c, 20000)));
      const msgs = clients.map((_, i) => text(64 * 1024, i + 1));
      const got = clients.map((c) => collectWs(c, 1, 60000));
      clients.forEach((c, i) => c.send(msgs[i]));
      const all = await Promise.all(got);
      all.forEach((g, i) => assert.equal(g[0], msgs[i], `echo ${i} intact`));
      // One pool per direction: at most concurrencyLimit idle streams each, whatever the number of connections.
      assert.ok(pooledStreamCount() <= 2 * 4, `${pooledStreamCount()} pooled streams`);
      assert.ok(pooledStreamCount() >= 1, "streams are reused, not closed after each message");
      for (const s of conns) {
        const codec = s._transport.deflate.codec;
        assert.equal(codec.hasInflateContext, false);
        assert.equal(codec.hasDeflateContext, false);
      }
    } finally {
      for (const c of clients) c.terminate();
      await withTimeout(wss.close({ timeout: 1000 }), 5000, "wss.close");
      clearZlibPools();
      assert.equal(pooledStreamCount(), 0);
    }
  });
});
