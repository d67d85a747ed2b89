// The chat protocol (docs/chat-protocol.md) over real sockets: the chat app in this process, `ws` clients.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { startChatApp } from "../../dist/chat/index.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A chat client: parsed messages in `inbox`, `next(type)` waits for the next one of a type. */
async function client(app, nick, options = {}) {
  const url = nick === undefined ? app.wsUrl : `${app.wsUrl}?nick=${encodeURIComponent(nick)}`;
  const ws = new WebSocket(url, options);
  ws.inbox = [];
  ws.cursor = 0;
  const waiters = [];
  ws.on("message", (data, isBinary) => {
    assert.equal(isBinary, false, "the server sends text only");
    ws.inbox.push(JSON.parse(data.toString()));
    for (const w of waiters.splice(0)) w();
  });
  ws.on("close", () => {
    for (const w of waiters.splice(0)) w();
  });
  /** The next message of `type` after the last one taken (skipping others), within `timeout` ms. */
  ws.next = async (type, timeout = 5000) => {
    const end = Date.now() + timeout;
    for (;;) {
      while (ws.cursor < ws.inbox.length) {
        const m = ws.inbox[ws.cursor++];
        if (m.type === type) return m;
      }
      if (ws.readyState === WebSocket.CLOSED) throw new Error(`closed while waiting for ${type}`);
      const left = end - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for a ${type} message; got ${JSON.stringify(ws.inbox.slice(-5))}`);
      await new Promise((r) => {
        const t = setTimeout(r, left);
        waiters.push(() => (clearTimeout(t), r()));
      });
    }
  };
  ws.json = (m) => ws.send(JSON.stringify(m));
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
    ws.once("unexpected-response", (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
  });
  ws.welcome = await ws.next("welcome");
  return ws;
}

function close(...clients) {
  return Promise.all(clients.map((ws) => new Promise((r) => (ws.readyState === WebSocket.CLOSED ? r() : (ws.once("close", r), ws.close(1000))))));
}

describe("chat protocol over real sockets", () => {
  let app;
  before(async () => {
    app = await startChatApp({ port: 0, hub: { heartbeatInterval: 60_000 } });
  });
  after(async () => {
    await app?.close();
  });

  describe("welcome, presence", () => {
    it("welcome carries the connection's UUID, the nickname from ?nick=, who is online and the rooms", async () => {
      const a = await client(app, "ana");
      try {
        assert.match(a.welcome.id, UUID);
        assert.equal(app.hub.get(a.welcome.id)?.id, a.welcome.id, "the UUID is the hub's key");
        assert.equal(a.welcome.nick, "ana");
        assert.deepEqual(a.welcome.online, [{ id: a.welcome.id, nick: "ana" }]);
        assert.deepEqual(a.welcome.rooms, []);
        assert.equal(a.welcome.limits.maxTextLength, 2000);
        assert.ok(Math.abs(a.welcome.ts - Date.now()) < 5000);
      } finally {
        await close(a);
      }
    });

    it("no nick (or an invalid one) gives a guest name; others see user-joined and user-left", async () => {
      const a = await client(app, "ana");
      const b = await client(app, undefined);
      try {
        assert.match(b.welcome.nick, /^guest-[0-9a-f]{4}$/);
        assert.deepEqual(b.welcome.online.map((u) => u.nick).sort(), ["ana", b.welcome.nick].sort());
        const joined = await a.next("user-joined");
        assert.deepEqual({ id: joined.id, nick: joined.nick }, { id: b.welcome.id, nick: b.welcome.nick });
        const c = await client(app, "\u0007bell");
        assert.match(c.welcome.nick, /^guest-/);
        await close(b, c);
        const left = [(await a.next("user-left")).id, (await a.next("user-left")).id];
        assert.deepEqual(left.sort(), [b.welcome.id, c.welcome.id].sort());
      } finally {
        await close(a, b);
      }
    });
  });

  describe("messages", () => {
    it("a text message reaches everyone, the sender included, with sender UUID, nickname and server timestamp", async () => {
      const a = await client(app, "ana");
      const b = await client(app, "bo");
      try {
        const before = Date.now();
        a.json({ type: "message", text: "hello, bo" });
        for (const ws of [a, b]) {
          const m = await ws.next("message");
          assert.equal(m.from, a.welcome.id);
          assert.equal(m.nick, "ana");
          assert.equal(m.text, "hello, bo");
          assert.ok(m.ts >= before - 1 && m.ts <= Date.now() + 1, "a server timestamp");
          assert.equal(m.room, undefined);
        }
      } finally {
        await close(a, b);
      }
    });

    it("a private message reaches only its target (and a copy to the sender)", async () => {
      const a = await client(app, "ana");
      const b = await client(app, "bo");
      const c = await client(app, "cy");
      try {
        a.json({ type: "private", to: b.welcome.id, text: "just for you" });
        // c then sends a public message: once c has it back, c has had everything sent before it.
        c.json({ type: "message", text: "marker" });
        for (const ws of [a, b]) {
          const m = await ws.next("private");
          assert.deepEqual({ from: m.from, nick: m.nick, to: m.to, text: m.text }, { from: a.welcome.id, nick: "ana", to: b.welcome.id, text: "just for you" });
        }
        await c.next("message");
        assert.equal(c.inbox.filter((m) => m.type === "private").length, 0, "c got no private message");
      } finally {
        await close(a, b, c);
      }
    });

    it("a private message to an unknown UUID is an unknown-user error", async () => {
      const a = await client(app, "ana");
      try {
        a.json({ type: "private", to: "00000000-0000-4000-8000-000000000000", text: "anyone?" });
        const e = await a.next("error");
        assert.equal(e.code, "unknown-user");
        assert.equal(e.ref, "private");
      } finally {
        await close(a);
      }
    });

    it("nick changes are announced to everyone", async () => {
      const a = await client(app, "ana");
      const b = await client(app, "bo");
      try {
        a.json({ type: "nick", nick: "  anna  " });
        for (const ws of [a, b]) {
          const m = await ws.next("nick");
          assert.deepEqual({ id: m.id, nick: m.nick, previous: m.previous }, { id: a.welcome.id, nick: "anna", previous: "ana" });
        }
        a.json({ type: "message", text: "new name" });
        assert.equal((await b.next("message")).nick, "anna");
      } finally {
        await close(a, b);
      }
    });
  });

  describe("rooms (the hub's rooms)", () => {
    it("join, room messages to members only, leave; a closing member leaves and the empty room is freed", async () => {
      const a = await client(app, "ana");
      const b = await client(app, "bo");
      const c = await client(app, "cy");
      try {
        a.json({ type: "join", room: "dev" });
        const j = await a.next("room-joined");
        assert.deepEqual({ room: j.room, id: j.id, size: j.size }, { room: "dev", id: a.welcome.id, size: 1 });
        assert.deepEqual((await c.next("rooms")).rooms, [{ name: "dev", size: 1 }]);
        b.json({ type: "join", room: "dev" });
        assert.equal((await a.next("room-joined")).size, 2);
        assert.deepEqual(app.hub.members("dev").map((w) => w.id).sort(), [a.welcome.id, b.welcome.id].sort());

        c.json({ type: "message", room: "dev", text: "let me in" });
        assert.equal((await c.next("error")).code, "not-in-room");

        b.json({ type: "message", room: "dev", text: "dev only" });
        for (const ws of [a, b]) {
          const m = await ws.next("message");
          assert.deepEqual({ room: m.room, text: m.text, from: m.from }, { room: "dev", text: "dev only", from: b.welcome.id });
        }
        c.json({ type: "message", text: "marker" });
        await c.next("message");
        assert.equal(c.inbox.filter((m) => m.type === "message" && m.room === "dev").length, 0, "c is not in dev");

        b.json({ type: "leave", room: "dev" });
        const l = await a.next("room-left");
        assert.deepEqual({ id: l.id, size: l.size }, { id: b.welcome.id, size: 1 });
        assert.equal((await b.next("room-left")).room, "dev", "the leaver is told too");
        b.json({ type: "leave", room: "dev" });
        assert.equal((await b.next("error")).code, "not-in-room");

        await close(a);
        let rooms;
        do rooms = await c.next("rooms");
        while (rooms.rooms.length > 0);
        assert.deepEqual(app.hub.rooms(), [], "the empty room is freed");
      } finally {
        await close(a, b, c);
      }
    });

    it("a bad room name is a bad-field error", async () => {
      const a = await client(app, "ana");
      try {
        for (const room of ["", "has space", "-dash-first", "x".repeat(33), 7]) {
          a.json({ type: "join", room });
          const e = await a.next("error");
          assert.equal(e.code, "bad-field", JSON.stringify(room));
        }
      } finally {
        await close(a);
      }
    });
  });

  describe("errors are answered, not disconnected", () => {
    const cases = [
      ["bad JSON", "{not json", "bad-json"],
      ["JSON that is not an object", "[1,2]", "bad-json"],
      ["no type", JSON.stringify({ text: "x" }), "unknown-type"],
      ["an unknown type", JSON.stringify({ type: "dance" }), "unknown-type"],
      ["an over-long text", JSON.stringify({ type: "message", text: "x".repeat(2001) }), "too-long"],
      ["an over-long message (bytes)", JSON.stringify({ type: "message", text: "x", pad: "y".repeat(9000) }), "too-long"],
      ["an empty text", JSON.stringify({ type: "message", text: "   " }), "bad-field"],
      ["a text that is not a string", JSON.stringify({ type: "message", text: 42 }), "bad-field"],
      ["an empty nick", JSON.stringify({ type: "nick", nick: " " }), "bad-field"],
      ["a private message without a UUID", JSON.stringify({ type: "private", to: "bob", text: "hi" }), "bad-field"],
    ];
    for (const [name, data, code] of cases) {
      it(`${name} → error ${code}, and the connection stays open`, async () => {
        const a = await client(app, "ana");
        try {
          a.send(data);
          const e = await a.next("error");
          assert.equal(e.code, code);
          assert.equal(typeof e.reason, "string");
          assert.ok(e.reason.length > 0);
          a.json({ type: "message", text: "still here" });
          assert.equal((await a.next("message")).text, "still here");
          assert.equal(a.readyState, WebSocket.OPEN);
        } finally {
          await close(a);
        }
      });
    }

    it("a binary message → error binary-not-supported, connection open", async () => {
      const a = await client(app, "ana");
      try {
        a.send(Buffer.from("{}"));
        assert.equal((await a.next("error")).code, "binary-not-supported");
        a.json({ type: "who" });
        const who = await a.next("who");
        assert.ok(who.online.some((u) => u.id === a.welcome.id));
      } finally {
        await close(a);
      }
    });

    it("beyond maxPayload (64 KiB) the engine closes with 1009 (RFC 6455 §7.4.1: message too big)", async () => {
      const a = await client(app, "ana");
      try {
        const closed = new Promise((r) => a.once("close", (code) => r(code)));
        a.send("x".repeat(70_000));
        assert.equal(await closed, 1009);
      } finally {
        await close(a);
      }
    });
  });

  describe("Origin check (cross-site WebSocket hijacking)", () => {
    it("refuses a browser upgrade from another origin with 403, accepts the same origin", async () => {
      await assert.rejects(client(app, "evil", { origin: "http://evil.example" }), (err) => err.status === 403);
      const host = new URL(app.url).host;
      const ok = await client(app, "same", { origin: `http://${host}` });
      await close(ok);
    });
  });
});

