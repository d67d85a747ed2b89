/**
 * The chat server: speaks the JSON chat protocol (docs/chat-protocol.md) on the connections of a
 * WebSocketServer, through the hub's pool (every connection under its UUID) and rooms.
 */
import type { ServerWebSocket } from "../api/server-websocket.js";
import type { ResumableSession } from "../api/resume/session.js";
import type { AuthDecision, UpgradeInfo } from "../api/server.js";
import type { Hub } from "../hub/index.js";
import {
  CHAT_LIMITS,
  ChatError,
  checkNick,
  encode,
  parseClientMessage,
  type ChatLimits,
  type ClientMessage,
  type RoomInfo,
  type ServerMessage,
  type UserInfo,
} from "./protocol.js";

/** Per-connection chat state, kept in the connection's `data` (set during the upgrade). */
export interface ChatUser {
  nick: string;
  /** The rooms this connection is in, mirrored from the hub so that leaving can be announced after close. */
  rooms: Set<string>;
  /** In a cluster: this connection's messages are handled one after the other (some wait on other nodes). */
  queue?: Promise<void>;
}

/** A plain connection, or a resumable session (`--resume`: the same user across reconnects). */
export type ChatConnection = ServerWebSocket<ChatUser> | ResumableSession<ChatUser>;

/** A place the chat can listen for connections (a WebSocketServer). */
export interface ChatConnectionSource {
  on(event: "connection", listener: (ws: ChatConnection) => void): unknown;
  off(event: "connection", listener: (ws: ChatConnection) => void): unknown;
}

export interface ChatServerOptions {
  /** Protocol limits; each missing field takes its CHAT_LIMITS default. */
  limits?: Partial<ChatLimits>;
  /** Clock for message timestamps (milliseconds since the epoch). Default Date.now. */
  now?: () => number;
}

export interface ChatAuthOptions {
  /**
   * Refuse (403) a browser upgrade whose Origin names another host than the request's Host header, so that a
   * page elsewhere cannot open the chat in its visitor's name (cross-site WebSocket hijacking). Requests without
   * an Origin (non-browser clients) are accepted. Default true.
   */
  checkOrigin?: boolean;
  limits?: Partial<ChatLimits>;
}

/**
 * The WebSocketServer `authenticate` hook for the chat: checks the Origin, and takes the nickname from the
 * `nick` query parameter (`/chat?nick=ana`); a missing or invalid one leaves a default ("guest-xxxx").
 */
export function chatAuthenticate(options: ChatAuthOptions = {}): (info: UpgradeInfo) => AuthDecision<ChatUser> {
  const checkOrigin = options.checkOrigin ?? true;
  const limits = { ...CHAT_LIMITS, ...options.limits };
  return (info) => {
    if (checkOrigin && info.origin !== undefined && info.origin !== "null") {
      let originHost: string;
      try {
        originHost = new URL(info.origin).host;
      } catch {
        return { accept: false, status: 403, reason: "bad Origin header" };
      }
      if (originHost.toLowerCase() !== String(info.req.headers.host ?? "").toLowerCase()) {
        return { accept: false, status: 403, reason: `origin ${info.origin} may not use this chat` };
      }
    }
    let nick = "";
    const wanted = info.url.searchParams.get("nick");
    if (wanted !== null) {
      try {
        nick = checkNick(wanted, limits);
      } catch {
        nick = "";
      }
    }
    return { accept: true, data: { nick, rooms: new Set<string>() } };
  };
}

export class ChatServer {
  readonly limits: Readonly<ChatLimits>;
  readonly #hub: Hub<ChatConnection>;
  readonly #source: ChatConnectionSource;
  readonly #now: () => number;
  /** The hub reaches other nodes: who is online and room sizes are asked of the cluster. */
  readonly #clustered: boolean;
  /** Users on other nodes as last seen by a cluster query (the welcome lists them at once; a `who` follows). */
  #remote: UserInfo[] = [];
  readonly #onConnection = (ws: ChatConnection) => this.#accept(ws);

