/**
 * Ordered sending with permessage-deflate: zlib may be asynchronous, so messages wait in a per-connection queue
 * and leave in the order they were sent. With nothing queued, a message the codec can compress synchronously
 * (see PerMessageDeflate.compressSync) is framed and written at once, without entering the queue. Messages under the threshold skip zlib but still wait behind
 * messages being compressed. Control frames do not pass through here: they are never compressed
 * (RFC 7692 §6.1) and may be sent between messages.
 */
import type { Connection } from "../protocol/connection.js";
import { Opcode } from "../protocol/constants.js";
import type { PerMessageDeflate } from "./deflate.js";

/**
 * A frame being prepared once for many connections (a broadcast compressed once): each connection queues it and
 * writes it, in its place, once `frame` is set. See SharedDeflateMessage in deflate-shared.ts.
 */
export interface PendingSharedFrame {
  /** The complete frame once ready. */
  readonly frame: Buffer | null;
  /** Calls `fn` once the frame is ready. */
  whenReady(fn: () => void): void;
}

interface Pending {
  /** Message bytes, or a complete prepared frame when `prepared` is set. */
  data: Uint8Array;
  /** A shared frame still being prepared (`data` is empty until it is ready). */
  shared: PendingSharedFrame | null;
  isBinary: boolean;
  compress: boolean;
  prepared: boolean;
  /** Compressed payload once ready. */
  out: Buffer | null;
  ready: boolean;
  /** Payload bytes noted for bufferedAmount accounting, reported when the frame is written. */
  note: number;
}

const EMPTY = new Uint8Array(0);

export class DeflateSendQueue {
  readonly codec: PerMessageDeflate;
  readonly #conn: Connection;
  readonly #writeRaw: (bytes: Uint8Array) => void;
  #queue: Pending[] = [];
  #pendingBytes = 0;
  #compressing = false;
  #idleWaiters: Array<() => void> = [];
  /** whenIdle() callers. */
  #drainWaiters: Array<() => void> = [];
  #writing = false;
  #heldNotes = 0;
  /** A close is waiting for the queue to empty: no new message may pass it. */
  #closing = false;
  /** Called with the noted payload size of a queued message when its frame is handed to the socket. */
  onNoteWritten: ((size: number) => void) | null = null;

  constructor(conn: Connection, codec: PerMessageDeflate, writeRaw: (bytes: Uint8Array) => void) {
    this.#conn = conn;
    this.codec = codec;
    this.#writeRaw = writeRaw;
  }

  /** Bytes of messages queued and not yet handed to the socket. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /** Payload bytes held by holdNote() for messages still queued. */
  get heldNotes(): number {
    return this.#heldNotes;
  }

  /** Nothing is waiting. */
  get idle(): boolean {
    return this.#queue.length === 0;
  }

  /** Queues (or sends at once) one message. Returns false when the connection can no longer send data. */
  send(data: Uint8Array | string, isBinary: boolean): boolean {
    const conn = this.#conn;
    if (!conn.canSend || this.#closing) return false;
    const length = typeof data === "string" ? Buffer.byteLength(data) : data.length;
    const compress = this.codec.shouldCompress(length);
    if (this.#queue.length === 0) {
      // Fast paths: nothing ahead of it, and either no zlib or a synchronous compression.
      if (!compress) {
        if (typeof data === "string") conn.sendText(data);
        else conn.send(data, isBinary);
        return true;
      }
      const out = this.#compressSync(data, length);
      if (out !== null) {
        // RFC 7692 §6: the "Per-Message Compressed" bit is RSV1 of the first frame; the message goes as one frame.
        conn.sendFrame(isBinary ? Opcode.Binary : Opcode.Text, out, true, true);
        return true;
      }
    }
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    this.#queue.push({ data: bytes, shared: null, isBinary, compress, prepared: false, out: null, ready: !compress, note: 0 });
    this.#pendingBytes += bytes.length;
    this.#pump();
    return true;
  }

  /** The compressed payload when the codec can compress this message synchronously, else null. */
  #compressSync(data: Uint8Array | string, length: number): Buffer | null {
    try {
      return this.codec.compressSync(data, length);
    } catch {
      // zlib failed on our own data (out of memory): the asynchronous path decides (and falls back to plain).
      return null;
    }
  }

