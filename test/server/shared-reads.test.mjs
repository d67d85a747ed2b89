// The standalone server reads every socket into one shared buffer (src/node/shared-read.ts): each read is valid
// only until the next one, on any socket. These tests check that the server really reads that way on this Node,
// that nothing a peer sent is lost or mixed up across sockets (many peers at once, every message size class,
// frames split across reads), that bytes arriving while an asynchronous `authenticate` decides are kept even past
// the point where reading stops (HOLD_LIMIT), and that the ordinary 'data' path still works when it is turned off.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import net from "node:net";
import { WebSocket as WsClient, WebSocketServer as WsServer } from "ws";
import { Connection } from "../../dist/protocol/index.js";
import { WebSocket } from "../../dist/index.js";
import { HOLD_LIMIT, readsIntoSharedBuffer, useSharedReads } from "../../dist/node/shared-read.js";
import { acceptFor, connectRaw, splitHead, upgradeRequest, prng, startEchoServer, startServer, withTimeout, nextEvent, waitFor } from "../helpers/index.mjs";
import { c, parseFrames, s as serverFrame } from "../helpers/frames.mjs";

const TIMEOUT = 10_000;

/** Opens `n` `ws` clients (a second implementation) to `url`; each sends `messages` and collects the echoes. */
async function echoThrough(url, clients, messagesFor) {
  const runs = [];
  for (let i = 0; i < clients; i++) {
    const messages = messagesFor(i);
    runs.push(
      new Promise((resolve, reject) => {
        const ws = new WsClient(url);
        const got = [];
        ws.on("error", reject);
        ws.on("open", () => {
          for (const m of messages) ws.send(m);
        });
        ws.on("message", (data, isBinary) => {
          got.push(isBinary ? Buffer.from(data) : data.toString());
          if (got.length === messages.length) {
            ws.close();
            resolve({ messages, got });
          }
        });
      }),
    );
  }
  return withTimeout(Promise.all(runs), TIMEOUT, "echoes from every client");
}

/** Deterministic integers in [0, n) from a seed. */
function byteSource(seed) {
  const rnd = prng(seed);
  return (n) => Math.floor(rnd() * n);
}

/** Messages of every size class: 7-bit, 16-bit and 64-bit lengths, text (ASCII and not) and binary. */
function mixedMessages(seed) {
  const rnd = byteSource(seed);
  const sizes = [0, 1, 31, 125, 126, 4000, 65535, 65536, 70_000, 300_000];
  return sizes.flatMap((n, k) => {
    const bin = Buffer.alloc(n);
    for (let i = 0; i < n; i++) bin[i] = rnd(256);
    return [bin, k % 2 === 0 ? "é".repeat(Math.floor(n / 2)) : "a".repeat(n)];
  });
}

