// One scripted chat session, run against wshub's chat (startChatApp) and against the Python server
// (examples/python/chat_server.py on python3-websockets), with `ws` clients: every client must receive the same
// messages, in the same order, with the same JSON (key order included) once UUIDs and timestamps are set aside.
// Also: the Python server's HTTP side and its Origin check, as wshub's.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { startChatApp } from "../../dist/chat/index.js";
import { startPythonServer } from "./python-spawn.mjs";

const T = 5000; // per wait
const UNKNOWN = "0b0ef6f1-3c54-4a43-9a47-65d8a1d2f7a2";

/** A `ws` client that records every message (raw text) and the close; `reply(type)` waits for the next one. */
function connect(wsUrl, name, query = "", options = {}) {
  const ws = new WebSocket(wsUrl + query, options);
  const c = { ws, name, raw: [], cursor: 0, closed: null, waiters: [] };
  const wake = () => c.waiters.splice(0).forEach((w) => w());
  ws.on("message", (data, isBinary) => {
    c.raw.push(isBinary ? "(binary)" : data.toString());
    wake();
  });
  ws.on("close", (code, reason) => {
    c.closed = { code, reason: reason.toString() };
    wake();
  });
  c.json = (m) => ws.send(JSON.stringify(m));
  /** The next message of `type` after the last one taken, within T ms. */
  c.next = async (type) => {
    const end = Date.now() + T;
    for (;;) {
      while (c.cursor < c.raw.length) {
        const m = JSON.parse(c.raw[c.cursor++]);
        if (m.type === type) return m;
      }
      if (c.closed) throw new Error(`${name} closed (${c.closed.code}) while waiting for ${type}`);
      const left = end - Date.now();
      if (left <= 0) throw new Error(`${name}: no ${type} within ${T} ms; got ${c.raw.slice(-3).join(" ")}`);
      await new Promise((r) => {
        const t = setTimeout(r, left);
        c.waiters.push(() => (clearTimeout(t), r()));
      });
    }
  };
  c.closedP = async () => {
    const end = Date.now() + T;
    while (!c.closed) {
      if (Date.now() > end) throw new Error(`${name} did not close within ${T} ms`);
      await new Promise((r) => {
        const t = setTimeout(r, 50);
        c.waiters.push(() => (clearTimeout(t), r())); // woken by the close
      });
    }
    return c.closed;
  };
  c.opened = new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
    ws.once("unexpected-response", (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
  });
  return c;
}

/**
 * The script. After each step the client that acted sends `who` and waits for the answer: the server has then
 * handled the step (it answers in order on each connection) and written its broadcasts to everyone. Then every
 * other open client does the same, in turn, so that every transcript has one fixed order on any correct server.
 * When the step closes a connection, the barrier first waits for the others to see its user-left.
 */
