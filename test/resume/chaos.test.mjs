// Resume with no loss (issue 16, single process): a real server with sessions, ReconnectingWebSocket clients over a
// TCP proxy on loopback that cuts connections at random (both sockets destroyed at once: no close frame) while the
// server broadcasts, publishes to rooms and sends to single sessions, and the clients send to the server. At the end
// every client's received log equals what was sent to it (0 lost, 0 duplicated, in order) and every client message
// was handled exactly once, in order.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { WebSocketServer, Hub, SessionManager, ReconnectingWebSocket } from "../../dist/index.js";
import { listening, waitFor, withTimeout, prng } from "../helpers/index.mjs";
import { startProxy } from "./proxy.mjs";

const CLIENTS = 12;
const CHAOS_MS = 12_000;
const ROOMS = ["red", "green", "blue"];

describe("resume: random connection cuts during traffic (docs/resume-protocol.md)", () => {
  const cleanup = [];
  after(async () => {
    for (const f of cleanup.reverse()) await f();
  });

  it("every message reaches every session exactly once, in order, in both directions", { timeout: 60_000 }, async () => {
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    await listening(wss);
    const sessions = new SessionManager(wss);
    const hub = new Hub(sessions);
    const proxy = await startProxy(wss.address().port);
    cleanup.push(() => wss.close({ timeout: 500 }), () => hub.close({ timeout: 500 }), () => proxy.close());

    // What the server delivered to each session (by its id), and what it handled from each.
    const expected = new Map();
    const handled = new Map();
    let connections = 0;
    hub.on("connection", (s) => {
      connections++;
      expected.set(s.id, []);
      handled.set(s.id, []);
      hub.join(s, ROOMS[connections % ROOMS.length]);
    });
    hub.on("message", (s, data) => handled.get(s.id).push(data));
    let disconnects = 0;
    hub.on("disconnect", () => disconnects++);
    const record = (ids, payload) => {
      for (const id of ids) expected.get(id).push(payload);
    };

    const clients = [];
    for (let i = 0; i < CLIENTS; i++) {
      const c = new ReconnectingWebSocket(`ws://127.0.0.1:${proxy.port}/`, undefined, { maxDelay: 200 });
      c.binaryType = "nodebuffer";
      const rec = { c, got: [], sent: 0, resumed: 0, gaps: [] };
      c.onmessage = (e) => rec.got.push(typeof e.data === "string" ? e.data : `bin:${e.data.toString("hex")}`);
      c.addEventListener("resumed", () => rec.resumed++);
      c.addEventListener("gap", (e) => rec.gaps.push(e.reason));
      clients.push(rec);
      cleanup.push(() => c.close());
    }
    await waitFor(() => clients.every((r) => r.c.readyState === 1), "all clients open", 10_000);
    assert.equal(hub.size, CLIENTS);

    const rand = prng(16);
    let n = 0;
    // Server side: broadcast, publish, send(id), text and binary, with unique payloads.
    const publisher = setInterval(() => {
      for (let k = 0; k < 3; k++) {
        const kind = Math.floor(rand() * 4);
        const id = `m${n++}`;
        if (kind === 0) {
          hub.broadcast(id);
          record([...hub.ids()], id);
        } else if (kind === 1) {
          const room = ROOMS[Math.floor(rand() * ROOMS.length)];
          hub.publish(room, id);
          record(hub.members(room).map((s) => s.id), id);
        } else if (kind === 2) {
          const ids = [...hub.ids()];
          const to = ids[Math.floor(rand() * ids.length)];
          assert.equal(hub.send(to, id), "sent");
          record([to], id);
        } else {
          const bytes = Buffer.from(id);
          hub.broadcast(bytes);
          record([...hub.ids()], `bin:${bytes.toString("hex")}`);
        }
      }
    }, 4);
    // Client side: every client sends now and then, connected or not.
    const senders = setInterval(() => {
      for (const r of clients) if (rand() < 0.5) r.c.send(`c${r.sent++}`);
    }, 7);
    // The chaos: a random connection (or all of them, now and then) cut on both sides.
    let cuts = 0;
    const cutter = setInterval(() => {
      cuts += rand() < 0.05 ? proxy.cut() : proxy.cut(Math.floor(rand() * 1000));
    }, 60);
    await new Promise((r) => setTimeout(r, CHAOS_MS)); // the bounded duration of the chaos, not a wait for an event
    clearInterval(cutter);
    clearInterval(publisher);
    clearInterval(senders);

    const byClient = clients.map((r) => ({ r, id: r.c.sessionId }));
    await waitFor(
      () => byClient.every(({ r, id }) => r.got.length >= expected.get(id).length && handled.get(id).length >= r.sent),
      "every client to catch up",
      20_000,
    );
    let total = 0;
    for (const { r, id } of byClient) {
      assert.deepEqual(r.got, expected.get(id), `session ${id}: received log`);
      assert.deepEqual(handled.get(id), Array.from({ length: r.sent }, (_, k) => `c${k}`), `session ${id}: handled log`);
      assert.deepEqual(r.gaps, [], `session ${id}: no gap`);
      total += r.got.length;
    }
    // The chaos did happen: connections were cut and resumed, and the hub saw each client as one connection.
    assert.ok(cuts >= 50, `cuts: ${cuts}`);
    assert.ok(clients.reduce((s, r) => s + r.resumed, 0) >= 50, "resumes");
    assert.equal(connections, CLIENTS);
    assert.equal(disconnects, 0);
    assert.ok(total > 10_000, `messages delivered: ${total}`);
    console.log(`# ${cuts} cuts, ${clients.reduce((s, r) => s + r.resumed, 0)} resumes, ${total} messages received, ${clients.reduce((s, r) => s + r.sent, 0)} sent`);

    // A client's close() ends its session: the hub says disconnect.
    clients[0].c.close();
    await withTimeout(new Promise((r) => hub.once("disconnect", r)), 5000, "disconnect");
    assert.equal(hub.size, CLIENTS - 1);
  });
});
