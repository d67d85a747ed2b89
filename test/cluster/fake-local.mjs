/**
 * A small stand-in for a hub, as its adapter sees it (LocalDelivery): connections are ids, rooms are sets, and
 * every delivery is recorded per connection. It tells its adapter what happens locally, as the hub does.
 */
import { EventEmitter } from "node:events";
import { withTimeout } from "../helpers/index.mjs";

export class FakeLocal extends EventEmitter {
  constructor(nodeId, adapter) {
    super();
    this.nodeId = nodeId;
    this.adapter = adapter;
    /** id -> Set of rooms */
    this.conns = new Map();
    /** room -> Set of ids */
    this.rooms = new Map();
    /** id -> [{ text, binary }] in arrival order */
    this.received = new Map();
    this.disconnected = [];
    this.errors = [];
    this.states = [];
    this.closedIds = new Set();
    /** id -> meta (hub.setMeta) */
    this.metas = new Map();
    adapter.bind(this);
  }

  // ---- what the test does locally (the hub would do the same and tell its adapter) ----

  open(...ids) {
    for (const id of ids) {
      this.conns.set(id, new Set());
      this.received.set(id, []);
      this.adapter.connectionOpened(id);
    }
  }

  join(id, room) {
    const rooms = this.conns.get(id);
    if (rooms === undefined || rooms.has(room)) return rooms !== undefined;
    rooms.add(room);
    let members = this.rooms.get(room);
    if (members === undefined) this.rooms.set(room, (members = new Set()));
    members.add(id);
    this.adapter.roomJoined(id, room);
    return true;
  }

  leave(id, room) {
    const rooms = this.conns.get(id);
    if (rooms === undefined || !rooms.has(room)) return false;
    rooms.delete(room);
    const members = this.rooms.get(room);
    members.delete(id);
    if (members.size === 0) this.rooms.delete(room);
    this.adapter.roomLeft(id, room);
    return true;
  }

  setMeta(id, meta) {
    if (!this.conns.has(id)) return false;
    this.metas.set(id, meta);
    this.adapter.connectionMeta(id, meta);
    return true;
  }

  close(id) {
    const rooms = this.conns.get(id);
    if (rooms === undefined) return false;
    this.conns.delete(id);
    this.metas.delete(id);
    this.closedIds.add(id);
    for (const room of rooms) {
      const members = this.rooms.get(room);
      members.delete(id);
      if (members.size === 0) this.rooms.delete(room);
    }
    this.adapter.connectionClosed(id, [...rooms]);
    return true;
  }

  // ---- LocalDelivery ----

  #record(id, message, how) {
    const bytes = Buffer.from(message.payload);
    const entry = { text: bytes.toString("utf8"), binary: message.binary, how, bytes };
    this.received.get(id).push(entry);
    this.emit("delivered", id, entry);
  }

  deliverAll(message, except) {
    let n = 0;
    for (const id of this.conns.keys()) {
      if (except?.has(id)) continue;
      this.#record(id, message, "all");
      n++;
    }
    return n;
  }

  deliverRoom(room, message, except) {
    let n = 0;
    for (const id of this.rooms.get(room) ?? []) {
      if (except?.has(id)) continue;
      this.#record(id, message, `room:${room}`);
      n++;
    }
    return n;
  }

  deliverTo(id, message) {
    if (!this.conns.has(id)) return this.closedIds.has(id) ? "closed" : "unknown";
    this.#record(id, message, "to");
    return "sent";
  }

  hasLocal(id) {
    return this.conns.has(id);
  }

  joinLocal(id, room) {
    return this.join(id, room);
  }

  leaveLocal(id, room) {
    return this.leave(id, room);
  }

  disconnectLocal(id, code, reason) {
    if (!this.conns.has(id)) return false;
    this.disconnected.push({ id, code, reason });
    this.close(id);
    return true;
  }

  *snapshot() {
    for (const [id, rooms] of this.conns) yield [id, [...rooms], this.metas.get(id) ?? null];
  }

  *localRoomSizes() {
    for (const [room, members] of this.rooms) yield [room, members.size];
  }

  get localCount() {
    return this.conns.size;
  }

  localMembers(room) {
    return [...(this.rooms.get(room) ?? [])];
  }

  localRoomSize(room) {
    return this.rooms.get(room)?.size ?? 0;
  }

  adapterError(err) {
    this.errors.push(err);
    this.emit("adapterError", err);
  }

  adapterState(connected) {
    this.states.push(connected);
    this.emit("state", connected);
  }

  // ---- test helpers ----

  /** Texts received by `id`, in order. */
  texts(id) {
    return (this.received.get(id) ?? []).map((e) => e.text);
  }

  /** Resolves once the adapter reports `connected` (at once if that is already the last state reported). */
  waitState(connected, ms = 5000) {
    if (this.states.at(-1) === connected) return Promise.resolve();
    return withTimeout(
      new Promise((resolve) => {
        const on = (c) => {
          if (c !== connected) return;
          this.off("state", on);
          resolve();
        };
        this.on("state", on);
      }),
      ms,
      `${this.nodeId}: adapterState(${connected})`,
    );
  }

  /** Resolves once connection `id` has received `n` messages in total. */
  waitReceived(id, n, ms = 5000) {
    if ((this.received.get(id)?.length ?? 0) >= n) return Promise.resolve();
    return withTimeout(
      new Promise((resolve) => {
        const on = (who) => {
          if (who !== id || this.received.get(id).length < n) return;
          this.off("delivered", on);
          resolve();
        };
        this.on("delivered", on);
      }),
      ms,
      `${this.nodeId}: ${id} receiving ${n} messages`,
    );
  }
}

/** Polls `check` (async) until it returns true, every `every` ms, failing after `ms`: for state held in Redis,
 * which sends no event. */
export async function eventually(check, ms = 5000, label = "condition", every = 25) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${label}: not true within ${ms} ms`);
    await new Promise((r) => setTimeout(r, every));
  }
}
