// The parser's fast path for small single-frame messages (FrameSink.onMessageBytes) and the core's decoded text
// delivery (decodeText / onTextMessage) must behave exactly like the general path: same unmasking (RFC 6455 §5.3),
// same checks (§5.1 masking by role, §5.2 reserved bits, §5.4 fragmentation, §8.1 UTF-8, §10.4 limits).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Connection, FrameParser } from "../../dist/protocol/index.js";
import { frame as wireFrame, KEY } from "../helpers/frames.mjs";

/** One frame from its first byte (FIN, RSV, opcode); masked with KEY when `masked`. */
const frame = (b0, payload, masked) =>
  wireFrame({ fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0x0f, payload, mask: masked ? KEY : null });

/** A connection recording what it delivers; `decodeText` as given. */
function endpoint({ isServer, decodeText = false, maxPayload }) {
  const got = [];
  const errors = [];
  const handler = {
    onWrite() {},
    onMessage: (data, isBinary) => got.push({ kind: isBinary ? "binary" : "text-bytes", data: Buffer.from(data) }),
    onPing() {},
    onPong() {},
    onCloseFrame() {},
    onCloseTransport() {},
    onProtocolError: (e) => errors.push(e),
  };
  if (decodeText) handler.onTextMessage = (text) => got.push({ kind: "text", data: text });
  const conn = new Connection(handler, { isServer, decodeText, ...(maxPayload !== undefined ? { maxPayload } : {}) });
  return { conn, got, errors };
}

/** Feeds `bytes` cut at the given offsets. */
function feed(conn, bytes, cuts = []) {
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    conn.receiveData(Buffer.from(bytes.subarray(at, c)));
    at = c;
  }
}

