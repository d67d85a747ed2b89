/**
 * The sends that wait behind a Blob (WHATWG WebSockets, send() steps: a Blob's bytes are read asynchronously, and
 * the messages passed to send() after it must still go out in order). A WebSocket makes one only when a Blob is
 * sent, and drops it once the queue is empty: the common sends (strings and bytes) never see it.
 */
import { Blob } from "node:buffer";
import type { SocketTransport } from "../node/socket-transport.js";

/** A close() waiting for queued Blob sends, so that the close frame follows them (order is kept). */
export interface PendingClose {
  code: number | undefined;
  reason: Buffer | undefined;
}

/** What the queue needs from its WebSocket. */
export interface SendQueueHost {
  /** The connection's transport now (null once it is gone). */
  transport(): SocketTransport | null;
  /** `size` bytes passed to send() will never be sent (the connection closed while a Blob was read). */
  dropped(size: number): void;
  /** A Blob could not be read: the connection must be failed. The queue is finished. */
  failed(err: Error): void;
  /** Every queued send went out; `pendingClose` is the close() that waited for them, if any. The queue is finished. */
  drained(pendingClose: PendingClose | null): void;
}

export class SendQueue {
  readonly #items: (Blob | Uint8Array | string)[] = [];
  readonly #host: SendQueueHost;
  /** Bytes of the sends waiting here (part of bufferedAmount). */
  queuedBytes = 0;
  /** A close() that waits for the queued sends. */
  pendingClose: PendingClose | null = null;

  constructor(host: SendQueueHost) {
    this.#host = host;
  }

  /** Queues one send of `size` bytes (a Blob, or a copy of the bytes: send() takes the data as it is now). */
  push(item: Blob | Uint8Array | string, size: number): void {
    this.#items.push(item);
    this.queuedBytes += size;
  }

  /** Sends the queued items in order, reading each Blob first, until the queue is empty. */
  async drain(): Promise<void> {
    const queue = this.#items;
    const host = this.#host;
    while (queue.length > 0) {
      const item = queue[0]!;
      let payload: Uint8Array | string;
      if (item instanceof Blob) {
        try {
          payload = new Uint8Array(await item.arrayBuffer());
        } catch (err) {
          // The Blob could not be read: the data cannot be sent, so the connection is failed (closed abnormally).
          queue.length = 0;
          this.queuedBytes = 0;
          this.pendingClose = null;
          host.failed(err as Error);
          return;
        }
      } else {
        payload = item;
      }
      queue.shift();
      const size = typeof payload === "string" ? Buffer.byteLength(payload) : payload.byteLength;
      this.queuedBytes -= size;
      const transport = host.transport();
      if (transport === null || !transport.conn.canSend) {
        // The connection closed while the Blob was read: the data is not sent, and stays counted.
        host.dropped(size);
        continue;
      }
      transport.sendMessage(payload, typeof payload !== "string");
      transport.notePayload(size);
    }
    const pending = this.pendingClose;
    this.pendingClose = null;
    host.drained(pending);
  }
}
