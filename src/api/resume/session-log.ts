/**
 * A session's history: the messages delivered to it and not yet acknowledged, bounded by count and by payload bytes.
 * It holds references to the hub's OutgoingMessage objects (shared by every session a broadcast reached), never
 * copies. In a cluster this is the class a Redis Streams store would stand in for (XADD with MAXLEN, XRANGE).
 */
import type { OutgoingMessage } from "../../hub/message.js";

export class SessionLog {
  /** Positions and messages, oldest first, from index #head. */
  #pos: number[] = [];
  #msg: OutgoingMessage[] = [];
  #head = 0;
  #bytes = 0;
  /** The highest position dropped by the bounds before it was acknowledged (0: none). */
  #trimmedUpTo = 0;
  readonly #maxMessages: number;
  readonly #maxBytes: number;

  constructor(maxMessages: number, maxBytes: number) {
    this.#maxMessages = maxMessages;
    this.#maxBytes = maxBytes;
  }

  /** Messages kept. */
  get length(): number {
    return this.#pos.length - this.#head;
  }

  /** Payload bytes kept. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The highest position lost to the bounds (not acknowledged, no longer kept); 0 if none. */
  get trimmedUpTo(): number {
    return this.#trimmedUpTo;
  }

  /** Records a message at `pos` (greater than every position recorded before), dropping the oldest beyond the bounds. */
  push(pos: number, message: OutgoingMessage): void {
    this.#pos.push(pos);
    this.#msg.push(message);
    this.#bytes += message.payload.length;
    while (this.length > this.#maxMessages || (this.#bytes > this.#maxBytes && this.length > 0)) {
      this.#trimmedUpTo = this.#pos[this.#head]!;
      this.#shift();
    }
    this.#compact();
  }

  /** Drops every message at or below `pos` (acknowledged by the client). */
  ack(pos: number): void {
    while (this.length > 0 && this.#pos[this.#head]! <= pos) this.#shift();
    this.#compact();
  }

  /** Calls `fn` for every message above `pos`, oldest first. */
  forEachAfter(pos: number, fn: (pos: number, message: OutgoingMessage) => void): void {
    const ps = this.#pos;
    for (let i = this.#head; i < ps.length; i++) if (ps[i]! > pos) fn(ps[i]!, this.#msg[i]!);
  }

  clear(): void {
    this.#pos = [];
    this.#msg = [];
    this.#head = 0;
    this.#bytes = 0;
  }

  #shift(): void {
    const i = this.#head++;
    this.#bytes -= this.#msg[i]!.payload.length;
    (this.#msg as (OutgoingMessage | undefined)[])[i] = undefined;
  }

  /** Frees the dropped slots once they are half the arrays (amortised O(1) per message). */
  #compact(): void {
    if (this.#head > 32 && this.#head * 2 > this.#pos.length) {
      this.#pos = this.#pos.slice(this.#head);
      this.#msg = this.#msg.slice(this.#head);
      this.#head = 0;
    }
  }
}
