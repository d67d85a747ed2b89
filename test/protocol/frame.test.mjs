// RFC 6455 §5.2 base framing: hex fixtures for the encoder and the incremental parser.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  FrameParser,
  ProtocolError,
  encodeFrame,
  encodeFrameBuffer,
  frameHeaderLength,
  writeFrameHeader,
} from "../../dist/protocol/index.js";
import { fromHex, hex } from "../helpers/frames.mjs";
import { recorder } from "./recorder.mjs";

const KEY = Buffer.from([0x01, 0x02, 0x03, 0x04]);

/** Table: payload length → the exact header bytes (unmasked binary frame, FIN set). */
const HEADERS = [
  { len: 0, head: "8200" },
  { len: 1, head: "8201" },
  { len: 125, head: "827d" },
  { len: 126, head: "827e007e" },
  { len: 127, head: "827e007f" },
  { len: 65535, head: "827effff" },
  { len: 65536, head: "827f0000000000010000" },
  { len: 65537, head: "827f0000000000010001" },
];

function payloadOf(len) {
  const p = Buffer.alloc(len);
  for (let i = 0; i < len; i++) p[i] = (i * 31 + 7) & 0xff;
  return p;
}

function maskedCopy(payload, key) {
  const out = Buffer.alloc(payload.length);
  for (let i = 0; i < payload.length; i++) out[i] = payload[i] ^ key[i & 3];
  return out;
}

describe("RFC 6455 §5.2 base framing: encoder hex fixtures", () => {
  for (const { len, head } of HEADERS) {
    it(`unmasked binary frame of ${len} bytes has header ${head}`, () => {
      const payload = payloadOf(len);
      const out = encodeFrameBuffer(0x2, payload);
      assert.equal(out.length, head.length / 2 + len);
      assert.equal(hex(out.subarray(0, head.length / 2)), head);
      assert.ok(out.subarray(head.length / 2).equals(payload));
      assert.equal(frameHeaderLength(len, false), head.length / 2);
    });
    it(`masked binary frame of ${len} bytes: MASK bit, key after the length, payload XOR key`, () => {
      const payload = payloadOf(len);
      const out = encodeFrameBuffer(0x2, payload, { mask: KEY });
      const h = fromHex(head);
      h[1] |= 0x80;
      assert.equal(hex(out.subarray(0, h.length)), hex(h));
      assert.equal(hex(out.subarray(h.length, h.length + 4)), "01020304");
      assert.ok(out.subarray(h.length + 4).equals(maskedCopy(payload, KEY)));
      assert.equal(frameHeaderLength(len, true), h.length + 4);
    });
  }

  it("a 2^32-byte length is written in the 64-bit form with the top bit clear", () => {
    const h = Buffer.alloc(14);
    const n = writeFrameHeader(h, 0, 0x2, 2 ** 32, true, false, null);
    assert.equal(n, 10);
    assert.equal(hex(h.subarray(0, 10)), "827f0000000100000000");
    const n2 = writeFrameHeader(h, 0, 0x1, 2 ** 53 - 1, false, true, KEY);
    assert.equal(n2, 14);
    assert.equal(hex(h), "41ff001fffffffffffff01020304");
  });

  it("every frame kind: opcode, FIN and RSV1 bits", () => {
    const p = Buffer.from("ab");
    assert.equal(hex(encodeFrameBuffer(0x1, p)), "81026162");
    assert.equal(hex(encodeFrameBuffer(0x2, p, { fin: false })), "02026162");
    assert.equal(hex(encodeFrameBuffer(0x0, p)), "80026162");
    assert.equal(hex(encodeFrameBuffer(0x1, p, { rsv1: true })), "c1026162");
    assert.equal(hex(encodeFrameBuffer(0x8, fromHex("03e8"))), "880203e8");
    assert.equal(hex(encodeFrameBuffer(0x9, p)), "89026162");
    assert.equal(hex(encodeFrameBuffer(0xa, p)), "8a026162");
  });

  it("large unmasked payloads are returned as [header, payload] without copying", () => {
    const payload = payloadOf(70000);
    const r = encodeFrame(0x2, payload);
    assert.ok(Array.isArray(r));
    assert.equal(hex(r[0]), "827f0000000000011170");
    assert.equal(r[1], payload);
  });

  it("mask: true draws a fresh key per frame (RFC 6455 §5.3)", () => {
    const keys = new Set();
    for (let i = 0; i < 2000; i++) {
      const out = encodeFrameBuffer(0x1, Buffer.from("x"), { mask: true });
      assert.equal(out[1] & 0x80, 0x80);
      keys.add(hex(out.subarray(2, 6)));
    }
    // 2000 random 32-bit keys collide with probability < 0.1%; an allowance of 2 keeps the test deterministic.
    assert.ok(keys.size >= 1998, `only ${keys.size} distinct keys in 2000 frames`);
  });
});

