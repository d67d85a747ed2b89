/**
 * A fake clock for the Hub's `clock` option: time stands still until the test calls advance(), which fires the
 * due timers in order, each at its own time. Tests use it to run heartbeat and idle-timeout rounds without
 * waiting for them, and to do the network work of a round (pings, pongs, messages) between two advances.
 */
export class FakeClock {
  #now;
  #timers = new Map();
  #nextId = 1;

  constructor(start = 0) {
    this.#now = start;
  }

  now() {
    return this.#now;
  }

  setTimeout(callback, ms) {
    const id = this.#nextId++;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), callback });
    return id;
  }

  clearTimeout(id) {
    this.#timers.delete(id);
  }

  /** Timers set and not yet fired or cleared. */
  get pending() {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, running each timer that falls due on the way at its due time. */
  advance(ms) {
    this.advanceTo(this.#now + ms);
  }

  /**
   * Moves time forward by `ms` at once, then runs the timers due by then, all at the new time: late timers, as
   * after a blocked event loop.
   */
  jump(ms) {
    this.#now += ms;
    this.advanceTo(this.#now);
  }

  /** Moves time forward to `at` (never back), running the timers due by then in order. */
  advanceTo(at) {
    for (;;) {
      let next = null;
      for (const [id, t] of this.#timers) if (t.at <= at && (next === null || t.at < next[1].at)) next = [id, t];
      if (next === null) break;
      this.#timers.delete(next[0]);
      this.#now = Math.max(this.#now, next[1].at);
      next[1].callback();
    }
    this.#now = Math.max(this.#now, at);
  }
}
