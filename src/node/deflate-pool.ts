/**
 * Process-wide pools of raw zlib streams for messages without context takeover.
 *
 * RFC 7692 §7.1.1.1/§7.1.1.2: with "no context takeover" every message starts from an empty window, which is
 * exactly what `reset()` gives a zlib stream. So instead of creating a stream for each such message and closing
 * it afterwards (a native zlib init, a Transform stream, and a close racing the stream's own bookkeeping), a
 * connection borrows one from here for one message and hands it back reset. No connection keeps a context
 * between messages, and the pool keeps at most `maxFree` idle streams per configuration (the zlib concurrency
 * limit: no more can be busy at once), so zlib memory stays bounded whatever the number of connections.
 * Idle streams are closed after IDLE_MS without use.
 */
import { createDeflateRaw, createInflateRaw, type DeflateRaw, type InflateRaw } from "node:zlib";

/** Idle streams of a pool are closed when the pool was not used for this long (ms). */
export const POOL_IDLE_MS = 10_000;

type RawStream = DeflateRaw | InflateRaw;

class StreamPool<S extends RawStream> {
  readonly #create: () => S;
  readonly #free: S[] = [];
  #maxFree: number;
  #usedSinceSweep = false;
  #timer: NodeJS.Timeout | null = null;

  constructor(create: () => S, maxFree: number) {
    this.#create = create;
    this.#maxFree = maxFree;
  }

  /** Idle streams held. */
  get size(): number {
    return this.#free.length;
  }

  /** A stream with an empty window: an idle one, or a new one. */
  acquire(maxFree: number): S {
    if (maxFree > this.#maxFree) this.#maxFree = maxFree;
    this.#usedSinceSweep = true;
    return this.#free.pop() ?? this.#create();
  }

  /**
   * Takes a stream back after one whole message. It is reset and kept only when it finished cleanly (no error,
   * not ended, nothing buffered on either side); otherwise, or when the pool is full, it is closed. (An ended
   * stream, e.g. an inflater past a BFINAL block, stays ended after reset(): the next user would fail.)
   */
  release(s: S): void {
    if (s.destroyed || s.errored !== null || s.readableEnded || s.readableLength !== 0 || s.writableLength !== 0 || this.#free.length >= this.#maxFree) {
      closeStream(s);
      return;
    }
    s.reset();
    this.#free.push(s);
    if (this.#timer === null) {
      this.#timer = setInterval(() => this.#sweep(), POOL_IDLE_MS);
      this.#timer.unref();
    }
  }

  #sweep(): void {
    if (this.#usedSinceSweep) {
      this.#usedSinceSweep = false;
      return;
    }
    this.clear();
  }

  /** Closes every idle stream. */
  clear(): void {
    for (const s of this.#free.splice(0)) closeStream(s);
    if (this.#timer !== null) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }
}

/** Closes a zlib stream that may still have work pending; a late error is ignored (nobody waits for it). */
export function closeStream(s: RawStream): void {
  s.removeAllListeners("data");
  if (s.listenerCount("error") === 0) s.on("error", noop);
  s.close();
}

function noop(): void {}

const inflaters = new Map<number, StreamPool<InflateRaw>>();
const deflaters = new Map<string, StreamPool<DeflateRaw>>();

/** An inflater for `windowBits` with an empty window; give it back with releaseInflater() after one message. */
export function acquireInflater(windowBits: number, maxFree: number): InflateRaw {
  let pool = inflaters.get(windowBits);
  if (pool === undefined) {
    pool = new StreamPool(() => createInflateRaw({ windowBits }), maxFree);
    inflaters.set(windowBits, pool);
  }
  return pool.acquire(maxFree);
}

export function releaseInflater(windowBits: number, s: InflateRaw): void {
  const pool = inflaters.get(windowBits);
  if (pool === undefined) closeStream(s);
  else pool.release(s);
}

function deflaterKey(windowBits: number, level: number, memLevel: number): string {
  return `${windowBits}:${level}:${memLevel}`;
}

/** A compressor with an empty window; give it back with releaseDeflater() after one message. */
export function acquireDeflater(windowBits: number, level: number, memLevel: number, maxFree: number): DeflateRaw {
  const key = deflaterKey(windowBits, level, memLevel);
  let pool = deflaters.get(key);
  if (pool === undefined) {
    pool = new StreamPool(() => createDeflateRaw({ windowBits, level, memLevel }), maxFree);
    deflaters.set(key, pool);
  }
  return pool.acquire(maxFree);
}

export function releaseDeflater(windowBits: number, level: number, memLevel: number, s: DeflateRaw): void {
  const pool = deflaters.get(deflaterKey(windowBits, level, memLevel));
  if (pool === undefined) closeStream(s);
  else pool.release(s);
}

/** Idle pooled streams in the process (for tests and memory accounting). */
export function pooledStreamCount(): number {
  let n = 0;
  for (const p of inflaters.values()) n += p.size;
  for (const p of deflaters.values()) n += p.size;
  return n;
}

/** Closes every idle pooled stream (e.g. before measuring memory). */
export function clearZlibPools(): void {
  for (const p of inflaters.values()) p.clear();
  for (const p of deflaters.values()) p.clear();
}
