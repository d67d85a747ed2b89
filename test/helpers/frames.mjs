// Hand-written RFC 6455 §5.2 frame bytes for tests, independent of the encoder under test, and a parser for the
// frames a peer sends. Not a test file: it only exports helpers (test.sh runs *.test.mjs only).
import { randomBytes } from "node:crypto";

/** Builds one frame's bytes. `mask`: a 4-byte key (Buffer/array) or null for an unmasked frame. */
export function frame({ fin = true, rsv = 0, opcode, payload = Buffer.alloc(0), mask = null, length, extended }) {
  const data = Buffer.from(payload);
  const len = length ?? data.length;
  const b0 = (fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f);
  const maskBit = mask ? 0x80 : 0;
  let head;
  const form = extended ?? (len < 126 ? 7 : len < 65536 ? 16 : 64);
  if (form === 7) {
    head = Buffer.from([b0, maskBit | len]);
  } else if (form === 16) {
    head = Buffer.from([b0, maskBit | 126, (len >>> 8) & 0xff, len & 0xff]);
  } else {
    head = Buffer.alloc(10);
    head[0] = b0;
    head[1] = maskBit | 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  if (!mask) return Buffer.concat([head, data]);
  const key = Buffer.from(mask);
  const body = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; i++) body[i] = data[i] ^ key[i & 3];
  return Buffer.concat([head, key, body]);
}

/** A masked client frame with a fixed, recognisable key. */
export const KEY = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
export const c = (opcode, payload, opts = {}) => frame({ opcode, payload, mask: KEY, ...opts });
/** An unmasked (server) frame. */
export const s = (opcode, payload, opts = {}) => frame({ opcode, payload, mask: null, ...opts });

/** A masked client frame with a fresh random key (RFC 6455 §5.3: a client masks every frame). */
export const clientFrame = (opcode, payload = Buffer.alloc(0)) => frame({ opcode, payload, mask: randomBytes(4) });
/** A masked close frame with a code. */
export const clientClose = (code = 1000) => clientFrame(0x8, closePayload(code));
/** An unmasked server frame. */
export const serverFrame = (opcode, payload = Buffer.alloc(0)) => frame({ opcode, payload });

/** A close payload: 2-byte code + reason bytes. */
export function closePayload(code, reason = Buffer.alloc(0)) {
  const r = typeof reason === "string" ? Buffer.from(reason, "utf8") : Buffer.from(reason);
  const out = Buffer.alloc(2 + r.length);
  out.writeUInt16BE(code, 0);
  r.copy(out, 2);
  return out;
}

export const hex = (b) => Buffer.from(b.buffer ?? b, b.byteOffset ?? 0, b.length).toString("hex");
export const fromHex = (h) => Buffer.from(h.replace(/\s+/g, ""), "hex");

/** Parses unmasked or masked frames from a complete byte string; returns [{fin, rsv, opcode, masked, key, payload}] and the leftover. */
export function parseFrames(buf) {
  const frames = [];
  let p = 0;
  for (;;) {
    if (buf.length - p < 2) break;
    const b0 = buf[p], b1 = buf[p + 1];
    let len = b1 & 0x7f;
    let q = p + 2;
    if (len === 126) {
      if (buf.length - q < 2) break;
      len = buf.readUInt16BE(q);
      q += 2;
    } else if (len === 127) {
      if (buf.length - q < 8) break;
      len = Number(buf.readBigUInt64BE(q));
      q += 8;
    }
    const masked = (b1 & 0x80) !== 0;
    let key = null;
    if (masked) {
      if (buf.length - q < 4) break;
      key = Buffer.from(buf.subarray(q, q + 4));
      q += 4;
    }
    if (buf.length - q < len) break;
    const payload = Buffer.from(buf.subarray(q, q + len));
    if (masked) for (let i = 0; i < len; i++) payload[i] ^= key[i & 3];
    frames.push({ fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0x0f, masked, key, payload });
    p = q + len;
  }
  return { frames, rest: buf.subarray(p) };
}

/** Incremental parser for the frames a peer sends: push(chunk) returns the frames completed by it (parseFrames). */
export class FrameReader {
  #buf = Buffer.alloc(0);
  push(chunk) {
    const { frames, rest } = parseFrames(this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]));
    this.#buf = rest;
    return frames;
  }
}
