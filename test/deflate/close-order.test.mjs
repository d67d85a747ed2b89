// RFC 6455 §5.5.1 with RFC 7692: messages accepted for sending before the peer's close frame arrived are sent
// before the close frame that answers it, even while they are still being compressed.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import WS from "ws";
import { WebSocketServer } from "../../dist/index.js";

describe("RFC 6455 §5.5.1: the close echo waits for messages still being compressed", () => {
  test("echo server: compressed message, then the client's close, in one burst → the echo arrives before the close", { timeout: 15_000 }, async () => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: true });
    await new Promise((r) => wss.once("listening", r));
    wss.on("connection", (ws) => {
      ws.onmessage = (e) => ws.send(e.data);
    });
    try {
      for (let round = 0; round < 5; round++) {
        const client = new WS(wss.url, { perMessageDeflate: { threshold: 0 } });
        await new Promise((resolve, reject) => {
          client.once("open", resolve);
          client.once("error", reject);
        });
        assert.match(client.extensions, /permessage-deflate/);
        const events = [];
        const big = "compress me ".repeat(20_000);
        client.on("message", (data) => events.push(["message", data.length]));
        const closed = new Promise((resolve) => client.on("close", (code) => resolve(code)));
        client.send(big);
        client.close(1000);
        const code = await closed;
        events.push(["close", code]);
        assert.deepEqual(events, [["message", Buffer.byteLength(big)], ["close", 1000]], `round ${round}`);
      }
    } finally {
      await wss.close({ timeout: 1000 });
    }
  });
});
