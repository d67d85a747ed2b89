// Resource bounds of the core under hostile framing (RFC 6455 §10.4: "implementations ... SHOULD impose
// implementation-specific limits on frame size and the total message size after reassembly").
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import v8 from "node:v8";
import vm from "node:vm";
import { Connection } from "../../dist/protocol/index.js";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc");

function server(onMessage) {
  return new Connection(
    { onWrite() {}, onMessage, onPing() {}, onPong() {}, onCloseFrame() {}, onCloseTransport() {}, onProtocolError: (e) => assert.fail(e.message) },
    { isServer: true },
  );
}

/** A masked 1-byte frame (key 0): 7 bytes on the wire. */
const tiny = (opcode, fin, byte) => Buffer.from([(fin ? 0x80 : 0) | opcode, 0x81, 0, 0, 0, 0, byte]);

describe("RFC 6455 §10.4 limits: fragmented messages", () => {
  it("a message sent as 1,000,000 one-byte fragments holds memory in proportion to its bytes", { timeout: 60_000 }, () => {
    const N = 1_000_000;
    let message = null;
    const conn = server((d) => (message = d));
    // 64 KiB socket-sized chunks of 1-byte fragments.
    const perChunk = 9362;
    const chunk = Buffer.alloc(perChunk * 7);
    gc();
    const before = process.memoryUsage();
    let sent = 0;
    while (sent < N) {
      const count = Math.min(perChunk, N - sent);
      for (let i = 0; i < count; i++) tiny(sent + i === 0 ? 2 : 0, false, (sent + i) & 0xff).copy(chunk, i * 7);
      conn.receiveData(Buffer.from(chunk.subarray(0, count * 7)));
      sent += count;
    }
    gc();
    const after = process.memoryUsage();
    const grown = after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers);
    // 1 MB of payload. Keeping one Buffer view per fragment (and its 64 KiB socket chunk) took ~110 MB here.
    assert.ok(grown < 20e6, `assembling 1 MB of 1-byte fragments holds ${(grown / 1e6).toFixed(1)} MB`);
    conn.receiveData(tiny(0, true, 0xaa));
    assert.equal(message.length, N + 1);
    for (let i = 0; i < N; i += 9973) assert.equal(message[i], i & 0xff);
    assert.equal(message[N], 0xaa);
  });

  it("mixed small and large fragments reassemble in order", () => {
    let message = null;
    const conn = server((d) => (message = d));
    const sizes = [1, 2000, 3, 0, 1023, 1024, 5, 70000, 1, 1, 1];
    const parts = sizes.map((n, k) => Buffer.alloc(n, k + 1));
    const frames = parts.map((p, k) => {
      const fin = k === parts.length - 1;
      const op = k === 0 ? 2 : 0;
      const head = p.length < 126 ? Buffer.from([(fin ? 0x80 : 0) | op, 0x80 | p.length]) : p.length < 65536 ? Buffer.from([(fin ? 0x80 : 0) | op, 0xfe, p.length >> 8, p.length & 0xff]) : Buffer.from([(fin ? 0x80 : 0) | op, 0xff, 0, 0, 0, 0, 0, (p.length >> 16) & 0xff, (p.length >> 8) & 0xff, p.length & 0xff]);
      return Buffer.concat([head, Buffer.alloc(4), p]);
    });
    for (const f of frames) conn.receiveData(f);
    assert.ok(message.equals(Buffer.concat(parts)));
  });
});
