/**
 * Presence in Redis: which nodes are alive, each node's connection ids and each room's members per node.
 * Everything a node writes carries a TTL (presenceTtl) that the node refreshes, so a node killed without close()
 * disappears by itself. Keys (P = keyPrefix, N = a node id):
 *
 *   P:nodes            SET     node ids that announced themselves (pruned by queries once their alive key is gone)
 *   P:alive:N          STRING  "1" with TTL: N is alive
 *   P:conns:N          SET     N's connection ids, TTL
 *   P:rooms:N          SET     rooms with members on N, TTL
 *   P:members:N:ROOM   SET     N's connection ids in ROOM, TTL
 *   P:meta:N           HASH    connection id → the metadata the application set (hub.setMeta()), TTL
 *
 * Queries run as Lua scripts (one round trip, only live nodes counted). The scripts name keys they build
 * themselves, which a standalone Redis (and a primary with replicas) accepts; Redis Cluster would need every key
 * declared and in one slot — a future mode.
 */
import { createHash } from "node:crypto";
import { ErrorReply, type createClient } from "redis";

export type RedisClient = ReturnType<typeof createClient>;

/** Members per SADD: a snapshot of 100k connections becomes 100 commands inside one MULTI. */
const CHUNK = 1000;

// Every script: ARGV[1] = key prefix, ARGV[2] = this node's id. others() lists the other live nodes and forgets
// nodes whose alive key expired (their sets expire by their own TTL).
const OTHERS = `
local P, self = ARGV[1], ARGV[2]
local nodesKey = P .. ':nodes'
local function others()
  local out = {}
  for _, n in ipairs(redis.call('SMEMBERS', nodesKey)) do
    if n ~= self then
      if redis.call('EXISTS', P .. ':alive:' .. n) == 1 then out[#out + 1] = n
      else redis.call('SREM', nodesKey, n) end
    end
  end
  return out
end
`;

/** ARGV[3] = a connection id; ARGV[4] (optional) = a message. Returns the live node holding the id (false if
 * none) and, when a message is given, publishes it on that node's channel in the same step. */
const ROUTE = `${OTHERS}
for _, n in ipairs(others()) do
  if redis.call('SISMEMBER', P .. ':conns:' .. n, ARGV[3]) == 1 then
    if ARGV[4] then redis.call('PUBLISH', P .. ':node:' .. n, ARGV[4]) end
    return n
  end
end
return false
`;

const ALL_IDS = `${OTHERS}
local out = {}
for _, n in ipairs(others()) do
  for _, id in ipairs(redis.call('SMEMBERS', P .. ':conns:' .. n)) do out[#out + 1] = id end
end
return out
`;

/** ARGV[3] = room. */
const ROOM_MEMBERS = `${OTHERS}
local out = {}
for _, n in ipairs(others()) do
  for _, id in ipairs(redis.call('SMEMBERS', P .. ':members:' .. n .. ':' .. ARGV[3])) do out[#out + 1] = id end
end
return out
`;

const ROOM_SIZE = `${OTHERS}
local size = 0
for _, n in ipairs(others()) do size = size + redis.call('SCARD', P .. ':members:' .. n .. ':' .. ARGV[3]) end
return size
`;

/** Flat [node, count, node, count, …]. */
const NODE_COUNTS = `${OTHERS}
local out = {}
for _, n in ipairs(others()) do
  out[#out + 1] = n
  out[#out + 1] = redis.call('SCARD', P .. ':conns:' .. n)
end
return out
`;

/** Flat [node, id, meta or false, …] over the other live nodes. */
const CONNECTIONS = `${OTHERS}
local out = {}
for _, n in ipairs(others()) do
  local metaKey = P .. ':meta:' .. n
  for _, id in ipairs(redis.call('SMEMBERS', P .. ':conns:' .. n)) do
    out[#out + 1] = n
    out[#out + 1] = id
    out[#out + 1] = redis.call('HGET', metaKey, id)
  end
end
return out
`;

/** Flat [room, members, …] over the other live nodes (a room may appear once per node). */
const ROOM_SIZES = `${OTHERS}
local out = {}
for _, n in ipairs(others()) do
  for _, r in ipairs(redis.call('SMEMBERS', P .. ':rooms:' .. n)) do
    out[#out + 1] = r
    out[#out + 1] = redis.call('SCARD', P .. ':members:' .. n .. ':' .. r)
  end
end
return out
`;

/** ARGV[3] = TTL (ms). Extends this node's keys; returns 0 if its alive key had expired (presence lost: the caller
 * publishes it again), 1 otherwise. */
