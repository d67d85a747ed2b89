/**
 * hub.cluster: operations and queries over every node of a cluster. Each call is answered locally when the
 * connection is this process's, and by the adapter otherwise; with the in-process adapter the cluster is this
 * process. All methods are async and never reject for a peer's or Redis's fault: an unreachable node reads as
 * "unknown" / false (the adapter counts it and reports it on the hub's "error" event).
 */
import type { Adapter, ConnectionInfo, SendResult } from "./adapter.js";
import type { HubConnection } from "./connection.js";
import type { HubData } from "./message.js";

/** The hub's side of a ClusterView. */
export interface ClusterHub {
  has(id: string): boolean;
  sendAsync(id: string, data: HubData, options?: { binary?: boolean }): Promise<SendResult>;
  join(id: string, room: string): boolean;
  leave(id: string, room: string): boolean;
  disconnect(id: string, code?: number, reason?: string): boolean;
}

export class ClusterView<C extends HubConnection = HubConnection> {
  readonly #hub: ClusterHub;
  readonly #adapter: Adapter;

  /** @internal Made by the Hub. */
  constructor(hub: ClusterHub, adapter: Adapter) {
    this.#hub = hub;
    this.#adapter = adapter;
  }

  /** Sends to a connection on any node; resolves with the holding node's SendResult ("unknown" if none holds it). */
  send(to: string | C, data: HubData, options: { binary?: boolean } = {}): Promise<SendResult> {
    return this.#hub.sendAsync(idOf(to), data, options);
  }

  /** Adds a connection of any node to a room; false if no node holds it or it is a member already. */
  async join(who: string | C, room: string): Promise<boolean> {
    const id = idOf(who);
    return this.#hub.has(id) ? this.#hub.join(id, room) : this.#adapter.join(id, room);
  }

  async leave(who: string | C, room: string): Promise<boolean> {
    const id = idOf(who);
    return this.#hub.has(id) ? this.#hub.leave(id, room) : this.#adapter.leave(id, room);
  }

  /** Closes a connection of any node (code and reason as hub.disconnect(), checked here before anything is sent). */
  async disconnect(who: string | C, code = 1000, reason = ""): Promise<boolean> {
    const id = idOf(who);
    if (this.#hub.has(id)) return this.#hub.disconnect(id, code, reason);
    // Checks the arguments the same way (throws RangeError/TypeError) without a local connection.
    this.#hub.disconnect("", code, reason);
    return this.#adapter.disconnect(id, code, reason);
  }

  /** Ids of every connection on every live node. */
  ids(): Promise<string[]> {
    return this.#adapter.allIds();
  }

  async isOnline(who: string | C): Promise<boolean> {
    const id = idOf(who);
    return this.#hub.has(id) || this.#adapter.isOnline(id);
  }

  /** Ids of the members of a room on every live node. */
  members(room: string): Promise<string[]> {
    return this.#adapter.roomMembers(room);
  }

  roomSize(room: string): Promise<number> {
    return this.#adapter.roomSize(room);
  }

  /** Every connection of every live node, with its node id and its metadata (hub.setMeta()). */
  connections(): Promise<ConnectionInfo[]> {
    return this.#adapter.connections();
  }

  /** Every room with members on a live node, with its member count over all nodes. */
  rooms(): Promise<Record<string, number>> {
    return this.#adapter.roomSizes();
  }

  /** Open connections per live node, by node id. */
  nodes(): Promise<Record<string, number>> {
    return this.#adapter.nodeCounts();
  }
}

function idOf(ref: string | HubConnection): string {
  return typeof ref === "string" ? ref : ref.id;
}