describe("RFC 6455 §5.3 / §5.2: small single-frame messages on the fast path", () => {
  for (const isServer of [true, false]) {
    it(`${isServer ? "server (masked input)" : "client (unmasked input)"}: every 7-bit length 0..125, many per chunk, is delivered intact`, () => {
      const payloads = [];
      for (let n = 0; n <= 125; n++) payloads.push(Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + n) & 0xff)));
      const wire = Buffer.concat(payloads.map((p) => frame(0x82, p, isServer)));
      const { conn, got, errors } = endpoint({ isServer });
      feed(conn, wire);
      assert.deepEqual(errors, []);
      assert.equal(got.length, payloads.length);
      got.forEach((m, n) => assert.deepEqual(m, { kind: "binary", data: payloads[n] }, `length ${n}`));
    });

    it(`${isServer ? "server" : "client"}: the same stream cut at every offset of a frame gives the same messages`, () => {
      const texts = ["", "a", "hello", "héllo wörld", "x".repeat(125)];
      const wire = Buffer.concat(texts.map((t) => frame(0x81, Buffer.from(t), isServer)));
      for (let cut = 1; cut < wire.length; cut += 3) {
        for (const decodeText of [false, true]) {
          const { conn, got, errors } = endpoint({ isServer, decodeText });
          feed(conn, wire, [cut]);
          assert.deepEqual(errors, []);
          assert.deepEqual(got.map((m) => (typeof m.data === "string" ? m.data : m.data.toString())), texts, `cut at ${cut}`);
          for (const m of got) assert.equal(m.kind, decodeText ? "text" : "text-bytes");
        }
      }
    });
  }

  it("decodeText: ASCII, multi-byte and 4-byte UTF-8 texts arrive as the same strings as Buffer#toString", () => {
    const texts = ["plain ascii", "ünïcödé", "日本語のテキスト", "emoji 😀 ok", "\u007f\u0080", "\uFFFD literal", ""];
    const { conn, got, errors } = endpoint({ isServer: true, decodeText: true });
    feed(conn, Buffer.concat(texts.map((t) => frame(0x81, Buffer.from(t), true))));
    assert.deepEqual(errors, []);
    assert.deepEqual(got.map((m) => m.data), texts);
  });

  it("decodeText: fragmented and large text messages are decoded too", () => {
    const big = "ab€".repeat(1000);
    const { conn, got, errors } = endpoint({ isServer: false, decodeText: true });
    const head = Buffer.from(big);
    const wire = Buffer.concat([
      frame(0x01, Buffer.from("frag"), false), // Text, FIN clear
      frame(0x80, Buffer.from("mented"), false), // Continuation, FIN set
      Buffer.from([0x81, 126, head.length >> 8, head.length & 0xff]),
      head,
    ]);
    feed(conn, wire);
    assert.deepEqual(errors, []);
    assert.deepEqual(got.map((m) => m.data), ["fragmented", big]);
  });

  it("§8.1: invalid UTF-8 in a small text frame fails the connection with 1007, with or without decodeText", () => {
    for (const decodeText of [false, true]) {
      for (const bad of [[0xff], [0x61, 0xc3], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0x61, 0x62, 0x63, 0x64, 0xf4, 0x90, 0x80, 0x80]]) {
        const { conn, got, errors } = endpoint({ isServer: true, decodeText });
        feed(conn, frame(0x81, Buffer.from(bad), true));
        assert.deepEqual(got, []);
        assert.equal(errors.length, 1);
        assert.equal(errors[0].closeCode, 1007);
      }
    }
  });

  it("§5.1: a masked frame to a client and an unmasked frame to a server still fail with 1002", () => {
    for (const isServer of [true, false]) {
      const { conn, got, errors } = endpoint({ isServer, decodeText: true });
      feed(conn, frame(0x81, Buffer.from("hi"), !isServer));
      assert.deepEqual(got, []);
      assert.equal(errors.length, 1);
      assert.equal(errors[0].closeCode, 1002);
    }
  });

  it("§5.2 / §5.4: RSV bits and a data frame inside a fragmented message are still rejected", () => {
    for (const wire of [
      frame(0x91, Buffer.from("rsv3"), true),
      frame(0xc1, Buffer.from("rsv1"), true),
      Buffer.concat([frame(0x01, Buffer.from("a"), true), frame(0x81, Buffer.from("b"), true)]),
    ]) {
      const { conn, got, errors } = endpoint({ isServer: true, decodeText: true });
      feed(conn, wire);
      assert.deepEqual(got, []);
      assert.equal(errors.length, 1);
      assert.equal(errors[0].closeCode, 1002);
    }
  });

  it("§10.4: a small frame over maxPayload fails with 1009", () => {
    const { conn, got, errors } = endpoint({ isServer: true, decodeText: true, maxPayload: 10 });
    feed(conn, Buffer.concat([frame(0x81, Buffer.from("0123456789"), true), frame(0x81, Buffer.from("0123456789a"), true)]));
    assert.deepEqual(got.map((m) => m.data), ["0123456789"]);
    assert.equal(errors.length, 1);
    assert.equal(errors[0].closeCode, 1009);
  });

  it("control frames between small messages keep their order", () => {
    const events = [];
    const conn = new Connection(
      {
        onWrite() {},
        onMessage: (d) => events.push(`bin:${d.toString()}`),
        onTextMessage: (t) => events.push(`text:${t}`),
        onPing: (d) => events.push(`ping:${d.toString()}`),
        onPong: (d) => events.push(`pong:${d.toString()}`),
        onCloseFrame: (code) => events.push(`close:${code}`),
        onCloseTransport() {},
        onProtocolError: (e) => assert.fail(e.message),
      },
      { isServer: true, decodeText: true },
    );
    const wire = Buffer.concat([
      frame(0x81, Buffer.from("a"), true),
      frame(0x89, Buffer.from("p"), true),
      frame(0x82, Buffer.from("b"), true),
      frame(0x8a, Buffer.from("q"), true),
      frame(0x88, Buffer.from([0x03, 0xe8]), true),
      frame(0x81, Buffer.from("after close: ignored"), true),
    ]);
    conn.receiveData(wire);
    assert.deepEqual(events, ["text:a", "ping:p", "bin:b", "pong:q", "close:1000"]);
  });

  it("a FrameParser sink without onMessageBytes still receives every frame through onFrame", () => {
    const frames = [];
    const parser = new FrameParser({ onFrame: (op, mop, fin, rsv1, p) => frames.push([op, fin, p.toString()]) }, { isServer: true, maxPayload: 1 << 20, allowRsv1: false });
    parser.push(Buffer.concat([frame(0x81, Buffer.from("one"), true), frame(0x82, Buffer.from("two"), true)]));
    assert.deepEqual(frames, [[1, true, "one"], [2, true, "two"]]);
  });

  it("sendText: ASCII, non-ASCII and lone-surrogate strings are framed as their UTF-8 bytes, by both roles", () => {
    const texts = ["", "ascii only", "é", "mixed ascii and é€😀", "lone \ud800 surrogate", "x".repeat(300), "€".repeat(50000)];
    for (const isServer of [true, false]) {
      const written = [];
      const sender = new Connection({ onWrite: (d) => written.push(Buffer.from(d)), onMessage() {}, onPing() {}, onPong() {}, onCloseFrame() {}, onCloseTransport() {}, onProtocolError: (e) => assert.fail(e.message) }, { isServer });
      for (const t of texts) assert.equal(sender.sendText(t), true);
      const { conn, got, errors } = endpoint({ isServer: !isServer });
      feed(conn, Buffer.concat(written));
      assert.deepEqual(errors, []);
      assert.deepEqual(got.map((m) => m.data), texts.map((t) => Buffer.from(t, "utf8")));
    }
  });

  it("decodeText without onTextMessage is a TypeError", () => {
    assert.throws(() => endpoint({ isServer: true }) && new Connection({ onWrite() {}, onMessage() {} }, { isServer: true, decodeText: true }), TypeError);
  });
});
