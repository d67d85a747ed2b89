// Input whose memory is reused after each call (Connection.receiveTransient / FrameParser.pushTransient: the
// server reads every socket into one shared buffer). Whatever the chunking, the events and every payload handed
// out must be the same as with owned input, even though each chunk is overwritten right after it was fed.
// Also: a frame whose payload spans reads is collected into its own buffer as it arrives (RFC 6455 §5.2/§5.3).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Connection, FrameParser } from "../../dist/protocol/index.js";
import { c, closePayload, hex, s } from "../helpers/frames.mjs";

const kosme = Buffer.from("κόσμε 😀", "utf8");
const big = Buffer.alloc(200_000);
for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 9)) & 0xff;
const INPUT = Buffer.concat([
  c(0x1, "Hello"),
  c(0x2, Buffer.from([1, 2, 3, 4, 5])),
  c(0x1, "héllo wörld"), // non-ASCII: through the copy path of the small-message fast path
  c(0x1, kosme.subarray(0, 3), { fin: false }),
  c(0x9, "p1"),
  c(0x0, kosme.subarray(3), { fin: true }),
  c(0x2, Buffer.alloc(300, 0xa5)),
  c(0x2, big), // 64-bit length, spans many reads
  c(0x2, Buffer.alloc(0)),
  c(0xa, "pong!"),
  c(0x2, big.subarray(0, 70_000), { fin: false }),
  c(0x0, big.subarray(70_000, 140_000), { fin: true }),
  c(0x8, closePayload(1000, "bye")),
]);

/**
 * Feeds `input` in chunks of the given sizes (cycled) through one reused buffer; returns the events. With `direct`,
 * does what the server's transport does: when the connection offers a read target (the rest of a long payload's
 * buffer), the next piece is written there instead (still masked, at most the target's length) and reported with
 * receivedInto().
 */
function run(input, sizes, transient, decodeText = false, direct = 0) {
  const events = [];
  const kept = []; // payload buffers handed out, checked after every later overwrite
  const conn = new Connection(
    {
      onWrite: (d) => events.push(["write", hex(d)]),
      onMessage: (d, isBinary) => {
        kept.push([d, hex(d)]);
        events.push(["message", isBinary, d.length, hex(d).slice(0, 64)]);
      },
      onTextMessage: (t) => events.push(["text", t]),
      onPing: (d) => {
        kept.push([d, hex(d)]);
        events.push(["ping", hex(d)]);
      },
      onPong: (d) => {
        kept.push([d, hex(d)]);
        events.push(["pong", hex(d)]);
      },
      onCloseFrame: (code, reason) => events.push(["closeFrame", code, reason]),
      onCloseTransport: () => events.push(["closeTransport"]),
      onProtocolError: (err) => events.push(["error", err.closeCode, err.code]),
    },
    { isServer: true, decodeText },
  );
  const shared = Buffer.alloc(Math.max(...sizes));
  let k = 0;
  for (let at = 0; at < input.length; ) {
    let n = Math.min(sizes[k++ % sizes.length], input.length - at);
    const target = direct > 0 ? conn.readTarget(direct) : null;
    if (target !== null) {
      n = Math.min(n, target.length);
      input.copy(target, 0, at, at + n);
      conn.receivedInto(n);
    } else if (transient) {
      input.copy(shared, 0, at, at + n);
      conn.receiveTransient(shared.subarray(0, n));
      shared.fill(0xee); // the next read overwrites it
    } else {
      conn.receiveData(Buffer.from(input.subarray(at, at + n)));
    }
    at += n;
  }
  for (const [buf, h] of kept) assert.equal(hex(buf), h, "a payload handed out changed after its chunk was reused");
  return events;
}

