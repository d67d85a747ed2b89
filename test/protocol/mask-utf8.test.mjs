// RFC 6455 §5.3 masking (word-wise fast path vs plain fallback) and §8.1 UTF-8 validation (RFC 3629).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { applyMask, applyMaskPlain, applyMaskTo, Connection, isValidUtf8, Utf8Validator } from "../../dist/protocol/index.js";
import { c, hex } from "../helpers/frames.mjs";

function reference(data, key, keyOff = 0) {
  const out = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i] ^ key[keyOff + (i & 3)];
  return out;
}

describe("RFC 6455 §5.3 masking: fast path and plain fallback agree", () => {
  const lengths = [0, 1, 2, 3, 4, 5, 7, 8, 31, 32, 33, 35, 36, 63, 64, 65, 100, 1000, 4099];
  it("applyMask (in place) at every source alignment 0-7 and many lengths", () => {
    for (const len of lengths) {
      for (let align = 0; align < 8; align++) {
        const key = randomBytes(4);
        const backing = randomBytes(len + 16);
        const data = backing.subarray(align, align + len);
        const original = Buffer.from(data);
        const fast = Buffer.from(backing).subarray(align, align + len); // same alignment class (fresh copy)
        const a = new Uint8Array(backing.length);
        a.set(backing);
        const aligned = new Uint8Array(a.buffer, align, len);
        applyMask(aligned, key);
        const plain = Buffer.from(original);
        applyMaskPlain(plain, key);
        assert.equal(hex(Buffer.from(aligned)), hex(reference(original, key)), `fast len ${len} align ${align}`);
        assert.equal(hex(plain), hex(reference(original, key)), `plain len ${len} align ${align}`);
        applyMask(fast, key);
        assert.equal(hex(fast), hex(reference(original, key)));
        // Masking twice restores the input.
        applyMask(fast, key);
        assert.equal(hex(fast), hex(original));
      }
    }
  });

  it("applyMaskTo with every source × destination alignment and a key at an offset", () => {
    for (const len of lengths) {
      for (let sa = 0; sa < 4; sa++) {
        for (let da = 0; da < 4; da++) {
          const keyPool = randomBytes(16);
          const keyOff = (sa * 4 + da) % 12;
          const srcBuf = new Uint8Array(len + 8);
          srcBuf.set(randomBytes(len + 8));
          const src = new Uint8Array(srcBuf.buffer, sa, len);
          const dst = new Uint8Array(len + 16);
          applyMaskTo(src, keyPool, keyOff, dst, da + 4, len);
          assert.equal(hex(Buffer.from(dst.subarray(da + 4, da + 4 + len))), hex(reference(src, keyPool, keyOff)), `len ${len} src ${sa} dst ${da}`);
          // Nothing outside the target range is written.
          assert.ok(dst.subarray(0, da + 4).every((b) => b === 0));
          assert.ok(dst.subarray(da + 4 + len).every((b) => b === 0));
          const plain = Buffer.from(src);
          applyMaskPlain(plain, keyPool, keyOff);
          assert.equal(hex(plain), hex(reference(src, keyPool, keyOff)));
        }
      }
    }
  });

  it("random inputs: 2000 random lengths, alignments and keys", () => {
    for (let n = 0; n < 2000; n++) {
      const len = Math.floor(Math.random() * 300);
      const align = Math.floor(Math.random() * 8);
      const key = randomBytes(4);
      const backing = new Uint8Array(len + 8);
      backing.set(randomBytes(len + 8));
      const view = new Uint8Array(backing.buffer, align, len);
      const original = Buffer.from(view);
      applyMask(view, key);
      const plain = Buffer.from(original);
      applyMaskPlain(plain, key);
      assert.equal(hex(Buffer.from(view)), hex(plain));
    }
  });
});

const VALID = [
  "",
  "plain ASCII",
  "κόσμε",
  "€ and 中文 and 😀",
  "a".repeat(100) + "é😀" + "b".repeat(40),
  "\u0000\u007f\u0080\u07ff\u0800\uffff",
  "\u{10000}\u{10ffff}\ud7ff\ue000",
].map((s) => Buffer.from(s, "utf8"));

const INVALID = [
  ["lone continuation byte", [0x80]],
  ["continuation after ASCII", [0x61, 0xbf]],
  ["overlong 2-byte C0 80", [0xc0, 0x80]],
  ["overlong 2-byte C1 BF", [0xc1, 0xbf]],
  ["overlong 3-byte E0 80 80", [0xe0, 0x80, 0x80]],
  ["overlong 3-byte E0 9F BF", [0xe0, 0x9f, 0xbf]],
  ["overlong 4-byte F0 80 80 80", [0xf0, 0x80, 0x80, 0x80]],
  ["overlong 4-byte F0 8F BF BF", [0xf0, 0x8f, 0xbf, 0xbf]],
  ["surrogate U+D800 (ED A0 80)", [0xed, 0xa0, 0x80]],
  ["surrogate U+DFFF (ED BF BF)", [0xed, 0xbf, 0xbf]],
  ["U+110000 (F4 90 80 80)", [0xf4, 0x90, 0x80, 0x80]],
  ["F5 lead byte", [0xf5, 0x80, 0x80, 0x80]],
  ["FE", [0xfe]],
  ["FF", [0xff]],
  ["2-byte lead then ASCII", [0xc3, 0x41]],
  ["3-byte lead, one tail, then ASCII", [0xe2, 0x82, 0x41]],
  ["truncated 4-byte sequence at the end", [0xf0, 0x9f, 0x98]],
  ["truncated 2-byte sequence at the end", [0xce]],
  ["valid text then an invalid byte", [...Buffer.from("κόσμε"), 0xff, ...Buffer.from("tail")]],
  ["long valid prefix then a surrogate", [...Buffer.from("x".repeat(64)), 0xed, 0xa0, 0x80]],
].map(([name, bytes]) => [name, Buffer.from(bytes)]);

