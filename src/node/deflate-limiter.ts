/**
 * A process-wide bound on zlib operations in flight. Each compression of a message and each inflation of a
 * frame takes a slot for as long as zlib works on it; beyond the limit, operations wait in FIFO order. Without
 * it, 10,000 connections compressing at once would each hold a zlib context and its output at the same time.
 */

export class ZlibLimiter {
  readonly limit: number;
  #active = 0;
  #waiting: Array<(release: () => void) => void> = [];

  constructor(limit: number) {
    if (!(limit >= 1)) throw new RangeError(`zlib concurrency limit must be at least 1, got ${limit}`);
    this.limit = limit;
  }

  /** Operations holding a slot. */
  get active(): number {
    return this.#active;
  }

  /** Operations waiting for a slot. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Runs `job` when a slot is free; the job must call `release` exactly once when zlib is done. */
  run(job: (release: () => void) => void): void {
    if (this.#active < this.limit) {
      this.#active++;
      job(this.#makeRelease());
    } else {
      this.#waiting.push(job);
    }
  }

  #makeRelease(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next !== undefined) {
        // The slot passes straight to the next job, asynchronously so that deep queues do not grow the stack.
        const release = this.#makeRelease();
        queueMicrotask(() => next(release));
      } else {
        this.#active--;
      }
    };
  }
}

/** Default process-wide number of zlib operations in flight. */
export const DEFAULT_ZLIB_CONCURRENCY = 10;

const limiters = new Map<number, ZlibLimiter>();

/**
 * The process-wide limiter for a given limit: every server, client and broadcast configured with the same
 * `concurrencyLimit` shares one pool of slots (the default pool when none is given).
 */
export function sharedZlibLimiter(limit: number = DEFAULT_ZLIB_CONCURRENCY): ZlibLimiter {
  let l = limiters.get(limit);
  if (l === undefined) {
    l = new ZlibLimiter(limit);
    limiters.set(limit, l);
  }
  return l;
}
