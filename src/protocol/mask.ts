/**
 * RFC 6455 §5.3 masking: octet i of the transformed data is octet i of the original XOR octet (i mod 4) of the key.
 * The loop works a 32-bit word at a time when the buffer is 4-byte aligned, with a byte tail.
 */

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** XOR `src[0..length)` with `mask` (4 bytes at maskOffset) into `dst` at dstOffset. src and dst may be the same buffer. */
export function applyMaskTo(
  src: Uint8Array,
  mask: Uint8Array,
  maskOffset: number,
  dst: Uint8Array,
  dstOffset: number,
  length: number,
): void {
  const m0 = mask[maskOffset]!, m1 = mask[maskOffset + 1]!, m2 = mask[maskOffset + 2]!, m3 = mask[maskOffset + 3]!;
  let i = 0;
  if (length >= 32 && (src.byteOffset & 3) === 0 && ((dst.byteOffset + dstOffset) & 3) === 0) {
    const words = length >>> 2;
    const s32 = new Uint32Array(src.buffer, src.byteOffset, words);
    const d32 = src === dst && dstOffset === 0 ? s32 : new Uint32Array(dst.buffer, dst.byteOffset + dstOffset, words);
    // The key word must hold the 4 key bytes in memory order, whatever the host's endianness.
    const key = LITTLE_ENDIAN ? (m0 | (m1 << 8) | (m2 << 16) | (m3 << 24)) >>> 0 : ((m0 << 24) | (m1 << 16) | (m2 << 8) | m3) >>> 0;
    for (let w = 0; w < words; w++) d32[w] = s32[w]! ^ key;
    i = words << 2;
  } else {
    const end = length & ~3;
    for (; i < end; i += 4) {
      dst[dstOffset + i] = src[i]! ^ m0;
      dst[dstOffset + i + 1] = src[i + 1]! ^ m1;
      dst[dstOffset + i + 2] = src[i + 2]! ^ m2;
      dst[dstOffset + i + 3] = src[i + 3]! ^ m3;
    }
  }
  for (; i < length; i++) dst[dstOffset + i] = src[i]! ^ mask[maskOffset + (i & 3)]!;
}

/** Unmask/mask `data` in place with the 4-byte key at `mask[maskOffset]`. */
export function applyMask(data: Uint8Array, mask: Uint8Array, maskOffset = 0): void {
  applyMaskTo(data, mask, maskOffset, data, 0, data.length);
}

/** The plain byte-at-a-time fallback; kept for tests and benchmarks of the fast path. */
export function applyMaskPlain(data: Uint8Array, mask: Uint8Array, maskOffset = 0): void {
  for (let i = 0; i < data.length; i++) data[i] = data[i]! ^ mask[maskOffset + (i & 3)]!;
}