describe("transient input (a shared read buffer): same events as owned input, payloads intact", () => {
  const expected = run(INPUT, [INPUT.length], false);
  it("the reference run sees every message", () => {
    assert.equal(expected.filter((e) => e[0] === "message").length, 8);
    assert.deepEqual(expected.at(-1), ["closeTransport"]);
  });
  for (const sizes of [[INPUT.length], [1], [2, 3], [7], [64], [100, 1, 13], [4096], [65536], [65536, 17], [16384, 3, 70000]]) {
    it(`chunks of ${sizes.join(", ")} bytes`, () => {
      assert.deepEqual(run(INPUT, sizes, true), expected);
      assert.deepEqual(run(INPUT, sizes, false), expected);
    });
  }
  it("long payloads read straight into their buffer (readTarget / receivedInto), between transient chunks", () => {
    for (const sizes of [[65536], [1000], [7, 70000], [16384, 3]]) {
      for (const min of [1, 4096, 16384]) assert.deepEqual(run(INPUT, sizes, true, false, min), expected, `${sizes} min ${min}`);
    }
  });
  it("a read target is offered only while a long payload is awaited and nothing else is buffered", () => {
    const conn = new Connection({ onWrite() {}, onMessage() {}, onPing() {}, onPong() {}, onCloseFrame() {}, onCloseTransport() {}, onProtocolError() {} }, { isServer: true });
    assert.equal(conn.readTarget(1), null, "before any input");
    const frame = c(0x2, big);
    conn.receiveTransient(Buffer.from(frame.subarray(0, 50_000)));
    const t = conn.readTarget(1);
    assert.ok(t !== null && t.length === frame.length - 50_000, "the rest of the payload");
    assert.equal(conn.readTarget(frame.length), null, "less awaited than asked for");
    conn.receiveTransient(Buffer.from(frame.subarray(50_000, 50_010)));
    assert.equal(conn.isReadTarget(t), false, "input that went elsewhere ends the offer");
  });
  it("decoded text (decodeText) from transient chunks", () => {
    const ref = run(INPUT, [INPUT.length], false, true);
    assert.ok(ref.some((e) => e[0] === "text" && e[1] === "héllo wörld"));
    for (const sizes of [[1], [5, 9], [65536]]) assert.deepEqual(run(INPUT, sizes, true, true), ref);
  });
  it("a close payload and a ping answered while the chunk is reused: the pong echoes the ping's bytes", () => {
    const input = Buffer.concat([c(0x9, "abcdef"), c(0x8, closePayload(4001, "reason"))]);
    const events = run(input, [3], true);
    assert.deepEqual(events, [
      ["write", "8a06" + hex(Buffer.from("abcdef"))],
      ["ping", hex(Buffer.from("abcdef"))],
      ["write", "8808" + hex(closePayload(4001, "reason"))],
      ["closeFrame", 4001, "reason"],
      ["closeTransport"],
    ]);
  });
});

describe("a payload that spans reads is collected into its own buffer", () => {
  /** A sink that records frames; the parser is fed owned chunks, which the parser must not need to keep. */
  function parse(input, size, maxPayload = 64 * 1024 * 1024) {
    const frames = [];
    const parser = new FrameParser(
      { onFrame: (op, mop, fin, rsv1, payload) => frames.push([op, fin, payload]) },
      { isServer: false, maxPayload, allowRsv1: false },
    );
    for (let at = 0; at < input.length; at += size) parser.push(input.subarray(at, at + size));
    return { frames, parser };
  }
  it("server frames of 3 MiB and 70,000 bytes in 64 KiB reads arrive intact", () => {
    const a = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < a.length; i++) a[i] = (i ^ (i >> 11)) & 0xff;
    const input = Buffer.concat([s(0x2, a), s(0x2, a.subarray(5, 70_005)), s(0x1, "tail")]);
    const { frames } = parse(input, 65536);
    assert.equal(frames.length, 3);
    assert.ok(frames[0][2].equals(a));
    assert.ok(frames[1][2].equals(a.subarray(5, 70_005)));
    assert.equal(frames[2][2].toString(), "tail");
  });
  it("bytes in flight are not counted twice: bufferedAmount drops as the payload fills its buffer", () => {
    const payload = Buffer.alloc(100_000, 7);
    const frame = s(0x2, payload);
    const { frames, parser } = parse(frame.subarray(0, 50_000), 50_000);
    assert.equal(frames.length, 0);
    assert.equal(parser.bufferedAmount, 0);
    parser.push(frame.subarray(50_000));
    assert.equal(frames.length, 1);
    assert.ok(frames[0][2].equals(payload));
  });
  it("a frame announced far longer than what arrived keeps only what arrived until a quarter is in", () => {
    const header = s(0x2, Buffer.alloc(0), { length: 8 * 1024 * 1024 }).subarray(0, 10);
    const { frames, parser } = parse(Buffer.concat([header, Buffer.alloc(1000, 1)]), 1 << 20);
    assert.equal(frames.length, 0);
    assert.equal(parser.bufferedAmount, 1000, "kept as received bytes, no 8 MiB buffer reserved yet");
  });
});
