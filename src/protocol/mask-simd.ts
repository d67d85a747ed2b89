/**
 * RFC 6455 §5.3 masking with WebAssembly SIMD: "octet i of the transformed data is the XOR of octet i of the original
 * data with octet at index i modulo 4 of the masking key". Because the key repeats every 4 octets, one 16-octet
 * vector holding the key four times masks 16 octets at once.
 *
 * The module is a few dozen bytes, written out below instruction by instruction (no toolchain, no native addon) and
 * compiled synchronously when this file loads. A runtime without WebAssembly SIMD rejects it at compile time; then
 * `simdAvailable` is false and callers keep to the JavaScript word loop in mask.ts.
 *
 * WebAssembly code cannot see a JavaScript buffer, so large payloads go through the module's own memory in blocks of
 * SIMD_BLOCK octets: copy a block in, XOR it in place, copy it out. The memory stays two pages whatever the payload
 * size.
 */

/** Octets masked per round trip through WebAssembly memory (a multiple of 64, so the key phase never shifts). */
export const SIMD_BLOCK = 64 * 1024;

const PAGE = 65536;

/**
 * Where the block sits in WebAssembly memory: half a page in. Memory starts on a page boundary, and large buffers
 * from malloc start 16 octets after one, so a block at 0 would be copied out to a destination whose address differs
 * from the source's by 16 modulo 4096 — the "4K aliasing" case in which x86 CPUs stall loads behind stores to the
 * same page offset (measured: copies out ran 10–15× slower, ~1.5 GB/s against ~20 GB/s). Half a page keeps both
 * copies clear of it for the usual alignments.
 */
const BASE = 2048;

/** Unsigned LEB128, as the binary format writes sizes and counts. */
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

/**
 * The module, in the WebAssembly binary format (core spec §5). Equivalent text format:
 *
 *   (module
 *     (memory (export "m") PAGES)
 *     (func (export "x") (param $p i32) (param $end i32) (param $key i32) (local $k v128)
 *       (local.set $k (i32x4.splat (local.get $key)))
 *       (block (loop
 *         (br_if 1 (i32.ge_u (local.get $p) (local.get $end)))
 *         (v128.store offset=0  (local.get $p) (v128.xor (v128.load offset=0  (local.get $p)) (local.get $k)))
 *         (v128.store offset=16 (local.get $p) (v128.xor (v128.load offset=16 (local.get $p)) (local.get $k)))
 *         (v128.store offset=32 (local.get $p) (v128.xor (v128.load offset=32 (local.get $p)) (local.get $k)))
 *         (v128.store offset=48 (local.get $p) (v128.xor (v128.load offset=48 (local.get $p)) (local.get $k)))
 *         (local.set $p (i32.add (local.get $p) (i32.const 64)))
 *         (br 0))))
 *
 * `x(start, end, key)` XORs memory[start, end) (end - start rounded up to 64 octets) with the key word; the caller
 * passes the key as the little-endian i32 of the 4 key octets (WebAssembly memory is little-endian on every host).
 */
function moduleBytes(pages: number): Uint8Array<ArrayBuffer> {
  const SIMD = 0xfd;
  const V128_LOAD = 0x00, V128_STORE = 0x0b, I32X4_SPLAT = 0x11, V128_XOR = 0x51;
  const ALIGN_16 = 4; // memarg alignment is log2 of the octet count
  const xorAt = (offset: number): number[] => [
    0x20, 0, // local.get $p (address for the store)
    0x20, 0, // local.get $p (address for the load)
    SIMD, V128_LOAD, ALIGN_16, ...uleb(offset),
    0x20, 3, // local.get $k
    SIMD, V128_XOR,
    SIMD, V128_STORE, ALIGN_16, ...uleb(offset),
  ];
  const body = [
    1, 1, 0x7b, // locals (after the 3 parameters): 1 × v128 ($k, index 3)
    0x20, 2, SIMD, I32X4_SPLAT, 0x21, 3, // $k = i32x4.splat($key)
    0x02, 0x40, // block (no result)
    0x03, 0x40, // loop (no result)
    0x20, 0, 0x20, 1, 0x4f, 0x0d, 1, // br_if 1 ($p >= $end, unsigned)
    ...xorAt(0), ...xorAt(16), ...xorAt(32), ...xorAt(48),
    0x20, 0, 0x41, 0xc0, 0x00, 0x6a, 0x21, 0, // $p += 64 (i32.const 64 is signed LEB128: c0 00)
    0x0c, 0, // br 0 (next iteration)
    0x0b, // end loop
    0x0b, // end block
    0x0b, // end function
  ];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    ...section(1, [1, 0x60, 3, 0x7f, 0x7f, 0x7f, 0]), // type 0: (i32, i32, i32) -> ()
    ...section(3, [1, 0]), // function 0 has type 0
    ...section(5, [1, 0x00, ...uleb(pages)]), // one memory, min `pages`, no max
    ...section(7, [2, 1, 0x6d, 0x02, 0, 1, 0x78, 0x00, 0]), // export "m" = memory 0, "x" = function 0
    ...section(10, [1, ...uleb(body.length), ...body]), // code
  ];
  return new Uint8Array(bytes);
}

