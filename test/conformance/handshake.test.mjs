// RFC 6455 §4.2.1/§4.4 opening handshake faults over raw TCP against our WebSocketServer: each malformed
// request gets its status and a one-line reason, and the same server goes on serving.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { WebSocketServer } from "../../dist/index.js";
import { c, closePayload, s } from "../helpers/frames.mjs";
import { acceptFor, connectRaw, splitHead, startEchoServer } from "../helpers/index.mjs";

const TIMEOUT = 5000;
let wss;
let port;
const upgradeErrors = [];

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";
const BASE = ["Host: 127.0.0.1", "Upgrade: websocket", "Connection: Upgrade", `Sec-WebSocket-Key: ${KEY}`, "Sec-WebSocket-Version: 13"];
const without = (prefix) => BASE.filter((l) => !l.toLowerCase().startsWith(prefix.toLowerCase()));
const replace = (prefix, line) => BASE.map((l) => (l.toLowerCase().startsWith(prefix.toLowerCase()) ? line : l));
const req = (lines, { method = "GET", version = "1.1", path = "/" } = {}) => `${method} ${path} HTTP/${version}\r\n${lines.join("\r\n")}\r\n\r\n`;

/** Sends `request` on a fresh TCP connection and returns the status, headers and body once the server closes. */
async function exchange(request) {
  const peer = await connectRaw(port, TIMEOUT);
  try {
    peer.write(request);
    await peer.waitFor(() => peer.ended || peer.closed, TIMEOUT, "the server to answer and close the connection");
    const head = splitHead(peer.received);
    assert.ok(head, `no complete response head: ${JSON.stringify(peer.received.toString("latin1").slice(0, 200))}`);
    return { ...head, body: head.rest.toString("utf8") };
  } finally {
    peer.destroy();
  }
}

const FAULTS = [
  ["no Sec-WebSocket-Key", req(without("Sec-WebSocket-Key")), 400, /Sec-WebSocket-Key/],
  ["a key of 15 bytes", req(replace("Sec-WebSocket-Key", `Sec-WebSocket-Key: ${randomBytes(15).toString("base64")}`)), 400, /Sec-WebSocket-Key/],
  ["a key of 17 bytes", req(replace("Sec-WebSocket-Key", `Sec-WebSocket-Key: ${randomBytes(17).toString("base64")}`)), 400, /Sec-WebSocket-Key/],
  ["a key that is not base64", req(replace("Sec-WebSocket-Key", "Sec-WebSocket-Key: ########################")), 400, /Sec-WebSocket-Key/],
  ["Sec-WebSocket-Version 8", req(replace("Sec-WebSocket-Version", "Sec-WebSocket-Version: 8")), 426, /13/],
  ["no Sec-WebSocket-Version", req(without("Sec-WebSocket-Version")), 426, /Sec-WebSocket-Version/],
  ["no Upgrade header", req(without("Upgrade")), 400, /Upgrade/],
  ["Upgrade: h2c", req(replace("Upgrade", "Upgrade: h2c")), 400, /websocket/],
  ["a Connection header without the upgrade token", req(replace("Connection", "Connection: keep-alive")), 400, /Connection/],
  ["POST", req([...BASE, "Content-Length: 0"], { method: "POST" }), 400, /GET/],
  ["HTTP/1.0", req(BASE, { version: "1.0" }), 400, /HTTP\/1\.1/],
  ["no Host header", req(without("Host")), 400, /Host/],
];

