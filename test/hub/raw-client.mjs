/**
 * A bare-bones WebSocket client on a raw TCP socket, for peers our WebSocket class would not be: one that never
 * answers pings, one that stops reading, thousands of cheap connect/close cycles. Exports only; no side effects.
 */
import { connect } from "node:net";
import { randomBytes } from "node:crypto";

/**
 * Opens a TCP connection and completes the opening handshake. Resolves with the socket (data listeners removed;
 * paused if `paused`) and any bytes that followed the 101 response; rejects on a non-101 answer, an error, or
 * after `ms`.
 */
export function rawConnect(port, { host = "127.0.0.1", path = "/", ms = 10_000, paused = false } = {}) {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host);
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => fail(new Error(`raw handshake timed out after ${ms} ms`)), ms);
    const fail = (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const onData = (chunk) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      const end = buf.indexOf("\r\n\r\n");
      if (end === -1) return;
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("error", fail);
      // Paused: nothing more is read until the caller resumes, so the kernel buffers fill and the server's grow.
      if (paused) socket.pause();
      const head = buf.subarray(0, end).toString("latin1");
      if (!head.startsWith("HTTP/1.1 101")) {
        socket.destroy();
        reject(new Error(`handshake refused: ${head.split("\r\n")[0]}`));
        return;
      }
      resolve({ socket, rest: buf.subarray(end + 4) });
    };
    socket.on("data", onData);
    socket.on("error", fail);
    socket.once("connect", () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
  });
}

/** A masked client frame (RFC 6455 §5.3: a client masks every frame). Payloads up to 65535 bytes. */
export function clientFrame(opcode, payload = Buffer.alloc(0)) {
  const len = payload.length;
  const headerLen = len < 126 ? 2 : 4;
  const out = Buffer.allocUnsafe(headerLen + 4 + len);
  out[0] = 0x80 | opcode;
  if (len < 126) out[1] = 0x80 | len;
  else {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(len, 2);
  }
  const key = randomBytes(4);
  key.copy(out, headerLen);
  for (let i = 0; i < len; i++) out[headerLen + 4 + i] = payload[i] ^ key[i & 3];
  return out;
}

/** A close frame with a code. */
export function clientClose(code = 1000) {
  const p = Buffer.alloc(2);
  p.writeUInt16BE(code, 0);
  return clientFrame(0x8, p);
}

/** Incremental parser for unmasked server frames: push(chunk) returns the complete frames { opcode, payload }. */
export class FrameReader {
  #buf = Buffer.alloc(0);
  push(chunk) {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const frames = [];
    for (;;) {
      const b = this.#buf;
      if (b.length < 2) break;
      let len = b[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (b.length < 4) break;
        len = b.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) break;
        len = Number(b.readBigUInt64BE(2));
        off = 10;
      }
      if (b.length < off + len) break;
      frames.push({ opcode: b[0] & 0x0f, fin: (b[0] & 0x80) !== 0, payload: b.subarray(off, off + len) });
      this.#buf = b.subarray(off + len);
    }
    return frames;
  }
}
