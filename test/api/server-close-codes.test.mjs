// Close codes by API: the browser-style client keeps the WHATWG rule (1000, 3000-4999); a server connection,
// wss.close() and hub.close() accept every code RFC 6455 §7.4 allows on the wire (1000-1003, 1007-1014,
// 3000-4999) and throw RangeError for the rest, which therefore never reach the wire.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { WebSocket, Hub } from "../../dist/index.js";
import { startServer, withTimeout } from "../helpers/index.mjs";

const ALLOWED = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999];
const REFUSED = [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535, 1000.5, NaN, -1];

describe("RFC 6455 §7.4 close codes: what each API sends", () => {
  let wss;
  let url;
  const conns = [];
  before(async () => {
    wss = await startServer({ perMessageDeflate: false });
    url = `ws://127.0.0.1:${wss.address().port}/`;
    wss.on("connection", (ws) => conns.push(ws));
  });
  after(() => wss.close({ timeout: 200 }));

  async function pair() {
    const n = conns.length;
    const ws = new WebSocket(url);
    await withTimeout(new Promise((r, j) => ((ws.onopen = r), (ws.onerror = j))), 5000, "open");
    while (conns.length === n) await new Promise((r) => setImmediate(r));
    return { ws, sws: conns.at(-1) };
  }

  it("ServerWebSocket.close() sends every code the wire allows (1001, 1008, 1011, 1013...)", async () => {
    for (const code of ALLOWED) {
      const { ws, sws } = await pair();
      const ev = withTimeout(new Promise((r) => (ws.onclose = r)), 5000, `close ${code}`);
      sws.close(code, "r");
      const e = await ev;
      assert.deepEqual([e.code, e.reason, e.wasClean], [code, "r", true], `code ${code}`);
    }
  });

  it("ServerWebSocket.close() throws RangeError for reserved codes and sends nothing", async () => {
    const { ws, sws } = await pair();
    for (const code of REFUSED) assert.throws(() => sws.close(code), RangeError, `code ${code}`);
    assert.throws(() => sws.close("1000"), RangeError);
    assert.equal(sws.readyState, 1, "still open");
    ws.send("still works");
    await withTimeout(new Promise((r) => (sws.onmessage = r)), 5000, "message");
    sws.close();
  });

  it("the client keeps the WHATWG rule: 1001 and 1011 throw InvalidAccessError", async () => {
    const { ws } = await pair();
    for (const code of [1001, 1011, 1005]) assert.throws(() => ws.close(code), (e) => e.name === "InvalidAccessError");
    ws.close(1000);
  });

  it("hub.close({ code }) sends an allowed code and refuses a reserved one (1005, 1006, 2999) before sending anything", async () => {
    const hub = new Hub(wss, { heartbeatInterval: 0 });
    const { ws } = await pair();
    for (const code of [1005, 1006, 2999, 1015]) assert.throws(() => hub.close({ code }), RangeError);
    assert.equal(hub.closing, false);
    const ev = withTimeout(new Promise((r) => (ws.onclose = r)), 5000, "close");
    await hub.close({ code: 1013, reason: "try again later", timeout: 2000 });
    assert.deepEqual([(await ev).code, (await ev).reason], [1013, "try again later"]);
  });
});

describe("an unexpected internal error on one connection closes it with 1011 and leaves the others alone", () => {
  it("a connection whose message delivery throws closes with 1011; another keeps echoing", async () => {
    const wss = await startServer({ perMessageDeflate: false });
    const errors = [];
    wss.on("error", (e) => errors.push(e));
    const conns = [];
    wss.on("connection", (ws) => {
      conns.push(ws);
      ws.onmessage = (ev) => ws.send(ev.data);
    });
    try {
      const url = `ws://127.0.0.1:${wss.address().port}/`;
      const open = async () => {
        const ws = new WebSocket(url);
        await withTimeout(new Promise((r, j) => ((ws.onopen = r), (ws.onerror = j))), 5000, "open");
        return ws;
      };
      const a = await open();
      const b = await open();
      while (conns.length < 2) await new Promise((r) => setImmediate(r));
      // Simulates a bug inside the library on connection A: the delivery of a text message throws.
      conns[0].onTextMessage = () => {
        throw new Error("internal bug");
      };
      const closedA = withTimeout(new Promise((r) => (a.onclose = r)), 5000, "A closes");
      a.send("boom");
      assert.equal((await closedA).code, 1011);
      b.send("still here");
      const ev = await withTimeout(new Promise((r) => (b.onmessage = r)), 5000, "B echo");
      assert.equal(ev.data, "still here");
      b.close();
    } finally {
      await wss.close({ timeout: 500 });
    }
  });
});
