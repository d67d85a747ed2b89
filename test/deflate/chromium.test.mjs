// RFC 7692 interop with Chromium (which always offers permessage-deflate): compressed messages both ways with our
// server, `extensions` checked on both sides, with and without context takeover. Chromium failing to launch fails.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { launchChromium } from "../helpers/browser.mjs";
import { WebSocketServer } from "../../dist/index.js";
import { text } from "./helpers.mjs";
import { listening, withTimeout } from "../helpers/index.mjs";


/** Runs in the page: opens a WebSocket, asks the server for messages, echoes a few, reports what it saw. */
async function pageScript({ url, big }) {
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  const inbox = [];
  let waiter = null;
  ws.onmessage = (e) => {
    inbox.push(e.data);
    if (waiter) waiter();
  };
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error("WebSocket error"));
  });
  const next = () =>
    new Promise((resolve) => {
      if (inbox.length > 0) return resolve(inbox.shift());
      waiter = () => {
        waiter = null;
        resolve(inbox.shift());
      };
    });
  const result = { extensions: ws.extensions, echoes: [] };
  // Text and binary, small and large, each echoed by the server.
  const bin = new Uint8Array(300000);
  for (let i = 0; i < bin.length; i++) bin[i] = (i * 7) % 251 < 128 ? i & 0xff : 0;
  const messages = ["hi", big, big, "x".repeat(5000), bin];
  for (const m of messages) {
    ws.send(m);
    const got = await next();
    if (typeof m === "string") result.echoes.push(got === m);
    else {
      const a = new Uint8Array(got);
      result.echoes.push(a.length === m.length && a.every((v, i) => v === m[i]));
    }
  }
  ws.send("push");
  const pushed = await next();
  result.pushedLength = pushed.length;
  result.pushedOk = pushed === big + big;
  ws.close(1000, "bye");
  await new Promise((r) => (ws.onclose = (e) => ((result.close = [e.code, e.reason, e.wasClean]), r())));
  return result;
}

describe("RFC 7692 Chromium ↔ our server", () => {
  let browser;
  before(async () => {
    // No skip: if Chromium cannot launch, this hook fails and so does every test below.
    browser = await withTimeout(launchChromium(), 40000, "Chromium launch");
  });
  after(async () => {
    await browser?.close();
  });

  for (const takeover of [false, true]) {
    it(`exchanges compressed messages (${takeover ? "context takeover" : "no context takeover, the server default"})`, async () => {
      const wss = new WebSocketServer({
        host: "127.0.0.1",
        port: 0,
        perMessageDeflate: takeover ? { serverNoContextTakeover: false, clientNoContextTakeover: false } : true,
      });
      await listening(wss);
      let server = null;
      let offer = null;
      const big = text(200000, 21);
      wss.on("connection", (ws, req) => {
        server = ws;
        offer = req.headers["sec-websocket-extensions"];
        ws.binaryType = "nodebuffer";
        ws.addEventListener("message", (e) => ws.send(e.data === "push" ? big + big : e.data));
      });
      const page = await browser.newPage();
      try {
        const r = await withTimeout(page.evaluate(pageScript, { url: wss.url, big }), 30000, "page script");
        assert.match(offer, /^permessage-deflate/, "Chromium offers permessage-deflate");
        assert.equal(r.extensions, server.extensions, "extensions agree on both sides");
        assert.equal(
          server.extensions,
          takeover ? "permessage-deflate" : "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
        );
        assert.deepEqual(r.echoes, [true, true, true, true, true]);
        assert.equal(r.pushedOk, true);
        assert.deepEqual(r.close, [1000, "bye", true]);
        const sock = server._transport.socket;
        console.log(`chromium ${takeover ? "takeover" : "no takeover"}: server read ${sock.bytesRead} B, wrote ${sock.bytesWritten} B`);
        // Payload: ~400 KiB of text and 300 KiB of binary each way, plus 400 KiB pushed. Compressed, far less.
        assert.ok(sock.bytesRead < 250000, `server read ${sock.bytesRead} B`);
        assert.ok(sock.bytesWritten < 300000, `server wrote ${sock.bytesWritten} B`);
      } finally {
        await page.close();
        await wss.close({ timeout: 500 });
      }
    });
  }
});
