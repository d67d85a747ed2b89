// Browser parity: one client script (client-script.mjs) runs in Chromium (Debian's /usr/bin/chromium through
// playwright-core) and in Node with wshub's WebSocket, against the same wshub server; both event logs must be
// identical. Chromium failing to launch fails the test.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { launchChromium } from "../helpers/browser.mjs";
import { WebSocket, WebSocketServer } from "../../dist/index.js";
import { CLIENT_SOURCE, SCENARIOS } from "./client-script.mjs";
import { withTimeout } from "../helpers/index.mjs";


// The scenario's server side, chosen by the request path.
function startWsServer() {
  return new Promise((resolve, reject) => {
    const wss = new WebSocketServer(
      {
        port: 0,
        host: "127.0.0.1",
        closeTimeout: 2000,
        handshakeTimeout: 5000,
        handleProtocols: (protocols) => (protocols.includes("chat") ? "chat" : false),
        authenticate: ({ url }) => (url.pathname === "/refuse" ? { accept: false, status: 403 } : { accept: true }),
      },
      () => resolve(wss),
    );
    wss.on("error", reject);
    wss.on("connection", (ws, req) => {
      const path = new URL(req.url, "http://x").pathname;
      ws.binaryType = "nodebuffer";
      if (path === "/echo") {
        ws.onmessage = (ev) => ws.send(ev.data);
      } else if (path === "/server-close") {
        ws.send("closing soon");
        ws.close(4000, "bye");
      } else if (path === "/bad-utf8") {
        // A text frame whose payload is not UTF-8 (0xC3 0x28), written past the API on the raw socket.
        ws._transport.socket.write(Buffer.from([0x81, 0x02, 0xc3, 0x28]));
      } else if (path === "/destroy") {
        // One whole message, then the first bytes of another frame, then the TCP connection is destroyed.
        ws.send("partial stream next");
        const socket = ws._transport.socket;
        // Not waits: the peer's script spaces its writes so they arrive as separate packets.
        setTimeout(() => {
          socket.write(Buffer.from([0x81, 0x0a, 0x68, 0x65]));
          setTimeout(() => socket.destroy(), 50);
        }, 50);
      }
    });
  });
}