async function runScript(wsUrl) {
  const clients = {};
  const open = () => Object.values(clients).filter((c) => !c.closed);
  const barrier = async (actor) => {
    for (const c of [actor, ...open().filter((c) => c !== actor)]) {
      if (c === undefined || c.closed) continue;
      c.json({ type: "who" });
      await c.next("who");
    }
  };
  const join = async (name, query) => {
    const c = connect(wsUrl, name, query);
    await c.opened;
    c.id = (await c.next("welcome")).id;
    clients[name] = c;
    // The others' user-joined was written before the server read anything from the new client.
    await barrier(c);
    return c;
  };
  const step = async (actor, fn) => {
    await fn();
    await barrier(actor);
  };
  const leave = async (actor, fn) => {
    await fn();
    await actor.closedP();
    for (const c of open()) {
      const end = Date.now() + T;
      while (!c.raw.some((r) => r.includes('"user-left"') && r.includes(actor.id))) {
        if (Date.now() > end) throw new Error(`${c.name} did not see ${actor.name} leave within ${T} ms`);
        await new Promise((r) => {
          const t = setTimeout(r, 50);
          c.waiters.push(() => (clearTimeout(t), r())); // woken by the next message
        });
      }
    }
    await barrier(undefined);
  };

  const t0 = Date.now();
  const A = await join("A", "?nick=ana");
  const B = await join("B", ""); // no nick: guest-xxxx
  await step(A, () => A.json({ type: "message", text: "hello" }));
  await step(A, () => A.json({ type: "join", room: "dev" }));
  await step(B, () => B.json({ type: "message", room: "dev", text: "not yet" })); // not-in-room
  await step(B, () => B.json({ type: "join", room: "dev" }));
  await step(B, () => B.json({ type: "join", room: "dev" })); // again: room-joined to B only
  await step(A, () => A.json({ type: "message", room: "dev", text: "in dev" }));
  await step(A, () => A.json({ type: "private", to: B.id, text: "psst" }));
  await step(B, () => B.json({ type: "private", to: A.id.toUpperCase(), text: "upper-case UUID" }));
  await step(A, () => A.json({ type: "private", to: A.id, text: "to myself" })); // one copy
  await step(B, () => B.json({ type: "private", to: UNKNOWN, text: "anyone?" })); // unknown-user
  await step(B, () => B.json({ type: "nick", nick: "  bob  " })); // trimmed
  for (const nick of ["", "   ", 5, "x".repeat(33), "a\u202eb", "tab\there"]) await step(B, () => B.json({ type: "nick", nick })); // bad-field
  await step(B, () => B.json({ type: "nick", nick: "ü".repeat(32) })); // 32 characters: fine
  await step(B, () => B.json({ type: "message", text: "emoji 😀 and ü", extra: { ignored: true } }));
  await step(A, () => A.json({ type: "leave", room: "dev" }));
  await step(A, () => A.json({ type: "leave", room: "dev" })); // not-in-room
  // Errors: the connection stays open after each.
  for (const data of [
    "{",
    "[1]",
    "null",
    "\"text\"",
    '{"type":"who","x":NaN}',
    "{}",
    '{"type":5}',
    '{"type":"dance"}',
    JSON.stringify({ type: "x".repeat(60) }),
    JSON.stringify({ type: "message", text: "x".repeat(2000) }), // at the limit: sent
    JSON.stringify({ type: "message", text: "x".repeat(2001) }), // too-long, ref message
    JSON.stringify({ type: "message", text: "😀".repeat(1001) }), // 2002 UTF-16 units: too-long
    JSON.stringify({ type: "message", text: "é".repeat(1999) + " " + "x".repeat(4200) }).slice(0, 8300), // over 8192 bytes
    JSON.stringify({ type: "message", text: "   " }),
    JSON.stringify({ type: "message", text: 5 }),
    JSON.stringify({ type: "message", text: "hi", room: null }), // null room: to everyone
    JSON.stringify({ type: "message", text: "hi", room: "-x" }),
    JSON.stringify({ type: "message", text: "hi", room: "dev\n" }),
    JSON.stringify({ type: "join", room: "r".repeat(33) }),
    JSON.stringify({ type: "join" }),
    JSON.stringify({ type: "private", to: "nope", text: "hi" }),
    JSON.stringify({ type: "private", to: `${UNKNOWN}\n`, text: "hi" }),
    JSON.stringify({ type: "private", to: B.id }), // no text
  ]) {
    await step(A, () => A.ws.send(data));
  }
  await step(A, () => A.ws.send(Buffer.from("binary"), { binary: true })); // binary-not-supported
  await step(A, async () => {
    A.json({ type: "who", extra: [1, 2, 3] }); // extra fields are ignored
    await A.next("who"); // taken here, so that the barrier's own `who` answer is the one it waits for
  });
  const C = await join("C", "?nick=%20carol%20");
  for (let i = 0; i <= 16; i++) await step(C, () => C.json({ type: "join", room: `r${String(i).padStart(2, "0")}` })); // the 17th: too-many-rooms
  await step(A, () => A.json({ type: "join", room: "r03" }));
  // Over maxPayload (64 KiB on both): the protocol closes the connection with 1009.
  await leave(C, () => C.ws.send("x".repeat(70_000)));
  await leave(B, () => B.ws.close(1000));
  A.ws.close(1000);
  await A.closedP();
  const t1 = Date.now();

  // Normalize: UUIDs by name, guest nicknames, timestamps (checked here), and the JSON parser's own words.
  const ids = Object.values(clients).map((c) => [c.id, `<${c.name}>`]);
  const norm = (text) => {
    if (text === "(binary)") return text;
    const m = JSON.parse(text);
    if (typeof m.ts === "number") {
      assert.ok(Number.isInteger(m.ts) && m.ts >= t0 - 1 && m.ts <= t1 + 1, `ts ${m.ts} is the server's clock during the session`);
      m.ts = 0;
    }
    if (m.type === "error" && m.code === "bad-json" && m.reason.startsWith("not valid JSON: ")) m.reason = "not valid JSON: (parser's words)";
    let s = JSON.stringify(m);
    for (const [id, name] of ids) {
      s = s.split(id).join(name).split(id.toUpperCase()).join(name);
      s = s.split(`guest-${id.slice(0, 4)}`).join(`guest-${name}`);
    }
    return s;
  };
  const transcripts = {};
  for (const c of Object.values(clients)) transcripts[c.name] = c.raw.map(norm);
  const closes = Object.fromEntries(Object.values(clients).map((c) => [c.name, c.closed.code]));
  return { transcripts, closes };
}

