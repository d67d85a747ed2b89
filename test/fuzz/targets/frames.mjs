// Fuzz target "frames": the RFC 6455 §5 frame parser (src/protocol/frame-parser.ts) under any chunking, for both
// roles, with and without RSV1 allowed (permessage-deflate negotiated), with and without the sink's whole-message
// fast path, fed through push(), pushTransient() (the chunk is scribbled over afterwards) and readTarget().
// Properties:
// - generated valid frames, encoded and split at random points, parse back to the same frames, and re-encode
//   (with their masking keys) to the input byte for byte;
// - any other input parses to frames that re-encode to a prefix of the input, then either stops for more input or
//   throws a ProtocolError naming a rule the next frame breaks (RFC 6455 §5.1, §5.2, §5.4, §5.5; 1009 past
//   maxPayload), thrown by the very chunk that completes the evidence, never any other exception;
// - memory: no payload buffer is reserved past maxPayload, nor for a long payload before a quarter of it arrived,
//   and what the parser holds never exceeds the unparsed input.
import fc from "fast-check";
import { FrameParser, ProtocolError, encodeFrameBuffer } from "../../../dist/protocol/index.js";
import { frame } from "../../helpers/frames.mjs";
import { RULES, referenceFrames } from "./frame-oracle.mjs";

const MAX_PAYLOADS = [0, 1, 125, 126, 1000, 65535, 65536, 16 * 1024 * 1024];
const EAGER_PAYLOAD = 1024 * 1024;

// ---- generation ----

const key = fc.uint8Array({ minLength: 4, maxLength: 4 });
/** Mostly small payloads, now and then one at a length-encoding boundary (RFC 6455 §5.2: 125/126, 65535/65536). */
const payload = fc.oneof(
  { weight: 30, arbitrary: fc.uint8Array({ maxLength: 140 }) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(125, 126, 127, 65535, 65536), fc.nat(255)).map(([n, s]) => Uint8Array.from({ length: n }, (_, i) => (s + i * 7) & 0xff)) },
);
const control = fc.record({ opcode: fc.constantFrom(8, 9, 10), payload: fc.uint8Array({ maxLength: 125 }) });
/** A message as one or more fragments, control frames possibly between them (§5.4). */
const message = fc.record({
  opcode: fc.constantFrom(1, 2),
  rsv1: fc.boolean(),
  fragments: fc.array(payload, { minLength: 1, maxLength: 4 }),
  controls: fc.array(fc.option(control, { nil: null }), { maxLength: 3 }),
});

function planFrames(messages, isServer, allowRsv1, keys) {
  const frames = [];
  let k = 0;
  const nextKey = () => (isServer ? keys[k++ % keys.length] : null);
  for (const m of messages) {
    if (m.control) {
      frames.push({ opcode: m.control.opcode, fin: true, rsv1: false, payload: m.control.payload, key: nextKey() });
      continue;
    }
    m.fragments.forEach((p, i) => {
      const last = i === m.fragments.length - 1;
      frames.push({ opcode: i === 0 ? m.opcode : 0, fin: last, rsv1: i === 0 && allowRsv1 && m.rsv1, payload: p, key: nextKey() });
      const c = m.controls[i];
      if (!last && c) frames.push({ opcode: c.opcode, fin: true, rsv1: false, payload: c.payload, key: nextKey() });
    });
  }
  return frames;
}

const config = fc.record({
  isServer: fc.boolean(),
  allowRsv1: fc.boolean(),
  direct: fc.boolean(),
  cuts: fc.array(fc.nat(), { maxLength: 8 }),
  bytewise: fc.nat(9).map((n) => n === 0),
  modes: fc.array(fc.constantFrom("push", "transient", "target"), { minLength: 1, maxLength: 4 }),
});

const validCase = fc
  .tuple(config, fc.array(fc.oneof({ weight: 4, arbitrary: message }, { weight: 1, arbitrary: control.map((c) => ({ control: c })) }), { maxLength: 5 }), fc.array(key, { minLength: 1, maxLength: 3 }), fc.nat(3))
  .map(([cfg, messages, keys, slack]) => {
    const frames = planFrames(messages, cfg.isServer, cfg.allowRsv1, keys);
    // Encoded by src's encodeFrameBuffer; check() re-encodes with the test's own (test/helpers/frames.mjs).
    const parts = frames.map((f) => encodeFrameBuffer(f.opcode, f.payload, { fin: f.fin, rsv1: f.rsv1, mask: f.key ?? false }));
    const bytes = Buffer.concat(parts);
    let largest = 0;
    let open = 0;
    for (const f of frames) {
      if (f.opcode >= 8) continue;
      open = (f.opcode === 0 ? open : 0) + f.payload.length;
      largest = Math.max(largest, open);
    }
    const maxPayload = MAX_PAYLOADS.find((m) => m >= largest + slack) ?? 16 * 1024 * 1024;
    return { ...cfg, maxPayload, bytes, frames };
  });