describe("shared read buffer (standalone server)", () => {
  const cleanups = [];
  after(async () => {
    useSharedReads(true);
    for (const fn of cleanups) await fn();
  });

  it("is what the standalone server's connections read into on this Node", async () => {
    const wss = await startServer();
    cleanups.push(() => wss.close({ timeout: 500 }));
    const opened = new Promise((resolve) => wss.once("connection", resolve));
    const client = new WebSocket(wss.url);
    const ws = await withTimeout(opened, TIMEOUT, "connection");
    assert.equal(readsIntoSharedBuffer(ws._transport.socket), true, "the probe of net.Socket's onread state failed");
    client.close();
  });

  it("the rest of a long payload is read straight into the message's buffer, and arrives intact", { timeout: TIMEOUT * 2 }, async () => {
    const wss = await startEchoServer();
    cleanups.push(() => wss.close({ timeout: 500 }));
    let direct = 0;
    wss.on("connection", (ws) => {
      const conn = ws._transport.conn;
      const receivedInto = conn.receivedInto.bind(conn);
      conn.receivedInto = (n) => {
        direct += n;
        receivedInto(n);
      };
    });
    const rnd = byteSource(3);
    const big = Buffer.alloc(3 * 1024 * 1024 + 5);
    for (let i = 0; i < big.length; i++) big[i] = rnd(256);
    const [{ got }] = await echoThrough(wss.url, 1, () => [big, "after", big.subarray(7, 200_007)]);
    assert.ok(got[0].equals(big));
    assert.equal(got[1], "after");
    assert.ok(got[2].equals(big.subarray(7, 200_007)));
    assert.ok(direct > big.length / 2, `only ${direct} bytes were read straight into payload buffers`);
  });

  it("20 peers at once, every size class: each gets exactly its own messages back, in order", { timeout: TIMEOUT * 2 }, async () => {
    const wss = await startEchoServer();
    cleanups.push(() => wss.close({ timeout: 500 }));
    const results = await echoThrough(wss.url, 20, (i) => mixedMessages(i + 1));
    for (const { messages, got } of results) {
      assert.equal(got.length, messages.length);
      for (let k = 0; k < messages.length; k++) {
        if (typeof messages[k] === "string") assert.equal(got[k], messages[k], `message ${k}`);
        else assert.ok(Buffer.isBuffer(got[k]) && got[k].equals(messages[k]), `binary message ${k} (${messages[k].length} bytes)`);
      }
    }
  });

  it(`keeps ${3 * HOLD_LIMIT} bytes sent during an asynchronous authenticate (reading stops at ${HOLD_LIMIT}, then resumes)`, { timeout: TIMEOUT * 2 }, async () => {
    let started;
    const authStarted = new Promise((r) => (started = r));
    const wss = await startServer({
      authenticate: async () => {
        started();
        // A slow hook by design: the peer's bytes arrive while it runs.
        await new Promise((r) => setTimeout(r, 400));
        return true;
      },
    });
    cleanups.push(() => wss.close({ timeout: 500 }));
    const received = [];
    wss.on("connection", (ws) => {
      ws.onmessage = (e) => received.push(Buffer.from(e.data));
    });
    const rnd = byteSource(7);
    const messages = [];
    for (let total = 0; total < 3 * HOLD_LIMIT; ) {
      const m = Buffer.alloc(1 + rnd(5000));
      for (let i = 0; i < m.length; i++) m[i] = rnd(256);
      messages.push(m);
      total += m.length;
    }
    const peer = await connectRaw(wss.address().port, TIMEOUT);
    try {
      peer.write(Buffer.concat([Buffer.from(upgradeRequest(randomBytes(16).toString("base64")), "latin1"), c(0x2, messages[0])]));
      await withTimeout(authStarted, TIMEOUT, "authenticate to be called");
      // In batches a few milliseconds apart: the server holds several reads (each from the reused shared buffer).
      const rest = messages.slice(1);
      for (let k = 0; k < rest.length; k += 12) {
        peer.write(Buffer.concat(rest.slice(k, k + 12).map((m) => c(0x2, m))));
        await new Promise((r) => setTimeout(r, 4)); // Not a wait: pacing, so the batches arrive as separate reads
      }
      await peer.waitFor(() => splitHead(peer.received)?.status === 101, TIMEOUT, "the 101 response");
      await waitFor(() => received.length >= messages.length, `${messages.length} messages on the server`, TIMEOUT);
      assert.equal(received.length, messages.length);
      for (let k = 0; k < messages.length; k++) assert.ok(received[k].equals(messages[k]), `message ${k}`);
    } finally {
      peer.destroy();
    }
  });

  it("a refused request that keeps sending gets its 403 and does not disturb other connections", { timeout: TIMEOUT * 2 }, async () => {
    const wss = await startEchoServer({ authenticate: ({ url }) => url.pathname !== "/deny" });
    cleanups.push(() => wss.close({ timeout: 500 }));
    const peer = await connectRaw(wss.address().port, TIMEOUT);
    try {
      peer.write(Buffer.concat([Buffer.from(upgradeRequest(randomBytes(16).toString("base64"), { path: "/deny" }), "latin1"), c(0x2, Buffer.alloc(100_000, 1))]));
      for (let i = 0; i < 5; i++) peer.write(c(0x2, Buffer.alloc(50_000, 2)));
      const [{ got }] = await echoThrough(wss.url, 1, () => ["still here", Buffer.alloc(70_000, 3)]);
      assert.equal(got[0], "still here");
      assert.ok(got[1].equals(Buffer.alloc(70_000, 3)));
      await peer.waitFor(() => splitHead(peer.received)?.status === 403, TIMEOUT, "the 403 response");
    } finally {
      peer.destroy();
    }
  });

  it("turned off, the server reads through 'data' events, with the same results", { timeout: TIMEOUT * 2 }, async () => {
    assert.equal(useSharedReads(false), false);
    try {
      const wss = await startEchoServer();
      cleanups.push(() => wss.close({ timeout: 500 }));
      const opened = new Promise((resolve) => wss.once("connection", resolve));
      const results = await echoThrough(wss.url, 5, (i) => mixedMessages(100 + i));
      const ws = await opened;
      assert.equal(readsIntoSharedBuffer(ws._transport.socket), false);
      for (const { messages, got } of results) {
        for (let k = 0; k < messages.length; k++) {
          if (typeof messages[k] === "string") assert.equal(got[k], messages[k]);
          else assert.ok(got[k].equals(messages[k]));
        }
      }
      // Our client too: its socket emits 'data' when shared reads are off.
      const client = new WebSocket(wss.url);
      client.binaryType = "nodebuffer";
      const big = Buffer.alloc(200_000, 6);
      const echoed = await withTimeout(
        new Promise((resolve, reject) => {
          client.onerror = () => reject(new Error("client error"));
          client.onopen = () => client.send(big);
          client.onmessage = (e) => resolve(e.data);
        }),
        TIMEOUT,
        "the echo at our client",
      );
      assert.ok(echoed.equals(big));
      client.close();
    } finally {
      useSharedReads(true);
    }
  });

  it("frames split at every byte of their headers across reads", { timeout: TIMEOUT * 2 }, async () => {
    const wss = await startEchoServer();
    cleanups.push(() => wss.close({ timeout: 500 }));
    const peer = await connectRaw(wss.address().port, TIMEOUT);
    try {
      peer.write(upgradeRequest(randomBytes(16).toString("base64")));
      await peer.waitFor(() => splitHead(peer.received)?.status === 101, TIMEOUT, "the 101 response");
      const payloads = [Buffer.from("abc"), Buffer.alloc(200, 9), Buffer.alloc(70_000, 8)];
      const wire = Buffer.concat(payloads.map((p) => c(0x2, p)));
      // One byte per write for the first 40 bytes (every header split), then the rest in two pieces.
      for (let i = 0; i < 40; i++) {
        peer.write(wire.subarray(i, i + 1));
        await new Promise((r) => setTimeout(r, 2)); // Not a wait: pacing, one read per byte
      }
      peer.write(wire.subarray(40, 30_000));
      await new Promise((r) => setTimeout(r, 5)); // Not a wait: pacing
      peer.write(wire.subarray(30_000));
      const want = payloads.reduce((n, p) => n + p.length, 0);
      await peer.waitFor(() => {
        const { frames } = parseFrames(splitHead(peer.received).rest);
        return frames.reduce((n, f) => n + f.payload.length, 0) >= want;
      }, TIMEOUT, "the echoes");
      const { frames } = parseFrames(splitHead(peer.received).rest);
      assert.deepEqual(frames.map((f) => f.payload.toString("hex")), payloads.map((p) => p.toString("hex")));
    } finally {
      peer.destroy();
    }
  });
});

