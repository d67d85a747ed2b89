// Write batching (src/node/socket-transport.ts): the frames a connection produces during one event-loop turn leave
// in one write at the end of that turn (the check phase), for all connections together; a batch holding a large
// write (256 KiB or more) is written at the end of the current tick instead. Checked on the server's real sockets
// (their write calls are counted, not replaced) and with `ws` as the receiving peer.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { WebSocket as WsClient } from "ws";
import { startServer, withTimeout, binaryPayload, waitFor } from "../helpers/index.mjs";

/** Counts the calls that hand bytes to the kernel (Node's _write/_writev on the socket), without changing them. */
function countWrites(socket) {
  const counter = { calls: 0 };
  for (const name of ["_write", "_writev"]) {
    const original = socket[name];
    socket[name] = function (...args) {
      counter.calls++;
      return original.apply(this, args);
    };
  }
  return counter;
}

/** A ping/pong round trip on a `ws` client: once it is back, the server has written everything sent before it. */
const roundTrip = (client) => withTimeout(new Promise((resolve) => (client.once("pong", resolve), client.ping())), 10_000, "pong");

/** Opens `n` ws clients (offering permessage-deflate only if asked); resolves with [{ client, server, writes, messages }] once all are open on both sides. */
async function openPairs(wss, n, { deflate = false } = {}) {
  const serverSide = [];
  wss.on("connection", (ws, req) => serverSide.push({ ws, writes: countWrites(req.socket) }));
  const clients = [];
  for (let i = 0; i < n; i++) {
    const client = new WsClient(`ws://127.0.0.1:${wss.address().port}/`, { perMessageDeflate: deflate });
    const messages = [];
    client.on("message", (data, isBinary) => messages.push(isBinary ? Buffer.from(data) : data.toString()));
    await withTimeout(new Promise((resolve, reject) => (client.once("open", resolve), client.once("error", reject))), 5000, "ws open");
    clients.push({ client, messages });
  }
  await waitFor(() => serverSide.length === n, "server connections", 5000);
  return clients.map((c, i) => ({ ...c, ...serverSide[i] }));
}

