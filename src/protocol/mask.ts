/**
 * RFC 6455 §5.3 masking: "Octet i of the transformed data ("transformed-octet-i") is the XOR of octet i of the
 * original data ("original-octet-i") with octet at index i modulo 4 of the masking key ("masking-key-octet-j")".
 *
 * Three paths, same result (test/protocol/mask-simd.test.mjs checks them against each other):
 * - applyMaskPlain: one octet at a time, the reference;
 * - applyMaskToWords: 32-bit words through Int32Array views, four per iteration, after a byte head that brings the
 *   destination to a 4-byte boundary (when source and destination cannot both be aligned, the source is copied into
 *   place first and masked there — a memcpy is far cheaper than a byte loop);
 * - applyMaskToSimd (mask-simd.ts): WebAssembly SIMD, 16 octets per instruction, used from SIMD_THRESHOLD octets up
 *   when the runtime supports it.
 * bench/mask.mjs measures all of them.
 */
import { applyMaskToSimd, keyWord, simdAvailable, type MaskTo } from "./mask-simd.js";

export { applyMaskToSimd, simdAvailable, SIMD_BLOCK, type MaskTo } from "./mask-simd.js";

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Payloads shorter than this are masked octet by octet (4 per iteration): below it, creating the Uint32Array views
 * costs more than it saves (bench/mask.mjs; on a noisy 2-core machine the crossover measured between 64 and 128).
 */
export const WORDS_THRESHOLD = 96;

/**
 * Payloads of at least this many octets take the WebAssembly SIMD path when it is available: measured, the two copies
 * through WebAssembly memory cost ~100-200 ns per call, which the SIMD loop wins back from about 128-192 octets.
 */
export const SIMD_THRESHOLD = 192;

/** Which path applyMask/applyMaskTo use for large payloads: "wasm-simd" or "js-words". */
export const maskImplementation: "wasm-simd" | "js-words" = simdAvailable ? "wasm-simd" : "js-words";

/** The entry point (a MaskTo): WebAssembly SIMD from SIMD_THRESHOLD octets up when available, else the word loop. */
export const applyMaskTo: MaskTo = (src, mask, maskOffset, dst, dstOffset, length, phase = 0) => {
  if (length >= SIMD_THRESHOLD && simdAvailable) {
    applyMaskToSimd(src, mask, maskOffset, dst, dstOffset, length, phase);
  } else {
    applyMaskToWords(src, mask, maskOffset, dst, dstOffset, length, phase);
  }
};

/** Unmask/mask `data` in place with the 4-byte key at `mask[maskOffset]`. */
export function applyMask(data: Uint8Array, mask: Uint8Array, maskOffset = 0): void {
  applyMaskTo(data, mask, maskOffset, data, 0, data.length);
}

/** The plain byte-at-a-time fallback; kept for tests and benchmarks of the fast paths. */
export function applyMaskPlain(data: Uint8Array, mask: Uint8Array, maskOffset = 0): void {
  for (let i = 0; i < data.length; i++) data[i] = data[i]! ^ mask[maskOffset + (i & 3)]!;
}

/** The JavaScript path of applyMaskTo (a MaskTo), whatever the length: 32-bit words with a byte head and tail. */
export const applyMaskToWords: MaskTo = (src, mask, maskOffset, dst, dstOffset, length, phase = 0) => {
  // The key octets for octets 0-3 are the low octets of these values: a store into a Uint8Array keeps the low 8 bits
  // (ToUint8), so they need no `& 0xff`.
  const first = keyWord(mask, maskOffset, phase);
  const k0 = first;
  const k1 = first >>> 8;
  const k2 = first >>> 16;
  const k3 = first >>> 24;
  if (length < WORDS_THRESHOLD) {
    // Short payloads (most chat-sized messages): the octet loop.
    maskBytes(src, 0, dst, dstOffset, length, k0, k1, k2, k3);
    return;
  }
  let from = src;
  let fromOffset = 0;
  const dstAt = dst.byteOffset + dstOffset;
  if (((src.byteOffset - dstAt) & 3) !== 0) {
    // Source and destination are misaligned relative to each other: copy, then mask the destination in place.
    dst.set(length === src.length ? src : src.subarray(0, length), dstOffset);
    from = dst;
    fromOffset = dstOffset;
  }
  // A byte head brings both to a 4-byte boundary; the key then continues at index `head`.
  const head = -dstAt & 3;
  maskBytes(from, fromOffset, dst, dstOffset, head, k0, k1, k2, k3);
  const words = (length - head) >>> 2;
  // From the boundary on, the key starts at index phase + head: the keyWord rotated right by `head` octets.
  const shift = head << 3;
  const rotated = shift === 0 ? first : (first >>> shift) | (first << (32 - shift));
  const h0 = rotated;
  const h1 = rotated >>> 8;
  const h2 = rotated >>> 16;
  const h3 = rotated >>> 24;
  // The key word must hold the 4 key octets in memory order, whatever the host's endianness.
  const key = LITTLE_ENDIAN ? rotated : ((h0 & 0xff) << 24) | ((h1 & 0xff) << 16) | ((h2 & 0xff) << 8) | h3;
  const s32 = new Int32Array(from.buffer, from.byteOffset + fromOffset + head, words);
  const d32 = from === dst && fromOffset === dstOffset ? s32 : new Int32Array(dst.buffer, dstAt + head, words);
  // Four words per iteration: about twice the speed of one (bench/mask.mjs, "words" rows).
  const end4 = words & ~3;
  let w = 0;
  for (; w < end4; w += 4) {
    d32[w] = s32[w]! ^ key;
    d32[w + 1] = s32[w + 1]! ^ key;
    d32[w + 2] = s32[w + 2]! ^ key;
    d32[w + 3] = s32[w + 3]! ^ key;
  }
  for (; w < words; w++) d32[w] = s32[w]! ^ key;
  // Tail: the last 0-3 octets, the key at index (head + 4 × words) mod 4 = head.
  const done = head + (words << 2);
  maskBytes(from, fromOffset + done, dst, dstOffset + done, length - done, h0, h1, h2, h3);
};

/**
 * The octet loop, 4 per iteration: `dst[d + i] = src[s + i] ^ key[i mod 4]` for i in [0, n), key octet j the low
 * octet of kj (source and destination may be the same memory). The one copy of it: the word path's head and tail,
 * short payloads, and the parser's in-place unmasking of small frames (frame-parser.ts) use it.
 */
export function maskBytes(
  src: Uint8Array,
  s: number,
  dst: Uint8Array,
  d: number,
  n: number,
  k0: number,
  k1: number,
  k2: number,
  k3: number,
): void {
  let i = 0;
  const end = n & ~3;
  for (; i < end; i += 4) {
    dst[d + i] = src[s + i]! ^ k0;
    dst[d + i + 1] = src[s + i + 1]! ^ k1;
    dst[d + i + 2] = src[s + i + 2]! ^ k2;
    dst[d + i + 3] = src[s + i + 3]! ^ k3;
  }
  if (i < n) dst[d + i] = src[s + i]! ^ k0;
  if (i + 1 < n) dst[d + i + 1] = src[s + i + 1]! ^ k1;
  if (i + 2 < n) dst[d + i + 2] = src[s + i + 2]! ^ k2;
}