const REFRESH = `
local P, self, ttl = ARGV[1], ARGV[2], ARGV[3]
local was = redis.call('SET', P .. ':alive:' .. self, '1', 'PX', ttl, 'GET')
redis.call('SADD', P .. ':nodes', self)
redis.call('PEXPIRE', P .. ':conns:' .. self, ttl)
redis.call('PEXPIRE', P .. ':meta:' .. self, ttl)
local roomsKey = P .. ':rooms:' .. self
redis.call('PEXPIRE', roomsKey, ttl)
for _, r in ipairs(redis.call('SMEMBERS', roomsKey)) do redis.call('PEXPIRE', P .. ':members:' .. self .. ':' .. r, ttl) end
if was then return 1 end
return 0
`;

/** Deletes this node's presence. */
const REMOVE = `
local P, self = ARGV[1], ARGV[2]
local roomsKey = P .. ':rooms:' .. self
for _, r in ipairs(redis.call('SMEMBERS', roomsKey)) do redis.call('DEL', P .. ':members:' .. self .. ':' .. r) end
redis.call('DEL', roomsKey, P .. ':conns:' .. self, P .. ':meta:' .. self, P .. ':alive:' .. self)
redis.call('SREM', P .. ':nodes', self)
return 1
`;

const SCRIPTS = [ROUTE, ALL_IDS, ROOM_MEMBERS, ROOM_SIZE, NODE_COUNTS, CONNECTIONS, ROOM_SIZES, REFRESH, REMOVE];
const SHA = new Map(SCRIPTS.map((s) => [s, createHash("sha1").update(s).digest("hex")]));

/**
 * This node's presence, written through the publisher connection. The incremental writes (opened, closed,
 * joined, left) are fire-and-forget and pipelined by the client in call order; each returns its promise so the
 * caller can count a failure.
 */
export class Presence {
  readonly #client: RedisClient;
  readonly #prefix: string;
  readonly #node: string;
  readonly #ttl: number;
  readonly #conns: string;
  readonly #rooms: string;
  readonly #meta: string;
  readonly #membersPrefix: string;

  constructor(client: RedisClient, prefix: string, nodeId: string, ttl: number) {
    this.#client = client;
    this.#prefix = prefix;
    this.#node = nodeId;
    this.#ttl = ttl;
    this.#conns = `${prefix}:conns:${nodeId}`;
    this.#rooms = `${prefix}:rooms:${nodeId}`;
    this.#meta = `${prefix}:meta:${nodeId}`;
    this.#membersPrefix = `${prefix}:members:${nodeId}:`;
    // Scripts run by their SHA1 (EVALSHA: 40 bytes instead of the script's text on every call). They are loaded
    // first thing on every (re)connection — before any other listener of 'ready' can send a command — so a
    // restarted Redis has them before they are used, and a script never falls back to EVAL behind later publishes.
    client.prependListener("ready", this.#loadScripts);
  }

  #loadScripts = (): void => {
    for (const script of SCRIPTS) this.#client.scriptLoad(script).catch(() => {});
  };

  /** The channel of node `id`, where operations for its connections and replies to its requests arrive. */
  static nodeChannel(prefix: string, id: string): string {
    return `${prefix}:node:${id}`;
  }

