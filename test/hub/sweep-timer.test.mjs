/**
 * The hub's sweep schedule (src/hub/sweep-timer.ts) on a FakeClock, in memory: heartbeat rounds every
 * heartbeatInterval with their check heartbeatTimeout later (RFC 6455 §5.5.2 keepalive), idle sweeps every quarter
 * of idleTimeout, one timer at a time, nothing while stopped, and missed rounds skipped after a stall.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { SweepTimer } from "../../dist/hub/sweep-timer.js";
import { FakeClock } from "../helpers/fake-clock.mjs";

/** A SweepTimer on a FakeClock whose target records [phase, time]. */
function schedule(s) {
  const clock = new FakeClock(1000);
  const calls = [];
  const target = {
    heartbeatPing: (now) => calls.push(["ping", now - 1000]),
    heartbeatCheck: (now) => calls.push(["check", now - 1000]),
    idleSweep: (now) => calls.push(["idle", now - 1000]),
  };
  const timer = new SweepTimer({ heartbeatInterval: 0, heartbeatTimeout: 0, idleTimeout: 0, ...s, clock }, target);
  return { clock, calls, timer };
}

describe("hub sweep schedule on a fake clock", () => {
  it("pings every heartbeatInterval and checks heartbeatTimeout after each ping; one timer pending at a time", () => {
    const { clock, calls, timer } = schedule({ heartbeatInterval: 30_000, heartbeatTimeout: 10_000 });
    timer.start();
    assert.equal(timer.running, true);
    assert.equal(clock.pending, 1);
    clock.advance(100_000);
    assert.deepEqual(calls, [["ping", 30_000], ["check", 40_000], ["ping", 60_000], ["check", 70_000], ["ping", 90_000], ["check", 100_000]]);
    assert.equal(clock.pending, 1);
    timer.stop();
    assert.equal(clock.pending, 0);
  });

  it("timeout == interval: the check of a round runs before the next ping", () => {
    const { clock, calls, timer } = schedule({ heartbeatInterval: 1000, heartbeatTimeout: 1000 });
    timer.start();
    clock.advance(2000);
    assert.deepEqual(calls, [["ping", 1000], ["check", 2000], ["ping", 2000]]);
    timer.stop();
  });

  it("idle sweeps every quarter of idleTimeout; no heartbeat when heartbeatInterval is 0", () => {
    const { clock, calls, timer } = schedule({ idleTimeout: 400 });
    timer.start();
    clock.advance(400);
    assert.deepEqual(calls, [["idle", 100], ["idle", 200], ["idle", 300], ["idle", 400]]);
    timer.stop();
  });

  it("with neither heartbeat nor idle timeout, start() sets no timer", () => {
    const { clock, calls, timer } = schedule({});
    timer.start();
    assert.equal(timer.running, false);
    assert.equal(clock.pending, 0);
    clock.advance(3_600_000);
    assert.deepEqual(calls, []);
  });

  it("stop() inside a round ends the schedule; start() begins a new one from now", () => {
    const { clock, calls, timer } = schedule({ heartbeatInterval: 100, heartbeatTimeout: 50 });
    timer.start();
    clock.advance(100);
    timer.stop();
    clock.advance(1000);
    assert.deepEqual(calls, [["ping", 100]]);
    timer.start();
    clock.advance(100);
    assert.deepEqual(calls, [["ping", 100], ["ping", 1200]]);
    timer.stop();
  });

  it("after a stall (the timer fires late), missed rounds are skipped, not run back to back", () => {
    const { clock, calls, timer } = schedule({ heartbeatInterval: 100, heartbeatTimeout: 50 });
    timer.start();
    clock.advance(99);
    // The ping due at 100 runs at 1099, as after a blocked event loop: one round, then the schedule restarts.
    clock.jump(1000);
    assert.deepEqual(calls, [["ping", 1099]]);
    clock.advance(100);
    assert.deepEqual(calls, [["ping", 1099], ["check", 1149], ["ping", 1199]]);
    timer.stop();
  });
});
