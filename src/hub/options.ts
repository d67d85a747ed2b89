/** Hub options: one object, every limit documented with its default and how to turn it off. */
import type { Adapter } from "./adapter.js";
import { checkInteger, checkKnownKeys, checkMilliseconds, checkOneOf, checkOptionsObject, show } from "../protocol/checks.js";
import { realClock, type HubClock } from "./clock.js";

/** What happens when a broadcast or publish would push a connection past `maxBufferedBytes`. */
export type SlowConsumerPolicy = "drop" | "close";

export interface HubOptions {
  /**
   * Delivers broadcast(), publish() and send(id). Default: a new InProcessAdapter (this process only); give
   * a cross-process adapter to reach connections held by other hubs.
   */
  adapter?: Adapter;
  /** This node's id in a cluster (logs, presence, hub.cluster.nodes()). Default: a random UUID. */
  nodeId?: string;
  /**
   * Milliseconds between heartbeat rounds. Each round pings every connection the peer has sent nothing on
   * since the previous round. Default 30000. `0` disables the heartbeat.
   */
  heartbeatInterval?: number;
  /**
   * Milliseconds a pinged connection has to send anything (a pong or any other bytes) before it is terminated
   * and reported with code 1006. Must be > 0 and <= heartbeatInterval. Default 10000.
   */
  heartbeatTimeout?: number;
  /**
   * Milliseconds without a data message in either direction after which a connection is closed with
   * 1000 "idle timeout" (pings and pongs do not count). Default 0 (disabled).
   */
  idleTimeout?: number;
  /**
   * Per-connection limit on bytes handed to the socket and not yet written to the kernel. A broadcast or publish
   * that would pass it applies `slowConsumerPolicy`; a direct send() reports "backpressure". A message is always
   * accepted by a connection that has nothing waiting. Default 4 MiB. `Infinity` disables the limit.
   */
  maxBufferedBytes?: number;
  /**
   * "drop": skip that connection for that message and count it in `stats.dropped`.
   * "close": close it with 1008 (Policy Violation) and reason "slow consumer"; the close frame queues behind the
   * data already accepted, and the server's closeTimeout destroys the socket if the peer never reads it.
   * Default "drop".
   */
  slowConsumerPolicy?: SlowConsumerPolicy;
  /** Milliseconds hub.close() waits for peers to answer the close frame before destroying the rest. Default 5000. */
  closeTimeout?: number;
  /**
   * The time source and timer of the heartbeat and the idle timeout: { now(), setTimeout(cb, ms),
   * clearTimeout(handle) }. Default `realClock` (performance.now() and Node's timers, unref'd). Tests pass a fake
   * clock to run heartbeat and idle behaviour on simulated time.
   */
  clock?: HubClock;
}

export type ResolvedHubOptions = Readonly<Required<Omit<HubOptions, "adapter" | "nodeId">>>;

/** The defaults of the limits (the default `clock` is `realClock`, the default adapter a new InProcessAdapter). */
export const HUB_DEFAULTS: Omit<ResolvedHubOptions, "clock"> = Object.freeze({
  heartbeatInterval: 30_000,
  heartbeatTimeout: 10_000,
  idleTimeout: 0,
  maxBufferedBytes: 4 * 1024 * 1024,
  slowConsumerPolicy: "drop",
  closeTimeout: 5_000,
});

