// Every option is checked where it is given: TypeError (type) or RangeError (range) naming the option, the value
// and what is allowed; ws option names get their wshub equivalent; no option value can make a later call throw.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { WebSocketServer, WebSocket, Hub } from "../../dist/index.js";
import { startServer, withTimeout } from "../helpers/index.mjs";

function throwsNaming(fn, type, ...parts) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof type, `expected ${type.name}, got ${e?.name}: ${e?.message}`);
    for (const p of parts) assert.ok(e.message.includes(p), `message ${JSON.stringify(e.message)} lacks ${JSON.stringify(p)}`);
    return true;
  });
}

describe("option checks at construction", () => {
  it("WebSocketServer: wrong types and ranges", () => {
    const base = { noServer: true };
    throwsNaming(() => new WebSocketServer({ ...base, maxPayload: "1mb" }), TypeError, "maxPayload", '"1mb"', "integer");
    throwsNaming(() => new WebSocketServer({ ...base, maxPayload: -1 }), RangeError, "maxPayload", "-1");
    throwsNaming(() => new WebSocketServer({ ...base, maxPayload: 0 }), RangeError, "maxPayload", "Infinity");
    throwsNaming(() => new WebSocketServer({ port: 0, host: 123 }), TypeError, "host", "123");
    throwsNaming(() => new WebSocketServer({ port: "abc" }), TypeError, "port", '"abc"');
    throwsNaming(() => new WebSocketServer({ port: 70000 }), RangeError, "port", "70000", "65535");
    throwsNaming(() => new WebSocketServer({ ...base, handshakeTimeout: 2 ** 31 }), RangeError, "handshakeTimeout");
    throwsNaming(() => new WebSocketServer({ ...base, closeTimeout: NaN }), RangeError, "closeTimeout", "NaN");
    throwsNaming(() => new WebSocketServer({ ...base, autoPong: "yes" }), TypeError, "autoPong");
    throwsNaming(() => new WebSocketServer({ ...base, authenticate: true }), TypeError, "authenticate", "function");
    throwsNaming(() => new WebSocketServer({ ...base, path: "chat" }), RangeError, "path", '"chat"');
    throwsNaming(() => new WebSocketServer({ server: {} }), TypeError, "server");
    throwsNaming(() => new WebSocketServer({ ...base, maxPayLoad: 5 }), TypeError, "maxPayLoad", "maxPayload");
    throwsNaming(() => new WebSocketServer(5), TypeError, "options");
  });

  it("perMessageDeflate: level 12, memLevel 0, concurrencyLimit 0, level \"x\", window bits, threshold", () => {
    const d = (o) => () => new WebSocketServer({ noServer: true, perMessageDeflate: o });
    throwsNaming(d({ level: 12 }), RangeError, "level", "12", "-1 to 9");
    throwsNaming(d({ level: "x" }), TypeError, "level", '"x"');
    throwsNaming(d({ memLevel: 0 }), RangeError, "memLevel", "0", "1 to 9");
    throwsNaming(d({ concurrencyLimit: 0 }), RangeError, "concurrencyLimit", "0");
    throwsNaming(d({ serverMaxWindowBits: 16 }), RangeError, "serverMaxWindowBits", "16");
    throwsNaming(d({ clientMaxWindowBits: "15" }), TypeError, "clientMaxWindowBits");
    throwsNaming(d({ threshold: -5 }), RangeError, "threshold");
    throwsNaming(d({ serverNoContextTakeover: 1 }), TypeError, "serverNoContextTakeover");
    throwsNaming(d("yes"), TypeError, "perMessageDeflate");
    throwsNaming(() => new WebSocket("ws://127.0.0.1:1/", [], { perMessageDeflate: { level: 12 } }), RangeError, "level", "12");
  });

  it("ws option names get the wshub equivalent", () => {
    throwsNaming(() => new WebSocketServer({ noServer: true, verifyClient: () => false }), TypeError, "verifyClient", "authenticate");
    throwsNaming(() => new WebSocketServer({ noServer: true, perMessageDeflate: { zlibDeflateOptions: { level: 1 } } }), TypeError, "zlibDeflateOptions", "level and memLevel");
    throwsNaming(() => new WebSocketServer({ noServer: true, perMessageDeflate: { zlibInflateOptions: {} } }), TypeError, "zlibInflateOptions", "maxPayload");
    throwsNaming(() => new WebSocketServer({ noServer: true, skipUTF8Validation: true }), TypeError, "skipUTF8Validation");
    throwsNaming(() => new WebSocket("ws://127.0.0.1:1/", [], { followRedirects: true }), TypeError, "followRedirects");
    throwsNaming(() => new WebSocket("ws://127.0.0.1:1/", [], { protocolVersion: 8 }), TypeError, "protocolVersion");
  });

  it("WebSocket (client) options", () => {
    const c = (o) => () => new WebSocket("ws://127.0.0.1:1/", [], o);
    throwsNaming(c({ maxPayload: "1mb" }), TypeError, "maxPayload");
    throwsNaming(c({ handshakeTimeout: -1 }), RangeError, "handshakeTimeout", "-1");
    throwsNaming(c({ binaryType: "text" }), TypeError, "binaryType", '"text"');
    throwsNaming(c({ headers: { "X-A": "a\r\nInjected: 1" } }), RangeError, "headers", "X-A");
    throwsNaming(c({ headers: { "bad name": "x" } }), RangeError, "headers");
    throwsNaming(c({ origin: 5 }), TypeError, "origin");
    throwsNaming(c({ rejectUnauthorized: "no" }), TypeError, "rejectUnauthorized");
    throwsNaming(c({ tls: "x" }), TypeError, "tls");
    throwsNaming(c({ autoPong: 0 }), TypeError, "autoPong");
  });

  it("Hub options and hub.close / wss.close options", async () => {
    throwsNaming(() => new Hub(null, { heartbeatInterval: "30000" }), TypeError, "heartbeatInterval", '"30000"');
    throwsNaming(() => new Hub(null, { idleTimeout: 2 ** 40 }), RangeError, "idleTimeout");
    throwsNaming(() => new Hub(null, { maxBufferedBytes: "4mb" }), TypeError, "maxBufferedBytes");
    throwsNaming(() => new Hub(null, { adapter: {} }), TypeError, "adapter", "bind");
    throwsNaming(() => new Hub(null, { heartbeatIntervall: 5 }), TypeError, "heartbeatIntervall");
    const hub = new Hub(null, { heartbeatInterval: 0 });
    throwsNaming(() => hub.close({ code: 1005 }), RangeError, "1005", "3000-4999");
    throwsNaming(() => hub.close({ code: "1000" }), RangeError, "close code");
    throwsNaming(() => hub.close({ timeout: -1 }), RangeError, "timeout");
    throwsNaming(() => hub.close({ reason: 5 }), TypeError, "reason");
    await hub.close();
    const wss = new WebSocketServer({ noServer: true });
    await assert.rejects(wss.close({ code: 2999 }), RangeError);
    await wss.close();
  });

  it("no accepted value makes a later send throw: the extreme valid deflate settings still echo 1 KiB and more", async () => {
    const wss = await startServer({ perMessageDeflate: { level: 9, memLevel: 1, concurrencyLimit: 1, threshold: 0, serverMaxWindowBits: 8 } });
    wss.on("connection", (ws) => (ws.onmessage = (ev) => ws.send(ev.data)));
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${wss.address().port}/`, [], { perMessageDeflate: { level: -1, memLevel: 9 } });
      await withTimeout(new Promise((r, j) => ((ws.onopen = r), (ws.onerror = j))), 5000, "open");
      const text = "x".repeat(4096);
      ws.send(text);
      const ev = await withTimeout(new Promise((r) => (ws.onmessage = r)), 5000, "echo");
      assert.equal(ev.data, text);
      ws.close();
    } finally {
      await wss.close({ timeout: 500 });
    }
  });
});
