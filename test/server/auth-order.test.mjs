// RFC 6455 §4.1/§6.2: a client may send frames right behind its request head, before it sees the 101. Frames that
// arrive with the head and frames that arrive while an asynchronous `authenticate` hook is still deciding must all
// reach the connection, in the order they were sent — on a standalone server and on one attached to node:http.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { randomBytes } from "node:crypto";
import { WebSocketServer } from "../../dist/index.js";
import { connectRaw, splitHead, upgradeRequest, withTimeout, waitFor } from "../helpers/index.mjs";
import { c } from "../helpers/frames.mjs";

const TIMEOUT = 5000;
const TEXT = 0x1;

/** Opens `wss` (already listening on `port`), sends frames "1" with the head and "2", "3" during authentication. */
async function sendAcrossAuthentication(port, received, authStarted) {
  const peer = await connectRaw(port, TIMEOUT);
  try {
    const key = randomBytes(16).toString("base64");
    // The head and the first frame in one write: they arrive in one TCP segment.
    peer.write(Buffer.concat([Buffer.from(upgradeRequest(key), "latin1"), c(TEXT, Buffer.from("1"))]));
    await withTimeout(authStarted, TIMEOUT, "authenticate to be called");
    peer.write(c(TEXT, Buffer.from("2")));
    // Not a wait: pacing, so that "3" arrives in a later read than "2".
    await new Promise((r) => setTimeout(r, 20));
    peer.write(c(TEXT, Buffer.from("3")));
    await peer.waitFor(() => splitHead(peer.received)?.status === 101, TIMEOUT, "the 101 response");
    await waitFor(() => received.length >= 3, "three messages on the server", TIMEOUT);
    assert.deepEqual(received, ["1", "2", "3"], "messages arrive whole and in the order they were sent");
  } finally {
    peer.destroy();
  }
}

/** Server options whose authenticate hook resolves 100 ms after it is called; `started` resolves when it is. */
function slowAuth() {
  let signal;
  const started = new Promise((r) => (signal = r));
  return {
    started,
    authenticate: async () => {
      signal();
      // A slow hook by design: the frames "2" and "3" arrive while it runs.
      await new Promise((r) => setTimeout(r, 100));
      return true;
    },
  };
}

describe("RFC 6455 §4.2.2 frames sent before the 101 are kept across an asynchronous authenticate", () => {
  const cleanups = [];
  after(async () => {
    for (const fn of cleanups) await fn();
  });

  it("standalone server", { timeout: TIMEOUT * 2 }, async () => {
    const auth = slowAuth();
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, authenticate: auth.authenticate });
    cleanups.push(() => wss.close({ timeout: 500 }));
    await withTimeout(new Promise((r) => wss.once("listening", r)), TIMEOUT, "listen");
    const received = [];
    wss.on("connection", (ws) => {
      ws.onmessage = (e) => received.push(String(e.data));
    });
    await sendAcrossAuthentication(wss.address().port, received, auth.started);
  });

  it("attached to a node:http server", { timeout: TIMEOUT * 2 }, async () => {
    const auth = slowAuth();
    const http = createServer();
    await new Promise((r) => http.listen(0, "127.0.0.1", r));
    const wss = new WebSocketServer({ server: http, authenticate: auth.authenticate });
    cleanups.push(async () => {
      await wss.close({ timeout: 500 });
      await new Promise((r) => http.close(r));
    });
    const received = [];
    wss.on("connection", (ws) => {
      ws.onmessage = (e) => received.push(String(e.data));
    });
    await sendAcrossAuthentication(http.address().port, received, auth.started);
  });
});
