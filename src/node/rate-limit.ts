/**
 * Per-connection message rate limit: two token buckets (messages and bytes) kept as plain numbers on one object per
 * connection, refilled from the clock on each socket read (messages then take tokens without reading the clock).
 * No timer per connection and no allocation per message; a server without a rate limit makes no bucket at all (the transport checks for null).
 */
import type { LimitCounters } from "./limit-counters.js";

/** `messageRate` of WebSocketServer: a token bucket per connection. */
export interface MessageRateOptions {
  /** Data messages and pings per second, refilled continuously. Default Infinity (not limited). */
  messagesPerSecond?: number;
  /** Bytes received per second (everything read from the socket: frames, headers, control frames). Default Infinity. */
  bytesPerSecond?: number;
  /**
   * Seconds' worth of tokens a bucket holds: how far a connection may run ahead of its rate for a moment. A
   * bucket starts full. Default 1 (one second's worth).
   */
  burst?: number;
}

/** A resolved messageRate, shared by every connection of a server (read-only). */
export interface RateLimit {
  readonly messagesPerMs: number;
  readonly bytesPerMs: number;
  readonly maxMessages: number;
  readonly maxBytes: number;
  readonly counters: LimitCounters;
}

/**
 * Most message tokens a bucket holds: message tokens are kept as small integers (V8 Smis), so that taking one per
 * message stores no new number object. 2^30 - 1 messages a second is far beyond any real limit.
 */
const MAX_MESSAGE_TOKENS = 2 ** 30 - 1;

/** The shared RateLimit of a `messageRate` option, or null when neither rate is finite (off). */
export function resolveRateLimit(o: MessageRateOptions | undefined, counters: LimitCounters): RateLimit | null {
  if (o === undefined) return null;
  const mps = o.messagesPerSecond ?? Infinity;
  const bps = o.bytesPerSecond ?? Infinity;
  if (mps === Infinity && bps === Infinity) return null;
  const burst = o.burst ?? 1;
  return Object.freeze({
    messagesPerMs: mps / 1000,
    bytesPerMs: bps / 1000,
    // At least one message and one byte, or nothing could ever pass.
    maxMessages: Math.min(MAX_MESSAGE_TOKENS, Math.max(1, Math.floor(mps * burst))),
    maxBytes: Math.max(1, bps * burst),
    counters,
  });
}

/** One connection's buckets. */
export class RateBucket {
  readonly limit: RateLimit;
  /** Message tokens: an integer from (a little below) 0 to limit.maxMessages. */
  messages: number;
  bytes: number;
  /** When the message bucket was last refilled (ms; advanced by the whole tokens it added). */
  lastMessages: number;
  /** When the byte bucket was last refilled (ms). */
  last: number;
  /** Set once the connection went over its rate: everything it sends afterwards is dropped. */
  over = false;

  constructor(limit: RateLimit, now: number) {
    this.limit = limit;
    this.messages = limit.maxMessages;
    this.bytes = limit.maxBytes;
    this.last = now;
    this.lastMessages = now;
  }

  /**
   * A read of `bytes` from the socket: refills both buckets from the clock, then takes the bytes. False when a
   * bucket is dry. The clock is read here, once per read, not once per message.
   */
  takeRead(bytes: number): boolean {
    const limit = this.limit;
    const now = Date.now();
    const elapsed = now - this.last;
    if (elapsed > 0) {
      this.last = now;
      const b = this.bytes + elapsed * limit.bytesPerMs;
      this.bytes = b > limit.maxBytes ? limit.maxBytes : b;
      // Whole message tokens only; the time of a fraction not yet earned is kept for the next refill.
      const max = limit.maxMessages;
      if (this.messages < max) {
        const earned = (now - this.lastMessages) * limit.messagesPerMs;
        if (earned >= 1) {
          const add = earned >= max ? max : earned | 0;
          const m = this.messages + add;
          this.messages = m > max ? max : m;
          this.lastMessages = this.messages === max ? now : this.lastMessages + add / limit.messagesPerMs;
        }
      } else {
        this.lastMessages = now;
      }
    }
    return (this.bytes -= bytes) >= 0 && this.messages >= 0;
  }

  /**
   * One message (or ping): takes a token, without reading the clock (every message comes from a read, which
   * refilled the buckets just before). False when the bucket is dry.
   */
  takeMessage(): boolean {
    return --this.messages >= 0;
  }

  /**
   * Marks the connection as over its rate (counted once). `bytes` then holds the grace: how many more bytes may be
   * read (to see the peer's close frame) before reading stops.
   */
  markOver(graceBytes: number): void {
    this.over = true;
    this.limit.counters.rateLimited++;
    this.bytes = graceBytes;
  }
}