/** Index of the first byte at which no valid completion exists (WHATWG fatal streaming decoder), or -1. */
function firstBadIndex(bytes) {
  const d = new TextDecoder("utf-8", { fatal: true });
  for (let i = 0; i < bytes.length; i++) {
    try {
      d.decode(bytes.subarray(i, i + 1), { stream: true });
    } catch {
      return i;
    }
  }
  return -1;
}

/** Whether the WHATWG fatal UTF-8 decoder accepts `bytes` as a whole. */
function decodesStrictly(bytes) {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

describe("RFC 6455 §8.1 UTF-8 validation (RFC 3629)", () => {
  it("isValidUtf8 accepts valid text and rejects every invalid case (short and long inputs)", () => {
    for (const v of VALID) assert.equal(isValidUtf8(v), true, hex(v));
    for (const [name, b] of INVALID) {
      assert.equal(isValidUtf8(b), false, name);
      // Past 32 bytes the native path is used: same answer.
      assert.equal(isValidUtf8(Buffer.concat([Buffer.from("y".repeat(40)), b])), false, `${name} (long)`);
    }
  });

  it("valid text split at every position (code points split across fragments) is accepted", () => {
    const v = new Utf8Validator();
    for (const b of VALID) {
      for (let i = 0; i <= b.length; i++) {
        assert.equal(v.push(b.subarray(0, i)), true, `push ${hex(b)} @${i}`);
        assert.equal(v.end(b.subarray(i)), true, `end ${hex(b)} @${i}`);
      }
      for (let i = 0; i <= b.length; i++) {
        for (let j = i; j <= b.length; j++) {
          assert.equal(v.push(b.subarray(0, i)) && v.push(b.subarray(i, j)) && v.end(b.subarray(j)), true);
        }
      }
    }
  });

  it("invalid text split at every position fails, and fails fast: at the first fragment holding the bad byte", () => {
    for (const [name, b] of INVALID) {
      const bad = firstBadIndex(b); // -1: the bytes are a valid prefix that ends inside a code point
      for (let i = 0; i <= b.length; i++) {
        const v = new Utf8Validator();
        const first = v.push(b.subarray(0, i));
        // The first fragment must fail exactly when it already contains the first impossible byte.
        assert.equal(first, !(bad !== -1 && bad < i), `${name}: first fragment of ${i} bytes`);
        if (first) assert.equal(v.end(b.subarray(i)), false, `${name}: end after ${i}`);
      }
    }
  });

  it("random byte strings with random chunking agree with the WHATWG fatal decoder", () => {
    const alphabet = [0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff];
    for (let n = 0; n < 20000; n++) {
      const len = Math.floor(Math.random() * 12);
      const b = Buffer.alloc(len);
      for (let i = 0; i < len; i++) b[i] = alphabet[Math.floor(Math.random() * alphabet.length)];
      const expected = decodesStrictly(b);
      assert.equal(isValidUtf8(b), expected, hex(b));
      const v = new Utf8Validator();
      const cut = Math.floor(Math.random() * (len + 1));
      const cut2 = cut + Math.floor(Math.random() * (len - cut + 1));
      const got = v.push(b.subarray(0, cut)) && v.push(b.subarray(cut, cut2)) && v.end(b.subarray(cut2));
      assert.equal(got, expected, `${hex(b)} cut ${cut},${cut2}`);
    }
  });

  it("long random texts, some with one corrupted byte, with random chunking agree with the WHATWG fatal decoder", () => {
    const points = [0x41, 0x7f, 0xe9, 0x7ff, 0x800, 0x20ac, 0xd7ff, 0xe000, 0xfffd, 0x10000, 0x1f600, 0x10ffff];
    for (let n = 0; n < 5000; n++) {
      let s = "";
      const count = Math.floor(Math.random() * 60);
      for (let i = 0; i < count; i++) s += String.fromCodePoint(points[Math.floor(Math.random() * points.length)]);
      const b = Buffer.from(s, "utf8");
      if (b.length > 0 && Math.random() < 0.5) b[Math.floor(Math.random() * b.length)] = Math.floor(Math.random() * 256);
      const expected = decodesStrictly(b);
      assert.equal(isValidUtf8(b), expected, hex(b));
      const v = new Utf8Validator();
      const cuts = [0, Math.floor(Math.random() * (b.length + 1)), Math.floor(Math.random() * (b.length + 1)), b.length].sort((x, y) => x - y);
      let got = true;
      for (let k = 0; k < 2 && got; k++) got = v.push(b.subarray(cuts[k], cuts[k + 1]));
      got = got && v.end(b.subarray(cuts[2]));
      assert.equal(got, expected, `${hex(b)} cuts ${cuts}`);
    }
  });

  it("a Connection fails a text message with 1007 on its invalid first fragment, before later fragments arrive", () => {
    const events = [];
    const conn = new Connection(
      {
        onWrite: (d) => events.push(["write", hex(d)]),
        onMessage: () => events.push(["message"]),
        onPing() {},
        onPong() {},
        onCloseFrame() {},
        onCloseTransport: () => events.push(["closeTransport"]),
        onProtocolError: (err) => events.push(["error", err.closeCode]),
      },
      { isServer: true },
    );
    conn.receiveData(c(0x1, Buffer.from([0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xf4, 0x90, 0x80, 0x80]), { fin: false }));
    assert.deepEqual(events, [["write", "880203ef"], ["error", 1007], ["closeTransport"]]);
  });
});
