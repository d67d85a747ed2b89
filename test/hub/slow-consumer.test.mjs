/**
 * Hub slow consumers (issue 4, Show 2): one client stops reading while three others receive 200 MiB of broadcast.
 * The server (a child process, so its RSS is its own) stays under maxBufferedBytes × slow clients + 100 MiB, the
 * fast clients receive every message in order, and the slow one is treated per the policy: "drop" skips it
 * (counted in stats.dropped; what it does receive is in order, with gaps), "close" closes it with 1008 and, as it
 * never reads the close frame, the server's closeTimeout destroys it.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { WebSocket } from "../../dist/index.js";
import { withTimeout, nextEvent, rawConnect, FrameReader } from "../helpers/index.mjs";
import { startHubChild } from "./fixtures/driver.mjs";

const MiB = 1024 * 1024;
const LIMIT = 4 * MiB;
const TOTAL = 200 * MiB;
const SIZE = 64 * 1024;
const COUNT = TOTAL / SIZE;
const FAST = 3;
const SLOW = 1;

/** A fast client: checks every message's sequence number and fill byte as it arrives. */
async function fastClient(port) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  ws.binaryType = "nodebuffer";
  const state = { ws, next: 0, errors: [], done: null };
  let finish;
  state.done = new Promise((r) => (finish = r));
  ws.addEventListener("message", (ev) => {
    const b = ev.data;
    const seq = b.readUInt32BE(0);
    if (seq !== state.next || b.length !== SIZE || b[SIZE - 1] !== (seq & 0xff)) {
      if (state.errors.length < 5) state.errors.push(`expected #${state.next}, got #${seq} (${b.length} bytes)`);
    }
    state.next = seq + 1;
    if (state.next === COUNT) finish();
  });
  await nextEvent(ws, "open", 10_000);
  ws.send("fast");
  return state;
}

async function statsWhen(server, cond, ms, label) {
  const end = Date.now() + ms;
  for (;;) {
    const s = await server.request({ cmd: "stats" });
    if (cond(s)) return s;
    if (Date.now() > end) throw new Error(`${label}: not reached within ${ms} ms (${JSON.stringify(s)})`);
    await new Promise((r) => setTimeout(r, 20)); // polling the child's stats, not a fixed wait
  }
}

/**
 * Reads what the slow peer has queued (after it resumes) until `expect` data messages have arrived, the stream
 * ends, or (when the count is not known) it goes quiet.
 */
function drainSlow(socket, { expect = Infinity, quietMs = 500 } = {}) {
  return new Promise((resolve) => {
    const reader = new FrameReader();
    const seqs = [];
    const opcodes = new Set();
    let closeCode = null;
    let timer;
    const done = (how) => {
      clearTimeout(timer);
      socket.removeAllListeners("data");
      resolve({ seqs, opcodes, closeCode, how });
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => done("quiet"), quietMs);
    };
    socket.on("data", (chunk) => {
      for (const f of reader.push(chunk)) {
        opcodes.add(f.opcode);
        if (f.opcode === 0x2) seqs.push(f.payload.readUInt32BE(0));
        if (f.opcode === 0x8 && f.payload.length >= 2) closeCode = f.payload.readUInt16BE(0);
      }
      if (seqs.length >= expect) return done("count");
      arm();
    });
    socket.once("close", () => done("closed"));
    socket.on("error", () => {});
    arm();
    socket.resume();
  });
}

