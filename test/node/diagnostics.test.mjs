// The diagnostics channels (src/node/diagnostics.ts): nothing is tapped while nobody subscribes; a subscriber sees
// the TCP close, including a reset, as Node reports it. (The full trace is checked in test/cli/trace.test.mjs.)
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { WebSocketServer, WebSocket } from "../../dist/index.js";

const CHANNELS = ["wshub:connection", "wshub:handshake", "wshub:frame", "wshub:message", "wshub:close"];

function withTimeout(promise, ms, what) {
  let t;
  return Promise.race([promise, new Promise((_, reject) => (t = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)))]).finally(() => clearTimeout(t));
}

async function startServer() {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  await new Promise((r) => wss.once("listening", r));
  return wss;
}

describe("diagnostics channels", () => {
  it("with no subscriber, connections keep no tap (their read and write paths are the untraced ones)", async () => {
    const wss = await startServer();
    try {
      const server = new Promise((r) => wss.once("connection", r));
      const ws = new WebSocket(`ws://127.0.0.1:${wss.address().port}/`);
      await withTimeout(new Promise((r) => (ws.onopen = r)), 5000, "open");
      const sws = await server;
      assert.equal(sws.transport.tap, null);
      assert.equal(ws.transport.tap, null);
      ws.close();
      await withTimeout(new Promise((r) => (ws.onclose = r)), 5000, "close");
    } finally {
      await wss.close({ timeout: 1000 });
    }
  });

  it("a subscriber sees a connection that ends in a reset: reset true, no FIN received", async () => {
    const wss = await startServer();
    const events = [];
    const handlers = CHANNELS.map((name) => {
      const fn = (m) => events.push({ name, ...m });
      subscribe(name, fn);
      return [name, fn];
    });
    try {
      const tcpClose = new Promise((resolve) => {
        const fn = (m) => {
          if (m.type === "close" && m.side === "server") {
            unsubscribe("wshub:connection", fn);
            resolve(m);
          }
        };
        subscribe("wshub:connection", fn);
      });
      const sock = connect(wss.address().port, "127.0.0.1");
      sock.on("error", () => {});
      sock.write("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
      let head = "";
      await withTimeout(new Promise((r) => sock.on("data", (d) => ((head += d), head.includes("\r\n\r\n") && r()))), 5000, "101");
      assert.match(head, /^HTTP\/1\.1 101 /);
      // The RFC 6455 §1.3 sample key: the accept check spelled out is the RFC's own.
      const accept = events.find((e) => e.name === "wshub:handshake" && e.type === "accept");
      assert.equal(accept.sha1, "b37a4f2cc0624f1690f64606cf385945b2bec4ea");
      assert.equal(accept.expected, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
      assert.equal(accept.matches, true);
      sock.resetAndDestroy();
      const m = await withTimeout(tcpClose, 5000, "tcp close");
      assert.equal(m.reset, true, JSON.stringify(m));
      assert.equal(m.remoteFin, false);
      const close = events.find((e) => e.name === "wshub:close" && e.side === "server");
      assert.deepEqual([close.code, close.wasClean], [1006, false]);
    } finally {
      for (const [name, fn] of handlers) unsubscribe(name, fn);
      await wss.close({ timeout: 1000 });
    }
  });
});