/** Mutations of a valid stream: bit flips, bytes set to length/opcode edge values, inserts, deletions, cuts. */
const mutation = fc.record({ op: fc.nat(5), at: fc.nat(), value: fc.nat(255), n: fc.integer({ min: 1, max: 8 }) });
const EDGE = [0x00, 0x7e, 0x7f, 0xfe, 0xff, 0x80, 0x81, 0x82, 0x88, 0x89, 0x8a, 0x01, 0x02, 0xc1, 0x41];

function mutate(bytes, mutations) {
  let b = Buffer.from(bytes);
  for (const m of mutations) {
    const at = b.length === 0 ? 0 : m.at % b.length;
    if (m.op === 0 && b.length > 0) b[at] ^= 1 << (m.value & 7);
    else if (m.op === 1 && b.length > 0) b[at] = EDGE[m.value % EDGE.length];
    else if (m.op === 2) b = Buffer.concat([b.subarray(0, at), Buffer.alloc(m.n, m.value), b.subarray(at)]);
    else if (m.op === 3) b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.n)]);
    else if (m.op === 4) b = b.subarray(0, at);
    else if (b.length > 0) b[at] = m.value;
  }
  return b;
}

const otherCase = fc
  .tuple(config, fc.constantFrom(...MAX_PAYLOADS), fc.oneof(
    validCase.chain((v) => fc.array(mutation, { minLength: 1, maxLength: 4 }).map((ms) => mutate(v.bytes, ms))),
    fc.uint8Array({ maxLength: 48 }).map((u) => Buffer.from(u)),
    // Headers built from edge octets, then a little payload: reaches the 16- and 64-bit length forms often.
    fc.array(fc.oneof(fc.constantFrom(...EDGE), fc.nat(255)), { maxLength: 24 }).map((a) => Buffer.from(a)),
  ))
  .map(([cfg, maxPayload, bytes]) => ({ ...cfg, maxPayload, bytes, frames: null }));

export const arbitrary = fc.oneof(validCase, otherCase);

// ---- the property ----

function splitPoints(c) {
  const n = c.bytes.length;
  if (c.bytewise && n <= 4096) return Array.from({ length: n }, (_, i) => i + 1);
  const cuts = [...new Set(c.cuts.map((x) => x % (n + 1)))].filter((x) => x > 0).sort((a, b) => a - b);
  if (cuts.at(-1) !== n) cuts.push(n);
  return n === 0 ? [] : cuts;
}

function fail(c, message) {
  const err = new Error(`${message} [${c.isServer ? "server" : "client"}, rsv1 ${c.allowRsv1 ? "allowed" : "refused"}, maxPayload ${c.maxPayload}, direct ${c.direct}, modes ${c.modes.join("/")}, cuts ${splitPoints(c).join(",")}] input ${c.bytes.toString("hex").slice(0, 400)}`);
  err.input = c.bytes;
  err.propertyFailure = true;
  throw err;
}

