/**
 * Which room channels this node subscribes to: a room's channel while at least one local connection is in the
 * room, none otherwise — so a node never receives the traffic of rooms it has no member in.
 */
import type { RedisClient } from "./presence.js";

export type MessageListener = (message: Buffer, channel: Buffer) => void;

export class RoomChannels {
  readonly #sub: RedisClient;
  readonly #prefix: string;
  readonly #sharded: boolean;
  readonly #listener: MessageListener;
  readonly #onError: (err: unknown) => void;
  /** Local members per room. */
  readonly #counts = new Map<string, number>();
  #closed = false;

  /** `prefix`: channel name before the room ("<keyPrefix>:room:"); `sharded`: SSUBSCRIBE rather than SUBSCRIBE. */
  constructor(sub: RedisClient, prefix: string, sharded: boolean, listener: MessageListener, onError: (err: unknown) => void) {
    this.#sub = sub;
    this.#prefix = prefix;
    this.#sharded = sharded;
    this.#listener = listener;
    this.#onError = onError;
  }

  channel(room: string): string {
    return this.#prefix + room;
  }

  /** A local connection joined `room`; returns true if it is the room's first local member (now subscribed). */
  joined(room: string): boolean {
    const before = this.#counts.get(room) ?? 0;
    this.#counts.set(room, before + 1);
    if (before === 0) this.#subscribe([this.channel(room)]);
    return before === 0;
  }

  /** A local connection left `room`; returns true if it was the last local member (now unsubscribed). */
  left(room: string): boolean {
    const before = this.#counts.get(room);
    if (before === undefined) return false;
    if (before > 1) {
      this.#counts.set(room, before - 1);
      return false;
    }
    this.#counts.delete(room);
    if (!this.#closed) {
      const channel = this.channel(room);
      (this.#sharded ? this.#sub.sUnsubscribe(channel, this.#listener, true) : this.#sub.unsubscribe(channel, this.#listener, true)).catch(
        this.#onError,
      );
    }
    return true;
  }

  /**
   * Subscribes to every wanted room channel (after a reconnection: the client re-subscribes the channels it
   * knows, this adds any whose SUBSCRIBE was lost with the connection; channels already subscribed cost nothing).
   */
  resubscribe(): Promise<void> {
    if (this.#counts.size === 0) return Promise.resolve();
    return this.#subscribe([...this.#counts.keys()].map((room) => this.channel(room)));
  }

  close(): void {
    this.#closed = true;
  }

  #subscribe(channels: string[]): Promise<void> {
    if (this.#closed) return Promise.resolve();
    // Queued by the subscriber client while it is offline.
    const done = this.#sharded ? this.#sub.sSubscribe(channels, this.#listener, true) : this.#sub.subscribe(channels, this.#listener, true);
    done.catch(this.#onError);
    return done;
  }
}