describe("the Python chat server speaks wshub's chat protocol", () => {
  let app;
  let py;
  before(async () => {
    app = await startChatApp({ port: 0, hub: { heartbeatInterval: 60_000 } });
    py = await startPythonServer();
  });
  after(async () => {
    await app?.close();
    await py?.stop("SIGKILL");
  });

  it("prints one line when listening", () => {
    assert.match(py.line, /^chat_server\.py listening on http:\/\/127\.0\.0\.1:\d+\/ \(WebSocket endpoint ws:\/\/127\.0\.0\.1:\d+\/chat\)$/);
  });

  it("the same scripted session gives the same messages, in the same order, with the same JSON", { timeout: 60_000 }, async () => {
    const want = await runScript(app.wsUrl);
    const got = await runScript(py.wsUrl);
    assert.deepEqual(want.closes, { A: 1000, B: 1000, C: 1009 }, "wshub: C is closed with 1009 Message Too Big");
    assert.deepEqual(got.closes, want.closes);
    for (const name of ["A", "B", "C"]) {
      assert.ok(want.transcripts[name].length > 20, `wshub's transcript for ${name} has the session`);
      const n = Math.max(want.transcripts[name].length, got.transcripts[name].length);
      for (let i = 0; i < n; i++) {
        assert.equal(got.transcripts[name][i], want.transcripts[name][i], `client ${name}, message ${i}`);
      }
    }
    // Spot checks that the script exercised what it meant to.
    const codes = new Set(got.transcripts.A.concat(got.transcripts.B, got.transcripts.C).map((s) => (s.startsWith("{") ? JSON.parse(s).code : undefined)));
    for (const code of ["bad-json", "unknown-type", "too-long", "bad-field", "binary-not-supported", "unknown-user", "not-in-room", "too-many-rooms"]) {
      assert.ok(codes.has(code), `the session produced an error ${code}`);
    }
  });

  it("answers HTTP as wshub's chat app does: the page, 426 at /chat, /healthz, 404", async () => {
    for (const [path, type] of [["/", /^text\/html/], ["/app.js", /javascript/], ["/style.css", /text\/css/], ["/favicon.svg", /svg/]]) {
      const res = await fetch(new URL(path, py.url), { signal: AbortSignal.timeout(T) });
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get("content-type"), type, path);
      const ours = await fetch(new URL(path, app.url), { signal: AbortSignal.timeout(T) });
      assert.equal(res.headers.get("content-security-policy"), ours.headers.get("content-security-policy"), `${path}: the same CSP as wshub`);
      await ours.arrayBuffer();
      await res.arrayBuffer();
    }
    const chat = await fetch(new URL("/chat", py.url), { signal: AbortSignal.timeout(T) });
    assert.equal(chat.status, 426);
    assert.equal(chat.headers.get("sec-websocket-version"), "13");
    await chat.arrayBuffer();
    const health = await fetch(new URL("/healthz", py.url), { signal: AbortSignal.timeout(T) });
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: "ok", connections: 0 });
    const missing = await fetch(new URL("/nope", py.url), { signal: AbortSignal.timeout(T) });
    assert.equal(missing.status, 404);
    await missing.arrayBuffer();
  });

  it("refuses a browser page from another host with 403, as wshub does; --allow-origin lets one in", async () => {
    for (const url of [app.wsUrl, py.wsUrl]) {
      const foreign = connect(url, "foreign", "", { origin: "http://evil.example" });
      await assert.rejects(foreign.opened, (err) => err.status === 403, `${url}: a foreign Origin is refused`);
      const own = connect(url, "own", "", { origin: new URL(url).origin.replace("ws:", "http:") });
      await own.opened;
      own.ws.close(1000);
      await own.closedP();
    }
    const allowing = await startPythonServer(["--allow-origin", "http://127.0.0.1:8080"]);
    try {
      const allowed = connect(allowing.wsUrl, "allowed", "", { origin: "http://127.0.0.1:8080" });
      await allowed.opened;
      assert.equal((await allowed.next("welcome")).type, "welcome");
      allowed.ws.close(1000);
      await allowed.closedP();
      const other = connect(allowing.wsUrl, "other", "", { origin: "http://127.0.0.1:8081" });
      await assert.rejects(other.opened, (err) => err.status === 403);
    } finally {
      await allowing.stop("SIGKILL");
    }
  });

  it("on SIGTERM closes every client with 1001 'server shutting down' and exits 0, as wshub serve does", async () => {
    const own = await startPythonServer();
    const c = connect(own.wsUrl, "c", "?nick=c");
    await c.opened;
    await c.next("welcome");
    const exit = await own.stop("SIGTERM");
    assert.deepEqual(await c.closedP(), { code: 1001, reason: "server shutting down" });
    assert.deepEqual(exit, { code: 0, signal: null });
  });
});
