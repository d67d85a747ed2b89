/**
 * Hub cleanup (issue 4, Show 1): 20,000 connect/close cycles over loopback, in batches of 200, leave the hub with
 * size 0 and no rooms, and the server's heap grows by less than 5 MiB (measured after forced GC, in a child
 * process started with --expose-gc). Every connection joins two rooms; half close cleanly (close frame), half
 * reset the TCP connection (no close frame, reported as 1006).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { rawConnect, clientClose, withTimeout } from "../helpers/index.mjs";
import { startHubChild } from "./fixtures/driver.mjs";

const CYCLES = 20_000;
const WARMUP = 2_000;
const BATCH = 200;
const MiB = 1024 * 1024;

async function cycle(port, i) {
  const { socket } = await rawConnect(port);
  socket.on("error", () => {});
  if (i % 2 === 0) {
    // RFC 6455 §7.1.2 clean close: our close frame, the server's echo, then the server closes TCP first (§7.1.1).
    socket.on("data", () => {});
    const closed = new Promise((r) => socket.once("close", r));
    socket.write(clientClose(1000));
    await closed;
  } else {
    // Abrupt: a TCP reset with no close frame.
    socket.resetAndDestroy();
  }
}

async function run(port, from, to) {
  for (let start = from; start < to; start += BATCH) {
    const batch = [];
    for (let i = start; i < Math.min(to, start + BATCH); i++) batch.push(cycle(port, i));
    await Promise.all(batch);
  }
}

/** Polls the child until the hub is empty. */
async function settle(server, ms = 15_000) {
  const end = Date.now() + ms;
  for (;;) {
    const s = await server.request({ cmd: "stats" });
    if (s.size === 0 && s.clients === 0) return s;
    if (Date.now() > end) return s;
    await new Promise((r) => setTimeout(r, 10)); // polling the child's stats, not a fixed wait
  }
}

describe("Hub cleanup: connect/close cycles leave nothing behind", () => {
  it(`${CYCLES} cycles in batches of ${BATCH}: size 0, no rooms, heap growth < 5 MiB after GC`, { timeout: 150_000 }, async (t) => {
    const server = await startHubChild({ rooms: true, hub: {} }, { execArgv: ["--expose-gc"] });
    try {
      await withTimeout(run(server.port, 0, WARMUP), 60_000, "warm-up cycles");
      await settle(server);
      const base = await server.request({ cmd: "gc" });
      assert.equal(base.size, 0);

      const started = Date.now();
      await withTimeout(run(server.port, WARMUP, WARMUP + CYCLES), 120_000, `${CYCLES} cycles`);
      const elapsed = Date.now() - started;
      const settled = await settle(server);
      const end = await server.request({ cmd: "gc" });
      const growth = end.heapUsed - base.heapUsed;
      t.diagnostic(
        `${CYCLES} cycles in ${elapsed} ms; heapUsed ${(base.heapUsed / MiB).toFixed(2)} -> ${(end.heapUsed / MiB).toFixed(2)} MiB ` +
          `(growth ${(growth / MiB).toFixed(3)} MiB); rss ${(end.rss / MiB).toFixed(1)} MiB; connectionsTotal ${end.stats.connectionsTotal}`,
      );
      assert.equal(settled.size, 0, "hub.size after all closes");
      assert.equal(end.size, 0);
      assert.equal(end.rooms, 0, "no rooms left");
      assert.equal(end.stats.roomMemberships, 0);
      assert.equal(end.clients, 0, "the server's client set is empty too");
      assert.equal(end.stats.connectionsTotal, WARMUP + CYCLES);
      assert.ok(growth < 5 * MiB, `heap grew by ${(growth / MiB).toFixed(2)} MiB`);
    } finally {
      server.kill();
      await withTimeout(server.exited, 5000, "child exit");
    }
  });
});
