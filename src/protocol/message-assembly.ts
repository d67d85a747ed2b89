/**
 * Assembly of messages that span several frames (RFC 6455 §5.4 fragmentation) or come out of an inflater in
 * pieces: large pieces are kept as views, small ones copied into an accumulator, so that a peer sending a message
 * as many tiny fragments cannot make this end hold an object per fragment.
 */
import { Utf8Validator } from "./utf8.js";

const EMPTY = Buffer.alloc(0);

/**
 * Fragments smaller than this are copied into an accumulator instead of being kept as views. A peer may send a
 * message as millions of 1-byte fragments; one Buffer object per fragment (each also pinning its socket chunk)
 * cost ~100 bytes of heap per payload byte, so 16 MiB of payload could take gigabytes.
 */
const SMALL_FRAGMENT = 1024;
/** Largest accumulator; it starts small and grows with the message. */
const ACCUMULATOR_MAX = 16 * 1024;

/**
 * Input state that only fragmented or compressed messages need: made by the first one, so that an idle connection
 * (and one that only ever receives single-frame uncompressed messages) carries none of it. Reused afterwards.
 */
export class InputState {
  /** Pieces of the message being assembled (never an empty array): null until the first one. */
  fragments: Buffer[] | null = null;
  fragmentsLength = 0;
  /** Small fragments are copied here (bytes [0, accUsed)); sealed into `fragments` before a large one. */
  acc: Buffer | null = null;
  accUsed = 0;
  /** Validates a fragmented or compressed text message across frames; made for the first one. */
  utf8State: Utf8Validator | null = null;
  /** Bytes of the text frame being received already validated as they arrived (text-parts.ts); 0: none. */
  textValidated = 0;
  /** An inflation is under way (the parser is paused). */
  inflating = false;
  idleWaiters: (() => void)[] | null = null;

  get utf8(): Utf8Validator {
    return (this.utf8State ??= new Utf8Validator());
  }
}

/** Adds bytes to the message being assembled: large pieces as views (no copy), small ones copied. */
export function appendFragment(st: InputState, p: Buffer): void {
  const n = p.length;
  if (n === 0) return;
  st.fragmentsLength += n;
  if (n >= SMALL_FRAGMENT) {
    sealAccumulator(st);
    (st.fragments ??= []).push(p);
    return;
  }
  let acc = st.acc;
  if (acc === null || st.accUsed + n > acc.length) {
    sealAccumulator(st);
    acc = st.acc = Buffer.allocUnsafe(Math.min(ACCUMULATOR_MAX, Math.max(256, st.fragmentsLength)));
  }
  p.copy(acc, st.accUsed);
  st.accUsed += n;
}

function sealAccumulator(st: InputState): void {
  if (st.acc !== null && st.accUsed > 0) (st.fragments ??= []).push(st.acc.subarray(0, st.accUsed));
  st.acc = null;
  st.accUsed = 0;
}

/** A copy of chunk[start, end) (a small one from Node's shared pool, as Buffer.allocUnsafe() gives it). */
export function copyRange(chunk: Buffer, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(end - start);
  chunk.copy(out, 0, start, end);
  return out;
}

/** The assembled message; resets the assembly. */
export function takeMessage(st: InputState): Buffer {
  let data: Buffer;
  if (st.fragments === null && st.acc !== null) {
    // All in the accumulator: an exact-size copy, so the message does not pin the accumulator's spare room.
    data = Buffer.from(st.acc.subarray(0, st.accUsed));
  } else {
    sealAccumulator(st);
    const f = st.fragments;
    data = f === null ? EMPTY : f.length === 1 ? f[0]! : Buffer.concat(f, st.fragmentsLength);
  }
  clearAssembly(st);
  return data;
}

/** Drops the message being assembled (after it was taken, or when the connection fails). */
export function clearAssembly(st: InputState): void {
  st.acc = null;
  st.accUsed = 0;
  st.fragments = null;
  st.fragmentsLength = 0;
}
