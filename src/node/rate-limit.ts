/**
 * Per-connection message rate limit: two token buckets (messages and bytes) kept as plain numbers on one object per
 * connection, refilled from the clock when a message or a read is counted. No timer per connection and no
 * allocation per message; a server without a rate limit makes no bucket at all (the transport checks for null).
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
    // At least one message and one read's worth, or nothing could ever pass.
    maxMessages: Math.max(1, mps * burst),
    maxBytes: Math.max(1, bps * burst),
    counters,
  });
}

/** One connection's buckets. */
export class RateBucket {
  readonly limit: RateLimit;
  messages: number;
  bytes: number;
  last: number;
  /** Set once the connection went over its rate: everything it sends afterwards is dropped. */
  over = false;

  constructor(limit: RateLimit, now: number) {
    this.limit = limit;
    this.messages = limit.maxMessages;
    this.bytes = limit.maxBytes;
    this.last = now;
  }

  /** Takes `messages` and `bytes`; false when either bucket runs dry. */
  take(messages: number, bytes: number): boolean {
    const limit = this.limit;
    const now = Date.now();
    const elapsed = now - this.last;
    if (elapsed > 0) {
      this.last = now;
      const m = this.messages + elapsed * limit.messagesPerMs;
      this.messages = m > limit.maxMessages ? limit.maxMessages : m;
      const b = this.bytes + elapsed * limit.bytesPerMs;
      this.bytes = b > limit.maxBytes ? limit.maxBytes : b;
    }
    this.messages -= messages;
    this.bytes -= bytes;
    return this.messages >= 0 && this.bytes >= 0;
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