describe("the chat app over HTTP", () => {
  let app;
  before(async () => {
    app = await startChatApp({ port: 0 });
  });
  after(async () => {
    await app?.close();
  });

  it("GET / serves the page with a Content-Security-Policy: everything from our origin, WebSockets to any server (?server=)", async () => {
    const res = await fetch(app.url);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type"), /^text\/html/);
    assert.match(res.headers.get("content-security-policy"), /default-src 'self'/);
    assert.match(res.headers.get("content-security-policy"), /connect-src 'self' ws: wss:;/);
    const html = await res.text();
    assert.match(html, /<script src="\/app\.js" defer><\/script>/);
    assert.doesNotMatch(html, /https?:\/\//, "no CDN or other external resource");
  });

  it("serves the assets, with ETag revalidation", async () => {
    for (const [path, type] of [["/app.js", /javascript/], ["/style.css", /text\/css/], ["/favicon.svg", /svg/]]) {
      const res = await fetch(new URL(path, app.url));
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get("content-type"), type);
      const again = await fetch(new URL(path, app.url), { headers: { "If-None-Match": res.headers.get("etag") } });
      assert.equal(again.status, 304);
    }
  });

  it("/healthz answers 200", async () => {
    const res = await fetch(new URL("/healthz", app.url));
    assert.equal(res.status, 200);
    assert.equal((await res.json()).status, "ok");
  });

  it("GET /chat without an upgrade is 426 (RFC 6455 §4.2.2); unknown paths are 404, also for upgrades", async () => {
    const res = await fetch(new URL("/chat", app.url));
    assert.equal(res.status, 426);
    assert.equal(res.headers.get("sec-websocket-version"), "13");
    assert.equal((await fetch(new URL("/../etc/passwd", app.url))).status, 404);
    assert.equal((await fetch(new URL("/nope", app.url))).status, 404);
    const ws = new WebSocket(app.wsUrl.replace("/chat", "/other"));
    const status = await new Promise((resolve) => {
      ws.once("unexpected-response", (_req, r) => resolve(r.statusCode));
      ws.once("error", () => resolve(-1));
    });
    assert.equal(status, 404);
  });
});

describe("the chat app at another path (--path)", () => {
  it("tells the page its endpoint in a meta tag, and answers WebSocket upgrades only there", async () => {
    const app = await startChatApp({ port: 0, path: "/ws/chat" });
    try {
      assert.match(app.wsUrl, /\/ws\/chat$/);
      const html = await (await fetch(app.url)).text();
      assert.match(html, /<meta name="wshub-chat-path" content="\/ws\/chat">/);
      const a = await client(app, "ana");
      assert.equal(a.welcome.nick, "ana");
      await close(a);
      const res = await fetch(new URL("/chat", app.url));
      assert.equal(res.status, 404);
    } finally {
      await app.close();
    }
  });
});
