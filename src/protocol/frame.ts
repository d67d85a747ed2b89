/** RFC 6455 §5.2 base framing: frame header layout and the encoder for every frame kind. */
import { randomFillSync } from "node:crypto";
import { applyMaskTo } from "./mask.js";

/** Below this payload size, header and payload are copied into one buffer (one write is cheaper than two). */
export const MERGE_THRESHOLD = 16 * 1024;

/** Bytes needed for a frame header carrying `payloadLength` bytes. */
export function frameHeaderLength(payloadLength: number, masked: boolean): number {
  const base = payloadLength < 126 ? 2 : payloadLength < 65536 ? 4 : 10;
  return masked ? base + 4 : base;
}

/**
 * Writes a frame header into `target` at `offset` and returns the number of bytes written.
 * `maskKey`, when given, is 4 bytes at `maskOffset` and sets the MASK bit.
 */
export function writeFrameHeader(
  target: Uint8Array,
  offset: number,
  opcode: number,
  payloadLength: number,
  fin: boolean,
  rsv1: boolean,
  maskKey: Uint8Array | null,
  maskOffset = 0,
): number {
  let b0 = opcode;
  if (fin) b0 |= 0x80;
  if (rsv1) b0 |= 0x40;
  target[offset] = b0;
  const maskBit = maskKey === null ? 0 : 0x80;
  let p = offset + 2;
  if (payloadLength < 126) {
    target[offset + 1] = maskBit | payloadLength;
  } else if (payloadLength < 65536) {
    target[offset + 1] = maskBit | 126;
    target[offset + 2] = payloadLength >>> 8;
    target[offset + 3] = payloadLength & 0xff;
    p += 2;
  } else {
    // RFC 6455 §5.2: 64-bit length, the most significant bit MUST be 0.
    target[offset + 1] = maskBit | 127;
    const hi = Math.floor(payloadLength / 0x100000000);
    const lo = payloadLength >>> 0;
    target[offset + 2] = (hi >>> 24) & 0x7f;
    target[offset + 3] = (hi >>> 16) & 0xff;
    target[offset + 4] = (hi >>> 8) & 0xff;
    target[offset + 5] = hi & 0xff;
    target[offset + 6] = lo >>> 24;
    target[offset + 7] = (lo >>> 16) & 0xff;
    target[offset + 8] = (lo >>> 8) & 0xff;
    target[offset + 9] = lo & 0xff;
    p += 8;
  }
  if (maskKey !== null) {
    target[p] = maskKey[maskOffset]!;
    target[p + 1] = maskKey[maskOffset + 1]!;
    target[p + 2] = maskKey[maskOffset + 2]!;
    target[p + 3] = maskKey[maskOffset + 3]!;
    p += 4;
  }
  return p - offset;
}

// RFC 6455 §5.3: the masking key MUST be derived from a strong source of entropy, fresh for every frame.
// Keys are taken from a pool of random bytes refilled by the CSPRNG, 4 bytes per frame, never reused.
const KEY_POOL_SIZE = 8192;
/** The pool the keys reserved by nextMaskKey() live in. */
export const maskKeyPool = Buffer.allocUnsafe(KEY_POOL_SIZE);
const keyPool = maskKeyPool;
let keyPoolOffset = KEY_POOL_SIZE;

/** Reserves 4 fresh random bytes in maskKeyPool and returns their offset; valid until the next call. */
export function nextMaskKey(): number {
  if (keyPoolOffset >= KEY_POOL_SIZE) {
    randomFillSync(keyPool);
    keyPoolOffset = 0;
  }
  const off = keyPoolOffset;
  keyPoolOffset += 4;
  return off;
}

export interface EncodeOptions {
  /** FIN bit; default true. */
  fin?: boolean;
  /** RSV1 (permessage-deflate "compressed"); default false. */
  rsv1?: boolean;
  /** Mask the payload with a fresh random key (clients MUST); default false. A 4-byte key may be given for tests. */
  mask?: boolean | Uint8Array;
}

/**
 * Encodes one frame. Returns one buffer when the payload is small or masked (masking needs a copy anyway),
 * and [header, payload] for large unmasked payloads so the payload is not copied.
 */
export function encodeFrame(opcode: number, payload: Uint8Array, options: EncodeOptions = {}): Buffer | [Buffer, Uint8Array] {
  const fin = options.fin ?? true;
  const rsv1 = options.rsv1 ?? false;
  const mask = options.mask ?? false;
  const len = payload.length;
  if (mask === false) {
    const headerLen = frameHeaderLength(len, false);
    if (len >= MERGE_THRESHOLD) {
      const header = Buffer.allocUnsafe(headerLen);
      writeFrameHeader(header, 0, opcode, len, fin, rsv1, null);
      return [header, payload];
    }
    const out = Buffer.allocUnsafe(headerLen + len);
    writeFrameHeader(out, 0, opcode, len, fin, rsv1, null);
    out.set(payload, headerLen);
    return out;
  }
  const headerLen = frameHeaderLength(len, true);
  const out = Buffer.allocUnsafe(headerLen + len);
  let key: Uint8Array;
  let keyOff: number;
  if (mask === true) {
    key = keyPool;
    keyOff = nextMaskKey();
  } else {
    key = mask;
    keyOff = 0;
  }
  writeFrameHeader(out, 0, opcode, len, fin, rsv1, key, keyOff);
  applyMaskTo(payload, key, keyOff, out, headerLen, len);
  return out;
}

/** Encodes one frame into a single buffer, always (copies large payloads). */
export function encodeFrameBuffer(opcode: number, payload: Uint8Array, options: EncodeOptions = {}): Buffer {
  const r = encodeFrame(opcode, payload, options);
  return Array.isArray(r) ? Buffer.concat([r[0], r[1]]) : r;
}

/** Buffer's own encoders (on Buffer.prototype since Node v0.x; Buffer#write() calls them after checking arguments). */
interface TextWriters {
  latin1Write?(text: string, offset: number, length: number): number;
  utf8Write?(text: string, offset: number, length: number): number;
}
const writers = Buffer.prototype as unknown as TextWriters;
const hasWriters = typeof writers.latin1Write === "function" && typeof writers.utf8Write === "function";

/**
 * Writes `text`, whose UTF-8 length is `len`, into `out` at `offset`. A string whose UTF-8 length equals its length
 * in UTF-16 code units is ASCII (every other code unit takes 2 or more octets), and for ASCII the latin1 encoder
 * writes the same octets with less work than the UTF-8 one.
 */
export function encodeTextInto(out: Buffer, text: string, offset: number, len: number): void {
  if (!hasWriters) out.write(text, offset, len, "utf8");
  else if (len === text.length) (out as unknown as Required<TextWriters>).latin1Write(text, offset, len);
  else (out as unknown as Required<TextWriters>).utf8Write(text, offset, len);
}
