/**
 * permessage-deflate compression over node:zlib (RFC 7692 §7.2): one PerMessageDeflate per connection.
 * - Inflation is bounded: the inflated size is counted while zlib produces it, and a message passing maxPayload
 *   fails with 1009 as soon as it does, so no more than maxPayload (plus one zlib chunk) is ever held.
 * - zlib contexts are created on first use. Without context takeover no connection keeps one between messages:
 *   small messages take one synchronous zlib call, larger ones borrow a reset stream from a process-wide pool
 *   (deflate-pool.ts) and hand it back after the message.
 * - Every asynchronous zlib operation takes a slot of a process-wide limiter (see deflate-limiter.ts); a
 *   synchronous one holds its context only while it runs, so at most one exists at a time.
 * The options, their defaults and their resolution are in deflate-options.ts.
 */
import { constants as zc, createDeflateRaw, createInflateRaw, deflateRawSync, inflateRawSync, type DeflateRaw, type InflateRaw } from "node:zlib";
import { CloseCode } from "../protocol/constants.js";
import { ProtocolError } from "../protocol/errors.js";
import type { MessageInflater } from "../protocol/connection-handler.js";
import type { DeflateParams } from "../protocol/extensions/permessage-deflate.js";
import { sharedZlibLimiter, type ZlibLimiter } from "./deflate-limiter.js";
import type { DeflateCodecOptions } from "./deflate-options.js";
import { acquireDeflater, acquireInflater, closeStream, releaseDeflater, releaseInflater } from "./deflate-pool.js";

/** RFC 7692 §7.2.1: the 4 octets 0x00 0x00 0xff 0xff that end a sync-flushed block, removed on the wire. */
export const DEFLATE_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

type Done = (err: ProtocolError | null, data: Buffer[] | null) => void;

/**
 * Messages of up to this many bytes are compressed synchronously (`deflateRawSync`) when the compressor resets
 * after each message. Measured on Node 20 (bench/notes.md, "permessage-deflate"): for a 2 KiB JSON message the
 * synchronous call costs about a third of a round trip through a zlib stream and the thread pool, and at 16 KiB
 * it still blocks the event loop for well under a millisecond. Larger messages go through a pooled stream.
 */
export const SYNC_DEFLATE_MAX = 16 * 1024;
/** Compressed single-frame messages of up to this many bytes are inflated synchronously (`inflateRawSync`). */
export const SYNC_INFLATE_MAX_INPUT = 16 * 1024;
/**
 * Output cap of a synchronous inflation. A message that inflates past it (and is allowed to, maxPayload being
 * larger) is inflated again through a stream, so one synchronous call never produces more than this.
 */
export const SYNC_INFLATE_MAX_OUTPUT = 256 * 1024;

/** The permessage-deflate codec of one connection: inflates received messages, compresses sent ones. */
export class PerMessageDeflate implements MessageInflater {
  readonly params: DeflateParams;
  readonly isServer: boolean;
  readonly threshold: number;
  readonly maxPayload: number;
  readonly #codec: DeflateCodecOptions;
  readonly #limiter: ZlibLimiter;
  /** Window of the peer's compressor (what this end inflates with), and whether the peer resets per message. */
  readonly #peerBits: number;
  readonly #peerResets: boolean;
  readonly #ownBits: number;
  readonly #ownResets: boolean;
  /** The inflater of the message in progress (borrowed from the pool without context takeover), or the kept one. */
  #inflater: InflateRaw | null = null;
  #deflater: DeflateRaw | null = null;
  /** Inflated bytes of the message in progress (frames before the current one). */
  #messageLength = 0;
  #closed = false;
  /** zlib is working on a frame / a message: release() must not close the context under it. */
  #inflateBusy = false;
  #deflateBusy = false;

  constructor(params: DeflateParams, isServer: boolean, codec: DeflateCodecOptions, maxPayload: number) {
    this.params = params;
    this.isServer = isServer;
    this.threshold = codec.threshold;
    this.maxPayload = maxPayload;
    this.#codec = codec;
    this.#limiter = sharedZlibLimiter(codec.concurrencyLimit);
    this.#peerBits = isServer ? params.clientMaxWindowBits : params.serverMaxWindowBits;
    this.#peerResets = isServer ? params.clientNoContextTakeover : params.serverNoContextTakeover;
    this.#ownBits = isServer ? params.serverMaxWindowBits : params.clientMaxWindowBits;
    this.#ownResets = isServer ? params.serverNoContextTakeover : params.clientNoContextTakeover;
  }

