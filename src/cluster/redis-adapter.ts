/**
 * RedisAdapter: many hubs, in many processes and machines, as one — over Redis pub/sub, with presence in Redis.
 *
 * Channels (P = keyPrefix): P:all for broadcast(); P:room:<room> for publish(room), subscribed by a node only while
 * one of its connections is in the room (sharded pub/sub by default); P:node:<id> for operations addressed to
 * node <id> (send to one of its connections, join, leave, disconnect) and for the replies to its requests.
 * Everything this node publishes goes through one connection, in call order, so other nodes receive its
 * messages in the order it sent them. A node ignores its own broadcasts: its hub delivered them locally already.
 *
 * Faults never throw into the hub: they go to LocalDelivery.adapterError() (one per outage) and
 * adapterState(false / true); while Redis is away this node serves its own connections, counts what could not
 * cross, and joins again by itself when Redis is back (its presence is written again from the hub's snapshot).
 */
import { ErrorReply } from "redis";
import type { Adapter, AdapterStats, ConnectionInfo, ExceptIds, LocalDelivery, SendResult } from "../hub/adapter.js";
import { OutgoingMessage } from "../hub/message.js";
import { resolveRedisAdapterOptions, type RedisAdapterOptions, type ResolvedRedisAdapterOptions } from "./options.js";
import { PendingRequests } from "./pending-requests.js";
import { Presence } from "./presence.js";
import { RedisLink } from "./redis-link.js";
import { RoomChannels } from "./room-channels.js";
import { encodeWire, MAX_SEQ, SEND_RESULTS, WireKind, WireReader, type WireFields } from "./wire.js";

/** Milliseconds close() waits for Redis to acknowledge the removal of this node's presence and the QUITs. */
const CLOSE_WAIT = 2000;

export class RedisAdapter implements Adapter {
  readonly clustered = true;
  readonly options: ResolvedRedisAdapterOptions;

