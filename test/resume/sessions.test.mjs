// Sessions of wshub.resume.v1 (docs/resume-protocol.md): the wire format spoken by a raw client (our WebSocket with the
// subprotocol), tokens, the window, trimmed history, plain clients next to sessions, and ReconnectingWebSocket's
// gap event and offline queue bound.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { WebSocketServer, WebSocket, Hub, SessionManager, ReconnectingWebSocket, RESUME_PROTOCOL } from "../../dist/index.js";
import { listening, messageQueue, nextEvent, waitFor, withTimeout, closed, opened } from "../helpers/index.mjs";
import { startProxy } from "./proxy.mjs";

async function setup(sessionOptions = {}) {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  await listening(wss);
  const sessions = new SessionManager(wss, sessionOptions);
  const hub = new Hub(sessions);
  const proxy = await startProxy(wss.address().port);
  const url = `ws://127.0.0.1:${proxy.port}/`;
  const direct = `ws://127.0.0.1:${wss.address().port}/`;
  const stop = async () => {
    await proxy.close();
    await hub.close({ timeout: 500 });
    await wss.close({ timeout: 500 });
  };
  return { wss, sessions, hub, proxy, url, direct, stop };
}

/** A raw client of the resume protocol: our WebSocket offering wshub.resume.v1, with its messages queued. */
async function raw(url) {
  const ws = new WebSocket(url, RESUME_PROTOCOL);
  ws.binaryType = "nodebuffer";
  const q = messageQueue(ws, 5000);
  await opened(ws);
  assert.equal(ws.protocol, RESUME_PROTOCOL);
  return { ws, next: () => q.next() };
}

const welcomeOf = (data) => {
  assert.equal(data[0], "W", `a welcome, got ${data}`);
  return JSON.parse(data.slice(1));
};

describe("wshub.resume.v1 on the wire", () => {
  let env;
  before(async () => {
    env = await setup();
  });
  after(() => env.stop());

  it("a new session: welcome with id and a 256-bit token, then D messages with positions shared by all recipients", async () => {
    const a = await raw(env.direct);
    const b = await raw(env.direct);
    const conn = [];
    env.hub.on("connection", (s) => conn.push(s));
    a.ws.send("H{}");
    b.ws.send("H{}");
    const wa = welcomeOf(await a.next());
    const wb = welcomeOf(await b.next());
    assert.equal(wa.resumed, false);
    assert.equal(wa.seq, 0);
    assert.equal(wa.gap, null);
    assert.equal(wa.window, 120_000);
    assert.equal(Buffer.from(wa.token, "base64url").length, 32);
    assert.notEqual(wa.token, wb.token);
    await waitFor(() => conn.length === 2, "two hub connections");
    assert.deepEqual(conn.map((s) => s.id).sort(), [wa.session, wb.session].sort());
    env.hub.broadcast("hello");
    env.hub.broadcast(Buffer.from([1, 2, 3]));
    const [ta, tb] = [await a.next(), await b.next()];
    assert.match(ta, /^D\d+ hello$/);
    assert.equal(ta, tb, "one position for every recipient of a broadcast");
    const ba = await a.next();
    assert.ok(Buffer.isBuffer(ba));
    const pos = Number(ta.slice(1, ta.indexOf(" ")));
    assert.deepEqual(ba, Buffer.concat([Buffer.from(`D${pos + 1} `), Buffer.from([1, 2, 3])]));
    a.ws.close();
    b.ws.close();
    await Promise.all([closed(a.ws), closed(b.ws)]);
  });

  it("client messages are handled once each, in order; a resend is acknowledged, not handled again", async () => {
    const a = await raw(env.direct);
    const got = [];
    const onMessage = (s, data, isBinary) => got.push([data, isBinary]);
    env.hub.on("message", onMessage);
    a.ws.send("H{}");
    welcomeOf(await a.next());
    a.ws.send("D1 one");
    a.ws.send("D1 one");
    a.ws.send(Buffer.from("D2 \x00\xff", "latin1"));
    assert.equal(await a.next(), "A2");
    a.ws.send("D2 again");
    assert.equal(await a.next(), "A2");
    assert.deepEqual(got.map(([d, bin]) => [bin ? [...d] : d, bin]), [["one", false], [[0, 0xff], true]]);
    // Skipping a number is a protocol error: 4400.
    a.ws.send("D4 skipped");
    const ev = await closed(a.ws);
    assert.equal(ev.code, 4400);
    env.hub.off("message", onMessage);
  });

  it("malformed hellos and messages close with 4400; no hello in time closes with 4408", async () => {
    for (const bad of ["hello", "H[1]", 'H{"session":"x","token":1,"pos":0}', "D1 x"]) {
      const a = await raw(env.direct);
      a.ws.send(bad);
      assert.equal((await closed(a.ws)).code, 4400, bad);
    }
    const quick = await setup({ helloTimeout: 50 });
    try {
      const a = await raw(quick.direct);
      assert.equal((await closed(a.ws)).code, 4408);
    } finally {
      await quick.stop();
    }
  });

  it("a wrong token is refused with 4403 and reported; the session stays its owner's", async () => {
    const owner = new ReconnectingWebSocket(env.url);
    await nextEvent(owner, "open");
    const id = owner.sessionId;
    const refused = [];
    env.sessions.on("refused", (r) => refused.push(r));
    const thief = await raw(env.direct);
    thief.ws.send(`H${JSON.stringify({ session: id, token: "A".repeat(43), pos: 0 })}`);
    const ev = await closed(thief.ws);
    assert.equal(ev.code, 4403);
    assert.equal(refused.length, 1);
    assert.equal(refused[0].session, id);
    assert.equal(refused[0].reason, "wrong token");
    // The owner's connection was not touched and still gets its messages.
    assert.equal(env.sessions.get(id).connected, true);
    const got = nextEvent(owner, "message");
    env.hub.send(id, "still yours");
    assert.equal((await got).data, "still yours");
    owner.close();
    await nextEvent(owner, "close");
  });

  it("plain clients (no subprotocol) next to sessions get plain WebSocket", async () => {
    const plain = new WebSocket(env.direct);
    const q = messageQueue(plain, 5000);
    const conn = nextEvent(env.hub, "connection");
    await opened(plain);
    const c = await conn;
    assert.equal(plain.protocol, "");
    assert.equal(env.hub.get(c.id), c);
    env.hub.broadcast("plain text");
    assert.equal(await q.next(), "plain text");
    const msg = withTimeout(new Promise((r) => env.hub.once("message", (_s, d) => r(d))), 5000, "message");
    plain.send("D1 not a header");
    assert.equal(await msg, "D1 not a header");
    plain.close();
    await closed(plain);
  });
});