describe("shared read buffer (client)", () => {
  /** Counts, on client-side connections, reads fed from the shared buffer and bytes read straight into payloads. */
  function spyClientReads() {
    const counts = { transient: 0, direct: 0 };
    const { receiveTransient, receivedInto } = Connection.prototype;
    Connection.prototype.receiveTransient = function (chunk) {
      if (!this.isServer) counts.transient++;
      return receiveTransient.call(this, chunk);
    };
    Connection.prototype.receivedInto = function (n) {
      if (!this.isServer) counts.direct += n;
      return receivedInto.call(this, n);
    };
    counts.restore = () => Object.assign(Connection.prototype, { receiveTransient, receivedInto });
    return counts;
  }

  it("our client, against a ws server: reads come from the shared buffer, long payloads straight into their buffer", { timeout: TIMEOUT * 2 }, async () => {
    const server = new WsServer({ host: "127.0.0.1", port: 0 });
    await new Promise((r) => server.once("listening", r));
    const rnd = byteSource(11);
    const messages = mixedMessages(5);
    const big = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = rnd(256);
    messages.push(big);
    server.on("connection", (peer) => {
      for (const m of messages) peer.send(m);
    });
    const spy = spyClientReads();
    try {
      const client = new WebSocket(`ws://127.0.0.1:${server.address().port}/`);
      client.binaryType = "nodebuffer";
      const got = [];
      await withTimeout(
        new Promise((resolve, reject) => {
          client.onerror = () => reject(new Error("client error"));
          client.onmessage = (e) => {
            got.push(e.data);
            if (got.length === messages.length) resolve();
          };
        }),
        TIMEOUT,
        "every message at the client",
      );
      client.close();
      for (let k = 0; k < messages.length; k++) {
        if (typeof messages[k] === "string") assert.equal(got[k], messages[k], `message ${k}`);
        else assert.ok(Buffer.isBuffer(got[k]) && got[k].equals(messages[k]), `binary message ${k} (${messages[k].length} bytes)`);
      }
      assert.ok(spy.transient > 0, "no read of the client came through the shared buffer");
      assert.ok(spy.direct > big.length / 2, `only ${spy.direct} bytes were read straight into payload buffers`);
    } finally {
      spy.restore();
      await new Promise((r) => server.close(r));
    }
  });

  it("frames in the same packet as the 101 are delivered, then later ones", { timeout: TIMEOUT * 2 }, async () => {
    const server = net.createServer((socket) => {
      let head = "";
      socket.on("data", (d) => {
        // After the handshake: the client's close frame; answer it and end, so the client closes at once.
        if (head === null) return void socket.end(serverFrame(0x8, Buffer.from([0x03, 0xe8])));
        head += d.toString("latin1");
        if (head.indexOf("\r\n\r\n") === -1) return;
        const key = /sec-websocket-key: *(\S+)/i.exec(head)[1];
        head = null;
        socket.write(Buffer.concat([
          Buffer.from(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`, "latin1"),
          serverFrame(0x1, "one"),
          serverFrame(0x1, "two"),
        ]));
        // Not a wait: the peer's script sends the third message in a later packet.
        setTimeout(() => socket.write(serverFrame(0x2, Buffer.alloc(100_000, 4))), 20);
      });
      socket.on("error", () => {});
    });
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    try {
      const client = new WebSocket(`ws://127.0.0.1:${server.address().port}/`);
      client.binaryType = "nodebuffer";
      const got = [];
      await withTimeout(
        new Promise((resolve) => {
          client.onmessage = (e) => {
            got.push(e.data);
            if (got.length === 3) resolve();
          };
        }),
        TIMEOUT,
        "three messages",
      );
      assert.equal(got[0], "one");
      assert.equal(got[1], "two");
      assert.ok(got[2].equals(Buffer.alloc(100_000, 4)));
      const closed = nextEvent(client, "close");
      client.close();
      await closed;
    } finally {
      server.close();
    }
  });
});
