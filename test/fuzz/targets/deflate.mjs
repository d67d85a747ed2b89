// Fuzz target "deflate": the frame parser inside a Connection with permessage-deflate negotiated (RFC 7692),
// inflating through the real codec (src/node/deflate.ts: the synchronous path and the zlib streams), under any
// chunking. Properties:
// - generated messages, compressed or not, fragmented, with pings between fragments, split at random points,
//   arrive as the same messages in order; the first message past maxPayload (on the wire or once inflated)
//   fails the connection with 1009 and nothing after it is delivered;
// - any mutation of such a stream either delivers messages or fails with a ProtocolError of 1002, 1007 or 1009,
//   never another exception, never a hang (the input goes idle within 5 s);
// - memory: no delivered message passes maxPayload, and a text message is valid UTF-8.
import fc from "fast-check";
import { constants as zc, deflateRawSync } from "node:zlib";
import { Connection, ProtocolError } from "../../../dist/protocol/index.js";
import { PerMessageDeflate } from "../../../dist/node/deflate.js";
import { DEFLATE_CODEC_DEFAULTS } from "../../../dist/node/deflate-options.js";
import { frame } from "../../helpers/frames.mjs";

export const name = "deflate";
export const corpusExt = "bin";
export const isAsync = true;

const STRICT = new TextDecoder("utf-8", { fatal: true });
const KEY = Buffer.from([0x12, 0x34, 0x56, 0x78]);

const data = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 60 }).map((s) => ({ text: true, bytes: Buffer.from(s) })) },
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 120 }).map((u) => ({ text: false, bytes: Buffer.from(u) })) },
  // Compressible: inflates far past its wire size (a small bomb when maxPayload is small).
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1, max: 300_000 }), fc.boolean()).map(([n, text]) => ({ text, bytes: Buffer.alloc(n, 0x61) })) },
);
// compress: 0 not compressed, 1 sync-flushed (RFC 7692 §7.2.1), 2 ending with a BFINAL block (§7.2.3.3).
const message = fc.record({ data, compress: fc.constantFrom(0, 1, 1, 2), fragments: fc.integer({ min: 1, max: 3 }), ping: fc.boolean() });

/** RFC 7692 §7.2.1: compress, then remove the 0x00 0x00 0xff 0xff tail of the sync flush; or end with BFINAL. */
function compress(bytes, how) {
  if (how === 2) return deflateRawSync(bytes);
  const out = deflateRawSync(bytes, { finishFlush: zc.Z_SYNC_FLUSH });
  return out.subarray(0, out.length - 4);
}

function encodeMessages(messages, isServer) {
  const mask = isServer ? KEY : null;
  const parts = [];
  for (const m of messages) {
    const body = m.compress ? compress(m.data.bytes, m.compress) : m.data.bytes;
    const n = Math.min(m.fragments, Math.max(1, body.length));
    const size = Math.ceil(body.length / n);
    for (let i = 0; i < n; i++) {
      const piece = body.subarray(i * size, (i + 1) * size);
      parts.push(frame({ opcode: i === 0 ? (m.data.text ? 1 : 2) : 0, fin: i === n - 1, rsv: i === 0 && m.compress ? 4 : 0, payload: piece, mask }));
      if (m.ping && i < n - 1) parts.push(frame({ opcode: 9, payload: Buffer.from("p"), mask }));
    }
    m.wireLength = body.length;
  }
  return Buffer.concat(parts);
}

const mutation = fc.record({ at: fc.nat(), value: fc.nat(255), op: fc.nat(3) });

export const arbitrary = fc
  .record({
    isServer: fc.boolean(),
    peerResets: fc.nat(4).map((n) => n !== 0),
    maxPayload: fc.constantFrom(100, 1000, 65536, 1024 * 1024),
    messages: fc.array(message, { minLength: 1, maxLength: 4 }),
    mutations: fc.oneof(fc.constant([]), fc.array(mutation, { minLength: 1, maxLength: 3 })),
    cuts: fc.array(fc.nat(), { maxLength: 6 }),
  })
  .map((c) => {
    let bytes = encodeMessages(c.messages, c.isServer);
    for (const m of c.mutations) {
      if (bytes.length === 0) break;
      const at = m.at % bytes.length;
      bytes = Buffer.from(bytes);
      if (m.op === 0) bytes[at] ^= 1 << (m.value & 7);
      else if (m.op === 1) bytes[at] = m.value;
      else if (m.op === 2) bytes = bytes.subarray(0, at);
      else bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([m.value]), bytes.subarray(at)]);
    }
    return { ...c, bytes };
  });

