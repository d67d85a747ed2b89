/**
 * The Hub: the pool of a server's connections, each under its UUID. Rooms, broadcast and publish that frame a
 * message once, a heartbeat on one shared timer, limits for slow consumers, graceful shutdown and statistics.
 */
import { EventEmitter } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import type { ServerWebSocket } from "../api/server-websocket.js";
import type { WebSocketServer } from "../api/server.js";
import type { SocketTransport } from "../node/socket-transport.js";
import { SharedDeflateMessage } from "../node/deflate-shared.js";
import { CloseCode, MAX_CLOSE_REASON_BYTES, ReadyState } from "../protocol/constants.js";
import { checkCloseOptions } from "../protocol/close.js";
import { InProcessAdapter, type Adapter, type ExceptIds, type LocalDelivery, type SendResult } from "./adapter.js";
import { OutgoingMessage, type HubData } from "./message.js";
import { resolveHubOptions, type HubOptions, type ResolvedHubOptions, type SlowConsumerPolicy } from "./options.js";
import { RoomRegistry } from "./rooms.js";
import { formatPrometheus, type HubStats } from "./stats.js";
import { SweepTimer, type SweepTarget } from "./sweep-timer.js";

/** A connection or its id. */
export type ConnectionRef<T = unknown> = string | ServerWebSocket<T>;

/** Connections to leave out of a broadcast or publish: one, or any iterable of connections or ids. */
export type Except<T = unknown> = ConnectionRef<T> | Iterable<ConnectionRef<T>>;

export interface BroadcastOptions<T = unknown> {
  /** Connections (or ids) that do not receive the message. */
  except?: Except<T>;
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

export interface MetricsHandlerOptions {
  /** Request path the handler answers. Default "/metrics". */
  path?: string;
  /** Labels added to every sample, e.g. { instance: "a" }. Default none. */
  labels?: Readonly<Record<string, string>>;
}

export interface HubEvents<T> {
  /** A connection was registered. */
  connection: [ws: ServerWebSocket<T>];
  /** A connection closed and left the hub (and all its rooms). `code` is 1006 when no close frame was received. */
  disconnect: [ws: ServerWebSocket<T>, code: number, reason: string];
  /** A data message from a connection (a string for text; for binary, per the socket's binaryType: a Buffer by default). */
  message: [ws: ServerWebSocket<T>, data: unknown, isBinary: boolean];
  /** A connection passed maxBufferedBytes during a broadcast or publish, and the policy was applied. */
  slowConsumer: [ws: ServerWebSocket<T>, policy: SlowConsumerPolicy];
}

/** Per-connection bookkeeping. */
interface Entry<T> {
  readonly ws: ServerWebSocket<T>;
  readonly transport: SocketTransport;
  /** Rooms joined; null while none (most connections in many apps). */
  rooms: Set<string> | null;
  /** socket.bytesRead when last observed by the heartbeat. */
  seenBytes: number;
  /** Pinged in the current heartbeat round and not heard from since. */
  pinged: boolean;
  /** Data messages in and out, for the idle timeout. */
  messages: number;
  idleMark: number;
  idleSince: number;
  /** Over the limit at the last broadcast/publish (the slowConsumer event fires once per episode). */
  slow: boolean;
  /** Callers waiting for the socket to drain. */
  drainWaiters: ((ok: boolean) => void)[] | null;
}

const GOING_AWAY_EMPTY = Buffer.alloc(0);

export class Hub<T = unknown> extends EventEmitter<HubEvents<T>> implements LocalDelivery, Iterable<ServerWebSocket<T>> {
  readonly options: ResolvedHubOptions;
  readonly adapter: Adapter;
  readonly #entries = new Map<string, Entry<T>>();
  readonly #rooms = new RoomRegistry<Entry<T>>();
  readonly #sweep: SweepTimer;
  #wss: WebSocketServer<T> | null = null;
  #closing: Promise<void> | null = null;
  #closeCode: number = CloseCode.GoingAway;
  #closeReason: Buffer = GOING_AWAY_EMPTY;
  #emptyWaiters: (() => void)[] = [];
  // Totals; bytes of closed sockets are added when they leave.
  #connectionsTotal = 0;
  #messagesIn = 0;
  #messagesOut = 0;
  #bytesInClosed = 0;
  #bytesOutClosed = 0;
  #dropped = 0;
  #slowClosed = 0;
  #heartbeatTerminated = 0;
  #idleClosed = 0;