export function check(c) {
  const ref = referenceFrames(c.bytes, c);
  const got = [];
  const sink = {
    onFrame(opcode, messageOpcode, fin, rsv1, payload) {
      got.push({ opcode, fin, rsv1, payload });
    },
  };
  if (c.direct) {
    sink.onMessageBytes = (isText, chunk, start, end, transient) => {
      const p = transient ? Buffer.from(chunk.subarray(start, end)) : chunk.subarray(start, end);
      got.push({ opcode: isText ? 1 : 2, fin: true, rsv1: false, payload: p });
    };
  }
  const parser = new FrameParser(sink, { isServer: c.isServer, maxPayload: c.maxPayload, allowRsv1: c.allowRsv1 });
  let fed = 0;
  let thrown = null;
  let thrownAfter = -1;
  const points = splitPoints(c);
  let prev = 0;
  for (let i = 0; i < points.length; i++) {
    // A copy per chunk: the parser unmasks in place, and the input is compared afterwards.
    const chunk = Buffer.from(c.bytes.subarray(prev, points[i]));
    const before = fed;
    prev = points[i];
    fed += chunk.length;
    const mode = c.modes[i % c.modes.length];
    try {
      if (mode === "transient") {
        try {
          parser.pushTransient(chunk);
        } finally {
          chunk.fill(0xee); // the caller reuses its read buffer: nothing may still point into it
        }
      } else if (mode === "target") {
        const t = parser.readTarget(1);
        if (t === null) parser.push(chunk);
        else {
          // Memory: a payload buffer exists only within maxPayload, and for a long payload once a quarter came.
          // (Control frames do not count against maxPayload; RFC 6455 §5.5 bounds them at 125 bytes.)
          if (t.length > Math.max(c.maxPayload, 125)) fail(c, `readTarget offers ${t.length} bytes past maxPayload`);
          if (t.length > EAGER_PAYLOAD && t.length > 4 * before) fail(c, `a ${t.length}-byte payload buffer after ${before} bytes of input`);
          const n = Math.min(t.length, chunk.length);
          chunk.copy(t, 0, 0, n);
          parser.receivedInto(n);
          if (n < chunk.length) parser.push(chunk.subarray(n));
        }
      } else {
        parser.push(chunk);
      }
    } catch (err) {
      if (err.propertyFailure) throw err;
      if (!(err instanceof ProtocolError)) fail(c, `the parser threw ${err?.name}: ${err?.message}`);
      thrown = err;
      thrownAfter = fed;
      // A failed parser ignores further input, silently.
      parser.push(Buffer.from([0x81, 0x00]));
      break;
    }
    if (parser.bufferedAmount > fed) fail(c, `the parser holds ${parser.bufferedAmount} bytes of ${fed} received`);
  }

  // The frames delivered are the reference frames, in order, with the same payloads.
  if (got.length !== ref.frames.length) fail(c, `${got.length} frames delivered, the reference reading has ${ref.frames.length}`);
  for (let i = 0; i < got.length; i++) {
    const g = got[i];
    const r = ref.frames[i];
    if (g.opcode !== r.opcode || g.fin !== r.fin || g.rsv1 !== r.rsv1 || !g.payload.equals(r.payload)) {
      fail(c, `frame ${i}: got opcode ${g.opcode} fin ${g.fin} rsv1 ${g.rsv1} ${g.payload.length} bytes, expected opcode ${r.opcode} fin ${r.fin} rsv1 ${r.rsv1} ${r.payload.length} bytes`);
    }
  }
  // Re-encoding what was delivered (with each frame's key and length form) gives back the input prefix.
  const again = Buffer.concat(got.map((g, i) => {
    const r = ref.frames[i];
    const rsv = g.opcode === 0 ? 0 : g.rsv1 ? 4 : 0;
    return frame({ opcode: g.opcode, fin: g.fin, rsv, payload: g.payload, mask: r.key, extended: r.form });
  }));
  if (!again.equals(c.bytes.subarray(0, ref.consumed))) fail(c, "the frames delivered do not re-encode to the input");

  if (ref.error === null) {
    if (thrown !== null) fail(c, `threw ${thrown.code} (${thrown.closeCode}) on input that breaks no rule`);
    if (parser.bufferedAmount > c.bytes.length - ref.consumed) fail(c, `holds ${parser.bufferedAmount} bytes, only ${c.bytes.length - ref.consumed} are unparsed`);
  } else {
    if (thrown === null) fail(c, `no error, expected one of ${ref.error.codes.join("/")}`);
    if (!ref.error.codes.includes(thrown.code)) fail(c, `threw ${thrown.code}, expected one of ${ref.error.codes.join("/")}`);
    if (thrown.closeCode !== RULES[thrown.code]) fail(c, `${thrown.code} carries close code ${thrown.closeCode}, expected ${RULES[thrown.code]}`);
    // Fail fast: the error comes with the chunk that completes the evidence (no later, nothing buffered first).
    if (thrownAfter !== chunkEnd(points, ref.error.at)) {
      fail(c, `threw after ${thrownAfter} bytes; the evidence is complete at byte ${ref.error.at}`);
    }
  }
  if (c.frames !== null) {
    // Generated valid input: nothing is left, and the frames are the ones generated.
    if (ref.error !== null || ref.consumed !== c.bytes.length || got.length !== c.frames.length) fail(c, "valid frames did not all parse");
    c.frames.forEach((f, i) => {
      if (!Buffer.from(f.payload).equals(got[i].payload)) fail(c, `frame ${i}: payload differs from the one generated`);
    });
  }
  // The outcome, for the run's statistics.
  return thrown !== null ? thrown.code : c.frames !== null ? "valid" : "incomplete or valid";
}

/** Where the chunk holding byte number `at` (1-based) of the input ends. */
function chunkEnd(points, at) {
  return points.find((p) => at <= p) ?? -1;
}

/** A corpus entry (raw input bytes) replayed under a fixed set of configurations. */
export function casesFromCorpus(bytes) {
  const out = [];
  for (const isServer of [true, false]) {
    for (const allowRsv1 of [false, true]) {
      for (const maxPayload of [0, 125, 65536, 16 * 1024 * 1024]) {
        for (const [direct, cuts, bytewise, modes] of [
          [true, [], false, ["push"]],
          [false, [1, 2, 3, 7, 11], true, ["transient"]],
          [true, [3, 5, 9, 14], false, ["target", "push", "transient"]],
        ]) {
          out.push({ isServer, allowRsv1, maxPayload, direct, cuts, bytewise, modes, bytes, frames: null });
        }
      }
    }
  }
  return out;
}

export const name = "frames";
export const corpusExt = "bin";
