/**
 * Streaming UTF-8 validation (RFC 3629, as RFC 6455 §8.1 requires for text messages).
 * Fail-fast: a fragment is rejected as soon as it holds a byte sequence that can never be valid,
 * while a code point split across fragments is accepted.
 */
import { Buffer, isUtf8 } from "node:buffer";

// Bjoern Hoehrmann-style DFA, written out as explicit states.
// State: 0 = accept (at a sequence boundary), 1 = reject, others = inside a sequence.
const ACCEPT = 0;
const REJECT = 1;
// States inside a sequence, named by what the next byte must be.
const TAIL1 = 2; // 1 more continuation byte 80..BF
const TAIL2 = 3; // 2 more continuation bytes
const TAIL3 = 4; // 3 more continuation bytes
const E0_SECOND = 5; // after E0: A0..BF (no overlong)
const ED_SECOND = 6; // after ED: 80..9F (no surrogates)
const F0_SECOND = 7; // after F0: 90..BF (no overlong)
const F4_SECOND = 8; // after F4: 80..8F (<= U+10FFFF)

function step(state: number, b: number): number {
  switch (state) {
    case ACCEPT:
      if (b < 0x80) return ACCEPT;
      if (b < 0xc2) return REJECT;
      if (b < 0xe0) return TAIL1;
      if (b === 0xe0) return E0_SECOND;
      if (b === 0xed) return ED_SECOND;
      if (b < 0xf0) return TAIL2;
      if (b === 0xf0) return F0_SECOND;
      if (b < 0xf4) return TAIL3;
      if (b === 0xf4) return F4_SECOND;
      return REJECT;
    case TAIL1:
      return b >= 0x80 && b <= 0xbf ? ACCEPT : REJECT;
    case TAIL2:
      return b >= 0x80 && b <= 0xbf ? TAIL1 : REJECT;
    case TAIL3:
      return b >= 0x80 && b <= 0xbf ? TAIL2 : REJECT;
    case E0_SECOND:
      return b >= 0xa0 && b <= 0xbf ? TAIL1 : REJECT;
    case ED_SECOND:
      return b >= 0x80 && b <= 0x9f ? TAIL1 : REJECT;
    case F0_SECOND:
      return b >= 0x90 && b <= 0xbf ? TAIL2 : REJECT;
    case F4_SECOND:
      return b >= 0x80 && b <= 0x8f ? TAIL2 : REJECT;
    default:
      return REJECT;
  }
}

/** True when `data` is entirely valid UTF-8 (native fast path). */
export function isValidUtf8(data: Uint8Array): boolean {
  return data.length < 32 ? validatePlain(data) : isUtf8(data);
}

/**
 * True when `bytes[start, end)` are all below 0x80: ASCII, which is valid UTF-8 and decodes octet for octet. For the
 * short messages it is meant for, this loop costs less than creating a view for isUtf8() (bench/notes.md).
 */
export function isAsciiRange(bytes: Uint8Array, start: number, end: number): boolean {
  let bits = 0;
  let i = start;
  for (const last = end - 3; i < last; i += 4) bits |= bytes[i]! | bytes[i + 1]! | bytes[i + 2]! | bytes[i + 3]!;
  for (; i < end; i++) bits |= bytes[i]!;
  return bits < 0x80;
}

/** Buffer's own slice decoders (Node has had them on Buffer.prototype since v0.x; toString() calls them). */
interface SliceDecoders {
  latin1Slice?(start: number, end: number): string;
  utf8Slice?(start: number, end: number): string;
}
const proto = Buffer.prototype as unknown as SliceDecoders;
const hasSlices = typeof proto.latin1Slice === "function" && typeof proto.utf8Slice === "function";

/**
 * Decodes `buf[start, end)`, which isAsciiRange() accepted, to a string. Calls the latin1 decoder directly: for
 * ASCII it gives the same string as UTF-8 decoding, without toString()'s argument handling and encoding lookup.
 */
export function decodeAscii(buf: Buffer, start: number, end: number): string {
  return hasSlices ? (buf as unknown as Required<SliceDecoders>).latin1Slice(start, end) : buf.toString("latin1", start, end);
}

/** Decodes all of `buf`, already validated as UTF-8, to a string. */
export function decodeUtf8(buf: Buffer): string {
  return hasSlices ? (buf as unknown as Required<SliceDecoders>).utf8Slice(0, buf.length) : buf.toString("utf8");
}

function validatePlain(data: Uint8Array): boolean {
  let s = ACCEPT;
  for (let i = 0; i < data.length; i++) {
    const b = data[i]!;
    if (s === ACCEPT && b < 0x80) continue;
    s = step(s, b);
    if (s === REJECT) return false;
  }
  return s === ACCEPT;
}

/**
 * Validates a text message fragment by fragment. `push()` returns false as soon as the bytes seen so far
 * can no longer be the prefix of valid UTF-8; `end()` returns false if the message stops inside a code point.
 */
export class Utf8Validator {
  private state = ACCEPT;

  reset(): void {
    this.state = ACCEPT;
  }

  /** Bytes accepted so far end on a code point boundary. */
  get complete(): boolean {
    return this.state === ACCEPT;
  }

  push(data: Uint8Array): boolean {
    let s = this.state;
    let i = 0;
    const n = data.length;
    // Finish a code point carried over from the previous fragment.
    while (s !== ACCEPT && i < n) {
      s = step(s, data[i++]!);
      if (s === REJECT) {
        this.state = REJECT;
        return false;
      }
    }
    if (i < n) {
      // Find where the last (possibly incomplete) sequence starts: at most 3 bytes back.
      let tail = n;
      for (let k = n - 1; k >= i && k >= n - 4; k--) {
        const b = data[k]!;
        if (b < 0x80) break;
        if (b >= 0xc0) {
          tail = k;
          break;
        }
      }
      if (tail > i) {
        const middle = data.subarray(i, tail);
        if (!(middle.length < 32 ? validatePlain(middle) : isUtf8(middle))) {
          this.state = REJECT;
          return false;
        }
      }
      for (let k = tail; k < n; k++) {
        s = step(s, data[k]!);
        if (s === REJECT) {
          this.state = REJECT;
          return false;
        }
      }
    }
    this.state = s;
    return true;
  }

  /** Pushes the last fragment: valid only if it ends on a code point boundary. */
  end(data?: Uint8Array): boolean {
    if (data !== undefined && !this.push(data)) return false;
    const ok = this.state === ACCEPT;
    this.state = ACCEPT;
    return ok;
  }
}
