// RFC 7692 §8.1 / issue 6 limits: a ~1 MiB compressed message that inflates to 1 GiB, against maxPayload 16 MiB,
// fails with 1009 while inflating, and the server's peak RSS (VmHWM of its process) stays under 200 MiB.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { connect } from "node:net";
import { readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { constants as zc, createDeflateRaw } from "node:zlib";
import { fileURLToPath } from "node:url";
import WS from "ws";
import { WebSocketServer } from "../../dist/index.js";
import { text } from "./helpers.mjs";
import { listening, opened, withTimeout, frame } from "../helpers/index.mjs";

const SERVER = fileURLToPath(new URL("./fixtures/bomb-server.mjs", import.meta.url));

/** One sync-flushed raw deflate segment of `n` zero bytes (ends byte-aligned with 00 00 ff ff). */
function zeroSegment(n) {
  return new Promise((resolve, reject) => {
    const d = createDeflateRaw({ level: 9 });
    const out = [];
    d.on("data", (c) => out.push(c));
    d.on("error", reject);
    d.write(Buffer.alloc(n));
    d.flush(zc.Z_SYNC_FLUSH, () => {
      d.close();
      resolve(Buffer.concat(out));
    });
  });
}

/** A deflate stream inflating to `total` zero bytes, built by repeating one segment (each is self-contained). */
async function bomb(total) {
  const seg = await zeroSegment(1024 * 1024);
  const parts = [];
  for (let i = 0; i < total / (1024 * 1024); i++) parts.push(seg);
  const all = Buffer.concat(parts);
  return all.subarray(0, all.length - 4); // RFC 7692 §7.2.1: the tail is not sent
}

/** A masked frame from its first byte, with the 64-bit length form (RFC 6455 §5.2). */
const maskedFrame = (b0, payload) =>
  frame({ fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0x0f, payload, mask: randomBytes(4), extended: 64 });

function vmHWM(pid) {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m[1]) * 1024;
}

describe("RFC 7692 compression bomb against maxPayload (issue 6 limits)", () => {
  it("1 MiB → 1 GiB fails with 1009 and the server's peak RSS stays under 200 MiB", async () => {
    const payload = await bomb(1024 * 1024 * 1024);
    assert.ok(payload.length > 900 * 1024 && payload.length < 1200 * 1024, `compressed size ${payload.length} B`);
    const child = spawn(process.execPath, [SERVER], { stdio: ["pipe", "pipe", "inherit"] });
    const lines = [];
    let onLine = () => {};
    let buf = "";
    child.stdout.on("data", (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf("\n")) !== -1) {
        lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
        onLine();
      }
    });
    const waitLine = (pred, what) =>
      withTimeout(new Promise((resolve) => {
        const check = () => {
          const l = lines.find(pred);
          if (l !== undefined) resolve(l);
        };
        onLine = check;
        check();
      }), 20000, what);
    try {
      const port = Number((await waitLine((l) => l.startsWith("port "), "server port")).slice(5));
      const baseline = vmHWM(child.pid);
      const sock = connect(port, "127.0.0.1");
      sock.on("error", () => {});
      await withTimeout(new Promise((r) => sock.once("connect", r)), 5000, "connect");
      sock.write(
        `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n`,
      );
      let received = Buffer.alloc(0);
      const closeCode = withTimeout(new Promise((resolve, reject) => {
        sock.on("data", (d) => {
          received = Buffer.concat([received, d]);
          const end = received.indexOf("\r\n\r\n");
          if (end === -1) return;
          const frames = received.subarray(end + 4);
          if (frames.length >= 4) {
            assert.equal(frames[0], 0x88, "a close frame");
            resolve(frames.readUInt16BE(2));
          }
        });
        sock.on("close", () => reject(new Error(`socket closed without a close frame: ${received.toString("latin1", 0, 200)}`)));
      }), 30000, "close frame");
      const head = await withTimeout(new Promise((resolve) => {
        const check = () => {
          const end = received.indexOf("\r\n\r\n");
          if (end !== -1) resolve(received.subarray(0, end).toString("latin1"));
          else sock.once("data", check);
        };
        sock.once("data", check);
      }), 5000, "handshake");
      assert.match(head, /^HTTP\/1\.1 101/);
      assert.match(head, /Sec-WebSocket-Extensions: permessage-deflate/i);
      // FIN | RSV1 | binary
      sock.write(maskedFrame(0x80 | 0x40 | 0x2, payload));
      assert.equal(await closeCode, 1009);
      const line = await waitLine((l) => l.startsWith("{") && l.includes("code"), "server close event");
      assert.equal(JSON.parse(line).message, undefined, "no message was delivered");
      // A sleep to assert that nothing happens: no work still running afterwards raises the peak past the bound.
      await new Promise((r) => setTimeout(r, 500));
      const peak = vmHWM(child.pid);
      console.log(`server VmHWM: baseline ${(baseline / 2 ** 20).toFixed(1)} MiB, peak ${(peak / 2 ** 20).toFixed(1)} MiB; server saw ${line}`);
      assert.ok(peak < 200 * 1024 * 1024, `peak RSS ${(peak / 2 ** 20).toFixed(1)} MiB`);
      assert.ok(!lines.some((l) => l.includes('"message"')), "no message delivered");
      sock.destroy();
    } finally {
      child.stdin.end();
      child.kill();
    }
  });

  it("the inflated size is counted across the fragments of a message: 3 × 60 KiB against maxPayload 100 KiB → 1009", async () => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, maxPayload: 100 * 1024, perMessageDeflate: true });
    await listening(wss);
    const delivered = [];
    wss.on("connection", (ws) => ws.addEventListener("message", (e) => delivered.push(e.data.length)));
    const c = new WS(wss.url, { perMessageDeflate: { threshold: 0 } });
    try {
      await opened(c);
      const code = withTimeout(new Promise((r) => c.once("close", (code) => r(code))), 5000, "close");
      const part = text(60 * 1024, 4);
      c.send(text(90 * 1024, 5)); // under the limit: delivered
      c.send(part, { fin: false });
      c.send(part, { fin: false });
      c.send(part, { fin: true });
      assert.equal(await code, 1009);
      assert.deepEqual(delivered, [90 * 1024]);
    } finally {
      c.terminate();
      await wss.close({ timeout: 500 });
    }
  });
});