  /** Queues a complete frame prepared elsewhere (e.g. a broadcast compressed once), keeping the order. */
  sendPrepared(frame: Uint8Array): boolean {
    if (!this.#conn.canSend || this.#closing) return false;
    if (this.#queue.length === 0) {
      this.#writeRaw(frame);
      return true;
    }
    this.#queue.push({ data: frame, shared: null, isBinary: true, compress: false, prepared: true, out: null, ready: true, note: 0 });
    this.#pendingBytes += frame.length;
    return true;
  }

  /**
   * Queues a frame that is still being prepared for many connections (written as soon as it is ready if
   * nothing is ahead of it), keeping the order with send(). `estimate` is counted in pendingBytes meanwhile.
   */
  sendShared(shared: PendingSharedFrame, estimate: number): boolean {
    if (!this.#conn.canSend || this.#closing) return false;
    if (shared.frame !== null) return this.sendPrepared(shared.frame);
    const item: Pending = { data: EMPTY, shared, isBinary: true, compress: false, prepared: true, out: null, ready: false, note: 0 };
    const queue = this.#queue;
    queue.push(item);
    this.#pendingBytes += estimate;
    shared.whenReady(() => {
      if (this.#queue !== queue) return; // cleared meanwhile
      const frame = shared.frame!;
      this.#pendingBytes += frame.length - estimate;
      item.data = frame;
      item.ready = true;
      this.#pump();
    });
    return true;
  }

  /**
   * Payload accounting: when the message just sent was queued, keeps `size` with it (to be reported through
   * onNoteWritten once its frame is written) and returns true; returns false when it was written already.
   */
  holdNote(size: number): boolean {
    const queue = this.#queue;
    if (this.#writing || queue.length === 0) return false;
    queue[queue.length - 1]!.note += size;
    this.#heldNotes += size;
    return true;
  }

  /**
   * Calls `fn` (which sends the close frame) once the queue is empty, at once if it is. Messages sent after
   * this are refused: RFC 6455 §5.5.1, no data frame follows a close frame.
   */
  closeWhenIdle(fn: () => void): void {
    this.#closing = true;
    if (this.#queue.length === 0) fn();
    else this.#idleWaiters.push(fn);
  }

  /**
   * Calls `fn` once nothing is queued (at once if nothing is), or when the queue is cleared because the
   * connection closed. Unlike closeWhenIdle(), later messages are still accepted.
   */
  whenIdle(fn: () => void): void {
    if (this.#queue.length === 0) fn();
    else this.#drainWaiters.push(fn);
  }

  /** Drops everything queued (the connection is closed). */
  clear(): void {
    this.#queue = [];
    this.#pendingBytes = 0;
    this.#heldNotes = 0;
    this.#idleWaiters = [];
    this.codec.release();
    this.#notifyDrained();
  }

  #notifyDrained(): void {
    if (this.#drainWaiters.length === 0) return;
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const fn of waiters) fn();
  }

  #pump(): void {
    // Writes every ready message at the head, then compresses the first one that needs it: synchronously when
    // the codec can (and loops), otherwise through zlib's thread pool (and comes back here when done).
    // One compression at a time per connection: a context with takeover must see messages in order.
    const queue = this.#queue;
    for (;;) {
      while (queue.length > 0 && queue[0]!.ready) {
        const item = queue.shift()!;
        this.#pendingBytes -= item.data.length;
        this.#write(item);
      }
      if (this.#queue !== queue) return; // cleared by a write (the connection closed)
      if (queue.length === 0) {
        const waiters = this.#idleWaiters;
        this.#idleWaiters = [];
        for (const fn of waiters) fn();
        this.#notifyDrained();
        return;
      }
      // The head is not ready: a shared frame still being prepared (its callback pumps again), or the next
      // message to compress.
      const next = queue[0]!;
      if (next.shared !== null || this.#compressing) return;
      const out = this.#compressSync(next.data, next.data.length);
      if (out !== null) {
        next.out = out;
        next.ready = true;
        continue;
      }
      this.#compressing = true;
      this.codec.compress(next.data, (err, out) => {
        this.#compressing = false;
        if (this.#queue !== queue) return; // cleared meanwhile
        if (err !== null || out === null) {
          // zlib failed on our own data (out of memory): send this message uncompressed rather than lose it.
          next.compress = false;
        } else {
          next.out = out;
        }
        next.ready = true;
        this.#pump();
      });
      return;
    }
  }

  #write(item: Pending): void {
    this.#writing = true;
    try {
      this.#writeFrame(item);
      if (item.note !== 0) {
        this.#heldNotes -= item.note;
        this.onNoteWritten?.(item.note);
      }
    } finally {
      this.#writing = false;
    }
  }

  #writeFrame(item: Pending): void {
    const conn = this.#conn;
    if (!conn.canSend) return;
    if (item.prepared) {
      this.#writeRaw(item.data);
      return;
    }
    const opcode = item.isBinary ? Opcode.Binary : Opcode.Text;
    // RFC 7692 §6: the "Per-Message Compressed" bit is RSV1 of the first frame; each message goes as one frame.
    if (item.compress) conn.sendFrame(opcode, item.out!, true, true);
    else conn.sendFrame(opcode, item.data, true, false);
  }
}
