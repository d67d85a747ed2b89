/**
 * The seam between a hub and the other hubs of a cluster. The hub delivers to its own connections itself (the
 * fast path: no adapter call is awaited, nothing is copied); its Adapter is told what happens locally (connections
 * opening and closing, rooms joined and left) and forwards broadcast(), publish() and operations addressed to
 * connections of other processes. What other nodes forward arrives through the LocalDelivery the hub gave the
 * adapter in bind(), so a message from another node is framed once for all of this node's recipients.
 *
 * The default InProcessAdapter is a cluster of one: every query answers from this process, nothing is forwarded.
 * Adapters for several processes live in src/cluster/ (the hub never imports them).
 */
import type { OutgoingMessage } from "./message.js";

/**
 * The result of a direct send:
 * - "sent": handed to the socket;
 * - "backpressure": handed to the socket, but more than maxBufferedBytes now wait on it (slow down, or use
 *   sendAsync / drain);
 * - "closed": the connection is closing or closed; nothing was sent;
 * - "unknown": no connection with that id (anywhere in the cluster, as far as the adapter knows);
 * - "remote": not a connection of this process; handed to the adapter for the node that holds it (hub.send()
 *   does not wait for that node; hub.sendAsync() resolves with its answer).
 */
export type SendResult = "sent" | "backpressure" | "closed" | "unknown" | "remote";

/** Connection ids to skip; null for none. */
export type ExceptIds = ReadonlySet<string> | null;

/** What a message carries when it crosses processes: everything needed to deliver it, nothing else. */
export interface ClusterMessage {
  /** Unique in the cluster: the origin node's id, ":" and a counter. */
  readonly id: string;
  /** The node whose hub sent it (that node delivers to its own connections itself). */
  readonly origin: string;
  readonly payload: Uint8Array;
  readonly binary: boolean;
}

/** A connection as the cluster's presence knows it. */
export interface ConnectionInfo {
  readonly id: string;
  /** The node that holds it. */
  readonly node: string;
  /** What the application stored with hub.setMeta() (e.g. a user name as JSON), or null. */
  readonly meta: string | null;
}

/** An adapter's counters, merged into hub.stats() (all 0 for the in-process adapter). */
export interface AdapterStats {
  /** Whether this node is connected to the rest of the cluster now. */
  connected: boolean;
  /** Times the connection to the cluster was lost. */
  outages: number;
  /** Messages and operations that could not be sent to other nodes (cut off, or the transport failed). */
  notCrossed: number;
  /** Messages published to other nodes, and received from them. */
  crossedOut: number;
  crossedIn: number;
  /** Adapter faults reported through LocalDelivery.adapterError(). */
  errors: number;
}

/** What the hub offers its adapter: this process's connections and rooms, and an error channel. */
export interface LocalDelivery {
  /** This node's id, unique in the cluster (a random UUID unless HubOptions.nodeId says otherwise). */
  readonly nodeId: string;
  /** Writes the message to every local connection not in `except`; returns how many it was written to. */
  deliverAll(message: OutgoingMessage, except: ExceptIds): number;
  /** Writes the message to every local member of `room` not in `except`; returns how many it was written to. */
  deliverRoom(room: string, message: OutgoingMessage, except: ExceptIds): number;
  /** Writes the message to one local connection. */
  deliverTo(id: string, message: OutgoingMessage): SendResult;
  /** Whether `id` is a local connection. */
  hasLocal(id: string): boolean;
  /** Room membership and disconnection of a local connection, asked by another node. False if `id` is not local. */
  joinLocal(id: string, room: string): boolean;
  leaveLocal(id: string, room: string): boolean;
  disconnectLocal(id: string, code: number, reason: string): boolean;
  /** Every local connection with its rooms and meta, e.g. to publish this node's presence again after a reconnect. */
  snapshot(): Iterable<[id: string, rooms: readonly string[], meta: string | null]>;
  /** Rooms with local members, and how many. */
  localRoomSizes(): Iterable<[room: string, size: number]>;
  /** Local connections. */
  readonly localCount: number;
  /** Ids of the local members of a room (a copy), and their number. */
  localMembers(room: string): string[];
  localRoomSize(room: string): number;
  /** An adapter fault: reported as the hub's "error" event (or on stderr without a listener), never thrown. */
  adapterError(err: Error): void;
  /** The adapter lost or regained the cluster: the hub emits "clusterState" (true: connected). */
  adapterState(connected: boolean): void;
}

export interface Adapter {
  /** Called once by the hub, before any other method. */
  bind(local: LocalDelivery): void;
  /** True when the adapter reaches other processes (the hub then forwards to it what is not local). */
  readonly clustered: boolean;

