/** RedisAdapter options: one object, every option documented with its default; bad values throw at construction. */
import type { createClient } from "redis";

/** A node-redis v5 client (from `createClient()`); the adapter only calls its `duplicate()`. */
export type RedisClientLike = Pick<ReturnType<typeof createClient>, "duplicate" | "options">;

export interface RedisAdapterOptions {
  /**
   * Where Redis listens: `redis://[[user]:password@]host[:port][/db]` or `rediss://…` for TLS.
   * Default "redis://127.0.0.1:6379" when `client` is not given either. Give `url` or `client`, not both.
   */
  url?: string;
  /**
   * A node-redis client (`createClient()` from the `redis` package) whose settings the adapter copies: it calls
   * `client.duplicate()` twice (a publisher and a subscriber) and never uses, connects or closes `client` itself.
   * Its reconnect strategy and offline queue are replaced by the adapter's (see reconnectMinDelay).
   */
  client?: RedisClientLike;
  /**
   * Prefix of every key and channel the adapter uses, so several clusters (or other applications) can share one
   * Redis. All nodes of one cluster must use the same prefix. Default "wshub".
   */
  keyPrefix?: string;
  /**
   * Milliseconds a node's presence (its liveness, its connection ids, its rooms) stays in Redis without being
   * refreshed. Each node refreshes it every presenceTtl / 3, so a node killed without close() leaves the cluster's
   * queries within presenceTtl. Lower detects dead nodes sooner and costs more Redis commands. Default 10000,
   * minimum 300.
   */
  presenceTtl?: number;
  /**
   * Milliseconds a remote operation (sendTo, join, leave, disconnect of an id on another node) or a cluster query
   * waits for its answer. Past it, an operation resolves "unknown" / false and is counted in stats().notCrossed;
   * a query answers from this node alone. Default 5000.
   */
  requestTimeout?: number;
  /**
   * Reconnection backoff, in milliseconds: after a lost or refused connection the adapter waits reconnectMinDelay,
   * then doubles the wait after each failure up to reconnectMaxDelay (each wait jittered down by up to half).
   * It never gives up. Defaults 100 and 2000.
   */
  reconnectMinDelay?: number;
  reconnectMaxDelay?: number;
  /** Milliseconds to establish one TCP (and TLS) connection to Redis before it counts as failed. Default 5000. */
  connectTimeout?: number;
  /**
   * Room messages go through sharded pub/sub (SPUBLISH / SSUBSCRIBE, Redis ≥ 7.0) when true, plain PUBLISH /
   * SUBSCRIBE when false (Redis 6). All nodes must agree. On a standalone Redis both behave the same; sharded
   * channels are what a future Redis Cluster mode needs. Default true.
   */
  shardedPubSub?: boolean;
}

export interface ResolvedRedisAdapterOptions {
  readonly url: string | null;
  readonly client: RedisClientLike | null;
  readonly keyPrefix: string;
  readonly presenceTtl: number;
  readonly requestTimeout: number;
  readonly reconnectMinDelay: number;
  readonly reconnectMaxDelay: number;
  readonly connectTimeout: number;
  readonly shardedPubSub: boolean;
}

export const REDIS_ADAPTER_DEFAULTS = Object.freeze({
  url: "redis://127.0.0.1:6379",
  keyPrefix: "wshub",
  presenceTtl: 10_000,
  requestTimeout: 5_000,
  reconnectMinDelay: 100,
  reconnectMaxDelay: 2_000,
  connectTimeout: 5_000,
  shardedPubSub: true,
});

/** Fills defaults and checks every option; throws TypeError / RangeError naming the option. */
export function resolveRedisAdapterOptions(options: RedisAdapterOptions = {}): ResolvedRedisAdapterOptions {
  if (options === null || typeof options !== "object") throw new TypeError("RedisAdapter options must be an object");
  const { url, client } = options;
  if (url !== undefined && client !== undefined) throw new TypeError("url and client: give one, not both");
  if (url !== undefined) {
    if (typeof url !== "string") throw new TypeError(`url must be a string, got ${typeof url}`);
    if (!/^rediss?:\/\/./.test(url)) throw new TypeError(`url must start with redis:// or rediss://, got ${JSON.stringify(url)}`);
    try {
      new URL(url);
    } catch {
      throw new TypeError(`url is not a valid URL: ${JSON.stringify(url)}`);
    }
  }
  if (client !== undefined && (client === null || typeof client !== "object" || typeof client.duplicate !== "function")) {
    throw new TypeError("client must be a node-redis client (an object with duplicate())");
  }
  const keyPrefix = options.keyPrefix ?? REDIS_ADAPTER_DEFAULTS.keyPrefix;
  if (typeof keyPrefix !== "string" || keyPrefix.length === 0) throw new TypeError("keyPrefix must be a non-empty string");
  const shardedPubSub = options.shardedPubSub ?? REDIS_ADAPTER_DEFAULTS.shardedPubSub;
  if (typeof shardedPubSub !== "boolean") throw new TypeError(`shardedPubSub must be a boolean, got ${typeof shardedPubSub}`);

  const presenceTtl = milliseconds("presenceTtl", options.presenceTtl, REDIS_ADAPTER_DEFAULTS.presenceTtl, 300);
  const requestTimeout = milliseconds("requestTimeout", options.requestTimeout, REDIS_ADAPTER_DEFAULTS.requestTimeout, 1);
  const reconnectMinDelay = milliseconds("reconnectMinDelay", options.reconnectMinDelay, REDIS_ADAPTER_DEFAULTS.reconnectMinDelay, 1);
  const reconnectMaxDelay = milliseconds("reconnectMaxDelay", options.reconnectMaxDelay, REDIS_ADAPTER_DEFAULTS.reconnectMaxDelay, 1);
  if (reconnectMaxDelay < reconnectMinDelay) {
    throw new RangeError(`reconnectMaxDelay must be >= reconnectMinDelay (${reconnectMinDelay}), got ${reconnectMaxDelay}`);
  }
  const connectTimeout = milliseconds("connectTimeout", options.connectTimeout, REDIS_ADAPTER_DEFAULTS.connectTimeout, 1);
  return Object.freeze({
    url: client === undefined ? (url ?? REDIS_ADAPTER_DEFAULTS.url) : null,
    client: client ?? null,
    keyPrefix,
    presenceTtl,
    requestTimeout,
    reconnectMinDelay,
    reconnectMaxDelay,
    connectTimeout,
    shardedPubSub,
  });
}

// setTimeout takes at most 2^31 - 1 ms.
const MAX_MS = 2 ** 31 - 1;

function milliseconds(name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number") throw new TypeError(`${name} must be a number of milliseconds, got ${typeof value}`);
  if (!Number.isInteger(value) || value < min || value > MAX_MS) {
    throw new RangeError(`${name} must be an integer from ${min} to ${MAX_MS} (milliseconds), got ${value}`);
  }
  return value;
}