describe("RFC 6455 §4.2.1 handshake faults over raw TCP", () => {
  before(async () => {
    wss = await startEchoServer();
    wss.on("upgradeError", (err) => upgradeErrors.push(err));
    port = wss.address().port;
  });
  after(async () => {
    await wss.close({ timeout: 2000 });
  });

  for (const [name, request, status, pattern] of FAULTS) {
    it(`${name} → ${status} with a one-line reason`, { timeout: TIMEOUT * 2 }, async () => {
      const r = await exchange(request);
      assert.equal(r.status, status, r.statusLine);
      // The body is the reason: one line, saying what was wrong.
      assert.match(r.body, /^[^\r\n]+\n$/, `body ${JSON.stringify(r.body)}`);
      assert.match(r.body, pattern);
      assert.equal(r.headers["connection"], "close");
      if (status === 426) assert.equal(r.headers["sec-websocket-version"], "13", "RFC 6455 §4.4: 426 lists the supported version");
    });
  }

  it("an oversized request head (> 16 KiB) → 431", { timeout: TIMEOUT * 2 }, async () => {
    const r = await exchange(req([...BASE, `X-Big: ${"a".repeat(17 * 1024)}`]));
    assert.equal(r.status, 431, r.statusLine);
  });

  // Node's own clientError handler would answer with no body: the server installs one that gives the reason.
  it("an oversized request head (> 16 KiB) → 431 with a one-line reason", { timeout: TIMEOUT * 2 }, async () => {
    const r = await exchange(req([...BASE, `X-Big: ${"a".repeat(17 * 1024)}`]));
    assert.equal(r.status, 431, r.statusLine);
    assert.match(r.body, /^[^\r\n]+\n$/, `body ${JSON.stringify(r.body)}`);
  });

  // Node checks headersTimeout only every connectionsCheckingInterval (30 s by default); the server shortens it
  // so a request head that never completes is refused close to handshakeTimeout.
  it("a request head that never completes is answered 408 within about handshakeTimeout", { timeout: 10_000 }, async () => {
    const slow = new WebSocketServer({ host: "127.0.0.1", port: 0, handshakeTimeout: 300 });
    await new Promise((resolve) => slow.once("listening", resolve));
    const peer = await connectRaw(slow.address().port, TIMEOUT);
    try {
      peer.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n");
      await peer.waitFor(() => peer.ended || peer.closed, 2000, "the server to drop the slow client");
      assert.match(peer.received.toString("latin1"), /^HTTP\/1\.1 408 /);
    } finally {
      peer.destroy();
      await slow.close({ timeout: 500 });
    }
  });

  it("the refusals were reported through 'upgradeError' with their status", () => {
    assert.ok(upgradeErrors.length >= FAULTS.length - 1, `${upgradeErrors.length} upgradeError events`);
    for (const err of upgradeErrors) assert.ok([400, 426].includes(err.status), `status ${err.status}`);
  });

  it("the same server still accepts a valid connection, also with frames in the same write as the request", { timeout: TIMEOUT * 2 }, async () => {
    const peer = await connectRaw(port, TIMEOUT);
    try {
      const key = randomBytes(16).toString("base64");
      // The request, a text frame and a close in one write: the frames after the head belong to the WebSocket.
      peer.write(Buffer.concat([Buffer.from(req(replace("Sec-WebSocket-Key", `Sec-WebSocket-Key: ${key}`))), c(0x1, "early"), c(0x8, closePayload(1000))]));
      const expected = Buffer.concat([s(0x1, "early"), s(0x8, closePayload(1000))]);
      await peer.waitFor(() => peer.ended, TIMEOUT, "the echo, the close and TCP close");
      const head = splitHead(peer.received);
      assert.equal(head.status, 101);
      assert.equal(head.headers["sec-websocket-accept"], acceptFor(key));
      assert.equal(head.rest.toString("hex"), expected.toString("hex"));
    } finally {
      peer.destroy();
    }
  });

  it("request, frames, a close and the client's FIN all in one write: echo and close echo still come back", { timeout: TIMEOUT * 2 }, async () => {
    const peer = await connectRaw(port, TIMEOUT);
    try {
      const key = randomBytes(16).toString("base64");
      peer.socket.end(Buffer.concat([Buffer.from(req(replace("Sec-WebSocket-Key", `Sec-WebSocket-Key: ${key}`))), c(0x1, "hi"), c(0x8, closePayload(1000))]));
      await peer.waitFor(() => peer.closed, TIMEOUT, "the connection to close");
      const head = splitHead(peer.received);
      assert.equal(head.status, 101);
      assert.equal(head.rest.toString("hex"), Buffer.concat([s(0x1, "hi"), s(0x8, closePayload(1000))]).toString("hex"));
    } finally {
      peer.destroy();
    }
  });

  it("a valid request arriving one byte per write is accepted", { timeout: TIMEOUT * 2 }, async () => {
    const peer = await connectRaw(port, TIMEOUT);
    try {
      const key = randomBytes(16).toString("base64");
      const bytes = Buffer.from(req(replace("Sec-WebSocket-Key", `Sec-WebSocket-Key: ${key}`)));
      for (let i = 0; i < bytes.length; i++) {
        peer.write(bytes.subarray(i, i + 1));
        if (i % 40 === 0) await new Promise((r) => setImmediate(r));
      }
      await peer.waitFor(() => splitHead(peer.received) !== null, TIMEOUT, "the 101 response");
      assert.equal(splitHead(peer.received).status, 101);
      peer.write(c(0x8, closePayload(1000)));
      await peer.waitFor(() => peer.ended, TIMEOUT, "TCP close");
      assert.equal(splitHead(peer.received).rest.toString("hex"), "880203e8");
    } finally {
      peer.destroy();
    }
  });
});