/** The part of the WebAssembly JS API used here. */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

let memory: Uint8Array | null = null;
let xor: ((start: number, end: number, key: number) => void) | null = null;

try {
  const pages = Math.ceil((BASE + SIMD_BLOCK + 64) / PAGE);
  // (Typed here: the WebAssembly namespace is declared by the DOM lib only, which this project does not use.)
  const WA = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;
  const instance = new WA.Instance(new WA.Module(moduleBytes(pages)), {});
  const m = instance.exports["m"] as { buffer: ArrayBuffer };
  // The memory never grows, so this view never detaches.
  memory = new Uint8Array(m.buffer);
  xor = instance.exports["x"] as (start: number, end: number, key: number) => void;
} catch {
  // No WebAssembly, or no SIMD (CompileError): the JavaScript word loop in mask.ts does the work.
  memory = null;
  xor = null;
}

/** True when the WebAssembly SIMD module compiled and the SIMD path can be used. */
export const simdAvailable: boolean = xor !== null;

/**
 * The signature of every masking path (applyMaskTo and applyMaskToWords in mask.ts, applyMaskToSimd here): XOR
 * `src[0, length)` with the 4-octet key at `mask[maskOffset]` into `dst` at `dstOffset`. `phase` (default 0) is the
 * key index of the first octet: octet i uses key octet (phase + i) mod 4 (RFC 6455 §5.3), so a payload can be masked
 * piece by piece. src and dst may be the same bytes (in place) or not overlap at all; other overlaps are not supported.
 */
export type MaskTo = (
  src: Uint8Array,
  mask: Uint8Array,
  maskOffset: number,
  dst: Uint8Array,
  dstOffset: number,
  length: number,
  phase?: number,
) => void;

/**
 * The 4 key octets at `mask[maskOffset]`, starting from key octet `phase` mod 4, as one little-endian 32-bit word:
 * bits 0-7 hold key octet phase mod 4, bits 8-15 the next one (mod 4), and so on. Stored at a 4-octet boundary of
 * little-endian memory, the word masks the next 4 octets (RFC 6455 §5.3).
 */
export function keyWord(mask: Uint8Array, maskOffset: number, phase: number): number {
  return (
    mask[maskOffset + (phase & 3)]! |
    (mask[maskOffset + ((phase + 1) & 3)]! << 8) |
    (mask[maskOffset + ((phase + 2) & 3)]! << 16) |
    (mask[maskOffset + ((phase + 3) & 3)]! << 24)
  );
}

/** The WebAssembly SIMD path (a MaskTo). Throws if SIMD is unavailable. */
export const applyMaskToSimd: MaskTo = (src, mask, maskOffset, dst, dstOffset, length, phase = 0) => {
  const mem = memory;
  const fn = xor;
  if (mem === null || fn === null) throw new Error("WebAssembly SIMD is not available");
  // WebAssembly memory is little-endian on every host.
  const key = keyWord(mask, maskOffset, phase);
  for (let off = 0; off < length; off += SIMD_BLOCK) {
    const n = Math.min(SIMD_BLOCK, length - off);
    mem.set(n === src.length && off === 0 ? src : src.subarray(off, off + n), BASE);
    fn(BASE, BASE + n, key);
    dst.set(mem.subarray(BASE, BASE + n), dstOffset + off);
  }
};