  // ---- what happens locally (the adapter keeps presence; none of these may throw or block) ----
  connectionOpened(id: string): void;
  connectionClosed(id: string, rooms: readonly string[]): void;
  roomJoined(id: string, room: string): void;
  roomLeft(id: string, room: string): void;
  /** The application set (or cleared, with null) the metadata of a local connection. */
  connectionMeta(id: string, meta: string | null): void;

  // ---- fan-out to the other nodes (the hub has already delivered to its own connections) ----
  broadcast(message: OutgoingMessage, except: ExceptIds): void;
  publish(room: string, message: OutgoingMessage, except: ExceptIds): void;

  // ---- operations on connections of other nodes ----
  sendTo(id: string, message: OutgoingMessage): Promise<SendResult>;
  join(id: string, room: string): Promise<boolean>;
  leave(id: string, room: string): Promise<boolean>;
  disconnect(id: string, code: number, reason: string): Promise<boolean>;

  // ---- queries over the whole cluster (this node included) ----
  allIds(): Promise<string[]>;
  isOnline(id: string): Promise<boolean>;
  roomMembers(room: string): Promise<string[]>;
  roomSize(room: string): Promise<number>;
  /** Open connections per live node, by node id. */
  nodeCounts(): Promise<Record<string, number>>;
  /** Every connection of every live node, with its node and metadata. */
  connections(): Promise<ConnectionInfo[]>;
  /** Every room with members on a live node, with its member count over all nodes. */
  roomSizes(): Promise<Record<string, number>>;

  stats(): AdapterStats;
  /** Called by hub.close() after the last local connection is gone; removes this node's presence. */
  close(): Promise<void>;
}

/** The default adapter: a cluster of one process. Queries answer from the hub's own connections. */
export class InProcessAdapter implements Adapter {
  readonly clustered = false;
  #local: LocalDelivery | null = null;

  bind(local: LocalDelivery): void {
    if (this.#local !== null && this.#local !== local) throw new Error("adapter is already bound to another hub");
    this.#local = local;
  }

  // Presence is the hub's own registry: nothing to keep.
  connectionOpened(_id: string): void {}
  connectionClosed(_id: string, _rooms: readonly string[]): void {}
  roomJoined(_id: string, _room: string): void {}
  roomLeft(_id: string, _room: string): void {}
  connectionMeta(_id: string, _meta: string | null): void {}

  // No other node to forward to.
  broadcast(_message: OutgoingMessage, _except: ExceptIds): void {}
  publish(_room: string, _message: OutgoingMessage, _except: ExceptIds): void {}

  async sendTo(id: string, message: OutgoingMessage): Promise<SendResult> {
    return this.#bound().deliverTo(id, message);
  }

  async join(id: string, room: string): Promise<boolean> {
    return this.#bound().joinLocal(id, room);
  }

  async leave(id: string, room: string): Promise<boolean> {
    return this.#bound().leaveLocal(id, room);
  }

  async disconnect(id: string, code: number, reason: string): Promise<boolean> {
    return this.#bound().disconnectLocal(id, code, reason);
  }

  async allIds(): Promise<string[]> {
    const ids: string[] = [];
    for (const [id] of this.#bound().snapshot()) ids.push(id);
    return ids;
  }

  async isOnline(id: string): Promise<boolean> {
    return this.#bound().hasLocal(id);
  }

  async roomMembers(room: string): Promise<string[]> {
    return this.#bound().localMembers(room);
  }

  async roomSize(room: string): Promise<number> {
    return this.#bound().localRoomSize(room);
  }

  async nodeCounts(): Promise<Record<string, number>> {
    const local = this.#bound();
    return { [local.nodeId]: local.localCount };
  }

  async connections(): Promise<ConnectionInfo[]> {
    const local = this.#bound();
    const out: ConnectionInfo[] = [];
    for (const [id, , meta] of local.snapshot()) out.push({ id, node: local.nodeId, meta });
    return out;
  }

  async roomSizes(): Promise<Record<string, number>> {
    const sizes: Record<string, number> = {};
    for (const [room, size] of this.#bound().localRoomSizes()) sizes[room] = size;
    return sizes;
  }

  stats(): AdapterStats {
    return { connected: true, outages: 0, notCrossed: 0, crossedOut: 0, crossedIn: 0, errors: 0 };
  }

  async close(): Promise<void> {}

  #bound(): LocalDelivery {
    if (this.#local === null) throw new Error("adapter is not bound to a hub");
    return this.#local;
  }
}