  /** The codec settings (threshold, level, memLevel, concurrencyLimit). */
  get codecOptions(): Readonly<DeflateCodecOptions> {
    return this.#codec;
  }

  /** Window this end compresses with, and whether it resets after each message. */
  get ownWindowBits(): number {
    return this.#ownBits;
  }

  get ownNoContextTakeover(): boolean {
    return this.#ownResets;
  }

  /** Whether zlib contexts are currently held by this connection (for tests and memory accounting). */
  get hasInflateContext(): boolean {
    return this.#inflater !== null;
  }

  get hasDeflateContext(): boolean {
    return this.#deflater !== null;
  }

  /**
   * Whether a message compressed once, with a fresh context and `windowBits`, can be sent to this peer as is:
   * the server keeps no context between messages and the peer accepts that window.
   */
  acceptsSharedFrame(windowBits: number): boolean {
    return this.isServer && this.params.serverNoContextTakeover && windowBits <= this.params.serverMaxWindowBits;
  }

  // ---- receiving (MessageInflater) ----

  inflate(payload: Buffer, fin: boolean, done: Done): void {
    if (this.#closed) return;
    // A whole message in one small frame from a peer that resets its window: one synchronous zlib call, no
    // stream, no thread-pool round trip. (The connection inflates one frame at a time, so nothing is in flight.)
    if (fin && this.#peerResets && this.#inflater === null && this.#messageLength === 0 && payload.length <= SYNC_INFLATE_MAX_INPUT) {
      const out = this.#inflateSync(payload);
      if (out !== null) {
        if (out instanceof ProtocolError) done(out, null);
        else done(null, [out]);
        return;
      }
      // Inflates past SYNC_INFLATE_MAX_OUTPUT but maxPayload allows more: inflate it through a stream.
    }
    this.#limiter.run((release) => {
      if (this.#closed) {
        release();
        return;
      }
      this.#inflateFrame(payload, fin, (err, data) => {
        release();
        if (!this.#closed) done(err, data);
      });
    });
  }

  /**
   * Inflates one whole message synchronously. Returns the message, a ProtocolError, or null when the output
   * passes SYNC_INFLATE_MAX_OUTPUT while maxPayload is larger (the caller then inflates it asynchronously).
   */
  #inflateSync(payload: Buffer): Buffer | ProtocolError | null {
    const cap = Math.min(this.maxPayload, SYNC_INFLATE_MAX_OUTPUT);
    // RFC 7692 §7.2.2: "Append 4 octets of 0x00 0x00 0xff 0xff to the tail end of the payload of the message".
    const input = Buffer.allocUnsafe(payload.length + 4);
    payload.copy(input, 0);
    DEFLATE_TAIL.copy(input, payload.length);
    let out: Buffer;
    try {
      // maxOutputLength stops zlib as soon as the output passes the cap: the size is checked while inflating.
      // chunkSize: an output buffer sized for a typical ratio, rather than zlib's 16 KiB for every message.
      const chunkSize = Math.min(16 * 1024, Math.max(1024, payload.length * 8));
      out = inflateRawSync(input, { windowBits: this.#peerBits, finishFlush: zc.Z_SYNC_FLUSH, maxOutputLength: Math.max(1, cap), chunkSize });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
        return cap < this.maxPayload ? null : tooBig(this.maxPayload);
      }
      return inflateFailed(err as Error);
    }
    return out.length > this.maxPayload ? tooBig(this.maxPayload) : out;
  }

  #inflateFrame(payload: Buffer, fin: boolean, done: Done): void {
    let inf = this.#inflater;
    if (inf === null) {
      // Without context takeover the message starts from an empty window: borrow a reset stream from the pool.
      inf = this.#peerResets
        ? acquireInflater(this.#peerBits, this.#codec.concurrencyLimit)
        : createInflateRaw({ windowBits: this.#peerBits });
      this.#inflater = inf;
    }
    this.#inflateBusy = true;
    const chunks: Buffer[] = [];
    let total = this.#messageLength;
    let finished = false;
    const finish = (err: ProtocolError | null) => {
      if (finished) return;
      finished = true;
      this.#inflateBusy = false;
      inf.off("data", onData);
      inf.off("error", onError);
      if (this.#closed) {
        this.#dropInflater(false);
        done(null, null);
        return;
      }
      if (err !== null) {
        // The context is unusable (or the message is refused): drop it and what was inflated.
        this.#dropInflater(false);
        this.#messageLength = 0;
        done(err, null);
        return;
      }
      if (fin) {
        this.#messageLength = 0;
        // RFC 7692 §7.1.1.2/§7.1.1.1: without context takeover the peer starts every message with an empty
        // window, so the context goes back to the pool (reset) and the connection keeps none.
        // RFC 7692 §7.2.3.3: a peer may end a message with a DEFLATE block whose BFINAL bit is set. zlib then ends
        // the stream, which inflates nothing more: it is closed (never pooled) and the next message gets a fresh one.
        if (inf.readableEnded) this.#dropInflater(false);
        else if (this.#peerResets) this.#dropInflater(true);
      } else {
        this.#messageLength = total;
      }
      done(null, chunks);
    };
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      // Checked while inflating: the message stops at the first chunk that takes it past maxPayload.
      if (total > this.maxPayload) {
        finish(tooBig(this.maxPayload));
        return;
      }
      chunks.push(chunk);
    };
    const onError = (err: Error) => finish(inflateFailed(err));
    inf.on("data", onData);
    inf.on("error", onError);
    inf.write(payload);
    // RFC 7692 §7.2.2: "Append 4 octets of 0x00 0x00 0xff 0xff to the tail end of the payload of the message"
    // before decompressing it.
    if (fin) inf.write(DEFLATE_TAIL);
    inf.flush(zc.Z_SYNC_FLUSH, () => finish(null));
  }

  /** Lets go of the inflater: back to the pool when it finished a message cleanly, closed otherwise. */
  #dropInflater(clean: boolean): void {
    const inf = this.#inflater;
    if (inf === null) return;
    this.#inflater = null;
    if (clean && this.#peerResets) releaseInflater(this.#peerBits, inf);
    else closeStream(inf);
  }

  // ---- sending ----

  /** Whether a message of `length` bytes is compressed (at or above the threshold). */
  shouldCompress(length: number): boolean {
    return length >= this.threshold;
  }

  /**
   * Compresses one whole message synchronously when that is allowed: this end resets its context after each
   * message and the message (`byteLength` bytes) is at most SYNC_DEFLATE_MAX bytes. Returns the payload to send with RSV1 set (the
   * 0x00 0x00 0xff 0xff tail removed), or null when the message must go through compress().
   * Throws only if zlib fails on our own data (out of memory).
   */
  compressSync(data: Uint8Array | string, byteLength: number): Buffer | null {
    if (!this.#ownResets || this.#closed || byteLength > SYNC_DEFLATE_MAX) return null;
    return deflateMessageSync(data, this.#ownBits, this.#codec.level, this.#codec.memLevel, byteLength);
  }

  /**
   * Compresses one whole message (RFC 7692 §7.2.1) and calls back with the payload to send with RSV1 set:
   * the deflate output with its 0x00 0x00 0xff 0xff tail removed. Calls back with null after release().
   */
  compress(data: Uint8Array, callback: (err: Error | null, payload: Buffer | null) => void): void {
    this.#limiter.run((release) => {
      if (this.#closed) {
        release();
        callback(null, null);
        return;
      }
      const codec = this.#codec;
      let def = this.#deflater;
      if (def === null) {
        def = this.#ownResets
          ? acquireDeflater(this.#ownBits, codec.level, codec.memLevel, codec.concurrencyLimit)
          : createDeflateRaw({ windowBits: this.#ownBits, level: codec.level, memLevel: codec.memLevel });
        this.#deflater = def;
      }
      this.#deflateBusy = true;
      deflateMessage(def, data, (err, out) => {
        this.#deflateBusy = false;
        // Without context takeover the compressor goes back to the pool (reset) after each message.
        if (err !== null || this.#ownResets || this.#closed) this.#dropDeflater(err === null);
        release();
        callback(err, out);
      });
    });
  }

  #dropDeflater(clean: boolean): void {
    const def = this.#deflater;
    if (def === null) return;
    this.#deflater = null;
    if (clean && this.#ownResets) releaseDeflater(this.#ownBits, this.#codec.level, this.#codec.memLevel, def);
    else closeStream(def);
  }

  /** Frees the zlib contexts; later operations do nothing. Called when the connection closes. */
  release(): void {
    this.#closed = true;
    // A context zlib is still working on is let go when that operation ends (its limiter slot is released then).
    // One idle between the frames of a message is closed: its window holds part of a message.
    if (!this.#inflateBusy) this.#dropInflater(false);
    if (!this.#deflateBusy) this.#dropDeflater(true);
  }
}

function tooBig(maxPayload: number): ProtocolError {
  return new ProtocolError(`inflated message exceeds maxPayload (${maxPayload} bytes)`, CloseCode.MessageTooBig, "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH");
}

function inflateFailed(err: Error): ProtocolError {
  return new ProtocolError(`invalid compressed data: ${err.message}`, CloseCode.InvalidPayload, "WS_ERR_INFLATE_FAILED");
}

/** The last 4 octets are 0x00 0x00 0xff 0xff (a sync flush always ends with an empty stored block). */
function endsWithTail(b: Buffer): boolean {
  const n = b.length;
  return n >= 4 && b[n - 4] === 0 && b[n - 3] === 0 && b[n - 2] === 0xff && b[n - 1] === 0xff;
}

/**
 * Compresses one message synchronously with a fresh context and returns the bytes to send: the sync-flushed
 * output without its 0x00 0x00 0xff 0xff tail (RFC 7692 §7.2.1: "Remove 4 octets (that are 0x00 0x00 0xff 0xff)
 * from the tail end"). Holds a zlib context only for the duration of the call.
 */
export function deflateMessageSync(data: Uint8Array | string, windowBits: number, level: number, memLevel: number, byteLength?: number): Buffer {
  // chunkSize: the output is rarely larger than the input, so a buffer that size (not zlib's 16 KiB) holds it.
  const chunkSize = Math.min(16 * 1024, Math.max(64, (byteLength ?? (typeof data === "string" ? Buffer.byteLength(data) : data.length)) + 64));
  const out = deflateRawSync(data, { windowBits, level, memLevel, finishFlush: zc.Z_SYNC_FLUSH, chunkSize });
  return endsWithTail(out) ? out.subarray(0, out.length - 4) : out;
}

/**
 * Runs one message through a raw deflate stream with a sync flush and returns the bytes to send: the output
 * without its 0x00 0x00 0xff 0xff tail (RFC 7692 §7.2.1: "Remove 4 octets (that are 0x00 0x00 0xff 0xff) from
 * the tail end").
 */
export function deflateMessage(def: DeflateRaw, data: Uint8Array, callback: (err: Error | null, payload: Buffer | null) => void): void {
  const chunks: Buffer[] = [];
  let length = 0;
  let finished = false;
  const onData = (c: Buffer) => {
    chunks.push(c);
    length += c.length;
  };
  const onError = (err: Error) => finish(err);
  const finish = (err: Error | null) => {
    if (finished) return;
    finished = true;
    def.off("data", onData);
    def.off("error", onError);
    if (err !== null) {
      callback(err, null);
      return;
    }
    const out = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length);
    callback(null, endsWithTail(out) ? out.subarray(0, out.length - 4) : out);
  };
  def.on("data", onData);
  def.on("error", onError);
  if (data.length > 0) def.write(data);
  def.flush(zc.Z_SYNC_FLUSH, () => finish(null));
}

/**
 * Compresses one whole message with a fresh context (RFC 7692 §7.1.1.1: a peer that negotiated
 * server_no_context_takeover expects every message to start from an empty window) and calls back with the payload
 * to send with RSV1 set: synchronously (before returning) up to SYNC_DEFLATE_MAX bytes, otherwise through a
 * pooled reset stream, under a slot of the process-wide limiter, the stream going back to its pool after a clean
 * run and closed after an error.
 */
export function deflateFresh(
  data: Uint8Array,
  windowBits: number,
  level: number,
  memLevel: number,
  concurrencyLimit: number,
  callback: (err: Error | null, payload: Buffer | null) => void,
): void {
  if (data.length <= SYNC_DEFLATE_MAX) {
    let out: Buffer;
    try {
      out = deflateMessageSync(data, windowBits, level, memLevel);
    } catch (err) {
      callback(err as Error, null);
      return;
    }
    callback(null, out);
    return;
  }
  sharedZlibLimiter(concurrencyLimit).run((release) => {
    const def = acquireDeflater(windowBits, level, memLevel, concurrencyLimit);
    deflateMessage(def, data, (err, out) => {
      if (err === null) releaseDeflater(windowBits, level, memLevel, def);
      else closeStream(def);
      release();
      callback(err, out);
    });
  });
}
