/**
 * Hub heartbeat (issue 4, Show 3), RFC 6455 §5.5.2 ping as keepalive: a raw peer that never answers pings is
 * terminated within heartbeatInterval + heartbeatTimeout and reported with 1006; a peer that only sends data
 * (and never answers a ping) is kept, and so is a normal client whose core answers pings. One timer serves all.
 * The hub runs on a FakeClock: each round is an advance() of fake time, and the network work in between (pings,
 * pongs, data) is awaited on its events, so the rounds use the default 30 s / 10 s and take no real time.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Hub, WebSocket } from "../../dist/index.js";
import { withTimeout, startServer, nextEvent, waitFor, FakeClock, rawConnect, clientFrame, FrameReader } from "../helpers/index.mjs";

const INTERVAL = 30_000;
const TIMEOUT = 10_000;

describe("RFC 6455 §5.5.2 heartbeat: ping every heartbeatInterval, terminate after heartbeatTimeout", () => {
  it("terminates a silent raw peer within interval + timeout (1006), keeps a data-only peer and a normal client", async (t) => {
    const clock = new FakeClock();
    const wss = await startServer();
    const hub = new Hub(wss, { heartbeatInterval: INTERVAL, heartbeatTimeout: TIMEOUT, clock });
    const port = wss.address().port;
    try {
      // A well-behaved client: our core answers pings by itself. Count the pings it gets and the pongs the
      // server gets back.
      const normalRegistered = nextEvent(hub, "connection");
      const normal = new WebSocket(wss.url);
      await nextEvent(normal, "open");
      const normalWs = await normalRegistered;
      const normalInbox = [];
      let pingsSeen = 0;
      let pongsBack = 0;
      normal.addEventListener("ping", () => pingsSeen++);
      normal.addEventListener("message", (ev) => normalInbox.push(ev.data));
      normalWs.addEventListener("pong", () => pongsBack++);

      // A raw peer that reads everything (so it sees the pings) and never writes a byte.
      const silentRegistered = nextEvent(hub, "connection");
      const silent = await rawConnect(port);
      const silentWs = await silentRegistered;
      const connectedAt = clock.now();
      const silentFrames = [];
      const reader = new FrameReader();
      silent.socket.on("data", (c) => silentFrames.push(...reader.push(c)));
      silent.socket.on("error", () => {});

      // A raw peer that never answers a ping but sends a data message before every round.
      const chattyRegistered = nextEvent(hub, "connection");
      const chatty = await rawConnect(port);
      const chattyWs = await chattyRegistered;
      chatty.socket.on("data", () => {});
      chatty.socket.on("error", () => {});
      const chattySends = async () => {
        const arrived = new Promise((resolve) => {
          const onMessage = (ws) => ws === chattyWs && (hub.off("message", onMessage), resolve());
          hub.on("message", onMessage);
        });
        chatty.socket.write(clientFrame(0x1, Buffer.from("still here")));
        await withTimeout(arrived, 5000, "the chatty peer's message");
      };

      /** After a ping round: the normal client has seen every ping sent so far and the server has its pongs. */
      let barriers = 0;
      const pongsSettled = async () => {
        // Data from the server arrives after any ping written before it (one TCP stream).
        const tag = `barrier ${++barriers}`;
        normalWs.send(tag);
        await waitFor(() => normalInbox.includes(tag), tag);
        await waitFor(() => pongsBack === pingsSeen, "the pongs");
      };

      const disconnect = new Promise((resolve) =>
        hub.on("disconnect", (ws, code) => {
          if (ws === silentWs) resolve({ code, at: clock.now() });
        }),
      );

      // Round 1: everyone silent since connecting is pinged; the chatty peer sent data, so it is not.
      await chattySends();
      clock.advanceTo(connectedAt + INTERVAL);
      await waitFor(() => silentFrames.some((f) => f.opcode === 0x9), "the ping to the silent peer");
      await pongsSettled();
      // heartbeatTimeout later the silent peer, which sent nothing, is cut off.
      clock.advanceTo(connectedAt + INTERVAL + TIMEOUT);
      const d = await withTimeout(disconnect, 3000, "silent peer terminated");
      const elapsed = d.at - connectedAt;
      t.diagnostic(`silent peer terminated after ${elapsed} ms of fake time (interval ${INTERVAL} + timeout ${TIMEOUT})`);
      assert.equal(d.code, 1006);
      assert.ok(elapsed <= INTERVAL + TIMEOUT, `terminated after ${elapsed} ms`);
      assert.ok(elapsed >= TIMEOUT, `terminated too early: ${elapsed} ms`);
      assert.ok(
        silentFrames.some((f) => f.opcode === 0x9),
        "the silent peer was pinged before being cut off",
      );
      await withTimeout(new Promise((r) => (silent.socket.destroyed ? r() : silent.socket.once("close", r))), 2000, "silent socket closed");
      assert.ok(pingsSeen >= 1, "the normal client was pinged");

      // Four more rounds: the chatty peer and the normal client stay.
      for (let round = 2; round <= 5; round++) {
        await chattySends();
        clock.advanceTo(connectedAt + round * INTERVAL);
        await pongsSettled();
        clock.advanceTo(connectedAt + round * INTERVAL + TIMEOUT);
      }
      assert.ok(pingsSeen >= 2, `the normal client was pinged in later rounds too (${pingsSeen})`);
      // A round trip on each connection: a termination in the last check would have closed them first.
      await chattySends();
      const pong = nextEvent(normal, "pong");
      normal.ping("still open?");
      await pong;
      assert.equal(hub.has(chattyWs.id), true, "a peer that only sends data is kept");
      assert.equal(normal.readyState, WebSocket.OPEN, "a client answering pings is kept");
      assert.equal(hub.size, 2);
      assert.equal(hub.stats().heartbeatTerminated, 1);
      normal.close();
      chatty.socket.destroy();
    } finally {
      await withTimeout(hub.close({ timeout: 500 }), 5000, "hub.close");
      await wss.close({ timeout: 500 });
    }
  });

  it("heartbeatInterval: 0 disables it: a silent peer is kept", async () => {
    const clock = new FakeClock();
    const wss = await startServer();
    const hub = new Hub(wss, { heartbeatInterval: 0, clock });
    try {
      const registered = nextEvent(hub, "connection");
      const silent = await rawConnect(wss.address().port);
      silent.socket.on("data", () => {});
      silent.socket.on("error", () => {});
      const ws = await registered;
      // Nothing may happen: no sweep timer is set, so an hour of fake time passes without a round.
      assert.equal(clock.pending, 0, "no heartbeat timer");
      clock.advance(3_600_000);
      assert.equal(hub.has(ws.id), true);
      silent.socket.destroy();
    } finally {
      await withTimeout(hub.close({ timeout: 500 }), 5000, "hub.close");
      await wss.close({ timeout: 500 });
    }
  });
});
