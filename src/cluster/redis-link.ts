/**
 * The adapter's two connections to Redis — a publisher (commands, PUBLISH, scripts) and a subscriber — and
 * their state. Both reconnect forever with backoff; every 'error' event is handled here (never unhandled), and
 * the owner hears only transitions: up (both ready), down (either lost), and one error per outage.
 */
import { createClient } from "redis";
import type { ResolvedRedisAdapterOptions } from "./options.js";
import type { RedisClient } from "./presence.js";

export interface LinkEvents {
  /** Both connections are ready: after the start, and after every reconnection. */
  up(): void;
  /** A connection was lost (`wasUp`), or the first attempt to reach Redis failed (`!wasUp`). */
  down(wasUp: boolean): void;
  /** The first error of an outage (repeats while Redis stays unreachable are not reported). */
  error(err: Error): void;
}

type State = "starting" | "up" | "down" | "closed";

export class RedisLink {
  readonly pub: RedisClient;
  readonly sub: RedisClient;
  readonly #events: LinkEvents;
  #state: State = "starting";
  /** An error was reported since the link was last up. */
  #reported = false;
  /** Some connection attempt or connection has failed. */
  #failed = false;

  constructor(options: ResolvedRedisAdapterOptions, events: LinkEvents) {
    this.#events = events;
    const min = options.reconnectMinDelay;
    const max = options.reconnectMaxDelay;
    // Exponential backoff, jittered down by up to half so that nodes cut off together do not retry in step.
    const reconnectStrategy = (retries: number): number => {
      const delay = Math.min(max, min * 2 ** Math.min(retries, 30));
      return Math.max(1, Math.round(delay / 2 + (Math.random() * delay) / 2));
    };
    const socket = { reconnectStrategy, connectTimeout: options.connectTimeout };
    // The publisher must not queue commands while Redis is away: messages that cannot cross now are dropped and
    // counted (delivery across nodes is at-most-once), not replayed late after a reconnection.
    if (options.client !== null) {
      const base = options.client.options;
      this.pub = options.client.duplicate({
        disableOfflineQueue: true,
        socket: { ...(base?.socket ?? {}), ...socket },
      }) as unknown as RedisClient;
    } else {
      this.pub = createClient({ url: options.url ?? undefined, disableOfflineQueue: true, socket });
    }
    // The subscriber keeps its (un)subscribe commands queued while offline; the owner re-checks its channels on up.
    this.sub = this.pub.duplicate({ disableOfflineQueue: false });
    for (const client of [this.pub, this.sub]) {
      client.on("error", this.#onError);
      client.on("ready", this.#update);
      client.on("end", this.#update);
      client.on("reconnecting", this.#update);
    }
  }

  /** Starts connecting; returns at once. Until Redis answers, the link is not up; it keeps trying. */
  start(): void {
    for (const client of [this.pub, this.sub]) {
      client.connect().catch((err: unknown) => this.#onError(asError(err)));
    }
  }

  get up(): boolean {
    return this.#state === "up";
  }

  get closed(): boolean {
    return this.#state === "closed";
  }

  /** Closes both connections (QUIT after pending replies), or destroys them if that does not finish in `ms`. */
  async close(ms: number): Promise<void> {
    this.#state = "closed";
    await Promise.all(
      [this.pub, this.sub].map(async (client) => {
        if (!client.isOpen) return;
        let timer: NodeJS.Timeout | undefined;
        const quit = client.isReady ? client.close().catch(() => {}) : Promise.resolve();
        const limit = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
        await Promise.race([quit, limit]);
        clearTimeout(timer);
        if (client.isOpen) client.destroy();
      }),
    );
  }

  #onError = (err: Error): void => {
    this.#failed = true;
    this.#update();
    if (this.#state === "closed" || this.#reported) return;
    this.#reported = true;
    this.#events.error(err);
  };

  #update = (): void => {
    if (this.#state === "closed") return;
    if (this.pub.isReady && this.sub.isReady) {
      if (this.#state === "up") return;
      this.#state = "up";
      this.#reported = false;
      this.#events.up();
    } else if (this.#state === "up" || (this.#state === "starting" && this.#failed)) {
      // While starting, one connection being ready before the other is no failure; an error is.
      const wasUp = this.#state === "up";
      this.#state = "down";
      this.#events.down(wasUp);
    }
  };
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
