// Raw TCP peers: the opening handshake by hand and exact bytes both ways, for peers our WebSocket class would not
// be (one that never answers pings, one that stops reading, one that sends what a wshub endpoint never would).
// Not a test file: it only exports helpers (test.sh runs *.test.mjs only).
import net from "node:net";
import { createHash, randomBytes } from "node:crypto";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
export const acceptFor = (key) => createHash("sha1").update(key + GUID).digest("base64");

/** A TCP socket that collects every byte it receives and can wait for conditions with a deadline. */
export class RawPeer {
  // Chunks are joined only when `received` is read, so a large message is not copied once per chunk.
  #received = Buffer.alloc(0);
  #chunks = [];
  #length = 0;

  constructor(socket) {
    this.socket = socket;
    this.ended = false; // the peer sent FIN
    this.closed = false;
    this.errors = [];
    this.waiters = new Set();
    socket.on("data", (d) => {
      this.#chunks.push(d);
      this.#length += d.length;
      this.#notify();
    });
    socket.on("end", () => {
      this.ended = true;
      // Answer the peer's FIN with ours, so the peer's socket closes fully.
      socket.end();
      this.#notify();
    });
    socket.on("close", () => {
      this.closed = true;
      this.#notify();
    });
    socket.on("error", (err) => {
      this.errors.push(err);
      this.#notify();
    });
  }

  /** Every byte received (after the handshake, once openWebSocket() has run). */
  get received() {
    if (this.#chunks.length > 0) {
      this.#received = Buffer.concat([this.#received, ...this.#chunks]);
      this.#chunks = [];
    }
    return this.#received;
  }

  set received(bytes) {
    this.#chunks = [];
    this.#received = bytes;
    this.#length = bytes.length;
  }

  /** received.length, without joining the chunks. */
  get receivedLength() {
    return this.#length;
  }

  #notify() {
    for (const w of [...this.waiters]) w();
  }

  /** Resolves when `predicate()` holds; rejects after `ms` with `what` in the message. */
  waitFor(predicate, ms, what) {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (predicate()) {
          clearTimeout(timer);
          this.waiters.delete(check);
          resolve();
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out after ${ms} ms waiting for ${what}; received ${this.received.length} bytes, ended=${this.ended}, closed=${this.closed}`));
      }, ms);
      this.waiters.add(check);
    });
  }

  write(data) {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(data);
  }

  destroy() {
    this.socket.destroy();
  }
}

/** Opens a TCP connection to 127.0.0.1:port. */
export function connectRaw(port, ms = 5000) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`TCP connect to ${port} timed out`));
    }, ms);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.setNoDelay(true);
      resolve(new RawPeer(socket));
    });
    socket.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Splits "head\r\n\r\n" off the received bytes: { status, statusLine, headers, body, rest }, or null if incomplete. */
export function splitHead(buf) {
  const end = buf.indexOf("\r\n\r\n");
  if (end === -1) return null;
  const lines = buf.toString("latin1", 0, end).split("\r\n");
  const headers = {};
  for (const line of lines.slice(1)) {
    const i = line.indexOf(":");
    headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const m = /^HTTP\/1\.1 (\d{3}) /.exec(lines[0]);
  return { status: m ? Number(m[1]) : 0, statusLine: lines[0], headers, rest: buf.subarray(end + 4) };
}

/** A valid client upgrade request. `lines` replaces the default header lines when given. */
export function upgradeRequest(key, { path = "/", lines, host = "127.0.0.1" } = {}) {
  const l = lines ?? [`Host: ${host}`, "Upgrade: websocket", "Connection: Upgrade", `Sec-WebSocket-Key: ${key}`, "Sec-WebSocket-Version: 13"];
  return `GET ${path} HTTP/1.1\r\n${l.join("\r\n")}\r\n\r\n`;
}

/**
 * Connects and completes the opening handshake by hand; checks the 101 and the accept value.
 * Returns the peer with `received` holding only the bytes after the response head.
 */
export async function openWebSocket(port, ms = 5000) {
  const peer = await connectRaw(port, ms);
  const key = randomBytes(16).toString("base64");
  peer.write(upgradeRequest(key));
  await peer.waitFor(() => splitHead(peer.received) !== null || peer.ended, ms, "the 101 response");
  const head = splitHead(peer.received);
  if (head === null || head.status !== 101) {
    peer.destroy();
    throw new Error(`expected 101, got ${head?.statusLine ?? "nothing"}`);
  }
  if (head.headers["sec-websocket-accept"] !== acceptFor(key)) {
    peer.destroy();
    throw new Error(`bad Sec-WebSocket-Accept ${head.headers["sec-websocket-accept"]}`);
  }
  peer.received = Buffer.from(head.rest);
  return peer;
}

/** Describes where two buffers first differ (for failure messages without megabytes of hex). */
export function diffAt(actual, expected) {
  const n = Math.min(actual.length, expected.length);
  let i = 0;
  while (i < n && actual[i] === expected[i]) i++;
  const show = (b) => b.subarray(Math.max(0, i - 4), i + 12).toString("hex");
  return `lengths ${actual.length} vs expected ${expected.length}; first difference at byte ${i}: got …${show(actual)}… expected …${show(expected)}…`;
}

/**
 * Opens a TCP connection and completes the opening handshake. Resolves with the socket (data listeners removed;
 * paused if `paused`) and any bytes that followed the 101 response; rejects on a non-101 answer, an error, or
 * after `ms`.
 */
export function rawConnect(port, { host = "127.0.0.1", path = "/", ms = 10_000, paused = false } = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host);
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => fail(new Error(`raw handshake timed out after ${ms} ms`)), ms);
    const fail = (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const onData = (chunk) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      const head = splitHead(buf);
      if (head === null) return;
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("error", fail);
      // Paused: nothing more is read until the caller resumes, so the kernel buffers fill and the server's grow.
      if (paused) socket.pause();
      if (head.status !== 101) {
        socket.destroy();
        reject(new Error(`handshake refused: ${head.statusLine}`));
        return;
      }
      resolve({ socket, rest: head.rest });
    };
    socket.on("data", onData);
    socket.on("error", fail);
    socket.once("connect", () => {
      socket.write(upgradeRequest(randomBytes(16).toString("base64"), { path, lines: undefined, host: `${host}:${port}` }));
    });
  });
}

/**
 * A raw TCP server that answers the opening handshake itself and then runs `behave(socket)`, to send what a wshub
 * server never would (or to vanish mid-stream). Resolves with { url, close() }.
 */
export async function startRawServer(behave) {
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let head = Buffer.alloc(0);
    const onData = (chunk) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end === -1) return;
      socket.off("data", onData);
      const key = /sec-websocket-key:\s*(\S+)/i.exec(head.subarray(0, end).toString("latin1"))[1];
      socket.write(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          `Sec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`,
      );
      behave(socket);
    };
    socket.on("data", onData);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `ws://127.0.0.1:${server.address().port}/`,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
