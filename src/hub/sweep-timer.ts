/**
 * One timer for every connection of a hub: it runs the heartbeat rounds (ping, then check after the timeout)
 * and the idle sweeps. Per-connection work is done by the target; this file only keeps the schedule.
 */
import { realClock, type HubClock } from "./clock.js";

export interface SweepTarget {
  /** Start of a heartbeat round: ping the connections that were silent since the last round. */
  heartbeatPing(now: number): void;
  /** heartbeatTimeout after the ping: terminate the pinged connections that sent nothing since. */
  heartbeatCheck(now: number): void;
  /** Close connections idle for idleTimeout. */
  idleSweep(now: number): void;
}

export interface SweepSchedule {
  heartbeatInterval: number;
  heartbeatTimeout: number;
  idleTimeout: number;
  /** Time source and timer; default realClock. */
  clock?: HubClock;
}

/** Idle connections are found within a quarter of idleTimeout after it expires. */
const IDLE_RESOLUTION = 4;
/** Node timers fire on millisecond boundaries; a phase due within this margin runs now. */
const EARLY_MARGIN = 1;

export class SweepTimer {
  readonly #schedule: SweepSchedule;
  readonly #target: SweepTarget;
  readonly #clock: HubClock;
  #timer: unknown = null;
  #nextPing = Infinity;
  #nextCheck = Infinity;
  #nextIdle = Infinity;
  #running = false;

  constructor(schedule: SweepSchedule, target: SweepTarget) {
    this.#schedule = schedule;
    this.#target = target;
    this.#clock = schedule.clock ?? realClock;
  }

  get running(): boolean {
    return this.#running;
  }

  start(): void {
    if (this.#running) return;
    const s = this.#schedule;
    if (s.heartbeatInterval <= 0 && s.idleTimeout <= 0) return;
    this.#running = true;
    const now = this.#clock.now();
    this.#nextPing = s.heartbeatInterval > 0 ? now + s.heartbeatInterval : Infinity;
    this.#nextCheck = Infinity;
    this.#nextIdle = s.idleTimeout > 0 ? now + this.#idleStep() : Infinity;
    this.#arm(now);
  }

  stop(): void {
    this.#running = false;
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
  }

  #idleStep(): number {
    return Math.max(1, this.#schedule.idleTimeout / IDLE_RESOLUTION);
  }

  #arm(now: number): void {
    const due = Math.min(this.#nextPing, this.#nextCheck, this.#nextIdle);
    if (due === Infinity) return;
    // The clock's timer never keeps the process alive on its own.
    this.#timer = this.#clock.setTimeout(() => this.#fire(), Math.max(0, Math.ceil(due - now)));
  }

  #fire(): void {
    this.#timer = null;
    if (!this.#running) return;
    const s = this.#schedule;
    let now = this.#clock.now();
    // When a check and the next ping fall together (timeout == interval), the check runs first.
    if (now + EARLY_MARGIN >= this.#nextCheck) {
      this.#nextCheck = Infinity;
      this.#target.heartbeatCheck(now);
    }
    if (now + EARLY_MARGIN >= this.#nextPing) {
      const at = this.#nextPing;
      this.#target.heartbeatPing(now);
      this.#nextCheck = at + s.heartbeatTimeout;
      this.#nextPing = at + s.heartbeatInterval;
      // After a long stall (a blocked event loop), skip the missed rounds instead of running them back to back.
      if (this.#nextPing <= now) this.#nextPing = now + s.heartbeatInterval;
      if (this.#nextCheck <= now) this.#nextCheck = now + s.heartbeatTimeout;
    }
    if (now + EARLY_MARGIN >= this.#nextIdle) {
      this.#target.idleSweep(now);
      this.#nextIdle = now + this.#idleStep();
    }
    if (!this.#running) return;
    now = this.#clock.now();
    this.#arm(now);
  }
}