  #local: LocalDelivery | null = null;
  #link: RedisLink | null = null;
  #presence: Presence | null = null;
  #nodeId = "";
  #nodeIdBytes = Buffer.alloc(0);
  #allChannel = "";
  #nodeChannel = "";
  #rooms: RoomChannels | null = null;
  readonly #pending: PendingRequests;
  readonly #reader = new WireReader();
  /** One scratch object for encoding (encodeWire copies what it needs). */
  readonly #out: WireFields = {
    kind: WireKind.All,
    binary: false,
    code: 0,
    seq: 0,
    origin: "",
    target: "",
    text: "",
    except: null,
    payload: null,
  };
  #seq = 0;
  #refreshTimer: NodeJS.Timeout | null = null;
  /** Bumped on every (re)connection, so a synchronisation that finishes late knows it is stale. */
  #epoch = 0;
  #closed = false;
  readonly #stats: AdapterStats = { connected: false, outages: 0, notCrossed: 0, crossedOut: 0, crossedIn: 0, errors: 0 };
  /** Whether adapterState() has been called at all (the first "down" is reported even if never up). */
  #stateReported = false;

  constructor(options: RedisAdapterOptions = {}) {
    this.options = resolveRedisAdapterOptions(options);
    this.#pending = new PendingRequests(this.options.requestTimeout, () => this.#stats.notCrossed++);
  }

  bind(local: LocalDelivery): void {
    if (this.#local !== null) {
      if (this.#local === local) return;
      throw new Error("adapter is already bound to another hub");
    }
    if (this.#closed) throw new Error("adapter is closed");
    this.#local = local;
    const prefix = this.options.keyPrefix;
    this.#nodeId = local.nodeId;
    this.#nodeIdBytes = Buffer.from(local.nodeId, "utf8");
    if (this.#nodeIdBytes.length > 255) throw new RangeError("nodeId must be at most 255 bytes for the RedisAdapter");
    this.#allChannel = `${prefix}:all`;
    this.#nodeChannel = Presence.nodeChannel(prefix, local.nodeId);
    this.#out.origin = local.nodeId;
    const link = new RedisLink(this.options, {
      up: () => void this.#sync(),
      down: (wasUp) => this.#down(wasUp),
      error: (err) => this.#fault(err, "redis connection"),
    });
    this.#link = link;
    this.#presence = new Presence(link.pub, prefix, local.nodeId, this.options.presenceTtl);
    this.#rooms = new RoomChannels(link.sub, `${prefix}:room:`, this.options.shardedPubSub, this.#onMessage, this.#presenceFailed);
    this.#refreshTimer = setInterval(this.#refresh, Math.max(1, Math.floor(this.options.presenceTtl / 3)));
    this.#refreshTimer.unref();
    link.start();
  }

  // ---- what happens locally ----

  connectionOpened(id: string): void {
    if (this.#pubReady()) this.#presence!.opened(id).catch(this.#presenceFailed);
  }

  connectionClosed(id: string, rooms: readonly string[]): void {
    const write = this.#pubReady();
    if (write) this.#presence!.closed(id).catch(this.#presenceFailed);
    for (const room of rooms) this.#leftRoom(id, room, write);
  }

  roomJoined(id: string, room: string): void {
    if (this.#rooms === null) return;
    const first = this.#rooms.joined(room);
    if (this.#pubReady()) this.#presence!.joined(id, room, first).catch(this.#presenceFailed);
  }

  roomLeft(id: string, room: string): void {
    this.#leftRoom(id, room, this.#pubReady());
  }

  connectionMeta(id: string, meta: string | null): void {
    if (this.#pubReady()) this.#presence!.meta(id, meta).catch(this.#presenceFailed);
  }

  // ---- fan-out to the other nodes ----

  broadcast(message: OutgoingMessage, except: ExceptIds): void {
    this.#fanOut(WireKind.All, this.#allChannel, "", message, except, false);
  }

  publish(room: string, message: OutgoingMessage, except: ExceptIds): void {
    if (this.#rooms === null) return;
    this.#fanOut(WireKind.Room, this.#rooms.channel(room), room, message, except, this.options.shardedPubSub);
  }

  // ---- operations on connections of other nodes ----

  async sendTo(id: string, message: OutgoingMessage): Promise<SendResult> {
    const local = this.#bound();
    if (local.hasLocal(id)) return local.deliverTo(id, message);
    const code = await this.#request(WireKind.Send, id, "", 0, message);
    return code === null ? "unknown" : (SEND_RESULTS[code] ?? "unknown");
  }

  async join(id: string, room: string): Promise<boolean> {
    const local = this.#bound();
    if (local.hasLocal(id)) return local.joinLocal(id, room);
    return (await this.#request(WireKind.Join, id, room, 0, null)) === 1;
  }

  async leave(id: string, room: string): Promise<boolean> {
    const local = this.#bound();
    if (local.hasLocal(id)) return local.leaveLocal(id, room);
    return (await this.#request(WireKind.Leave, id, room, 0, null)) === 1;
  }

  async disconnect(id: string, code: number, reason: string): Promise<boolean> {
    const local = this.#bound();
    if (local.hasLocal(id)) return local.disconnectLocal(id, code, reason);
    return (await this.#request(WireKind.Disconnect, id, reason, code, null)) === 1;
  }

  // ---- queries: this node answers for itself, Redis for the other live nodes ----

  async allIds(): Promise<string[]> {
    const ids: string[] = [];
    for (const [id] of this.#bound().snapshot()) ids.push(id);
    const others = await this.#query((p) => p.otherIds(), []);
    for (const id of others) ids.push(id);
    return ids;
  }

  async isOnline(id: string): Promise<boolean> {
    if (this.#bound().hasLocal(id)) return true;
    return (await this.#query((p) => p.route(id), null)) !== null;
  }

  async roomMembers(room: string): Promise<string[]> {
    const members = this.#bound().localMembers(room);
    const others = await this.#query((p) => p.otherRoomMembers(room), []);
    for (const id of others) members.push(id);
    return members;
  }

  async roomSize(room: string): Promise<number> {
    const size = this.#bound().localRoomSize(room);
    return size + (await this.#query((p) => p.otherRoomSize(room), 0));
  }

  async nodeCounts(): Promise<Record<string, number>> {
    const local = this.#bound();
    const others = await this.#query((p) => p.otherNodeCounts(), {});
    return { ...others, [local.nodeId]: local.localCount };
  }

  async connections(): Promise<ConnectionInfo[]> {
    const local = this.#bound();
    const out: ConnectionInfo[] = [];
    for (const [id, , meta] of local.snapshot()) out.push({ id, node: local.nodeId, meta });
    for (const c of await this.#query((p) => p.otherConnections(), [])) out.push(c);
    return out;
  }

  async roomSizes(): Promise<Record<string, number>> {
    const sizes: Record<string, number> = {};
    for (const [room, n] of this.#bound().localRoomSizes()) sizes[room] = n;
    for (const [room, n] of await this.#query((p) => p.otherRoomSizes(), [])) sizes[room] = (sizes[room] ?? 0) + n;
    return sizes;
  }

  stats(): AdapterStats {
    return { ...this.#stats };
  }

  /** Removes this node's presence from Redis at once, closes both connections; pending requests resolve "unknown". */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#refreshTimer !== null) clearInterval(this.#refreshTimer);
    this.#refreshTimer = null;
    this.#pending.settleAll();
    this.#rooms?.close();
    const link = this.#link;
    if (link === null) return;
    if (link.pub.isReady) {
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT)));
      await Promise.race([this.#presence!.remove().catch((err: unknown) => this.#fault(err, "presence removal")), limit]);
      clearTimeout(timer);
    }
    await link.close(CLOSE_WAIT);
    this.#stats.connected = false;
  }

  // ---- internals ----

  #bound(): LocalDelivery {
    if (this.#local === null) throw new Error("adapter is not bound to a hub");
    return this.#local;
  }

  #pubReady(): boolean {
    return !this.#closed && this.#link !== null && this.#link.pub.isReady;
  }

  #nextSeq(): number {
    this.#seq = this.#seq + 1 === MAX_SEQ ? 1 : this.#seq + 1;
    return this.#seq;
  }

  #encode(kind: WireKind, seq: number, target: string, text: string, code: number, message: OutgoingMessage | null, except: ExceptIds): Buffer {
    const out = this.#out;
    out.kind = kind;
    out.seq = seq;
    out.target = target;
    out.text = text;
    out.code = code;
    out.except = except !== null && except.size > 0 ? except : null;
    out.binary = message !== null && message.binary;
    out.payload = message === null ? null : message.payload;
    try {
      return encodeWire(out);
    } finally {
      out.payload = null;
      out.except = null;
    }
  }

  #fanOut(kind: WireKind, channel: string, room: string, message: OutgoingMessage, except: ExceptIds, sharded: boolean): void {
    if (!this.#pubReady()) {
      if (!this.#closed) this.#stats.notCrossed++;
      return;
    }
    let buf: Buffer;
    try {
      buf = this.#encode(kind, this.#nextSeq(), "", room, 0, message, except);
    } catch (err) {
      this.#stats.notCrossed++;
      this.#fault(err, "encoding a message");
      return;
    }
    const pub = this.#link!.pub;
    (sharded ? pub.sPublish(channel, buf) : pub.publish(channel, buf)).then(this.#crossed, this.#notCrossed);
  }

  #crossed = (): void => {
    this.#stats.crossedOut++;
  };

  #notCrossed = (err: unknown): void => {
    this.#stats.notCrossed++;
    // A lost connection is reported once by the link; a reply error from Redis is a fault of its own.
    if (err instanceof ErrorReply) this.#fault(err, "publish");
  };

  #presenceFailed = (err: unknown): void => {
    // Lost writes are repaired when the connection comes back (presence is then written again in full).
    if (err instanceof ErrorReply) this.#fault(err, "presence update");
  };

  /** Sends an operation to the node holding `target`; resolves with its reply code, or null (unknown/timeout/down). */
  #request(kind: WireKind, target: string, text: string, code: number, message: OutgoingMessage | null): Promise<number | null> {
    if (!this.#pubReady()) {
      if (!this.#closed) this.#stats.notCrossed++;
      return Promise.resolve(null);
    }
    const seq = this.#nextSeq();
    let buf: Buffer;
    try {
      buf = this.#encode(kind, seq, target, text, code, message, null);
    } catch (err) {
      this.#stats.notCrossed++;
      this.#fault(err, "encoding an operation");
      return Promise.resolve(null);
    }
    const reply = this.#pending.add(seq);
    this.#presence!.route(target, buf).then(
      (node) => {
        if (node === null) this.#pending.settle(seq, null); // no live node holds it: "unknown", nothing failed
        else this.#stats.crossedOut++;
      },
      (err: unknown) => {
        if (!this.#pending.has(seq)) return;
        this.#notCrossed(err);
        this.#pending.settle(seq, null);
      },
    );
    return reply;
  }

  async #query<T>(ask: (presence: Presence) => Promise<T>, alone: T): Promise<T> {
    // Cut off from Redis (or too slow): this node answers for itself alone.
    if (!this.#pubReady()) return alone;
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<T>((resolve) => {
      timer = setTimeout(() => resolve(alone), this.options.requestTimeout);
      timer.unref();
    });
    try {
      return await Promise.race([ask(this.#presence!), limit]);
    } catch (err) {
      if (err instanceof ErrorReply) this.#fault(err, "query");
      return alone;
    } finally {
      clearTimeout(timer);
    }
  }

  #leftRoom(id: string, room: string, write: boolean): void {
    if (this.#rooms === null) return;
    const last = this.#rooms.left(room);
    if (write) this.#presence!.left(id, room, last).catch(this.#presenceFailed);
  }

  /** Both connections are (again) ready: subscribe, write this node's presence in full, then report connected. */
  async #sync(): Promise<void> {
    const epoch = ++this.#epoch;
    const link = this.#link!;
    try {
      const sub = link.sub;
      await Promise.all([
        sub.subscribe([this.#allChannel, this.#nodeChannel], this.#onMessage, true),
        this.#rooms!.resubscribe(),
        this.#presence!.publish(this.#bound().snapshot()),
      ]);
    } catch (err) {
      // Retried by the next presence refresh while the link stays up.
      if (epoch === this.#epoch && link.up && !this.#closed) this.#fault(err, "joining the cluster");
      return;
    }
    if (epoch !== this.#epoch || !link.up || this.#closed) return;
    this.#setConnected(true);
  }

  #down(wasUp: boolean): void {
    this.#epoch++;
    if (wasUp && this.#stats.connected) this.#stats.outages++;
    if (this.#stats.connected || !this.#stateReported) this.#setConnected(false);
  }

  #setConnected(connected: boolean): void {
    this.#stats.connected = connected;
    this.#stateReported = true;
    try {
      this.#local?.adapterState(connected);
    } catch {
      // The hub's listener threw; it is not ours to report.
    }
  }

  #refresh = (): void => {
    const link = this.#link;
    if (link === null || this.#closed || !link.up) return;
    if (!this.#stats.connected) {
      void this.#sync(); // the last synchronisation failed while the link stayed up: try again
      return;
    }
    this.#presence!.refresh().then(
      (kept) => {
        // The presence expired (this process stalled past the TTL) or Redis lost it: write it again in full.
        if (!kept && !this.#closed) this.#presence!.publish(this.#bound().snapshot()).catch(this.#presenceFailed);
      },
      this.#presenceFailed,
    );
  };

  #fault(err: unknown, what: string): void {
    this.#stats.errors++;
    const cause = err instanceof Error ? err : new Error(String(err));
    const error = new Error(`RedisAdapter: ${what}: ${cause.message}`, { cause }) as Error & { code?: unknown };
    // Keep a stable code (e.g. WSHUB_ERR_CLUSTER_WIRE) where the cause has one.
    if ("code" in cause) error.code = (cause as { code?: unknown }).code;
    try {
      this.#local?.adapterError(error);
    } catch {
      // Never let a throwing listener escape into Redis client callbacks.
    }
  }

  /** Everything other nodes send arrives here (buffer mode: one Buffer per message, used in place). */
  #onMessage = (buf: Buffer): void => {
    const local = this.#local;
    if (local === null || this.#closed) return;
    try {
      const m = this.#reader.read(buf);
      switch (m.kind) {
        case WireKind.All:
          if (m.isFrom(this.#nodeIdBytes)) return; // delivered locally by our own hub already
          this.#stats.crossedIn++;
          local.deliverAll(new OutgoingMessage(m.payload, m.binary), m.except);
          return;
        case WireKind.Room:
          if (m.isFrom(this.#nodeIdBytes)) return;
          this.#stats.crossedIn++;
          local.deliverRoom(m.text, new OutgoingMessage(m.payload, m.binary), m.except);
          return;
        case WireKind.Send: {
          this.#stats.crossedIn++;
          const result = local.deliverTo(m.target, new OutgoingMessage(m.payload, m.binary));
          const code = SEND_RESULTS.indexOf(result);
          this.#reply(m.origin, m.seq, code < 0 ? SEND_RESULTS.indexOf("unknown") : code);
          return;
        }
        case WireKind.Join:
          this.#stats.crossedIn++;
          this.#reply(m.origin, m.seq, local.joinLocal(m.target, m.text) ? 1 : 0);
          return;
        case WireKind.Leave:
          this.#stats.crossedIn++;
          this.#reply(m.origin, m.seq, local.leaveLocal(m.target, m.text) ? 1 : 0);
          return;
        case WireKind.Disconnect:
          this.#stats.crossedIn++;
          this.#reply(m.origin, m.seq, local.disconnectLocal(m.target, m.code, m.text) ? 1 : 0);
          return;
        case WireKind.Reply:
          this.#pending.settle(m.seq, m.code);
          return;
      }
    } catch (err) {
      this.#fault(err, "handling a message from another node");
    }
  };

  #reply(origin: string, seq: number, code: number): void {
    if (!this.#pubReady()) {
      this.#stats.notCrossed++;
      return;
    }
    const buf = this.#encode(WireKind.Reply, seq, "", "", code, null, null);
    this.#link!.pub.publish(Presence.nodeChannel(this.options.keyPrefix, origin), buf).then(undefined, this.#notCrossed);
  }
}
