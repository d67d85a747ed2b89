/**
 * The Hub: the pool of a server's connections, each under its UUID. Rooms, broadcast and publish that frame a
 * message once, a heartbeat on one shared timer, limits for slow consumers, graceful shutdown and statistics.
 */
import { EventEmitter } from "node:events";
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import { CloseCode, ReadyState } from "../protocol/constants.js";
import { InProcessAdapter, type Adapter, type LocalDelivery, type SendResult } from "./adapter.js";
import { ClusterView } from "./cluster-view.js";
import type { ConnectionSource, HubConnection } from "./connection.js";
import { OutgoingMessage, type HubData } from "./message.js";
import { createMetricsHandler, type MetricsHandlerOptions } from "./metrics-handler.js";
import { resolveHubOptions, type HubOptions, type ResolvedHubOptions } from "./options.js";
import { RoomRegistry } from "./rooms.js";
import { formatPrometheus, type HubStats } from "./stats.js";
import { SweepTimer } from "./sweep-timer.js";
import { Liveness, newEntry, type Entry } from "./liveness.js";
import { Dispatcher } from "./dispatcher.js";
import { checkCloseArgs, exceptIds, idOf } from "./refs.js";
import { checkCloseOptions } from "../protocol/close.js";
import type { BroadcastOptions, ConnectionRef, HubCloseOptions, HubEvents, SendOptions } from "./types.js";

export type { MetricsHandlerOptions } from "./metrics-handler.js";
export type { BroadcastOptions, ConnectionRef, Except, HubCloseOptions, HubEvents, SendOptions } from "./types.js";

export class Hub<C extends HubConnection = HubConnection> extends EventEmitter<HubEvents<C>> implements Iterable<C> {
  readonly options: ResolvedHubOptions;
  readonly adapter: Adapter;
  /** This node's id in a cluster (HubOptions.nodeId, or a random UUID). */
  readonly nodeId: string;
  /** Cluster-wide operations and queries: every node's connections (just this one's with the in-process adapter). */
  readonly cluster: ClusterView<C>;
  readonly #entries = new Map<string, Entry<C>>();
  readonly #rooms = new RoomRegistry<Entry<C>>();
  readonly #sweep: SweepTimer;
  readonly #liveness: Liveness<C>;
  readonly #dispatch: Dispatcher<C>;
  readonly #clustered: boolean;
  #source: ConnectionSource<C> | null = null;
  #closing: Promise<void> | null = null;
  #closeCode: number = CloseCode.GoingAway;
  #closeReason = "";
  #emptyWaiters: (() => void)[] = [];
  // Totals; bytes of closed sockets are added when they leave.
  #connectionsTotal = 0;
  #messagesIn = 0;
  #bytesInClosed = 0;
  #bytesOutClosed = 0;
  #adapterErrors = 0;

