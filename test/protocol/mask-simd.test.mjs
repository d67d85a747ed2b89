// RFC 6455 §5.3 masking: the WebAssembly SIMD path, the JavaScript word path and the public entry points all agree
// with the plain octet loop, at every length class, key phase, key offset and source/destination alignment.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Connection } from "../../dist/protocol/index.js";
import { c } from "../helpers/frames.mjs";
import {
  applyMask,
  applyMaskPlain,
  applyMaskTo,
  applyMaskToSimd,
  applyMaskToWords,
  maskImplementation,
  simdAvailable,
  SIMD_BLOCK,
  SIMD_THRESHOLD,
  WORDS_THRESHOLD,
} from "../../dist/protocol/mask.js";

const MASK_JS = fileURLToPath(new URL("../../dist/protocol/mask.js", import.meta.url));

/** The expected output via applyMaskPlain: octet i uses key octet (phase + i) mod 4, i.e. a rotated key. */
function expected(src, length, keyPool, keyOff, phase) {
  const rotated = Buffer.from([0, 1, 2, 3].map((j) => keyPool[keyOff + ((phase + j) & 3)]));
  const out = Buffer.from(src.subarray(0, length));
  applyMaskPlain(out, rotated);
  return out;
}

const PATHS = [
  ["simd", applyMaskToSimd],
  ["words", applyMaskToWords],
  ["applyMaskTo", applyMaskTo],
];

/**
 * Masks `length` random octets with `fn` at the given source/destination alignments (offsets within a fresh
 * ArrayBuffer), key offset and phase, distinct buffers or in place, and checks the result, the guard octets around
 * the destination, and (for distinct buffers) that the source is untouched.
 */
function check(name, fn, length, { srcAlign, dstAlign, keyOff, phase, inPlace }) {
  const keyPool = randomBytes(12);
  const original = randomBytes(length);
  const want = expected(original, length, keyPool, keyOff, phase);
  const srcBacking = new Uint8Array(length + 16);
  const src = new Uint8Array(srcBacking.buffer, srcAlign, length);
  src.set(original);
  const label = `${name} len ${length} src@${srcAlign} dst@${dstAlign} key@${keyOff} phase ${phase} ${inPlace ? "in place" : "distinct"}`;
  if (inPlace) {
    fn(src, keyPool, keyOff, src, 0, length, phase);
    assert.ok(Buffer.from(src).equals(want), label);
    assert.ok(srcBacking.subarray(0, srcAlign).every((b) => b === 0), `${label}: octets before`);
    assert.ok(srcBacking.subarray(srcAlign + length).every((b) => b === 0), `${label}: octets after`);
    return;
  }
  // The destination is a view at dstAlign with a further offset of 5 inside it (like a frame header).
  const guard = 0xa5;
  const dstBacking = new Uint8Array(length + 24).fill(guard);
  const dst = new Uint8Array(dstBacking.buffer, dstAlign, length + 10);
  fn(src, keyPool, keyOff, dst, 5, length, phase);
  assert.ok(Buffer.from(dst.subarray(5, 5 + length)).equals(want), label);
  assert.ok(dstBacking.subarray(0, dstAlign + 5).every((b) => b === guard), `${label}: octets before`);
  assert.ok(dstBacking.subarray(dstAlign + 5 + length).every((b) => b === guard), `${label}: octets after`);
  assert.ok(Buffer.from(src).equals(original), `${label}: source untouched`);
}