  opened(id: string): Promise<unknown> {
    // The TTL goes with every write: a key created here must never outlive a node killed before its next refresh.
    return Promise.all([this.#client.sAdd(this.#conns, id), this.#client.pExpire(this.#conns, this.#ttl)]);
  }

  closed(id: string): Promise<unknown> {
    return Promise.all([this.#client.sRem(this.#conns, id), this.#client.hDel(this.#meta, id)]);
  }

  /** The application set (or cleared) a connection's metadata. */
  meta(id: string, meta: string | null): Promise<unknown> {
    if (meta === null) return this.#client.hDel(this.#meta, id);
    return Promise.all([this.#client.hSet(this.#meta, id, meta), this.#client.pExpire(this.#meta, this.#ttl)]);
  }

  /** `first`: the first local member of the room (the room is added to this node's room list). */
  joined(id: string, room: string, first: boolean): Promise<unknown> {
    const key = this.#membersPrefix + room;
    const writes: Promise<unknown>[] = [this.#client.sAdd(key, id), this.#client.pExpire(key, this.#ttl)];
    if (first) writes.push(this.#client.sAdd(this.#rooms, room), this.#client.pExpire(this.#rooms, this.#ttl));
    return Promise.all(writes);
  }

  /** `last`: no local member is left (the room leaves this node's room list). */
  left(id: string, room: string, last: boolean): Promise<unknown> {
    const writes: Promise<unknown>[] = [this.#client.sRem(this.#membersPrefix + room, id)];
    if (last) writes.push(this.#client.sRem(this.#rooms, room));
    return Promise.all(writes);
  }

  /** Extends the TTLs; resolves false if the presence had expired or vanished (publish() it again). */
  async refresh(): Promise<boolean> {
    return (await this.#eval(REFRESH, String(this.#ttl))) === 1;
  }

  /** Replaces this node's presence in Redis with `snapshot`, atomically (MULTI). */
  async publish(snapshot: Iterable<[id: string, rooms: readonly string[], meta: string | null]>): Promise<void> {
    const ids: string[] = [];
    const metas: [string, string][] = [];
    const rooms = new Map<string, string[]>();
    for (const [id, joined, meta] of snapshot) {
      ids.push(id);
      if (meta !== null) metas.push([id, meta]);
      for (const room of joined) {
        const members = rooms.get(room);
        if (members === undefined) rooms.set(room, [id]);
        else members.push(id);
      }
    }
    const multi = this.#client.multi();
    multi.eval(REMOVE, { arguments: [this.#prefix, this.#node] });
    for (let i = 0; i < ids.length; i += CHUNK) multi.sAdd(this.#conns, ids.slice(i, i + CHUNK));
    multi.pExpire(this.#conns, this.#ttl);
    for (let i = 0; i < metas.length; i += CHUNK) multi.hSet(this.#meta, metas.slice(i, i + CHUNK));
    multi.pExpire(this.#meta, this.#ttl);
    const names = [...rooms.keys()];
    for (let i = 0; i < names.length; i += CHUNK) multi.sAdd(this.#rooms, names.slice(i, i + CHUNK));
    multi.pExpire(this.#rooms, this.#ttl);
    for (const [room, members] of rooms) {
      const key = this.#membersPrefix + room;
      for (let i = 0; i < members.length; i += CHUNK) multi.sAdd(key, members.slice(i, i + CHUNK));
      multi.pExpire(key, this.#ttl);
    }
    multi.set(`${this.#prefix}:alive:${this.#node}`, "1", { PX: this.#ttl });
    multi.sAdd(`${this.#prefix}:nodes`, this.#node);
    await multi.exec();
  }

  /** Deletes this node's presence at once (a graceful shutdown). */
  async remove(): Promise<void> {
    await this.#eval(REMOVE);
  }

  /**
   * Finds the other live node holding connection `id` and, if `message` is given, publishes it on that node's
   * channel in the same script (so it keeps its place among this node's other publishes). Null if none.
   */
  async route(id: string, message?: Buffer): Promise<string | null> {
    const reply = message === undefined ? await this.#eval(ROUTE, id) : await this.#eval(ROUTE, id, message);
    return typeof reply === "string" ? reply : null;
  }

  // ---- queries over the other live nodes (the caller adds this node's own answer) ----

  async otherIds(): Promise<string[]> {
    return (await this.#eval(ALL_IDS)) as string[];
  }

  async otherRoomMembers(room: string): Promise<string[]> {
    return (await this.#eval(ROOM_MEMBERS, room)) as string[];
  }

  async otherRoomSize(room: string): Promise<number> {
    return Number(await this.#eval(ROOM_SIZE, room));
  }

  async otherNodeCounts(): Promise<Record<string, number>> {
    const flat = (await this.#eval(NODE_COUNTS)) as (string | number)[];
    const counts: Record<string, number> = {};
    for (let i = 0; i < flat.length; i += 2) counts[String(flat[i])] = Number(flat[i + 1]);
    return counts;
  }

  async otherConnections(): Promise<{ id: string; node: string; meta: string | null }[]> {
    const flat = (await this.#eval(CONNECTIONS)) as (string | null)[];
    const out: { id: string; node: string; meta: string | null }[] = [];
    for (let i = 0; i < flat.length; i += 3) out.push({ id: String(flat[i + 1]), node: String(flat[i]), meta: typeof flat[i + 2] === "string" ? (flat[i + 2] as string) : null });
    return out;
  }

  /** [room, members] pairs of the other live nodes (a room once per node that has members in it). */
  async otherRoomSizes(): Promise<[string, number][]> {
    const flat = (await this.#eval(ROOM_SIZES)) as (string | number)[];
    const out: [string, number][] = [];
    for (let i = 0; i < flat.length; i += 2) out.push([String(flat[i]), Number(flat[i + 1])]);
    return out;
  }

  async #eval(script: string, ...rest: (string | Buffer)[]): Promise<unknown> {
    const options = { arguments: [this.#prefix, this.#node, ...rest] };
    try {
      return await this.#client.evalSha(SHA.get(script)!, options);
    } catch (err) {
      // Only if the scripts were flushed behind our back (SCRIPT FLUSH): run it by its text.
      if (!(err instanceof ErrorReply) || !err.message.startsWith("NOSCRIPT")) throw err;
      return await this.#client.eval(script, options);
    }
  }
}
