// A hostile peer for test/server/limits.test.mjs, run as a child process so that its flood loads the server's
// process the way a remote peer would (not the test's own event loop). Not a test file.
// Usage: node flooder.mjs PORT CONNECTIONS DURATION_MS
// Each connection completes the handshake, then writes small masked text frames as fast as the socket takes them,
// ignoring everything the server sends; when the server closes it, it reconnects, until DURATION_MS. Prints one
// JSON line: { connections, closeCodes: { code: n }, framesWritten }.
import net from "node:net";
import { randomBytes } from "node:crypto";

const [port, count, duration] = process.argv.slice(2).map(Number);
const end = Date.now() + duration;
// One masked text frame of 16 bytes of payload (mask all zero: the payload is sent as is).
const payload = Buffer.from("flood-flood-abcd");
const frame = Buffer.concat([Buffer.from([0x81, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
const batch = Buffer.concat(Array.from({ length: 256 }, () => frame));
const result = { connections: 0, closeCodes: {}, framesWritten: 0 };
const sockets = new Set();
// At the end, every socket goes (one held by the server's flow control would wait for its closeTimeout).
setTimeout(() => {
  for (const s of sockets) s.destroy();
}, duration).unref();

function flood() {
  if (Date.now() >= end) return Promise.resolve();
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    result.connections++;
    sockets.add(socket);
    let buf = Buffer.alloc(0);
    let open = false;
    let noted = false;
    socket.on("error", () => {});
    socket.on("close", () => {
      sockets.delete(socket);
      resolve(flood());
    });
    socket.on("connect", () => {
      const key = randomBytes(16).toString("base64");
      socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    socket.on("data", (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (!open) {
        const i = buf.indexOf("\r\n\r\n");
        if (i === -1) return;
        if (!buf.subarray(0, 12).toString().includes(" 101")) return socket.destroy();
        open = true;
        buf = buf.subarray(i + 4);
        pump();
      }
      // The server's frames (unmasked): echoes, then its close frame, whose code is noted; the flood goes on.
      while (buf.length >= 2) {
        let len = buf[1] & 0x7f;
        let hdr = 2;
        if (len === 126) {
          if (buf.length < 4) break;
          len = buf.readUInt16BE(2);
          hdr = 4;
        }
        if (buf.length < hdr + len) break;
        if ((buf[0] & 0x0f) === 8 && !noted) {
          noted = true;
          const code = len >= 2 ? buf.readUInt16BE(hdr) : 1005;
          result.closeCodes[code] = (result.closeCodes[code] ?? 0) + 1;
        }
        buf = buf.subarray(hdr + len);
      }
    });
    function pump() {
      while (!socket.destroyed && Date.now() < end) {
        result.framesWritten += 256;
        if (!socket.write(batch)) return void socket.once("drain", pump);
      }
      socket.destroy();
    }
  });
}

await Promise.all(Array.from({ length: count }, () => flood()));
process.stdout.write(JSON.stringify(result) + "\n");
