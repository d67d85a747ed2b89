/** The connection pool: UUID registry, rooms, broadcast, heartbeat, slow consumers, adapter interface. */
export { Hub, type HubEvents, type BroadcastOptions, type SendOptions, type HubCloseOptions, type MetricsHandlerOptions, type ConnectionRef, type Except } from "./hub.js";
export { HUB_DEFAULTS, resolveHubOptions, type HubOptions, type ResolvedHubOptions, type SlowConsumerPolicy } from "./options.js";
export { realClock, type HubClock } from "./clock.js";
export { InProcessAdapter, type Adapter, type LocalDelivery, type SendResult, type ExceptIds } from "./adapter.js";
export { OutgoingMessage, type HubData } from "./message.js";
export { formatPrometheus, type HubStats } from "./stats.js";
