/** wshub/redis: adapters that make many hubs, in many processes and machines, one cluster. */
export { RedisAdapter } from "./redis-adapter.js";
export { REDIS_ADAPTER_DEFAULTS, resolveRedisAdapterOptions } from "./options.js";
export type { RedisAdapterOptions, ResolvedRedisAdapterOptions, RedisClientLike } from "./options.js";
export { WireError } from "./wire.js";