describe("WHATWG WebSockets: the same client script in Chromium and in Node gives the same event log", () => {
  let wss;
  let page;
  let browser;
  let httpServer;
  let wsBase;
  const nodeRun = new Function(`return (${CLIENT_SOURCE});`)();

  before(async () => {
    wss = await withTimeout(startWsServer(), 5000, "WebSocketServer listen");
    wsBase = `ws://127.0.0.1:${wss.address().port}`;
    // The page comes from an http server on 127.0.0.1, so the script runs with an http origin.
    httpServer = createServer((req, res) => {
      const html = `<!doctype html><meta charset="utf-8"><title>wshub parity</title><script>window.runScenario = (${CLIENT_SOURCE});</script>`;
      res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
      res.end(html);
    });
    await withTimeout(new Promise((r) => httpServer.listen(0, "127.0.0.1", r)), 5000, "http listen");
    // No skip: if Chromium cannot launch, this hook fails and so does every test below.
    browser = await withTimeout(
      launchChromium(),
      40000,
      "Chromium launch",
    );
    page = await browser.newPage();
    await withTimeout(page.goto(`http://127.0.0.1:${httpServer.address().port}/`), 15000, "page load");
  });

  after(async () => {
    if (browser) await withTimeout(browser.close(), 15000, "Chromium close").catch(() => {});
    if (wss) await withTimeout(wss.close({ timeout: 1000 }), 5000, "server close").catch(() => {});
    if (httpServer) {
      httpServer.closeAllConnections?.();
      await new Promise((r) => httpServer.close(r));
    }
  });

  const logs = new Map();
  async function both(scenario) {
    const chrome = await withTimeout(
      page.evaluate(([base, name]) => window.runScenario(WebSocket, base, name), [wsBase, scenario]),
      15000,
      `Chromium ${scenario}`,
    );
    const node = await withTimeout(nodeRun(WebSocket, wsBase, scenario), 15000, `Node ${scenario}`);
    logs.set(scenario, { chrome, node });
    return { chrome, node };
  }

  const events = (log) => log.filter((e) => e.event !== undefined).map((e) => e.event);

  it("a normal exchange: text, binary as Blob and as ArrayBuffer, every BufferSource, a Blob send, close(1000, 'done') — send() steps, message steps, close() steps", async () => {
    const { chrome, node } = await both("exchange");
    assert.deepEqual(node, chrome);
    // The log is not trivially equal: check what it must contain.
    // The echo of the last send (an empty ArrayBuffer) arrives after close(): not delivered (message step 1).
    assert.deepEqual(events(chrome), ["open", ...Array(9).fill("message"), "close"]);
    const open = chrome.find((e) => e.event === "open");
    assert.equal(open.protocol, "chat");
    // extensions: whatever the server negotiated with each client (permessage-deflate when both support it).
    assert.equal(typeof open.extensions, "string");
    const msgs = chrome.filter((e) => e.event === "message");
    assert.deepEqual(
      msgs.map((m) => m.dataType),
      ["string", "Blob", "ArrayBuffer", "ArrayBuffer", "string", "ArrayBuffer", "ArrayBuffer", "ArrayBuffer", "string"],
    );
    assert.equal(msgs[0].data, "héllo ✓");
    assert.equal(msgs[3].data, "62 6c 6f 62 20 ff 00");
    const close = chrome.at(-1);
    assert.deepEqual([close.code, close.reason, close.wasClean], [1000, "done", true]);
  });

  it("a server-initiated close 4000 'bye': message, then close 4000 'bye' wasClean — 'closing handshake is started' then 'connection is closed'", async () => {
    const { chrome, node } = await both("server-close");
    assert.deepEqual(node, chrome);
    const close = chrome.find((e) => e.event === "close");
    assert.deepEqual([close.code, close.reason, close.wasClean, close.readyState], [4000, "bye", true, 3]);
  });

  it("a client-initiated close(): readyState CLOSING at once, the echo arriving while CLOSING is not delivered, close 1005 — close() step 3", async () => {
    const { chrome, node } = await both("client-close");
    assert.deepEqual(node, chrome);
    assert.deepEqual(events(chrome), ["open", "close"]);
    const close = chrome.find((e) => e.event === "close");
    assert.equal(close.wasClean, true);
  });

  it("the server's socket destroyed mid-stream: message, close 1006 wasClean false, no error event (not failed) — 'connection is closed' steps 2-3", async () => {
    const { chrome, node } = await both("server-destroy");
    assert.deepEqual(node, chrome);
    // Chromium fires no error event when the TCP connection is lost; only a failed connection fires one.
    assert.deepEqual(events(chrome), ["open", "message", "close"]);
    const close = chrome.find((e) => e.event === "close");
    assert.deepEqual([close.code, close.reason, close.wasClean], [1006, "", false]);
  });

  it("invalid UTF-8 from the server fails the connection: error, then close 1006 wasClean false — fail the WebSocket connection (RFC 6455 §8.1)", async () => {
    const { chrome, node } = await both("server-bad-utf8");
    assert.deepEqual(node, chrome);
    assert.deepEqual(events(chrome), ["open", "error", "close"]);
    const close = chrome.find((e) => e.event === "close");
    assert.deepEqual([close.code, close.wasClean, close.readyState], [1006, false, 3]);
  });

  it("a handshake refused with 403: error, then close 1006 wasClean false, readyState CLOSED — fail the WebSocket connection", async () => {
    const { chrome, node } = await both("refused");
    assert.deepEqual(node, chrome);
    assert.deepEqual(events(chrome), ["error", "close"]);
    const close = chrome.find((e) => e.event === "close");
    assert.deepEqual([close.code, close.wasClean, close.readyState], [1006, false, 3]);
  });

  it("the API surface while CONNECTING: constructor, send(), close() exceptions, constants, binaryType, on… handlers", async () => {
    const { chrome, node } = await both("surface");
    assert.deepEqual(node, chrome);
    assert.deepEqual(events(chrome), ["error", "close"]);
  });

  it("covers every scenario of the client script", () => {
    assert.deepEqual([...logs.keys()].sort(), [...SCENARIOS].sort());
  });
});
