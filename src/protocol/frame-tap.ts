/**
 * A read-only frame decoder for observing a byte stream (tracing): fed the bytes a connection received or wrote,
 * in order and split anywhere, it reports each frame's header fields as the wire carries them and the start of its
 * payload, unmasked. It decides nothing and keeps nothing but the current header and that start: the connection's
 * own parser (frame-parser.ts) still does all checking. Sans-I/O; only a traced connection makes one.
 */
import { Opcode } from "./constants.js";

/** The most payload bytes kept per frame: a control frame's whole payload (RFC 6455 §5.5). */
export const TAP_PAYLOAD_MAX = 125;

/** One frame as it was on the wire (RFC 6455 §5.2). */
export interface TappedFrame {
  fin: boolean;
  rsv1: boolean;
  rsv2: boolean;
  rsv3: boolean;
  opcode: number;
  /** The opcode of the message a continuation frame belongs to (the frame's own opcode otherwise). */
  messageOpcode: number;
  masked: boolean;
  /** The 4-byte masking key, or null when MASK is 0. */
  maskKey: Buffer | null;
  /** Payload length. */
  length: number;
  /** Which payload length form the header used: 7 (in the first byte), 16 or 64 bit (RFC 6455 §5.2). */
  lengthForm: 7 | 16 | 64;
  /** The first min(length, 125) payload bytes, unmasked. */
  payload: Buffer;
  /** RSV1 of the message's first frame: the message is compressed (permessage-deflate, RFC 7692 §6). */
  compressed: boolean;
}

export class FrameTap {
  readonly #onFrame: (frame: TappedFrame) => void;
  /** Header bytes gathered so far (at most 14). */
  readonly #header = Buffer.alloc(14);
  #headerHave = 0;
  #frame: TappedFrame | null = null;
  /** Payload bytes still to pass for the current frame, and how many of them were kept. */
  #remaining = 0;
  #kept = 0;
  #messageOpcode = 0;
  #messageCompressed = false;

  constructor(onFrame: (frame: TappedFrame) => void) {
    this.#onFrame = onFrame;
  }

  /** Feeds the next bytes of the stream. */
  push(data: Uint8Array): void {
    let i = 0;
    const n = data.length;
    while (i < n) {
      const f = this.#frame;
      if (f === null) {
        this.#header[this.#headerHave++] = data[i++]!;
        this.#tryHeader();
        continue;
      }
      const take = Math.min(this.#remaining, n - i);
      const keep = Math.min(take, f.payload.length - this.#kept);
      for (let k = 0; k < keep; k++) {
        const pos = this.#kept + k;
        f.payload[pos] = f.maskKey !== null ? data[i + k]! ^ f.maskKey[pos & 3]! : data[i + k]!;
      }
      this.#kept += keep;
      this.#remaining -= take;
      i += take;
      if (this.#remaining === 0) this.#finish();
    }
  }

  #tryHeader(): void {
    const h = this.#header;
    const have = this.#headerHave;
    if (have < 2) return;
    const len7 = h[1]! & 0x7f;
    const masked = (h[1]! & 0x80) !== 0;
    const extra = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
    const need = 2 + extra + (masked ? 4 : 0);
    if (have < need) return;
    const length = len7 === 126 ? h.readUInt16BE(2) : len7 === 127 ? Number(h.readBigUInt64BE(2)) : len7;
    const opcode = h[0]! & 0x0f;
    const fin = (h[0]! & 0x80) !== 0;
    const rsv1 = (h[0]! & 0x40) !== 0;
    if (opcode !== Opcode.Continuation && opcode < 8) {
      this.#messageOpcode = opcode;
      this.#messageCompressed = rsv1;
    }
    this.#frame = {
      fin,
      rsv1,
      rsv2: (h[0]! & 0x20) !== 0,
      rsv3: (h[0]! & 0x10) !== 0,
      opcode,
      messageOpcode: opcode === Opcode.Continuation ? this.#messageOpcode : opcode,
      masked,
      maskKey: masked ? Buffer.from(h.subarray(2 + extra, 6 + extra)) : null,
      length,
      lengthForm: extra === 0 ? 7 : extra === 2 ? 16 : 64,
      payload: Buffer.alloc(Math.min(length, TAP_PAYLOAD_MAX)),
      compressed: opcode < 8 && this.#messageCompressed,
    };
    this.#headerHave = 0;
    this.#remaining = length;
    this.#kept = 0;
    if (length === 0) this.#finish();
  }

  #finish(): void {
    const f = this.#frame!;
    this.#frame = null;
    this.#onFrame(f);
  }
}
