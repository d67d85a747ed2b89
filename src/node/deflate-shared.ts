/**
 * Compress once, send to many: a broadcast to permessage-deflate peers that negotiated server_no_context_takeover
 * can share one compressed frame, because each of their messages starts from an empty window
 * (RFC 7692 §7.1.1.1). Check each peer with `PerMessageDeflate.acceptsSharedFrame(windowBits)` and fall back to
 * a per-peer send otherwise.
 */
import { Opcode } from "../protocol/constants.js";
import { encodeFrameBuffer } from "../protocol/frame.js";
import { MAX_WINDOW_BITS } from "../protocol/extensions/permessage-deflate.js";
import { deflateFresh } from "./deflate.js";
import { DEFLATE_CODEC_DEFAULTS, type DeflateCodecOptions } from "./deflate-options.js";
import type { DeflateSendQueue, PendingSharedFrame } from "./deflate-sender.js";

export interface SharedCompressOptions {
  /** Binary (true) or text (false) message. Default: true for bytes, false for a string. */
  isBinary?: boolean;
  /** Window to compress with; a peer accepts the frame when its negotiated server window is at least this. Default 15. */
  windowBits?: number;
  /** zlib level. Default 6. */
  level?: number;
  /** zlib memLevel. Default 8. */
  memLevel?: number;
  /** The process-wide limiter pool to use. Default 10. */
  concurrencyLimit?: number;
}

/**
 * Compresses one message with a fresh zlib context and resolves with a complete server frame (FIN, RSV1,
 * unmasked) ready for `SocketTransport.sendPreparedFrame()` on every peer that accepts it.
 */
export function compressMessageOnce(data: Uint8Array | string, options: SharedCompressOptions = {}): Promise<Buffer> {
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  const isBinary = options.isBinary ?? typeof data !== "string";
  const windowBits = options.windowBits ?? MAX_WINDOW_BITS;
  const level = options.level ?? DEFLATE_CODEC_DEFAULTS.level;
  const memLevel = options.memLevel ?? DEFLATE_CODEC_DEFAULTS.memLevel;
  const concurrencyLimit = options.concurrencyLimit ?? DEFLATE_CODEC_DEFAULTS.concurrencyLimit;
  const frame = (payload: Buffer) => encodeFrameBuffer(isBinary ? Opcode.Binary : Opcode.Text, payload, { fin: true, rsv1: true, mask: false });
  // A fresh window, as every receiving peer expects (RFC 7692 §7.1.1.1).
  return new Promise((resolve, reject) => {
    deflateFresh(bytes, windowBits, level, memLevel, concurrencyLimit, (err, payload) => {
      if (err !== null) reject(err);
      else resolve(frame(payload!));
    });
  });
}

/** A frame compressed once for many connections, possibly still in zlib's hands. */
class SharedFrameJob implements PendingSharedFrame {
  frame: Buffer | null = null;
  #waiters: Array<() => void> | null = [];

  whenReady(fn: () => void): void {
    if (this.#waiters === null) fn();
    else this.#waiters.push(fn);
  }

  resolve(frame: Buffer): void {
    this.frame = frame;
    const waiters = this.#waiters!;
    this.#waiters = null;
    for (const fn of waiters) fn();
  }
}

/**
 * One message going to many connections (a Hub broadcast or publish), for those using permessage-deflate.
 * RFC 7692 §7.1.1.1: a server that negotiated server_no_context_takeover starts every message with an empty
 * window, so the same compressed bytes are valid for every such peer whose window is at least the one used:
 * the message is compressed once, on the first peer that can take it, and the frame is shared. Other deflate
 * peers (context takeover, a smaller window) fall back to their own compressing send. Messages under a peer's
 * threshold go uncompressed, as the plain shared frame.
 */
export class SharedDeflateMessage {
  readonly payload: Uint8Array;
  readonly isBinary: boolean;
  #job: SharedFrameJob | null = null;
  #windowBits = 0;

  constructor(payload: Uint8Array, isBinary: boolean) {
    this.payload = payload;
    this.isBinary = isBinary;
  }

  /** The shared compressed frame, when one was made (for tests). */
  get frame(): Buffer | null {
    return this.#job?.frame ?? null;
  }

  /**
   * Sends the message on a connection's deflate queue, in order with its other messages. `plain.frame` is the
   * uncompressed frame (built once by the caller and shared). Returns false when the connection cannot send.
   */
  sendTo(queue: DeflateSendQueue, plain: { readonly frame: Buffer | [Buffer, Uint8Array] }): boolean {
    const codec = queue.codec;
    const length = this.payload.length;
    if (!codec.shouldCompress(length)) {
      const f = plain.frame;
      if (!Array.isArray(f)) return queue.sendPrepared(f);
      return queue.sendPrepared(f[0]) && queue.sendPrepared(f[1]);
    }
    let job = this.#job;
    if (job === null) {
      if (!codec.acceptsSharedFrame(codec.ownWindowBits)) return queue.send(this.payload, this.isBinary);
      job = this.#job = this.#compress(codec.ownWindowBits, codec.codecOptions);
      this.#windowBits = codec.ownWindowBits;
    }
    if (!codec.acceptsSharedFrame(this.#windowBits)) return queue.send(this.payload, this.isBinary);
    return queue.sendShared(job, length);
  }

  #compress(windowBits: number, options: Readonly<DeflateCodecOptions>): SharedFrameJob {
    const job = new SharedFrameJob();
    const { level, memLevel, concurrencyLimit } = options;
    const payload = this.payload;
    const opcode = this.isBinary ? Opcode.Binary : Opcode.Text;
    const compressed = (p: Buffer) => encodeFrameBuffer(opcode, p, { fin: true, rsv1: true, mask: false });
    // zlib failing on our own data (out of memory): the message goes uncompressed rather than not at all.
    const plain = () => encodeFrameBuffer(opcode, payload, { fin: true, rsv1: false, mask: false });
    deflateFresh(payload, windowBits, level, memLevel, concurrencyLimit, (err, out) => {
      job.resolve(err === null ? compressed(out!) : plain());
    });
    return job;
  }
}