describe("ReconnectingWebSocket: window, trimmed history, offline queue", () => {
  it("resuming after the window: a gap event ('expired'), a new session, and messages never written go out in it", async () => {
    const env = await setup({ window: 200 });
    try {
      const c = new ReconnectingWebSocket(env.url, undefined, { maxDelay: 50 });
      await nextEvent(c, "open");
      const first = c.sessionId;
      env.proxy.pause();
      env.proxy.cut();
      // The session ends when its window passes.
      const [, code] = await withTimeout(new Promise((r) => env.hub.once("disconnect", (...a) => r(a))), 5000, "disconnect");
      assert.equal(code, 1006);
      assert.equal(env.sessions.size, 0);
      c.send("queued while away");
      const handled = withTimeout(new Promise((r) => env.hub.once("message", (s, d) => r([s.id, d]))), 5000, "message");
      const gap = nextEvent(c, "gap", 5000);
      env.proxy.resume();
      const ev = await gap;
      assert.equal(ev.reason, "expired");
      assert.equal(ev.uncertain, 0);
      assert.notEqual(c.sessionId, first);
      assert.deepEqual(await handled, [c.sessionId, "queued while away"]);
      c.close();
      await nextEvent(c, "close");
    } finally {
      await env.stop();
    }
  });

  it("history trimmed past what the client acknowledged: a gap event ('trimmed'), then the messages kept", async () => {
    const env = await setup({ maxMessages: 5 });
    try {
      const c = new ReconnectingWebSocket(env.url, undefined, { maxDelay: 50 });
      await nextEvent(c, "open");
      const got = [];
      c.onmessage = (e) => got.push(e.data);
      env.proxy.pause();
      env.proxy.cut();
      await nextEvent(env.sessions, "detach");
      for (let i = 0; i < 20; i++) env.hub.broadcast(`m${i}`);
      assert.equal(env.sessions.get(c.sessionId).historyLength, 5);
      const gap = nextEvent(c, "gap", 5000);
      env.proxy.resume();
      assert.equal((await gap).reason, "trimmed");
      await waitFor(() => got.length === 5, "the 5 kept messages");
      assert.deepEqual(got, ["m15", "m16", "m17", "m18", "m19"]);
      c.close();
    } finally {
      await env.stop();
    }
  });

  it("the offline queue is bounded: send() throws a RangeError beyond maxQueuedMessages / maxQueuedBytes", async () => {
    const env = await setup();
    try {
      const c = new ReconnectingWebSocket(env.url, undefined, { maxQueuedMessages: 3, maxQueuedBytes: 10 });
      await nextEvent(c, "open");
      env.proxy.pause();
      env.proxy.cut();
      await waitFor(() => !c.connected, "client disconnected");
      c.send("a");
      c.send("b");
      c.send("c");
      assert.throws(() => c.send("d"), { name: "RangeError", message: /send queue full: 3 messages/ });
      assert.equal(c.readyState, 1);
      c.close();
      assert.throws(() => c.send("e"), { name: "InvalidStateError" });
      const c2 = new ReconnectingWebSocket(env.url, undefined, { maxQueuedBytes: 10 });
      assert.throws(() => c2.send("12345678901"), { name: "RangeError", message: /bytes/ });
      c2.close();
      await nextEvent(c2, "close");
    } finally {
      await env.stop();
    }
  });

  it("hub.disconnect() ends the session: the client closes for good with that code", async () => {
    const env = await setup();
    try {
      const c = new ReconnectingWebSocket(env.url);
      await nextEvent(c, "open");
      env.hub.disconnect(c.sessionId, 4000, "bye");
      const ev = await nextEvent(c, "close");
      assert.equal(ev.code, 4000);
      assert.equal(ev.reason, "bye");
      assert.equal(c.readyState, 3);
      await waitFor(() => env.hub.size === 0 && env.sessions.size === 0, "session gone");
    } finally {
      await env.stop();
    }
  });

  it("against a server without sessions it still connects and reconnects (plain mode)", async () => {
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    await listening(wss);
    wss.on("connection", (ws) => (ws.onmessage = (e) => ws.send(`echo ${e.data}`)));
    const proxy = await startProxy(wss.address().port);
    try {
      const c = new ReconnectingWebSocket(`ws://127.0.0.1:${proxy.port}/`, undefined, { maxDelay: 50 });
      await nextEvent(c, "open");
      assert.equal(c.protocol, "");
      proxy.cut();
      await nextEvent(c, "resumed");
      const got = nextEvent(c, "message");
      c.send("x");
      assert.equal((await got).data, "echo x");
      c.close();
      await nextEvent(c, "close");
    } finally {
      await proxy.close();
      await wss.close({ timeout: 500 });
    }
  });

  it("an application listener that throws is contained: reported as the manager's error event, the session goes on", async () => {
    const env = await setup();
    try {
      const errors = [];
      env.sessions.on("error", (err) => errors.push(err));
      const seen = [];
      env.hub.on("message", (_s, data) => {
        seen.push(data);
        if (data === "boom") throw new Error("listener bug");
      });
      const c = new ReconnectingWebSocket(env.url);
      await nextEvent(c, "open");
      c.send("boom");
      c.send("after");
      await waitFor(() => seen.length === 2, "both messages handled");
      assert.deepEqual(seen, ["boom", "after"]);
      assert.equal(errors.length, 1);
      assert.match(errors[0].message, /listener bug/);
      assert.equal(env.sessions.get(c.sessionId).connected, true);
      c.close();
      await nextEvent(c, "close");
    } finally {
      await env.stop();
    }
  });

  it("rejects bad options and URLs at construction", () => {
    assert.throws(() => new ReconnectingWebSocket("http:// bad"), TypeError);
    assert.throws(() => new ReconnectingWebSocket("ftp://x/"), SyntaxError);
    assert.throws(() => new ReconnectingWebSocket([]), SyntaxError);
    assert.throws(() => new ReconnectingWebSocket("ws://127.0.0.1:1/", undefined, { maxDelay: 0 }), { name: "RangeError", message: /maxDelay/ });
    assert.throws(() => new SessionManager(new WebSocketServer({ noServer: true }), { window: -1 }), { name: "RangeError", message: /window/ });
  });
});