  /**
   * Creates a hub, attached to `server` when given (or later with attach()). Connections that arrive through the
   * server's "connection" event are registered before any other listener runs, so handlers can join rooms.
   */
  constructor(server?: ConnectionSource<C> | null, options: HubOptions = {}) {
    super();
    this.options = resolveHubOptions(options);
    if (options.nodeId !== undefined && (typeof options.nodeId !== "string" || options.nodeId === "")) {
      throw new TypeError(`nodeId must be a non-empty string, got ${JSON.stringify(options.nodeId)}`);
    }
    this.nodeId = options.nodeId ?? randomUUID();
    this.adapter = options.adapter ?? new InProcessAdapter();
    this.#clustered = this.adapter.clustered;
    this.adapter.bind(this.#makeDelivery());
    this.cluster = new ClusterView<C>(this, this.adapter);
    this.#dispatch = new Dispatcher(this.#entries, this.#rooms, this.options, (ws, policy) => this.emit("slowConsumer", ws, policy));
    this.#liveness = new Liveness(this.#entries, this.options.idleTimeout);
    this.#sweep = new SweepTimer(this.options, this.#liveness);
    if (server) this.attach(server);
  }

  // ---- registry ----

  /** Registers every connection the server accepts from now on (and those it holds already). */
  attach(server: ConnectionSource<C>): this {
    if (this.#source === server) return this;
    if (this.#source !== null) throw new Error("hub is already attached to a server; detach() first");
    this.#source = server;
    server.prependListener("connection", this.#onConnection);
    for (const ws of server.clients) this.add(ws);
    return this;
  }

  /** Stops registering new connections of the attached server; registered ones stay. */
  detach(): this {
    if (this.#source !== null) this.#source.off("connection", this.#onConnection);
    this.#source = null;
    return this;
  }

  /**
   * Registers an open connection (for servers driven by handleUpgrade(), or connections accepted before the
   * hub existed). Returns false if it is not open or already registered. During close() it is closed at once.
   */
  add(ws: C): boolean {
    if (ws.readyState !== ReadyState.OPEN || this.#entries.has(ws.id)) return false;
    const entry = newEntry(ws, this.options.clock.now());
    this.#entries.set(ws.id, entry);
    this.#connectionsTotal++;
    // Shared listeners (no closure per connection): the event's target is the connection.
    ws.addEventListener("close", this.#onClose);
    ws.addEventListener("message", this.#onMessage);
    this.adapter.connectionOpened(ws.id);
    if (this.#closing !== null) {
      ws.close(this.#closeCode, this.#closeReason);
    } else if (!this.#sweep.running) {
      this.#sweep.start();
    }
    this.emit("connection", ws);
    return true;
  }

  /** Open connections in this process's hub (hub.cluster.nodes() counts every node's). */
  get size(): number {
    return this.#entries.size;
  }

  get(id: string): C | undefined {
    return this.#entries.get(id)?.ws;
  }

  /** Whether `id` is a connection of this process (hub.cluster.isOnline() asks every node). */
  has(id: string): boolean {
    return this.#entries.has(id);
  }

  ids(): IterableIterator<string> {
    return this.#entries.keys();
  }

  *connections(): IterableIterator<C> {
    for (const e of this.#entries.values()) yield e.ws;
  }

  [Symbol.iterator](): IterableIterator<C> {
    return this.connections();
  }

  // ---- sending ----

  /**
   * Sends to one connection by id (or the connection itself). An id of another node (with a clustered adapter)
   * is forwarded to that node without waiting: "remote". See SendResult.
   */
  send(to: ConnectionRef<C>, data: HubData, options: SendOptions = {}): SendResult {
    const id = idOf(to);
    if (this.#closing !== null) return this.#entries.has(id) ? "closed" : "unknown";
    const message = OutgoingMessage.from(data, options.binary);
    if (this.#entries.has(id) || !this.#clustered) return this.#dispatch.to(id, message);
    this.adapter.sendTo(id, message).catch(this.#reportAdapterError);
    return "remote";
  }

  /**
   * send(), then, if the connection is over maxBufferedBytes, waits until its socket drains (see drain()). Resolves "sent"
   * (after the drain), "closed" (the connection closed first) or "unknown". For an id on another node it resolves with
   * that node's answer. Awaiting it in a loop keeps a producer at the pace of its consumer.
   */
  async sendAsync(to: ConnectionRef<C>, data: HubData, options: SendOptions = {}): Promise<SendResult> {
    const id = idOf(to);
    if (!this.#entries.has(id) && this.#clustered && this.#closing === null) {
      return this.adapter.sendTo(id, OutgoingMessage.from(data, options.binary));
    }
    const r = this.send(to, data, options);
    if (r !== "backpressure") return r;
    return (await this.drain(to)) ? "sent" : "closed";
  }

  /**
   * Resolves true once the connection's socket has drained (written what was waiting, down to below its
   * highWaterMark) — at once if little is waiting now; false if the connection is unknown or closes first.
   */
  drain(to: ConnectionRef<C>): Promise<boolean> {
    const e = this.#entries.get(idOf(to));
    return e === undefined ? Promise.resolve(false) : e.ws.drained();
  }

  /**
   * Bytes waiting to be written to a connection (in its socket, and its compression queue if any), or undefined
   * for an unknown id. This is what maxBufferedBytes limits.
   */
  bufferedAmount(to: ConnectionRef<C>): number | undefined {
    return this.#entries.get(idOf(to))?.ws.pendingBytes;
  }

  /**
   * Sends to every connection of every node except `options.except`. The frame is encoded once and the same bytes
   * are written to every local socket; other nodes get the message once each through the adapter. Returns the
   * number of local recipients it was written to (slow consumers skipped or closed by the policy do not count).
   */
  broadcast(data: HubData, options: BroadcastOptions<C> = {}): number {
    if (this.#closing !== null) return 0;
    const message = OutgoingMessage.from(data, options.binary);
    const except = exceptIds(options.except);
    const n = this.#dispatch.all(message, except);
    if (this.#clustered) this.adapter.broadcast(message, except);
    return n;
  }

  // ---- rooms ----

  /**
   * Adds a connection of this process to a room (created on first join). Returns false for an unknown connection or
   * an existing member. hub.cluster.join() reaches connections of any node.
   */
  join(who: ConnectionRef<C>, room: string): boolean {
    const e = this.#entries.get(idOf(who));
    if (e === undefined || !this.#rooms.join(e, room)) return false;
    this.adapter.roomJoined(e.ws.id, room);
    return true;
  }

  /** Removes a connection from a room; an empty room is freed. Returns false if it was not a member. */
  leave(who: ConnectionRef<C>, room: string): boolean {
    const e = this.#entries.get(idOf(who));
    if (e === undefined || !this.#rooms.leave(e, room)) return false;
    this.adapter.roomLeft(e.ws.id, room);
    return true;
  }

  /** Removes a connection from all its rooms; returns how many it left. */
  leaveAll(who: ConnectionRef<C>): number {
    const e = this.#entries.get(idOf(who));
    if (e === undefined || e.rooms === null) return 0;
    let n = 0;
    for (const room of [...e.rooms]) if (this.leave(e.ws, room)) n++;
    return n;
  }

  /**
   * Sends to every member of a room, on every node, except `options.except`; framed once. Returns the number of
   * local recipients.
   */
  publish(room: string, data: HubData, options: BroadcastOptions<C> = {}): number {
    if (this.#closing !== null) return 0;
    const message = OutgoingMessage.from(data, options.binary);
    const except = exceptIds(options.except);
    const n = this.#dispatch.room(room, message, except);
    if (this.#clustered) this.adapter.publish(room, message, except);
    return n;
  }

  /** The rooms a connection is in (a copy; empty for an unknown connection). */
  roomsOf(who: ConnectionRef<C>): string[] {
    const rooms = this.#entries.get(idOf(who))?.rooms;
    return rooms ? [...rooms] : [];
  }

  /** The local members of a room (a copy; empty for an unknown room). hub.cluster.members() lists every node's. */
  members(room: string): C[] {
    const members = this.#rooms.get(room);
    if (members === undefined) return [];
    const out: C[] = [];
    for (const e of members) out.push(e.ws);
    return out;
  }

  /** Local members in a room (0 for an unknown room). */
  roomSize(room: string): number {
    return this.#rooms.size(room);
  }

  hasRoom(room: string): boolean {
    return this.#rooms.has(room);
  }

  /**
   * Sets what the cluster's presence shows of a local connection (hub.cluster.connections() on every node), e.g.
   * `JSON.stringify({ nick })`; null clears it. At most 4 KiB. Returns false for an unknown connection.
   */
  setMeta(who: ConnectionRef<C>, meta: string | null): boolean {
    if (meta !== null && typeof meta !== "string") throw new TypeError(`meta must be a string or null, got ${typeof meta}`);
    if (meta !== null && Buffer.byteLength(meta) > MAX_META_BYTES) throw new RangeError(`meta must be at most ${MAX_META_BYTES} bytes of UTF-8`);
    const e = this.#entries.get(idOf(who));
    if (e === undefined) return false;
    if (e.meta === meta) return true;
    e.meta = meta;
    this.adapter.connectionMeta(e.ws.id, meta);
    return true;
  }

  /** A local connection's metadata (null if none or unknown). */
  metaOf(who: ConnectionRef<C>): string | null {
    return this.#entries.get(idOf(who))?.meta ?? null;
  }

  /** Names of the rooms with at least one local member (hub.cluster.rooms(): every node's, with sizes). */
  rooms(): string[] {
    return [...this.#rooms.names()];
  }

  get roomCount(): number {
    return this.#rooms.count;
  }

  /**
   * Closes one connection of this process with a code RFC 6455 §7.4 allows on the wire (default 1000) and a reason
   * of at most 123 bytes; RangeError otherwise. Returns false for an unknown id. hub.cluster.disconnect() reaches
   * any node.
   */
  disconnect(who: ConnectionRef<C>, code: number = CloseCode.Normal, reason = ""): boolean {
    checkCloseArgs(code, reason);
    const e = this.#entries.get(idOf(who));
    if (e === undefined) return false;
    e.ws.close(code, reason);
    return true;
  }

  /** What the adapter sees of this hub (LocalDelivery): kept off the hub's public surface. */
  #makeDelivery(): LocalDelivery {
    const entries = this.#entries;
    const rooms = this.#rooms;
    return {
      nodeId: this.nodeId,
      deliverAll: (message, except) => this.#dispatch.all(message, except),
      deliverRoom: (room, message, except) => this.#dispatch.room(room, message, except),
      deliverTo: (id, message) => (this.#closing !== null ? (entries.has(id) ? "closed" : "unknown") : this.#dispatch.to(id, message)),
      hasLocal: (id) => entries.has(id),
      joinLocal: (id, room) => this.join(id, room),
      leaveLocal: (id, room) => this.leave(id, room),
      disconnectLocal: (id, code, reason) => {
        try {
          return this.disconnect(id, code, reason);
        } catch (err) {
          this.#reportAdapterError(err);
          return false;
        }
      },
      *snapshot() {
        for (const e of entries.values()) yield [e.ws.id, e.rooms === null ? [] : [...e.rooms], e.meta];
      },
      localRoomSizes: () => rooms.sizes(),
      get localCount(): number {
        return entries.size;
      },
      localMembers: (room) => Array.from(rooms.get(room) ?? [], (e) => e.ws.id),
      localRoomSize: (room) => rooms.size(room),
      adapterError: (err) => this.#reportAdapterError(err),
      adapterState: (connected) => this.emit("clusterState", connected),
    };
  }

  readonly #reportAdapterError = (err: unknown): void => {
    this.#adapterErrors++;
    const error = err instanceof Error ? err : new Error(String(err));
    if (this.listenerCount("error") > 0) {
      try {
        this.emit("error", error);
        return;
      } catch {
        // A throwing error listener must not take the adapter (or the process) down with it.
      }
    }
    console.error(`wshub hub ${this.nodeId}: adapter error: ${error.message}`);
  };

  // ---- connection events ----

  readonly #onConnection = (ws: C): void => {
    this.add(ws);
  };

  readonly #onMessage = (ev: Event): void => {
    const ws = ev.target as unknown as C;
    const e = this.#entries.get(ws.id);
    if (e === undefined) return;
    e.messages++;
    this.#messagesIn++;
    if (this.listenerCount("message") > 0) {
      const data = (ev as Event & { data?: unknown }).data;
      this.emit("message", ws, data, typeof data !== "string");
    }
  };

  readonly #onClose = (ev: Event): void => {
    const ws = ev.target as unknown as C;
    const e = this.#entries.get(ws.id);
    if (e === undefined || e.ws !== ws) return;
    ws.removeEventListener("close", this.#onClose);
    ws.removeEventListener("message", this.#onMessage);
    const rooms = e.rooms === null ? EMPTY_ROOMS : [...e.rooms];
    this.#rooms.leaveAll(e);
    this.#entries.delete(ws.id);
    this.adapter.connectionClosed(ws.id, rooms);
    this.#bytesInClosed += ws.bytesRead;
    this.#bytesOutClosed += ws.bytesWritten;
    if (this.#entries.size === 0) {
      this.#sweep.stop();
      const waiters = this.#emptyWaiters;
      this.#emptyWaiters = [];
      for (const w of waiters) w();
    }
    const ce = ev as Event & { code?: number; reason?: string };
    this.emit("disconnect", ws, ce.code ?? CloseCode.Abnormal, ce.reason ?? "");
  };

  // ---- shutdown ----

  /** Resolves when the hub holds no connection (at once if it holds none now). */
  whenEmpty(): Promise<void> {
    if (this.#entries.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#emptyWaiters.push(resolve));
  }

  /**
   * Graceful shutdown: sends a close frame (default 1001 Going Away) to every connection after what send() already
   * accepted, waits for the closing handshakes up to `timeout`, destroys the sockets left, and resolves when no
   * connection is left. Connections arriving meanwhile are closed the same way. Then the adapter is closed (a
   * cluster adapter removes this node's presence). The server is not closed: call `wss.close()` to release its port.
   * `code` must be one RFC 6455 §7.4 allows on the wire (RangeError otherwise).
   */
  close(options: HubCloseOptions = {}): Promise<void> {
    checkCloseOptions(options, "hub.close");
    if (this.#closing !== null) return this.#closing;
    const code = options.code ?? CloseCode.GoingAway;
    const reason = options.reason ?? "";
    const timeout = options.timeout ?? this.options.closeTimeout;
    this.#closeCode = code;
    this.#closeReason = reason;
    this.#closing = this.#shutdown(timeout);
    return this.#closing;
  }

  get closing(): boolean {
    return this.#closing !== null;
  }

  async #shutdown(timeout: number): Promise<void> {
    this.#sweep.stop();
    for (const e of this.#entries.values()) e.ws.close(this.#closeCode, this.#closeReason);
    if (this.#entries.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeout);
      });
      await Promise.race([this.whenEmpty(), timedOut]);
      clearTimeout(timer);
      // RFC 6455 §7.1.1 lets the server close the TCP connection; peers that did not finish in time are cut off.
      for (const e of this.#entries.values()) e.ws.terminate();
      await this.whenEmpty();
    }
    this.detach();
    try {
      await this.adapter.close();
    } catch (err) {
      this.#reportAdapterError(err);
    }
  }

  // ---- statistics ----

  stats(): HubStats {
    let bytesIn = this.#bytesInClosed;
    let bytesOut = this.#bytesOutClosed;
    for (const e of this.#entries.values()) {
      bytesIn += e.ws.bytesRead;
      bytesOut += e.ws.bytesWritten;
    }
    const a = this.adapter.stats();
    return {
      connections: this.#entries.size,
      connectionsTotal: this.#connectionsTotal,
      messagesIn: this.#messagesIn,
      messagesOut: this.#dispatch.messagesOut,
      bytesIn,
      bytesOut,
      dropped: this.#dispatch.dropped,
      slowClosed: this.#dispatch.slowClosed,
      heartbeatTerminated: this.#liveness.heartbeatTerminated,
      idleClosed: this.#liveness.idleClosed,
      rooms: this.#rooms.count,
      roomMemberships: this.#rooms.memberships,
      clusterConnected: a.connected ? 1 : 0,
      clusterOutages: a.outages,
      clusterNotCrossed: a.notCrossed,
      clusterCrossedOut: a.crossedOut,
      clusterCrossedIn: a.crossedIn,
      adapterErrors: this.#adapterErrors,
    };
  }

  /** stats() in the Prometheus text format. */
  metrics(labels?: Readonly<Record<string, string>>): string {
    return formatPrometheus(this.stats(), labels);
  }

  /**
   * An HTTP request handler serving metrics() at `path`. Returns true if it answered the request, false to let
   * the caller handle it: `http.createServer((req, res) => handler(req, res) || app(req, res))`.
   */
  metricsHandler(options: MetricsHandlerOptions = {}): (req: IncomingMessage, res: ServerResponse) => boolean {
    return createMetricsHandler((labels) => this.metrics(labels), options);
  }
}

const EMPTY_ROOMS: readonly string[] = Object.freeze([]);
/** hub.setMeta(): presence is not a store; a few fields (a name, a role) fit. */
const MAX_META_BYTES = 4096;
