// RFC 7692 §7.2.3.3: a peer may end a compressed message with a DEFLATE block whose BFINAL bit is set (zlib's
// Z_FINISH). zlib then ends the inflate stream. Found by the fuzz target "deflate" (test/fuzz/): the ended stream
// went back to the process-wide pool, and the next connection to borrow it failed a valid message with 1007
// ("stream.push() after EOF"); with context takeover the same connection failed its next message.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { deflateRawSync, constants as zc } from "node:zlib";
import { PerMessageDeflate } from "../../dist/node/deflate.js";
import { resolveCodecOptions } from "../../dist/node/deflate-options.js";
import { withTimeout } from "../helpers/index.mjs";

const params = (resets) => ({ serverNoContextTakeover: resets, clientNoContextTakeover: resets, serverMaxWindowBits: 15, clientMaxWindowBits: 15 });

/** RFC 7692 §7.2.1: sync-flushed, the 0x00 0x00 0xff 0xff tail removed. */
function syncFlushed(text) {
  const out = deflateRawSync(Buffer.from(text), { finishFlush: zc.Z_SYNC_FLUSH });
  return out.subarray(0, out.length - 4);
}
/** RFC 7692 §7.2.3.3: the message ends with a BFINAL block. */
const finalBlock = (text) => deflateRawSync(Buffer.from(text));

/** Inflates a message sent as two frames (so the zlib stream path is taken, not the one-call path). */
async function inflateMessage(codec, payload) {
  const half = Math.ceil(payload.length / 2);
  const parts = [];
  for (const [piece, fin] of [[payload.subarray(0, half), false], [payload.subarray(half), true]]) {
    const { err, data } = await withTimeout(new Promise((resolve) => codec.inflate(piece, fin, (err, data) => resolve({ err, data }))), 5000, "inflate");
    if (err) return `error ${err.closeCode}: ${err.message}`;
    parts.push(...data);
  }
  return Buffer.concat(parts).toString();
}

describe("RFC 7692 §7.2.3.3 a message ending with a BFINAL block", () => {
  it("without context takeover: the next connection borrowing a pooled inflater still inflates", async () => {
    const a = new PerMessageDeflate(params(true), true, resolveCodecOptions({}), 1 << 20);
    assert.equal(await inflateMessage(a, finalBlock("with BFINAL")), "with BFINAL");
    a.release();
    for (let i = 0; i < 3; i++) {
      const b = new PerMessageDeflate(params(true), true, resolveCodecOptions({}), 1 << 20);
      assert.equal(await inflateMessage(b, syncFlushed(`next ${i}`)), `next ${i}`);
      b.release();
    }
  });

  it("with context takeover: the same connection inflates its next message", async () => {
    const a = new PerMessageDeflate(params(false), true, resolveCodecOptions({}), 1 << 20);
    assert.equal(await inflateMessage(a, finalBlock("first, with BFINAL")), "first, with BFINAL");
    assert.equal(await inflateMessage(a, syncFlushed("second")), "second");
    a.release();
  });
});