async function runScenario(t, policy) {
  const server = await startHubChild({
    hub: { maxBufferedBytes: LIMIT, slowConsumerPolicy: policy, heartbeatInterval: 0 },
    server: { closeTimeout: 300 },
  });
  const clients = [];
  try {
    for (let i = 0; i < FAST; i++) clients.push(await fastClient(server.port));
    const slow = await rawConnect(server.port, { paused: true });
    slow.socket.on("error", () => {});
    await statsWhen(server, (s) => s.fast === FAST && s.size === FAST + SLOW, 5000, "clients registered");

    const run = await server.request({ cmd: "broadcast", total: TOTAL, size: SIZE, fastLimit: 1 * MiB }, 100_000);
    await withTimeout(Promise.all(clients.map((c) => c.done)), 30_000, "fast clients received every message");
    const stats = run.after.stats;
    const bound = LIMIT * SLOW + 100 * MiB;
    t.diagnostic(
      `policy ${policy}: ${COUNT} x ${SIZE} B to ${FAST} fast + ${SLOW} slow in ${run.elapsed} ms; ` +
        `server RSS ${(run.baseRss / MiB).toFixed(1)} -> max ${(run.maxRss / MiB).toFixed(1)} MiB (bound ${(bound / MiB).toFixed(0)} MiB); ` +
        `dropped ${stats.dropped}, slowClosed ${stats.slowClosed}, messagesOut ${stats.messagesOut}`,
    );
    assert.ok(run.maxRss < bound, `server RSS peaked at ${(run.maxRss / MiB).toFixed(1)} MiB`);
    for (const c of clients) {
      assert.deepEqual(c.errors, [], "fast client saw every message in order");
      assert.equal(c.next, COUNT);
    }

    assert.equal(run.after.slowEvents, 1, "one slowConsumer event for the one slow peer");
    if (policy === "drop") {
      assert.ok(stats.dropped > 0, "the slow peer was skipped");
      assert.equal(stats.slowClosed, 0);
      assert.equal(run.after.size, FAST + SLOW, "dropping keeps the slow peer connected");
      // Every message not dropped for the slow peer is queued for it.
      const got = await withTimeout(drainSlow(slow.socket, { expect: COUNT - stats.dropped }), 20_000, "slow peer reads its backlog");
      assert.ok(got.seqs.length > 0 && got.seqs.length < COUNT, `slow peer got ${got.seqs.length} of ${COUNT}`);
      assert.equal(got.seqs.length, COUNT - stats.dropped, "the slow peer gets every message not dropped");
      for (let i = 1; i < got.seqs.length; i++) assert.ok(got.seqs[i] > got.seqs[i - 1], "in order, gaps allowed");
      t.diagnostic(`slow peer received ${got.seqs.length} of ${COUNT} messages (last #${got.seqs.at(-1)})`);
    } else {
      assert.equal(stats.slowClosed, 1);
      assert.equal(stats.dropped, 0);
      // The close frame waits behind unread data, so the server's closeTimeout (300 ms) destroys the socket.
      const s = await statsWhen(server, (x) => x.size === FAST, 10_000, "slow peer gone");
      assert.equal(s.stats.connections, FAST);
      const got = await withTimeout(drainSlow(slow.socket), 20_000, "slow peer reads until the end");
      assert.equal(got.how, "closed", "the server closed the slow peer's TCP connection");
      for (let i = 1; i < got.seqs.length; i++) assert.equal(got.seqs[i], got.seqs[i - 1] + 1, "no gaps before the close");
      t.diagnostic(`slow peer: ${got.seqs.length} messages, then ${got.closeCode === null ? "no close frame (destroyed)" : `close ${got.closeCode}`}`);
      if (got.closeCode !== null) assert.equal(got.closeCode, 1008);
    }
    slow.socket.destroy();
  } finally {
    for (const c of clients) c.ws.terminate();
    server.kill();
    await withTimeout(server.exited, 5000, "child exit");
  }
}

describe("Hub slow consumers: maxBufferedBytes and the policy", () => {
  it("policy 'drop': fast clients get all 200 MiB in order, server RSS bounded, the slow peer is skipped", { timeout: 120_000 }, async (t) => {
    await runScenario(t, "drop");
  });

  it("policy 'close': fast clients get all 200 MiB in order, server RSS bounded, the slow peer is closed (1008)", { timeout: 120_000 }, async (t) => {
    await runScenario(t, "close");
  });
});
