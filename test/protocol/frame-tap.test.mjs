// FrameTap (src/protocol/frame-tap.ts): the read-only decoder behind tracing, fed frames split at every byte.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { FrameTap } from "../../dist/protocol/frame-tap.js";
import { encodeFrameBuffer } from "../../dist/protocol/frame.js";

function tap(bytes, step) {
  const frames = [];
  const t = new FrameTap((f) => frames.push(f));
  for (let i = 0; i < bytes.length; i += step) t.push(bytes.subarray(i, i + step));
  return frames;
}

describe("RFC 6455 §5.2 base framing, as a tap reads it", () => {
  for (const [len, form] of [[0, 7], [125, 7], [126, 16], [65535, 16], [65536, 64]]) {
    it(`length ${len}: the ${form}-bit length form, masked and not, split anywhere`, () => {
      const payload = Buffer.alloc(len, 0x61);
      for (const mask of [false, true]) {
        const wire = encodeFrameBuffer(2, payload, { mask });
        for (const step of [1, 3, wire.length]) {
          const [f, ...rest] = tap(wire, step);
          assert.equal(rest.length, 0);
          assert.equal(f.length, len);
          assert.equal(f.lengthForm, form);
          assert.equal(f.masked, mask);
          assert.equal(f.maskKey === null, !mask);
          if (mask) assert.deepEqual(f.maskKey, wire.subarray(wire.length - len - 4, wire.length - len));
          assert.deepEqual(f.payload, payload.subarray(0, 125), "the start of the payload, unmasked");
        }
      }
    });
  }

  it("a fragmented message: continuation frames carry the message's opcode and compression; control frames between", () => {
    const wire = Buffer.concat([
      encodeFrameBuffer(1, Buffer.from("Hel"), { fin: false, rsv1: true, mask: true }),
      encodeFrameBuffer(9, Buffer.from("ping"), { mask: true }),
      encodeFrameBuffer(0, Buffer.from("lo"), { fin: true, mask: true }),
      encodeFrameBuffer(8, Buffer.from([0x03, 0xe8, 0x6f, 0x6b]), { mask: true }),
    ]);
    const frames = tap(wire, 2);
    assert.deepEqual(frames.map((f) => [f.opcode, f.messageOpcode, f.fin, f.rsv1, f.compressed, f.payload.toString("latin1")]), [
      [1, 1, false, true, true, "Hel"],
      [9, 9, true, false, false, "ping"],
      [0, 1, true, false, true, "lo"],
      [8, 8, true, false, false, "\x03\xe8ok"],
    ]);
  });

  it("RSV2 and RSV3 are reported as sent (the tap checks nothing)", () => {
    const wire = Buffer.from([0x80 | 0x20 | 0x10 | 0x2, 0x00]);
    const [f] = tap(wire, 1);
    assert.equal(f.rsv2, true);
    assert.equal(f.rsv3, true);
    assert.equal(f.length, 0);
  });
});
