/**
 * Hub graceful shutdown (issue 4, Show 4), RFC 6455 §7.4.1 code 1001 "going away": 1,000 connected clients all
 * receive what was sent to them before the shutdown, then a close frame with 1001; hub.close() resolves with no
 * connection left, and the server process then exits on its own (no socket, no timer keeps it alive).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { WebSocket } from "../../dist/index.js";
import { withTimeout } from "../helpers/index.mjs";
import { startHubChild } from "./fixtures/driver.mjs";

const CLIENTS = 1000;
const BATCH = 100;

function client(port) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  const state = { ws, messages: [], close: null };
  state.closed = new Promise((resolve) => {
    ws.addEventListener("close", (ev) => {
      state.close = { code: ev.code, reason: ev.reason, wasClean: ev.wasClean };
      resolve();
    });
  });
  ws.addEventListener("message", (ev) => state.messages.push(ev.data));
  const opened = new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve, { once: true });
    ws.addEventListener("error", () => reject(new Error("client failed to connect")), { once: true });
  });
  return { state, opened };
}

describe("RFC 6455 §7.4.1 1001 Going Away: hub.close() shuts everything down", () => {
  it(`${CLIENTS} clients receive 1001 and the server process exits with no socket left`, { timeout: 90_000 }, async (t) => {
    const server = await startHubChild({ hub: {} });
    const clients = [];
    try {
      for (let i = 0; i < CLIENTS; i += BATCH) {
        const batch = [];
        for (let k = 0; k < BATCH; k++) batch.push(client(server.port));
        await withTimeout(Promise.all(batch.map((b) => b.opened)), 20_000, "clients connect");
        clients.push(...batch.map((b) => b.state));
      }
      const before = await server.request({ cmd: "stats" });
      assert.equal(before.size, CLIENTS);

      const started = Date.now();
      const reply = await server.request({ cmd: "shutdown", code: 1001, timeout: 5000, lastWords: "bye" }, 30_000);
      const exit = await withTimeout(server.exited, 15_000, "server process exits on its own");
      const exitedAfter = Date.now() - started;
      await withTimeout(Promise.all(clients.map((c) => c.closed)), 10_000, "every client closed");
      t.diagnostic(
        `hub.close() took ${reply.hubElapsed} ms, with wss.close() ${reply.elapsed} ms for ${reply.before} connections; process exited ${exitedAfter} ms after the request; ` +
          `resources left before exit: ${JSON.stringify(reply.resources)}`,
      );

      assert.equal(reply.before, CLIENTS);
      assert.equal(reply.after, 0, "hub.size after close()");
      assert.deepEqual(reply.sockets, [], "no TCP handle left");
      assert.deepEqual(exit, { code: 0, signal: null });
      let got1001 = 0;
      let clean = 0;
      for (const c of clients) {
        assert.deepEqual(c.messages, ["bye"], "what send() accepted is delivered before the close");
        if (c.close.code === 1001) got1001++;
        if (c.close.wasClean) clean++;
      }
      assert.equal(got1001, CLIENTS, "every client got 1001");
      assert.equal(clean, CLIENTS, "every closing handshake completed");
    } finally {
      for (const c of clients) if (c.ws.readyState !== 3) c.ws.terminate();
      server.kill();
    }
  });
});
