/**
 * Hub heartbeat (issue 4, Show 3), RFC 6455 §5.5.2 ping as keepalive: a raw peer that never answers pings is
 * terminated within heartbeatInterval + heartbeatTimeout and reported with 1006; a peer that only sends data
 * (and never answers a ping) is kept, and so is a normal client whose core answers pings. One timer serves all.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Hub, WebSocket } from "../../dist/index.js";
import { withTimeout, startServer, nextEvent } from "../helpers/index.mjs";
import { rawConnect, clientFrame, FrameReader } from "./raw-client.mjs";

const INTERVAL = 200;
const TIMEOUT = 100;
/** Timer lateness allowed on 2 shared, busy cores. */
const SLACK = 150;

describe("RFC 6455 §5.5.2 heartbeat: ping every heartbeatInterval, terminate after heartbeatTimeout", () => {
  it("terminates a silent raw peer within interval + timeout (1006), keeps a data-only peer and a normal client", async (t) => {
    const wss = await startServer();
    const hub = new Hub(wss, { heartbeatInterval: INTERVAL, heartbeatTimeout: TIMEOUT });
    const port = wss.address().port;
    const timers = [];
    try {
      // A well-behaved client: our core answers pings by itself.
      const normal = new WebSocket(wss.url);
      await nextEvent(normal, "open");

      // A raw peer that reads everything (so it sees the pings) and never writes a byte.
      const silentRegistered = nextEvent(hub, "connection");
      const silent = await rawConnect(port);
      const silentWs = await silentRegistered;
      const connectedAt = Date.now();
      const silentFrames = [];
      const reader = new FrameReader();
      silent.socket.on("data", (c) => silentFrames.push(...reader.push(c)));
      silent.socket.on("error", () => {});

      // A raw peer that never answers a ping but sends a data message every 60 ms.
      const chattyRegistered = nextEvent(hub, "connection");
      const chatty = await rawConnect(port);
      const chattyWs = await chattyRegistered;
      chatty.socket.on("data", () => {});
      chatty.socket.on("error", () => {});
      timers.push(setInterval(() => chatty.socket.write(clientFrame(0x1, Buffer.from("still here"))), 60));

      const disconnect = new Promise((resolve) =>
        hub.on("disconnect", (ws, code) => {
          if (ws === silentWs) resolve({ code, at: Date.now() });
        }),
      );
      const d = await withTimeout(disconnect, 3000, "silent peer terminated");
      const elapsed = d.at - connectedAt;
      t.diagnostic(`silent peer terminated after ${elapsed} ms (interval ${INTERVAL} + timeout ${TIMEOUT})`);
      assert.equal(d.code, 1006);
      assert.ok(elapsed <= INTERVAL + TIMEOUT + SLACK, `terminated after ${elapsed} ms`);
      assert.ok(elapsed >= TIMEOUT, `terminated too early: ${elapsed} ms`);
      assert.ok(
        silentFrames.some((f) => f.opcode === 0x9),
        "the silent peer was pinged before being cut off",
      );
      await withTimeout(new Promise((r) => (silent.socket.destroyed ? r() : silent.socket.once("close", r))), 2000, "silent socket closed");

      // Several more rounds: the chatty peer and the normal client stay.
      await new Promise((r) => setTimeout(r, 4 * (INTERVAL + TIMEOUT)));
      assert.equal(hub.has(chattyWs.id), true, "a peer that only sends data is kept");
      assert.equal(normal.readyState, WebSocket.OPEN, "a client answering pings is kept");
      assert.equal(hub.size, 2);
      assert.equal(hub.stats().heartbeatTerminated, 1);
      normal.close();
      chatty.socket.destroy();
    } finally {
      for (const t of timers) clearInterval(t);
      await withTimeout(hub.close({ timeout: 500 }), 5000, "hub.close");
      await wss.close({ timeout: 500 });
    }
  });

  it("heartbeatInterval: 0 disables it: a silent peer is kept", async () => {
    const wss = await startServer();
    const hub = new Hub(wss, { heartbeatInterval: 0 });
    try {
      const registered = nextEvent(hub, "connection");
      const silent = await rawConnect(wss.address().port);
      silent.socket.on("data", () => {});
      silent.socket.on("error", () => {});
      const ws = await registered;
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(hub.has(ws.id), true);
      silent.socket.destroy();
    } finally {
      await withTimeout(hub.close({ timeout: 500 }), 5000, "hub.close");
      await wss.close({ timeout: 500 });
    }
  });
});
