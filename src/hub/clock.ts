/**
 * The time source and the timer of a hub's sweep (heartbeat rounds, idle sweeps). The default is the real one;
 * tests pass a fake clock so heartbeat and idle-timeout behaviour runs on simulated time.
 */
import { performance } from "node:perf_hooks";

export interface HubClock {
  /** Milliseconds on a monotonic scale (any origin). */
  now(): number;
  /** Calls `callback` once after `ms` milliseconds; returns a handle for clearTimeout(). Must not keep the process alive. */
  setTimeout(callback: () => void, ms: number): unknown;
  /** Cancels a timer set by setTimeout(). */
  clearTimeout(handle: unknown): void;
}

/** performance.now() and Node's timers, unref'd: the sweep never keeps the process alive on its own. */
export const realClock: HubClock = Object.freeze({
  now: () => performance.now(),
  setTimeout: (callback: () => void, ms: number) => setTimeout(callback, ms).unref(),
  clearTimeout: (handle: unknown) => clearTimeout(handle as NodeJS.Timeout),
});