  constructor(source: ChatConnectionSource, hub: Hub<ChatConnection>, options: ChatServerOptions = {}) {
    this.limits = Object.freeze({ ...CHAT_LIMITS, ...options.limits });
    this.#hub = hub;
    this.#source = source;
    this.#now = options.now ?? Date.now;
    this.#clustered = hub.adapter.clustered;
    source.on("connection", this.#onConnection);
  }

  /** Stops handling new connections (the open ones are closed by the hub or server). */
  detach(): void {
    this.#source.off("connection", this.#onConnection);
  }

  /** Everyone online on this node, in order of arrival, then (in a cluster) those of other nodes last seen. */
  online(): UserInfo[] {
    const list: UserInfo[] = [];
    for (const ws of this.#hub) if (ws.readyState === 1 && ws.data?.nick) list.push({ id: ws.id, nick: ws.data.nick });
    for (const u of this.#remote) if (!this.#hub.has(u.id)) list.push(u);
    return list;
  }

  /** Everyone online on every node (the cluster's presence: each connection's meta holds its nick). */
  async onlineEverywhere(): Promise<UserInfo[]> {
    if (!this.#clustered) return this.online();
    const remote: UserInfo[] = [];
    for (const c of await this.#hub.cluster.connections()) {
      if (c.node === this.#hub.nodeId || c.meta === null) continue;
      try {
        const nick = (JSON.parse(c.meta) as { nick?: unknown }).nick;
        if (typeof nick === "string") remote.push({ id: c.id, nick });
      } catch {
        // Not a chat connection's meta: not listed.
      }
    }
    this.#remote = remote;
    return this.online();
  }

  /** Rooms with members on every node, by name, with their sizes over all nodes. */
  async roomsEverywhere(): Promise<RoomInfo[]> {
    if (!this.#clustered) return this.rooms();
    const sizes = await this.#hub.cluster.rooms();
    return Object.keys(sizes)
      .sort()
      .map((name) => ({ name, size: sizes[name]! }));
  }

  /** The rooms that have members (the hub frees empty ones), by name, with their sizes. */
  rooms(): RoomInfo[] {
    return this.#hub
      .rooms()
      .sort()
      .map((name) => ({ name, size: this.#hub.roomSize(name) }));
  }

  #accept(ws: ChatConnection): void {
    if (ws.data === undefined || ws.data === null) ws.data = { nick: "", rooms: new Set() };
    if (ws.data.nick === "") ws.data.nick = `guest-${ws.id.slice(0, 4)}`;
    this.#hub.setMeta(ws, JSON.stringify({ nick: ws.data.nick }));
    ws.addEventListener("message", (ev) => this.#onMessage(ws, (ev as MessageEvent).data));
    ws.addEventListener("close", () => this.#onClose(ws), { once: true });
    const ts = this.#now();
    this.#sendTo(ws, {
      type: "welcome",
      id: ws.id,
      nick: ws.data.nick,
      online: this.online(),
      rooms: this.rooms(),
      limits: { ...this.limits },
      ts,
    });
    this.#hub.broadcast(encode({ type: "user-joined", id: ws.id, nick: ws.data.nick, ts }), { except: ws });
    // In a cluster the welcome listed what this node knew; the cluster's answer follows as a `who`.
    if (this.#clustered) this.#serially(ws, () => this.#who(ws));
  }

  #onMessage(ws: ChatConnection, data: unknown): void {
    if (ws.readyState !== 1) return;
    let msg: ClientMessage;
    try {
      if (typeof data !== "string") throw new ChatError("binary-not-supported", "chat messages are JSON text; binary messages are not supported");
      msg = parseClientMessage(data, this.limits);
      if (this.#clustered) this.#serially(ws, () => this.#handleClustered(ws, msg));
      else this.#handle(ws, msg);
    } catch (err) {
      this.#failed(ws, err);
    }
  }

  /** Runs `job` after this connection's earlier jobs (their replies keep their order), reporting its failure. */
  #serially(ws: ChatConnection, job: () => Promise<void>): void {
    const user = ws.data;
    user.queue = (user.queue ?? Promise.resolve()).then(job).catch((err: unknown) => this.#failed(ws, err));
  }

  #failed(ws: ChatConnection, err: unknown): void {
    if (!(err instanceof ChatError)) {
      // A bug here must not take the server down (a listener's exception would be uncaught): report it, go on.
      process.emitWarning(`chat: message from ${ws.id} failed: ${(err as Error)?.stack ?? err}`, "ChatServerWarning");
      return;
    }
    const reply: ServerMessage = { type: "error", code: err.code, reason: err.message, ts: this.#now() };
    if (err.ref !== undefined) reply.ref = err.ref;
    this.#sendTo(ws, reply);
  }

  #handle(ws: ChatConnection, msg: ClientMessage): void {
    const user = ws.data;
    const ts = this.#now();
    switch (msg.type) {
      case "message": {
        if (msg.room === undefined) {
          // To everyone, the sender included: everybody sees the same server timestamp and order.
          this.#hub.broadcast(encode({ type: "message", from: ws.id, nick: user.nick, text: msg.text, ts }));
        } else {
          if (!user.rooms.has(msg.room)) throw new ChatError("not-in-room", `join the room ${msg.room} before writing to it`, msg.type);
          this.#hub.publish(msg.room, encode({ type: "message", from: ws.id, nick: user.nick, text: msg.text, room: msg.room, ts }));
        }
        return;
      }
      case "private": {
        const target = this.#hub.get(msg.to);
        if (target === undefined || target.readyState !== 1) throw new ChatError("unknown-user", `no one is online with the id ${msg.to}`, msg.type);
        // Only the target and the sender get it.
        const data = encode({ type: "private", from: ws.id, nick: user.nick, to: target.id, text: msg.text, ts });
        this.#hub.send(target.id, data);
        if (target !== ws) this.#hub.send(ws.id, data);
        return;
      }
      case "nick": {
        const previous = user.nick;
        user.nick = msg.nick;
        this.#hub.setMeta(ws, JSON.stringify({ nick: msg.nick }));
        this.#hub.broadcast(encode({ type: "nick", id: ws.id, nick: msg.nick, previous, ts }));
        return;
      }
      case "join": {
        if (user.rooms.has(msg.room)) {
          this.#sendTo(ws, { type: "room-joined", room: msg.room, id: ws.id, nick: user.nick, size: this.#size(msg.room), ts });
          return;
        }
        if (user.rooms.size >= this.limits.maxRoomsPerConnection) {
          throw new ChatError("too-many-rooms", `one connection may be in at most ${this.limits.maxRoomsPerConnection} rooms`, msg.type);
        }
        this.#hub.join(ws, msg.room);
        user.rooms.add(msg.room);
        this.#hub.publish(msg.room, encode({ type: "room-joined", room: msg.room, id: ws.id, nick: user.nick, size: this.#size(msg.room), ts }));
        this.#broadcastRooms(ts);
        return;
      }
      case "leave": {
        if (!user.rooms.has(msg.room)) throw new ChatError("not-in-room", `you are not in the room ${msg.room}`, msg.type);
        const size = this.#size(msg.room) - 1;
        // The leaver gets the notice too, so its page can drop the room.
        this.#hub.publish(msg.room, encode({ type: "room-left", room: msg.room, id: ws.id, nick: user.nick, size, ts }));
        this.#hub.leave(ws, msg.room);
        user.rooms.delete(msg.room);
        this.#broadcastRooms(ts);
        return;
      }
      case "who":
        this.#sendTo(ws, { type: "who", online: this.online(), rooms: this.rooms(), ts });
        return;
    }
  }

  /** #handle() in a cluster: private messages, room sizes and `who` are asked of every node. */
  async #handleClustered(ws: ChatConnection, msg: ClientMessage): Promise<void> {
    if (ws.readyState !== 1) return;
    const user = ws.data;
    const ts = this.#now();
    switch (msg.type) {
      case "private": {
        if (this.#hub.has(msg.to)) return this.#handle(ws, msg);
        const data = encode({ type: "private", from: ws.id, nick: user.nick, to: msg.to, text: msg.text, ts });
        const r = await this.#hub.cluster.send(msg.to, data);
        if (r === "unknown" || r === "closed") throw new ChatError("unknown-user", `no one is online with the id ${msg.to}`, msg.type);
        this.#hub.send(ws.id, data);
        return;
      }
      case "join": {
        if (user.rooms.has(msg.room) || user.rooms.size >= this.limits.maxRoomsPerConnection) return this.#handle(ws, msg);
        this.#hub.join(ws, msg.room);
        user.rooms.add(msg.room);
        const size = await this.#hub.cluster.roomSize(msg.room);
        this.#hub.publish(msg.room, encode({ type: "room-joined", room: msg.room, id: ws.id, nick: user.nick, size, ts }));
        return this.#broadcastRoomsEverywhere(ts);
      }
      case "leave": {
        if (!user.rooms.has(msg.room)) return this.#handle(ws, msg);
        const size = (await this.#hub.cluster.roomSize(msg.room)) - 1;
        this.#hub.publish(msg.room, encode({ type: "room-left", room: msg.room, id: ws.id, nick: user.nick, size, ts }));
        this.#hub.leave(ws, msg.room);
        user.rooms.delete(msg.room);
        return this.#broadcastRoomsEverywhere(ts);
      }
      case "who":
        return this.#who(ws);
      default:
        return this.#handle(ws, msg);
    }
  }

  async #who(ws: ChatConnection): Promise<void> {
    const [online, rooms] = await Promise.all([this.onlineEverywhere(), this.roomsEverywhere()]);
    this.#sendTo(ws, { type: "who", online, rooms, ts: this.#now() });
  }

  async #broadcastRoomsEverywhere(ts: number): Promise<void> {
    this.#hub.broadcast(encode({ type: "rooms", rooms: await this.roomsEverywhere(), ts }));
  }

  #onClose(ws: ChatConnection): void {
    const ts = this.#now();
    const user = ws.data;
    // The hub has already taken the connection out of the pool and its rooms (its close listener runs first);
    // tell those rooms and everyone.
    if (this.#clustered) {
      this.#hub.broadcast(encode({ type: "user-left", id: ws.id, nick: user.nick, ts }));
      const rooms = [...user.rooms];
      user.rooms.clear();
      if (rooms.length > 0) void this.#leftEverywhere(ws, user.nick, rooms, ts);
      return;
    }
    for (const room of user.rooms) {
      this.#hub.publish(room, encode({ type: "room-left", room, id: ws.id, nick: user.nick, size: this.#size(room), ts }));
    }
    this.#hub.broadcast(encode({ type: "user-left", id: ws.id, nick: user.nick, ts }));
    if (user.rooms.size > 0) {
      user.rooms.clear();
      this.#broadcastRooms(ts);
    }
  }

  /** In a cluster: tells the rooms a closed connection was in, with their sizes over every node. */
  async #leftEverywhere(ws: ChatConnection, nick: string, rooms: string[], ts: number): Promise<void> {
    try {
      for (const room of rooms) {
        const size = await this.#hub.cluster.roomSize(room);
        this.#hub.publish(room, encode({ type: "room-left", room, id: ws.id, nick, size, ts }));
      }
      await this.#broadcastRoomsEverywhere(ts);
    } catch (err) {
      process.emitWarning(`chat: announcing that ${ws.id} left failed: ${(err as Error)?.stack ?? err}`, "ChatServerWarning");
    }
  }

  #size(room: string): number {
    return this.#hub.roomSize(room);
  }

  #broadcastRooms(ts: number): void {
    this.#hub.broadcast(encode({ type: "rooms", rooms: this.rooms(), ts }));
  }

  #sendTo(ws: ChatConnection, message: ServerMessage): void {
    if (ws.readyState === 1) ws.send(encode(message));
  }
}