describe("write batching: one write per connection per event-loop turn", () => {
  let wss;
  after(() => wss?.close());

  it("sends from two timer callbacks of the same turn leave in one write; nothing is written before the turn ends", async () => {
    wss = await startServer();
    const [p] = await openPairs(wss, 1);
    await roundTrip(p.client);
    const before = p.writes.calls;
    let writtenInTurn = -1;
    // Two timers due at the same time run in one timers phase; Node runs nextTick callbacks between them, so a
    // per-tick flush would write twice.
    await new Promise((resolve) => {
      setTimeout(() => p.ws.send("one"), 1);
      setTimeout(() => {
        p.ws.send("two");
        writtenInTurn = p.writes.calls - before;
        resolve();
      }, 1);
    });
    await waitFor(() => p.messages.length === 2, "both messages");
    assert.equal(writtenInTurn, 0, "nothing reaches the socket during the turn");
    assert.equal(p.writes.calls - before, 1, "both frames in one write");
    assert.deepEqual(p.messages, ["one", "two"]);
    wss.close();
  });

  it("many connections, sends from one loop: one write each; order and bytes kept across an early (large) flush", async () => {
    wss = await startServer();
    const pairs = await openPairs(wss, 8);
    await Promise.all(pairs.map((p) => roundTrip(p.client)));
    const big = binaryPayload(300 * 1024);
    const before = pairs.map((p) => p.writes.calls);
    for (const [i, p] of pairs.entries()) {
      p.ws.send(`a${i}`);
      p.ws.send(`b${i}`);
      // Odd connections also get a 300 KiB message between the small ones: its batch is written at the end of
      // this tick, and the small message after it goes out at the end of the turn.
      if (i % 2 === 1) {
        p.ws.send(big);
        p.ws.send(`c${i}`);
      }
    }
    // Queued after the transports' own nextTick callbacks, so it sees what they wrote.
    let atTickEnd = null;
    process.nextTick(() => (atTickEnd = pairs.map((p, i) => p.writes.calls - before[i])));
    await waitFor(() => pairs.every((p, i) => p.messages.length === (i % 2 === 1 ? 4 : 2)), "every message");
    assert.deepEqual(atTickEnd, pairs.map((_, i) => (i % 2 === 1 ? 1 : 0)), "only the batches with a large write are written at the end of the tick");
    for (const [i, p] of pairs.entries()) {
      if (i % 2 === 0) {
        assert.deepEqual(p.messages, [`a${i}`, `b${i}`]);
        assert.equal(p.writes.calls - before[i], 1, `connection ${i}: one write`);
      } else {
        assert.equal(p.messages.length, 4);
        assert.deepEqual([p.messages[0], p.messages[1], p.messages[3]], [`a${i}`, `b${i}`, `c${i}`]);
        assert.ok(Buffer.isBuffer(p.messages[2]) && p.messages[2].equals(big), `connection ${i}: the large message intact`);
      }
    }
    wss.close();
  });

  it("past 1,024 connections with writes in one turn, the batches are written as soon as the current callback returns", async () => {
    wss = await startServer();
    const N = 1100;
    const servers = [];
    wss.on("connection", (ws, req) => servers.push({ ws, writes: countWrites(req.socket) }));
    let received = 0;
    const clients = [];
    for (let i = 0; i < N; i += 100) {
      const batch = [];
      for (let k = i; k < Math.min(N, i + 100); k++) {
        const c = new WsClient(`ws://127.0.0.1:${wss.address().port}/`, { perMessageDeflate: false });
        c.on("message", () => received++);
        clients.push(c);
        batch.push(new Promise((resolve, reject) => (c.once("open", resolve), c.once("error", reject))));
      }
      await withTimeout(Promise.all(batch), 10_000, "ws opens");
    }
    await waitFor(() => servers.length === N, "server connections");
    await Promise.all(clients.map(roundTrip));
    const before = servers.map((p) => p.writes.calls);
    for (const p of servers) p.ws.send("x");
    let atTickEnd = -1;
    process.nextTick(() => (atTickEnd = servers.filter((p, i) => p.writes.calls > before[i]).length));
    await waitFor(() => received === N, "every message");
    // Under FLUSH_LIMIT (the test above, 8 connections) nothing is written before the end of the turn.
    assert.equal(atTickEnd, N, "all batches written when the sending callback returned");
    assert.ok(servers.every((p, i) => p.writes.calls - before[i] === 1), "one write per connection");
    for (const c of clients) c.terminate();
    wss.close();
  });

  for (const deflate of [false, true]) {
    it(`sends made while the batch is being written (setImmediate, a close right after sends) all arrive, in order${deflate ? " (permessage-deflate)" : ""}`, async () => {
      wss = await startServer();
      const pairs = await openPairs(wss, 4, { deflate });
      assert.equal(pairs[0].client.extensions, deflate ? "permessage-deflate" : "");
      const closed = pairs.map(
        (p) => new Promise((resolve) => p.client.once("close", (code, reason) => resolve([code, reason.toString()]))),
      );
      for (const [i, p] of pairs.entries()) {
        p.ws.send(`first${i}`);
        // Queued during this turn: runs in the same check phase as the flush, or in the next turn.
        setImmediate(() => {
          p.ws.send(`second${i}`);
          setImmediate(() => {
            p.ws.send(`third${i}`);
            p.ws.close(4000, `bye${i}`);
          });
        });
      }
      const codes = await withTimeout(Promise.all(closed), 10_000, "close handshakes");
      for (const [i, p] of pairs.entries()) {
        assert.deepEqual(p.messages, [`first${i}`, `second${i}`, `third${i}`]);
        assert.deepEqual(codes[i], [4000, `bye${i}`]);
      }
      wss.close();
    });
  }
});