/** Fills defaults and checks ranges; throws RangeError / TypeError on a bad value. */
export function resolveHubOptions(options: HubOptions = {}): ResolvedHubOptions {
  checkHubOptions(options);
  const o: Required<Omit<HubOptions, "adapter" | "nodeId">> = {
    heartbeatInterval: options.heartbeatInterval ?? HUB_DEFAULTS.heartbeatInterval,
    heartbeatTimeout: options.heartbeatTimeout ?? HUB_DEFAULTS.heartbeatTimeout,
    idleTimeout: options.idleTimeout ?? HUB_DEFAULTS.idleTimeout,
    maxBufferedBytes: options.maxBufferedBytes ?? HUB_DEFAULTS.maxBufferedBytes,
    slowConsumerPolicy: options.slowConsumerPolicy ?? HUB_DEFAULTS.slowConsumerPolicy,
    closeTimeout: options.closeTimeout ?? HUB_DEFAULTS.closeTimeout,
    clock: options.clock ?? realClock,
  };
  nonNegative("heartbeatInterval", o.heartbeatInterval);
  nonNegative("idleTimeout", o.idleTimeout);
  nonNegative("closeTimeout", o.closeTimeout);
  if (!(o.maxBufferedBytes > 0)) throw new RangeError(`maxBufferedBytes must be > 0 (Infinity disables it), got ${o.maxBufferedBytes}`);
  if (o.heartbeatInterval > 0 && !(o.heartbeatTimeout > 0 && o.heartbeatTimeout <= o.heartbeatInterval)) {
    // Timeouts no longer than the interval keep one ping outstanding per connection, so one timer serves all.
    throw new RangeError(`heartbeatTimeout must be > 0 and <= heartbeatInterval (${o.heartbeatInterval}), got ${o.heartbeatTimeout}`);
  }
  if (o.slowConsumerPolicy !== "drop" && o.slowConsumerPolicy !== "close") {
    throw new TypeError(`slowConsumerPolicy must be "drop" or "close", got ${JSON.stringify(o.slowConsumerPolicy)}`);
  }
  for (const fn of ["now", "setTimeout", "clearTimeout"] as const) {
    if (typeof o.clock?.[fn] !== "function") throw new TypeError(`clock must have a ${fn}() method`);
  }
  return Object.freeze(o);
}

function nonNegative(name: string, v: number): void {
  if (!(v >= 0) || !Number.isFinite(v)) throw new RangeError(`${name} must be a finite number >= 0, got ${v}`);
}

const HUB_KEYS = ["adapter", "nodeId", "clock", "heartbeatInterval", "heartbeatTimeout", "idleTimeout", "maxBufferedBytes", "slowConsumerPolicy", "closeTimeout"] as const;
const ADAPTER_METHODS = ["bind", "broadcast", "publish", "sendTo", "close"] as const;

/** Types and ranges of each option given (TypeError / RangeError naming it); resolveHubOptions checks the rest. */
function checkHubOptions(options: unknown): void {
  const where = "Hub";
  const o = checkOptionsObject(where, options);
  checkKnownKeys(where, o, HUB_KEYS, { pingInterval: "use heartbeatInterval", pingTimeout: "use heartbeatTimeout" });
  const adapter = o["adapter"];
  if (adapter !== undefined) {
    if (typeof adapter !== "object" || adapter === null) throw new TypeError(`${where}: option adapter must be an Adapter object, got ${show(adapter)}`);
    for (const m of ADAPTER_METHODS) {
      if (typeof (adapter as Record<string, unknown>)[m] !== "function") throw new TypeError(`${where}: option adapter has no ${m}() method: an Adapter needs ${ADAPTER_METHODS.join(", ")}`);
    }
  }
  if (o["nodeId"] !== undefined && (typeof o["nodeId"] !== "string" || o["nodeId"] === "")) throw new TypeError(`${where}: option nodeId must be a non-empty string, got ${show(o["nodeId"])}`);
  if (o["clock"] !== undefined && (typeof o["clock"] !== "object" || o["clock"] === null)) throw new TypeError(`${where}: option clock must be a HubClock object, got ${show(o["clock"])}`);
  if (o["heartbeatInterval"] !== undefined) checkMilliseconds(where, "heartbeatInterval", o["heartbeatInterval"], 0);
  if (o["heartbeatTimeout"] !== undefined) checkMilliseconds(where, "heartbeatTimeout", o["heartbeatTimeout"]);
  if (o["idleTimeout"] !== undefined) checkMilliseconds(where, "idleTimeout", o["idleTimeout"], 0);
  if (o["closeTimeout"] !== undefined) checkMilliseconds(where, "closeTimeout", o["closeTimeout"], 0);
  if (o["maxBufferedBytes"] !== undefined) checkInteger(where, "maxBufferedBytes", o["maxBufferedBytes"], 1, Number.MAX_SAFE_INTEGER, true);
  if (o["slowConsumerPolicy"] !== undefined) checkOneOf(where, "slowConsumerPolicy", o["slowConsumerPolicy"], ["drop", "close"]);
}
