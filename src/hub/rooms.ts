/**
 * Room membership for the hub: room name → members, and on each member the set of its rooms, so that a closing
 * connection leaves all its rooms in time proportional to its own rooms. An empty room is deleted at once.
 */

/** What a member carries: its rooms, or null while it is in none (most connections in many apps). */
export interface RoomMember {
  rooms: Set<string> | null;
}

export class RoomRegistry<M extends RoomMember> {
  readonly #rooms = new Map<string, Set<M>>();
  #memberships = 0;

  /** Adds a member to a room (created on first join); false if it is a member already. */
  join(m: M, room: string): boolean {
    if (m.rooms === null) m.rooms = new Set();
    if (m.rooms.has(room)) return false;
    m.rooms.add(room);
    let members = this.#rooms.get(room);
    if (members === undefined) {
      members = new Set();
      this.#rooms.set(room, members);
    }
    members.add(m);
    this.#memberships++;
    return true;
  }

  /** Removes a member from a room; false if it was not in it. */
  leave(m: M, room: string): boolean {
    if (m.rooms === null || !m.rooms.delete(room)) return false;
    if (m.rooms.size === 0) m.rooms = null;
    this.#remove(room, m);
    return true;
  }

  /** Removes a member from every room; returns how many it left. */
  leaveAll(m: M): number {
    const rooms = m.rooms;
    if (rooms === null) return 0;
    m.rooms = null;
    for (const room of rooms) this.#remove(room, m);
    return rooms.size;
  }

  /** The live member set of a room (do not modify), or undefined. */
  get(room: string): ReadonlySet<M> | undefined {
    return this.#rooms.get(room);
  }

  size(room: string): number {
    return this.#rooms.get(room)?.size ?? 0;
  }

  has(room: string): boolean {
    return this.#rooms.has(room);
  }

  /** [room, members] for every room. */
  *sizes(): IterableIterator<[string, number]> {
    for (const [room, members] of this.#rooms) yield [room, members.size];
  }

  names(): IterableIterator<string> {
    return this.#rooms.keys();
  }

  /** Rooms with at least one member. */
  get count(): number {
    return this.#rooms.size;
  }

  /** Memberships over all rooms. */
  get memberships(): number {
    return this.#memberships;
  }

  #remove(room: string, m: M): void {
    const members = this.#rooms.get(room);
    if (members === undefined || !members.delete(m)) return;
    this.#memberships--;
    if (members.size === 0) this.#rooms.delete(room);
  }
}
