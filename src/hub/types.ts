/** The hub's public types: references to connections, options of its methods, its events. */
import type { HubConnection } from "./connection.js";
import type { SlowConsumerPolicy } from "./options.js";

/** A connection or its id. */
export type ConnectionRef<C extends HubConnection = HubConnection> = string | C;

/** Connections to leave out of a broadcast or publish: one, or any iterable of connections or ids. */
export type Except<C extends HubConnection = HubConnection> = ConnectionRef<C> | Iterable<ConnectionRef<C>>;

export interface BroadcastOptions<C extends HubConnection = HubConnection> {
  /** Connections (or ids) that do not receive the message. */
  except?: Except<C>;
  /** Send bytes as text (false) or a string as binary (true). Default: strings as text, bytes as binary. */
  binary?: boolean;
}

export interface SendOptions {
  /** Default: strings as text, bytes as binary. */
  binary?: boolean;
}

export interface HubCloseOptions {
  /** Close code sent to every connection. Default 1001 (Going Away). */
  code?: number;
  /** Close reason (at most 123 bytes of UTF-8). Default "". */
  reason?: string;
  /** Milliseconds to wait for the closing handshakes before destroying the sockets left. Default: options.closeTimeout. */
  timeout?: number;
}

export interface HubEvents<C extends HubConnection> {
  /** A connection was registered. */
  connection: [ws: C];
  /** A connection closed and left the hub (and all its rooms). `code` is 1006 when no close frame was received. */
  disconnect: [ws: C, code: number, reason: string];
  /** A data message from a connection (a string for text; for binary, per the socket's binaryType: a Buffer by default). */
  message: [ws: C, data: unknown, isBinary: boolean];
  /** A connection passed maxBufferedBytes during a broadcast or publish, and the policy was applied. */
  slowConsumer: [ws: C, policy: SlowConsumerPolicy];
  /** The adapter reported a fault (Redis unreachable, a malformed message from another node...). Never thrown. */
  error: [err: Error];
  /** The adapter lost (false) or regained (true) the rest of the cluster. */
  clusterState: [connected: boolean];
}