describe("RFC 6455 §5.3 masking: SIMD and word paths against the plain loop", () => {
  it("this runtime (Node 20+) compiles the WebAssembly SIMD module and uses it", () => {
    assert.equal(simdAvailable, true);
    assert.equal(maskImplementation, "wasm-simd");
    assert.equal(SIMD_BLOCK % 64, 0);
  });

  it("every length 0-70 × key phase 0-3 × key offset 0-3 × source/destination alignment 0-3, distinct and in place", () => {
    for (const [name, fn] of PATHS) {
      for (let length = 0; length <= 70; length++) {
        for (let phase = 0; phase < 4; phase++) {
          for (let srcAlign = 0; srcAlign < 4; srcAlign++) {
            const keyOff = (length + srcAlign) & 3;
            check(name, fn, length, { srcAlign, dstAlign: 0, keyOff, phase, inPlace: true });
            for (let dstAlign = 0; dstAlign < 4; dstAlign++) {
              check(name, fn, length, { srcAlign, dstAlign, keyOff: (keyOff + dstAlign) & 3, phase, inPlace: false });
            }
          }
        }
      }
    }
  });

  it("lengths around the word and SIMD thresholds and the 64-octet SIMD stride, every alignment and phase", () => {
    const lengths = new Set();
    for (const t of [WORDS_THRESHOLD, SIMD_THRESHOLD, 128, 256, 1000]) for (let d = -5; d <= 5; d++) lengths.add(t + d);
    for (const [name, fn] of PATHS) {
      for (const length of lengths) {
        for (let phase = 0; phase < 4; phase++) {
          for (let a = 0; a < 16; a++) {
            const srcAlign = a & 3, dstAlign = a >> 2;
            check(name, fn, length, { srcAlign, dstAlign, keyOff: phase, phase, inPlace: false });
            if (dstAlign === 0) check(name, fn, length, { srcAlign, dstAlign, keyOff: 3 - phase, phase, inPlace: true });
          }
        }
      }
    }
  });

  it("lengths around the SIMD block boundaries and above 1 MiB (the payload crosses blocks)", () => {
    const B = SIMD_BLOCK;
    const lengths = [
      ...[-65, -16, -1, 0, 1, 3, 15, 16, 17, 63, 64, 65].map((d) => B + d),
      ...[2 * B - 1, 2 * B, 2 * B + 5, 1048576, 1048576 + 7, 3 * 1048576 + 13],
    ];
    for (const [name, fn] of PATHS) {
      for (const length of lengths) {
        for (let phase = 0; phase < 4; phase++) {
          // A diagonal through the alignment pairs, both relative alignments (equal and different) included.
          const srcAlign = phase, dstAlign = (phase * 3 + (length & 1)) & 3;
          check(name, fn, length, { srcAlign, dstAlign, keyOff: (phase + 1) & 3, phase, inPlace: false });
          check(name, fn, length, { srcAlign, dstAlign: 0, keyOff: 3 - phase, phase, inPlace: true });
        }
      }
    }
  });

  it("masking twice restores the input; applyMask masks in place with phase 0", () => {
    for (const length of [0, 1, 63, 64, 191, 192, 4099, SIMD_BLOCK + 1, 1048576 + 3]) {
      const key = randomBytes(4);
      const data = randomBytes(length + 3).subarray(3);
      const original = Buffer.from(data);
      applyMask(data, key);
      assert.ok(data.equals(expected(original, length, key, 0, 0)), `len ${length}`);
      applyMask(data, key);
      assert.ok(data.equals(original), `len ${length} round trip`);
    }
  });

  it("a payload masked piece by piece with a running phase equals the payload masked whole", () => {
    const key = randomBytes(4);
    const payload = randomBytes(300000);
    const whole = expected(payload, payload.length, key, 0, 0);
    for (const [name, fn] of PATHS) {
      const out = Buffer.alloc(payload.length);
      let at = 0;
      for (const size of [1, 2, 7, 100, 4096, 65533, 65536, 3, 70000]) {
        fn(payload.subarray(at, at + size), key, 0, out, at, size, at & 3);
        at += size;
      }
      fn(payload.subarray(at), key, 0, out, at, payload.length - at, at & 3);
      assert.ok(out.equals(whole), name);
    }
  });

  it("without WebAssembly (node --no-expose-wasm) the word loop is used and gives the same result", () => {
    const script = `
      const m = await import(${JSON.stringify(MASK_JS)});
      const { randomBytes } = await import("node:crypto");
      const out = { impl: m.maskImplementation, simd: m.simdAvailable, ok: true };
      for (const len of [0, 5, 64, 200, 70001]) {
        const key = randomBytes(4), src = randomBytes(len + 1).subarray(1), a = Buffer.from(src), b = Buffer.alloc(len + 14);
        m.applyMaskPlain(a, key);
        m.applyMaskTo(src, key, 0, b, 14, len);
        if (!b.subarray(14).equals(a)) out.ok = false;
      }
      try { m.applyMaskToSimd(Buffer.alloc(4), Buffer.alloc(4), 0, Buffer.alloc(4), 0, 4); out.threw = false; } catch { out.threw = true; }
      console.log(JSON.stringify(out));`;
    const stdout = execFileSync(process.execPath, ["--no-expose-wasm", "--input-type=module", "-e", script], {
      timeout: 20000,
      encoding: "utf8",
    });
    assert.deepEqual(JSON.parse(stdout.trim()), { impl: "js-words", simd: false, ok: true, threw: true });
  });

  it("a masked frame split across chunks is unmasked while it is reassembled (FrameParser.take)", () => {
    const sizes = [1, 3, 17, 125, 191, 192, 4099, SIMD_BLOCK + 21, 300007];
    const cuts = [[1], [2, 5, 9], [13, 64, 4096], [65536], [191], [7, 65529, 3]];
    for (const size of sizes) {
      const payload = randomBytes(size);
      const wire = c(0x2, payload); // masked with helpers/frames.mjs's KEY, as a client sends it
      for (const pattern of cuts) {
        const messages = [];
        const conn = new Connection(
          {
            onWrite() {},
            onMessage: (data, isBinary) => messages.push([Buffer.from(data), isBinary]),
            onPing() {},
            onPong() {},
            onCloseFrame() {},
            onCloseTransport() {},
            onProtocolError: (err) => assert.fail(`protocol error ${err.code}`),
          },
          { isServer: true, maxPayload: 1 << 24 },
        );
        // Chunk sizes cycle through the pattern; each chunk is a copy at an odd offset of its own buffer.
        for (let at = 0, k = 0; at < wire.length; k++) {
          const n = Math.min(pattern[k % pattern.length], wire.length - at);
          const backing = Buffer.alloc(n + 3);
          wire.copy(backing, 3, at, at + n);
          conn.receiveData(backing.subarray(3));
          at += n;
        }
        assert.equal(messages.length, 1, `size ${size} cuts ${pattern}`);
        assert.ok(messages[0][0].equals(payload), `size ${size} cuts ${pattern}`);
        assert.equal(messages[0][1], true);
      }
    }
  });
});