describe("RFC 6455 §5.2 base framing: parser hex fixtures", () => {
  for (const { len, head } of HEADERS) {
    it(`server parses a masked ${len}-byte frame (header ${head} + key)`, () => {
      const payload = payloadOf(len);
      const h = fromHex(head);
      h[1] |= 0x80;
      const input = Buffer.concat([h, KEY, maskedCopy(payload, KEY)]);
      const { conn, events } = recorder(true);
      conn.receiveData(input);
      assert.deepEqual(events, [["message", true, hex(payload)]]);
    });
    it(`client parses an unmasked ${len}-byte frame (header ${head})`, () => {
      const payload = payloadOf(len);
      const input = Buffer.concat([fromHex(head), payload]);
      const { conn, events } = recorder(false);
      conn.receiveData(input);
      assert.deepEqual(events, [["message", true, hex(payload)]]);
    });
  }

  it("a 2^32-byte header fails with 1009 before any payload arrives (small maxPayload)", () => {
    const { conn, events } = recorder(true, { maxPayload: 1024 });
    // Header only: 64-bit length 2^32, MASK bit set; the key and payload never come.
    conn.receiveData(fromHex("82ff0000000100000000"));
    assert.deepEqual(events.slice(-2), [["error", 1009, "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH"], ["closeTransport"]]);
    assert.equal(events[0][0], "write");
    assert.equal(events[0][1], "880203f1", "the server sends close 1009");
    assert.equal(conn.receiveBuffered, 0);
  });

  it("a 2^32-byte header fails with 1009 under the default 16 MiB maxPayload", () => {
    const { conn, events } = recorder(false);
    conn.receiveData(fromHex("827f0000000100000000"));
    assert.deepEqual(events.slice(-2), [["error", 1009, "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH"], ["closeTransport"]]);
  });

  it("maxPayload counts the fragments of one message together", () => {
    const { conn, events } = recorder(false, { maxPayload: 100 });
    conn.receiveData(Buffer.concat([fromHex("0232"), Buffer.alloc(50)]));
    conn.receiveData(Buffer.concat([fromHex("0032"), Buffer.alloc(50)]));
    assert.deepEqual(events, []);
    conn.receiveData(fromHex("8001")); // one more byte: 101 > 100, refused from the header alone
    assert.deepEqual(events.map((e) => e[0]), ["write", "error", "closeTransport"]);
    assert.equal(events[1][1], 1009);
  });

  it("a message exactly at maxPayload is accepted", () => {
    const { conn, events } = recorder(false, { maxPayload: 100 });
    conn.receiveData(Buffer.concat([fromHex("0232"), Buffer.alloc(50), fromHex("8032"), Buffer.alloc(50)]));
    assert.deepEqual(events, [["message", true, "00".repeat(100)]]);
  });

  for (const [name, bytes] of [
    ["top bit set", "82ff8000000000000000"],
    ["all bits set", "82ffffffffffffffffff"],
  ]) {
    it(`a 64-bit length with the most significant bit set fails with 1002 (${name})`, () => {
      const { conn, events } = recorder(true, { maxPayload: Infinity });
      conn.receiveData(fromHex(bytes));
      assert.deepEqual(events, [["write", "880203ea"], ["error", 1002, "WS_ERR_INVALID_64BIT_LENGTH"], ["closeTransport"]]);
    });
  }

  it("FrameParser alone: push() throws ProtocolError and then ignores input", () => {
    const frames = [];
    const parser = new FrameParser({ onFrame: (...a) => frames.push(a) }, { isServer: false, maxPayload: 1 << 20, allowRsv1: false });
    parser.push(fromHex("810161"));
    assert.equal(frames.length, 1);
    assert.throws(() => parser.push(fromHex("8300")), (e) => e instanceof ProtocolError && e.closeCode === 1002);
    parser.push(fromHex("810161"));
    assert.equal(frames.length, 1);
  });

  it("FrameParser pause/resume delivers frames in order", () => {
    const frames = [];
    const parser = new FrameParser({ onFrame: (op, mop, fin, rsv1, p) => frames.push(p.toString()) }, { isServer: false, maxPayload: 1 << 20, allowRsv1: false });
    parser.pause();
    parser.push(fromHex("810161810162"));
    assert.deepEqual(frames, []);
    parser.resume();
    assert.deepEqual(frames, ["a", "b"]);
  });
});

describe("RFC 6455 §5.2: any chunking, in linear time", () => {
  it("a 256 KiB frame trickling in one byte at a time is parsed in linear time", { timeout: 30_000 }, () => {
    const payload = payloadOf(256 * 1024);
    const h = fromHex("82ff0000000000040000");
    const input = Buffer.concat([h, KEY, maskedCopy(payload, KEY)]);
    const { conn, events } = recorder(true);
    const started = performance.now();
    for (let i = 0; i < input.length; i++) conn.receiveData(input.subarray(i, i + 1));
    const ms = performance.now() - started;
    assert.equal(events.length, 1);
    assert.ok(Buffer.from(events[0][2], "hex").equals(payload));
    // Linear work takes well under a second; the former Array#shift() queue took minutes (quadratic).
    assert.ok(ms < 10_000, `took ${ms.toFixed(0)} ms`);
  });
});