function fail(c, message) {
  const err = new Error(`${message} [${c.isServer ? "server" : "client"}, peer ${c.peerResets ? "resets" : "keeps its window"}, maxPayload ${c.maxPayload}] input ${c.bytes.toString("hex").slice(0, 400)}`);
  err.input = c.bytes;
  throw err;
}

export async function check(c) {
  const params = { serverNoContextTakeover: c.peerResets, clientNoContextTakeover: c.peerResets, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };
  const pmd = new PerMessageDeflate(params, c.isServer, DEFLATE_CODEC_DEFAULTS, c.maxPayload);
  const got = [];
  let error = null;
  let problem = null;
  const conn = new Connection(
    {
      onWrite() {},
      onMessage(d, isBinary) {
        if (d.length > c.maxPayload) problem ??= `a ${d.length}-byte message passed maxPayload`;
        if (!isBinary) {
          try {
            STRICT.decode(d);
          } catch {
            problem ??= "a text message with invalid UTF-8 was delivered";
          }
        }
        got.push({ text: !isBinary, bytes: Buffer.from(d) });
      },
      onPing() {},
      onPong() {},
      onCloseFrame() {},
      onCloseTransport() {},
      onProtocolError(err) {
        if (error !== null) problem ??= "onProtocolError called twice";
        error = err;
      },
    },
    { isServer: c.isServer, maxPayload: c.maxPayload, inflater: pmd },
  );
  const n = c.bytes.length;
  const points = [...new Set(c.cuts.map((x) => x % (n + 1)))].filter((x) => x > 0).sort((a, b) => a - b);
  if (n > 0 && points.at(-1) !== n) points.push(n);
  let prev = 0;
  try {
    for (const p of points) {
      conn.receiveData(Buffer.from(c.bytes.subarray(prev, p)));
      prev = p;
    }
    // Every byte fed is processed once no inflation is under way; a hang is a failure.
    let timer;
    const idle = await Promise.race([
      new Promise((resolve) => conn.whenInputIdle(() => resolve(true))),
      new Promise((resolve) => (timer = setTimeout(resolve, 5000, false))),
    ]);
    clearTimeout(timer);
    if (!idle) fail(c, "hang: the input did not go idle within 5 s");
  } catch (err) {
    if (err.input) throw err;
    fail(c, `receiveData threw ${err?.name}: ${err?.message}`);
  } finally {
    pmd.release();
  }
  if (problem !== null) fail(c, problem);
  if (error !== null && !(error instanceof ProtocolError && [1002, 1007, 1009].includes(error.closeCode))) {
    fail(c, `failed with ${error?.name} ${error?.closeCode} ${error?.code}`);
  }
  if (c.mutations.length === 0) {
    // The oracle: messages in order until the first one past maxPayload, which fails with 1009.
    const tooBig = c.messages.findIndex((m) => m.data.bytes.length > c.maxPayload || m.wireLength > c.maxPayload);
    const expected = tooBig === -1 ? c.messages : c.messages.slice(0, tooBig);
    if (tooBig === -1 && error !== null) fail(c, `valid messages failed with ${error.closeCode} ${error.code}: ${error.message}`);
    if (tooBig !== -1 && error?.closeCode !== 1009) fail(c, `message ${tooBig} passes maxPayload; got ${error ? error.closeCode : "no error"}`);
    if (got.length !== expected.length) fail(c, `${got.length} messages delivered, expected ${expected.length}`);
    expected.forEach((m, i) => {
      if (got[i].text !== m.data.text || !got[i].bytes.equals(m.data.bytes)) fail(c, `message ${i} differs`);
    });
  }
  return error !== null ? `${error.closeCode} ${error.code}` : c.mutations.length === 0 ? "valid" : "mutated, no error";
}

/** A corpus entry (raw input bytes) replayed as a server and as a client, with both context modes. */
export function casesFromCorpus(bytes) {
  const out = [];
  for (const isServer of [true, false]) {
    for (const peerResets of [true, false]) {
      out.push({ isServer, peerResets, maxPayload: 65536, messages: [], mutations: [null], cuts: [1, 3, 8, 20], bytes });
    }
  }
  return out;
}