  /**
   * Creates a hub, attached to `wss` when given (or later with attach()). Connections that arrive through the
   * server's "connection" event are registered before any other listener runs, so handlers can join rooms.
   */
  constructor(wss?: WebSocketServer<T> | null, options: HubOptions = {}) {
    super();
    this.options = resolveHubOptions(options);
    this.adapter = options.adapter ?? new InProcessAdapter();
    this.adapter.bind(this);
    this.#sweep = new SweepTimer(this.options, this.#sweepTarget);
    if (wss) this.attach(wss);
  }

  // ---- registry ----

  /** Registers every connection the server accepts from now on (and those it holds already). */
  attach(wss: WebSocketServer<T>): this {
    if (this.#wss === wss) return this;
    if (this.#wss !== null) throw new Error("hub is already attached to a server; detach() first");
    this.#wss = wss;
    wss.prependListener("connection", this.#onConnection);
    for (const ws of wss.clients) this.add(ws);
    return this;
  }

  /** Stops registering new connections of the attached server; registered ones stay. */
  detach(): this {
    if (this.#wss !== null) this.#wss.off("connection", this.#onConnection);
    this.#wss = null;
    return this;
  }

  /**
   * Registers an open connection (for servers driven by handleUpgrade(), or connections accepted before the
   * hub existed). Returns false if it is not open or already registered. During close() it is closed at once.
   */
  add(ws: ServerWebSocket<T>): boolean {
    const transport = ws._transport;
    if (transport === null || ws.readyState !== ReadyState.OPEN || this.#entries.has(ws.id)) return false;
    const now = performance.now();
    const entry: Entry<T> = {
      ws,
      transport,
      rooms: null,
      seenBytes: transport.socket.bytesRead,
      pinged: false,
      messages: 0,
      idleMark: 0,
      idleSince: now,
      slow: false,
      drainWaiters: null,
    };
    this.#entries.set(ws.id, entry);
    this.#connectionsTotal++;
    // Shared listeners (no closure per connection): the event's target is the connection.
    ws.addEventListener("close", this.#onClose);
    ws.addEventListener("message", this.#onMessage);
    if (this.#closing !== null) {
      ws.closeInternal(this.#closeCode, this.#closeReason);
    } else if (!this.#sweep.running) {
      this.#sweep.start();
    }
    this.emit("connection", ws);
    return true;
  }

  /** Open connections in the hub. */
  get size(): number {
    return this.#entries.size;
  }

  get(id: string): ServerWebSocket<T> | undefined {
    return this.#entries.get(id)?.ws;
  }

  has(id: string): boolean {
    return this.#entries.has(id);
  }

  ids(): IterableIterator<string> {
    return this.#entries.keys();
  }

  *connections(): IterableIterator<ServerWebSocket<T>> {
    for (const e of this.#entries.values()) yield e.ws;
  }

  [Symbol.iterator](): IterableIterator<ServerWebSocket<T>> {
    return this.connections();
  }

  // ---- sending ----

  /** Sends to one connection by id (or the connection itself). See SendResult for what comes back. */
  send(to: ConnectionRef<T>, data: HubData, options: SendOptions = {}): SendResult {
    if (this.#closing !== null) return this.#entries.has(idOf(to)) ? "closed" : "unknown";
    return this.adapter.sendTo(idOf(to), OutgoingMessage.from(data, options.binary));
  }

  /**
   * send(), then, if the connection is over maxBufferedBytes, waits until its socket drains (see drain()). Resolves "sent"
   * (after the drain), "closed" (the connection closed first) or "unknown". Awaiting it in a loop keeps a
   * producer at the pace of its consumer.
   */
  async sendAsync(to: ConnectionRef<T>, data: HubData, options: SendOptions = {}): Promise<SendResult> {
    const r = this.send(to, data, options);
    if (r !== "backpressure") return r;
    return (await this.drain(to)) ? "sent" : "closed";
  }

  /**
   * Resolves true once the connection's socket has drained (written what was waiting, down to below its
   * highWaterMark) — at once if little is waiting now; false if the connection is unknown or closes first.
   */
  drain(to: ConnectionRef<T>): Promise<boolean> {
    const e = this.#entries.get(idOf(to));
    if (e === undefined) return Promise.resolve(false);
    const socket = e.transport.socket;
    // With permessage-deflate, messages still being compressed have not reached the socket yet: wait for them.
    const q = e.transport.deflate;
    if (q !== null && !q.idle) return new Promise<boolean>((resolve) => q.whenIdle(() => resolve(e.transport.conn.canSend ? this.drain(to) : false)));
    // Node emits "drain" only after a write found the buffer at or over its highWaterMark.
    if (socket.writableLength === 0 || !socket.writableNeedDrain) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      if (e.drainWaiters === null) {
        e.drainWaiters = [];
        socket.once("drain", () => this.#releaseDrain(e, true));
      }
      e.drainWaiters.push(resolve);
    });
  }

  /**
   * Bytes waiting to be written to a connection (in its socket, and its compression queue if any), or undefined
   * for an unknown id. This is what maxBufferedBytes limits.
   */
  bufferedAmount(to: ConnectionRef<T>): number | undefined {
    return this.#entries.get(idOf(to))?.transport.bufferedAmount;
  }

  /**
   * Sends to every connection except `options.except`. The frame is encoded once and the same bytes are written
   * to every socket. Returns the number of local recipients it was written to (slow consumers skipped or closed
   * by the policy do not count).
   */
  broadcast(data: HubData, options: BroadcastOptions<T> = {}): number {
    if (this.#closing !== null) return 0;
    return this.adapter.broadcast(OutgoingMessage.from(data, options.binary), exceptIds(options.except));
  }

  // ---- rooms ----

  /** Adds a connection to a room (created on first join). Returns false for an unknown connection or an existing member. */
  join(who: ConnectionRef<T>, room: string): boolean {
    const e = this.#entries.get(idOf(who));
    return e !== undefined && this.#rooms.join(e, room);
  }

  /** Removes a connection from a room; an empty room is freed. Returns false if it was not a member. */
  leave(who: ConnectionRef<T>, room: string): boolean {
    const e = this.#entries.get(idOf(who));
    return e !== undefined && this.#rooms.leave(e, room);
  }

  /** Removes a connection from all its rooms; returns how many it left. */
  leaveAll(who: ConnectionRef<T>): number {
    const e = this.#entries.get(idOf(who));
    return e === undefined ? 0 : this.#rooms.leaveAll(e);
  }

  /** Sends to every member of a room except `options.except`; framed once. Returns the number of local recipients. */
  publish(room: string, data: HubData, options: BroadcastOptions<T> = {}): number {
    if (this.#closing !== null) return 0;
    return this.adapter.publish(room, OutgoingMessage.from(data, options.binary), exceptIds(options.except));
  }

  /** The rooms a connection is in (a copy; empty for an unknown connection). */
  roomsOf(who: ConnectionRef<T>): string[] {
    const rooms = this.#entries.get(idOf(who))?.rooms;
    return rooms ? [...rooms] : [];
  }

  /** The members of a room (a copy; empty for an unknown room). */
  members(room: string): ServerWebSocket<T>[] {
    const members = this.#rooms.get(room);
    if (members === undefined) return [];
    const out: ServerWebSocket<T>[] = [];
    for (const e of members) out.push(e.ws);
    return out;
  }

  /** Members in a room (0 for an unknown room). */
  roomSize(room: string): number {
    return this.#rooms.size(room);
  }

  hasRoom(room: string): boolean {
    return this.#rooms.has(room);
  }

  /** Names of the rooms with at least one member. */
  rooms(): string[] {
    return [...this.#rooms.names()];
  }

  /** Rooms with at least one member. */
  get roomCount(): number {
    return this.#rooms.count;
  }

  // ---- LocalDelivery (called by the adapter) ----

  deliverAll(message: OutgoingMessage, except: ExceptIds): number {
    let n = 0;
    for (const e of this.#entries.values()) {
      if (except !== null && except.has(e.ws.id)) continue;
      if (this.#deliver(e, message)) n++;
    }
    return n;
  }

  deliverRoom(room: string, message: OutgoingMessage, except: ExceptIds): number {
    const members = this.#rooms.get(room);
    if (members === undefined) return 0;
    let n = 0;
    // A slow consumer closed by the policy stays a member until its close event, so this loop is safe.
    for (const e of members) {
      if (except !== null && except.has(e.ws.id)) continue;
      if (this.#deliver(e, message)) n++;
    }
    return n;
  }

  deliverTo(id: string, message: OutgoingMessage): SendResult {
    const e = this.#entries.get(id);
    if (e === undefined) return "unknown";
    const t = e.transport;
    if (!t.conn.canSend || t.socket.destroyed || e.ws.readyState !== ReadyState.OPEN) return "closed";
    writeMessage(t, message);
    e.messages++;
    this.#messagesOut++;
    return t.bufferedAmount > this.options.maxBufferedBytes ? "backpressure" : "sent";
  }

  hasLocal(id: string): boolean {
    return this.#entries.has(id);
  }

  /** Writes a shared frame to one connection, applying the slow-consumer policy. */
  #deliver(e: Entry<T>, message: OutgoingMessage): boolean {
    const t = e.transport;
    if (!t.conn.canSend || e.ws.readyState !== ReadyState.OPEN) return false;
    if (t.socket.destroyed) return false;
    // Bytes waiting in the socket, and in the compression queue when permessage-deflate is in use.
    const buffered = t.bufferedAmount;
    // A message is always accepted by a connection with nothing waiting, so one larger than the limit still goes out.
    if (buffered > 0 && buffered + message.frameLength > this.options.maxBufferedBytes) {
      this.#slowConsumer(e);
      return false;
    }
    writeMessage(t, message);
    e.slow = false;
    e.messages++;
    this.#messagesOut++;
    return true;
  }

  #slowConsumer(e: Entry<T>): void {
    const policy = this.options.slowConsumerPolicy;
    if (policy === "drop") {
      this.#dropped++;
      if (e.slow) return;
      e.slow = true;
    } else {
      this.#slowClosed++;
      // RFC 6455 §7.4.1: 1008 "an endpoint is terminating the connection because it has received a message that
      // violates its policy" — here, the server's policy on unread data. The frame queues behind that data;
      // the server's closeTimeout destroys the socket if the peer never reads it.
      e.ws.closeInternal(CloseCode.PolicyViolation, Buffer.from("slow consumer"));
    }
    this.emit("slowConsumer", e.ws, policy);
  }

  // ---- heartbeat and idle timeout (one timer for all connections) ----

  readonly #sweepTarget: SweepTarget = {
    heartbeatPing: () => {
      for (const e of this.#entries.values()) {
        const read = e.transport.socket.bytesRead;
        if (read !== e.seenBytes) {
          // Any traffic from the peer since the last round counts as alive: no ping needed.
          e.seenBytes = read;
          e.pinged = false;
        } else if (e.ws.readyState === ReadyState.OPEN) {
          // RFC 6455 §5.5.2: a Ping frame may serve as a keepalive; the peer's Pong (or anything else) answers it.
          e.pinged = e.transport.conn.ping();
        }
      }
    },
    heartbeatCheck: () => {
      for (const e of this.#entries.values()) {
        if (!e.pinged) continue;
        e.pinged = false;
        const read = e.transport.socket.bytesRead;
        if (read !== e.seenBytes) {
          e.seenBytes = read;
          continue;
        }
        // Nothing within heartbeatTimeout: the socket is destroyed, so the close reports 1006.
        this.#heartbeatTerminated++;
        e.ws.terminate();
      }
    },
    idleSweep: (now: number) => {
      const limit = this.options.idleTimeout;
      for (const e of this.#entries.values()) {
        if (e.messages !== e.idleMark) {
          e.idleMark = e.messages;
          e.idleSince = now;
        } else if (now - e.idleSince >= limit && e.ws.readyState === ReadyState.OPEN) {
          this.#idleClosed++;
          e.ws.closeInternal(CloseCode.Normal, Buffer.from("idle timeout"));
        }
      }
    },
  };

  // ---- connection events ----

  readonly #onConnection = (ws: ServerWebSocket<T>): void => {
    this.add(ws);
  };

  readonly #onMessage = (ev: Event): void => {
    const ws = ev.target as ServerWebSocket<T>;
    const e = this.#entries.get(ws.id);
    if (e === undefined) return;
    e.messages++;
    this.#messagesIn++;
    if (this.listenerCount("message") > 0) {
      const data = (ev as MessageEvent).data as unknown;
      this.emit("message", ws, data, typeof data !== "string");
    }
  };

  readonly #onClose = (ev: Event): void => {
    const ws = ev.target as ServerWebSocket<T>;
    const e = this.#entries.get(ws.id);
    if (e === undefined || e.ws !== ws) return;
    ws.removeEventListener("close", this.#onClose);
    ws.removeEventListener("message", this.#onMessage);
    this.#rooms.leaveAll(e);
    this.#entries.delete(ws.id);
    const socket = e.transport.socket;
    this.#bytesInClosed += socket.bytesRead;
    this.#bytesOutClosed += socket.bytesWritten;
    this.#releaseDrain(e, false);
    if (this.#entries.size === 0) {
      this.#sweep.stop();
      const waiters = this.#emptyWaiters;
      this.#emptyWaiters = [];
      for (const w of waiters) w();
    }
    const ce = ev as Event & { code?: number; reason?: string };
    this.emit("disconnect", ws, ce.code ?? CloseCode.Abnormal, ce.reason ?? "");
  };

  #releaseDrain(e: Entry<T>, ok: boolean): void {
    const waiters = e.drainWaiters;
    if (waiters === null) return;
    e.drainWaiters = null;
    for (const w of waiters) w(ok);
  }

  // ---- shutdown ----

  /** Resolves when the hub holds no connection (at once if it holds none now). */
  whenEmpty(): Promise<void> {
    if (this.#entries.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#emptyWaiters.push(resolve));
  }

  /**
   * Graceful shutdown: sends a close frame (default 1001 Going Away) to every connection after what send() already
   * accepted, waits for the closing handshakes up to `timeout`, destroys the sockets left, and resolves when no
   * connection is left. Connections arriving meanwhile are closed the same way. Then the adapter is closed.
   * The server is not closed: call `wss.close()` to release its port.
   */
  close(options: HubCloseOptions = {}): Promise<void> {
    checkCloseOptions(options, "hub.close");
    if (this.#closing !== null) return this.#closing;
    const reason = Buffer.from(options.reason ?? "", "utf8");
    // RFC 6455 §5.5: a control frame's payload (2-byte code + reason) is at most 125 bytes.
    if (reason.length > MAX_CLOSE_REASON_BYTES) throw new RangeError(`close reason must be ${MAX_CLOSE_REASON_BYTES} bytes or less`);
    this.#closeCode = options.code ?? CloseCode.GoingAway;
    this.#closeReason = reason;
    const timeout = options.timeout ?? this.options.closeTimeout;
    this.#closing = this.#shutdown(timeout);
    return this.#closing;
  }

  get closing(): boolean {
    return this.#closing !== null;
  }

  async #shutdown(timeout: number): Promise<void> {
    this.#sweep.stop();
    for (const e of this.#entries.values()) e.ws.closeInternal(this.#closeCode, this.#closeReason);
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
    await this.adapter.close();
  }

  // ---- statistics ----

  stats(): HubStats {
    let bytesIn = this.#bytesInClosed;
    let bytesOut = this.#bytesOutClosed;
    for (const e of this.#entries.values()) {
      bytesIn += e.transport.socket.bytesRead;
      bytesOut += e.transport.socket.bytesWritten;
    }
    return {
      connections: this.#entries.size,
      connectionsTotal: this.#connectionsTotal,
      messagesIn: this.#messagesIn,
      messagesOut: this.#messagesOut,
      bytesIn,
      bytesOut,
      dropped: this.#dropped,
      slowClosed: this.#slowClosed,
      heartbeatTerminated: this.#heartbeatTerminated,
      idleClosed: this.#idleClosed,
      rooms: this.#rooms.count,
      roomMemberships: this.#rooms.memberships,
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
    const path = options.path ?? "/metrics";
    const labels = options.labels;
    return (req, res) => {
      const url = req.url ?? "/";
      const q = url.indexOf("?");
      if ((q === -1 ? url : url.slice(0, q)) !== path) return false;
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(405, { Allow: "GET, HEAD", "Content-Type": "text/plain; charset=utf-8" });
        res.end("method not allowed\n");
        return true;
      }
      const body = this.metrics(labels);
      res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8", "Content-Length": Buffer.byteLength(body) });
      res.end(req.method === "HEAD" ? undefined : body);
      return true;
    };
  }
}

function idOf<T>(ref: ConnectionRef<T>): string {
  return typeof ref === "string" ? ref : ref.id;
}

function exceptIds<T>(except: Except<T> | undefined): ExceptIds {
  if (except === undefined || except === null) return null;
  if (typeof except === "string") return new Set([except]);
  if (typeof (except as ServerWebSocket<T>).id === "string" && !(Symbol.iterator in (except as object))) {
    return new Set([(except as ServerWebSocket<T>).id]);
  }
  const ids = new Set<string>();
  for (const x of except as Iterable<ConnectionRef<T>>) ids.add(idOf(x));
  return ids;
}

/**
 * Writes a message through the transport's per-tick batching; the buffers are shared, never copied.
 * With permessage-deflate, the message is compressed once for every peer that can share the compressed frame
 * (server_no_context_takeover, RFC 7692 §7.1.1.1) and by the peer's own codec otherwise; under the threshold it
 * goes as the plain shared frame (RSV1 clear, valid per RFC 7692 §6). The transport's send queue keeps it in
 * order behind messages still being compressed.
 */
function writeMessage(t: SocketTransport, message: OutgoingMessage): void {
  if (t.deflate !== null) {
    (message.deflate ??= new SharedDeflateMessage(message.payload, message.binary)).sendTo(t.deflate, message);
    return;
  }
  const frame = message.frame;
  if (Array.isArray(frame)) {
    t.onWrite(frame[0]);
    t.onWrite(frame[1]);
  } else {
    t.onWrite(frame);
  }
}
