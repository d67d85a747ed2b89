// RFC 6455 §8.1 fail fast on invalid UTF-8 (Autobahn 6.4.3 / 6.4.4): a text frame whose payload arrives in
// several TCP reads is validated read by read, and fails with 1007 as soon as an invalid sequence arrives — before
// the rest of the frame is sent. Server side (raw masked client frames) and client side (raw server frames).
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { WebSocket } from "../../dist/index.js";
import { Connection as CoreConnection } from "../../dist/protocol/index.js";
import { startServer, withTimeout, rawConnect, FrameReader, startRawServer } from "../helpers/index.mjs";

// Autobahn 6.4.3's payload: "κόσμε" (valid), then F4 90 80 80 (above U+10FFFF: invalid at its second byte), then "edited".
const VALID = Buffer.from("cebae1bdb9cf83cebcceb5", "hex");
const INVALID = Buffer.from("f4908080", "hex");
const REST = Buffer.from("656469746564", "hex");
const PAYLOAD = Buffer.concat([VALID, INVALID, REST]);

/** A whole masked text frame (7-bit length) and where its payload starts. */
function maskedTextFrame(payload) {
  const key = randomBytes(4);
  const head = Buffer.from([0x81, 0x80 | payload.length, ...key]);
  const body = Buffer.from(payload.map((b, i) => b ^ key[i & 3]));
  return { frame: Buffer.concat([head, body]), payloadAt: head.length };
}

function waitCloseFrame(socket, ms) {
  const reader = new FrameReader();
  return withTimeout(
    new Promise((resolve, reject) => {
      socket.on("data", (chunk) => {
        for (const f of reader.push(chunk)) if (f.opcode === 0x8) resolve(f.payload.readUInt16BE(0));
      });
      socket.on("close", () => reject(new Error("closed without a close frame")));
    }),
    ms,
    "close frame",
  );
}

describe("RFC 6455 §8.1: invalid UTF-8 fails the connection as soon as it arrives (Autobahn 6.4.3/6.4.4)", () => {
  let wss;
  after(() => wss?.close({ timeout: 200 }));

  for (const split of ["header + valid prefix, then the invalid sequence", "all of it up to the invalid sequence in one read"]) {
    it(`server: ${split}; the rest withheld → close 1007 at once`, async () => {
      wss ??= await startServer({ perMessageDeflate: false });
      const messages = [];
      wss.on("connection", (ws) => (ws.onmessage = (ev) => messages.push(ev.data)));
      const { socket } = await rawConnect(wss.address().port);
      socket.on("error", () => {});
      const closed = waitCloseFrame(socket, 2000);
      const { frame, payloadAt } = maskedTextFrame(PAYLOAD);
      const cut = payloadAt + VALID.length;
      if (split.startsWith("header")) {
        socket.write(frame.subarray(0, cut));
        // Give the server the first read on its own (a short pause; what is asserted does not depend on it).
        await new Promise((r) => setTimeout(r, 50));
        socket.write(frame.subarray(cut, cut + INVALID.length));
      } else {
        socket.write(frame.subarray(0, cut + INVALID.length));
      }
      // The last 6 bytes of the frame are never sent: the close must come without them.
      assert.equal(await closed, 1007);
      assert.deepEqual(messages, []);
      socket.destroy();
    });
  }

  it("server: a continuation frame of a fragmented text message fails at once too", async () => {
    wss ??= await startServer({ perMessageDeflate: false });
    const { socket } = await rawConnect(wss.address().port);
    socket.on("error", () => {});
    const closed = waitCloseFrame(socket, 2000);
    // First fragment: "κ" whole (FIN clear). Then a continuation frame whose payload arrives in part.
    const first = maskedTextFrame(VALID.subarray(0, 2)).frame;
    first[0] = 0x01;
    const { frame, payloadAt } = maskedTextFrame(Buffer.concat([VALID.subarray(2), INVALID, REST]));
    frame[0] = 0x80; // FIN, continuation
    socket.write(first);
    socket.write(frame.subarray(0, payloadAt + VALID.length - 2 + INVALID.length));
    assert.equal(await closed, 1007);
    socket.destroy();
  });

  it("client: the server sends header + valid prefix + invalid sequence and withholds the rest → close 1007", async () => {
    let sent;
    const raw = await startRawServer((socket) => {
      const head = Buffer.from([0x81, PAYLOAD.length]);
      socket.write(Buffer.concat([head, VALID]));
      setTimeout(() => socket.write(INVALID), 50);
      sent = socket;
    });
    try {
      const ws = new WebSocket(raw.url);
      const closeFrame = new Promise((resolve) => {
        // Read what the client sends back once the handshake is done: its close frame (masked).
        const check = setInterval(() => {
          if (sent === undefined) return;
          clearInterval(check);
          let buf = Buffer.alloc(0);
          sent.on("data", (c) => {
            buf = Buffer.concat([buf, c]);
            if (buf.length >= 8 && (buf[0] & 0x0f) === 0x8) {
              const key = buf.subarray(2, 6);
              resolve(((buf[6] ^ key[0]) << 8) | (buf[7] ^ key[1]));
            }
          });
        }, 5);
      });
      const ev = await withTimeout(new Promise((resolve) => ws.addEventListener("close", resolve)), 3000, "client close");
      assert.equal(ev.code, 1006, "the TCP connection is closed by the client after its close frame");
      assert.equal(await withTimeout(closeFrame, 2000, "client close frame"), 1007);
    } finally {
      await raw.close();
    }
  });

  it("core: Connection fails with 1007 on the read that brings the invalid sequence (both roles)", () => {
    for (const isServer of [true, false]) {
      const events = [];
      const conn = new CoreConnection(
        {
          onWrite: (b) => events.push(["write", Buffer.from(b)]),
          onMessage: () => events.push(["message"]),
          onPing() {},
          onPong() {},
          onCloseFrame() {},
          onCloseTransport: () => events.push(["closeTransport"]),
          onProtocolError: (err) => events.push(["error", err.closeCode]),
        },
        { isServer },
      );
      const framed = isServer ? maskedTextFrame(PAYLOAD) : { frame: Buffer.concat([Buffer.from([0x81, PAYLOAD.length]), PAYLOAD]), payloadAt: 2 };
      const cut = framed.payloadAt + VALID.length;
      conn.receiveData(Buffer.from(framed.frame.subarray(0, cut)));
      assert.deepEqual(events, [], "a valid prefix is fine");
      conn.receiveData(Buffer.from(framed.frame.subarray(cut, cut + 2)));
      assert.deepEqual(events.map((e) => e[0] === "error" ? e : e[0]), ["write", ["error", 1007], "closeTransport"], `isServer ${isServer}`);
    }
  });

  it("a valid text frame split across reads still arrives whole, and split code points are fine", () => {
    const got = [];
    const conn = new CoreConnection(
      { onWrite() {}, onMessage: (d) => got.push(d.toString()), onPing() {}, onPong() {}, onCloseFrame() {}, onCloseTransport() {}, onProtocolError: (e) => got.push(e) },
      { isServer: false },
    );
    const text = "κόσμε €𝄞 ".repeat(40);
    const payload = Buffer.from(text);
    const frame = Buffer.concat([Buffer.from([0x81, 126, payload.length >> 8, payload.length & 255]), payload]);
    for (let i = 0; i < frame.length; i += 7) conn.receiveData(Buffer.from(frame.subarray(i, i + 7)));
    assert.deepEqual(got, [text]);
  });
});

