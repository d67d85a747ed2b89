// Bounded random and mutation fuzzing of the sans-I/O core (RFC 6455 §5, §7.1.7).
// Invariant: whatever bytes arrive, in whatever chunks, a Connection only ever fails through a ProtocolError
// with close code 1002, 1007 or 1009 — receiveData() never throws, and nothing is reported after the end.
// The seed is random per run and printed with any failure; set FUZZ_SEED=<n> to replay one.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Connection } from "../../dist/protocol/index.js";
import { frame, hex } from "../helpers/frames.mjs";
import { prng } from "../helpers/index.mjs";

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const INPUTS = Number(process.env.FUZZ_INPUTS ?? 100_000);

const ALLOWED = new Set([1002, 1007, 1009]);
const STRICT = new TextDecoder("utf-8", { fatal: true });
const TEXTS = ["", "a", "hello", "κόσμε", "😀😀", "€", "x".repeat(40)].map((s) => Buffer.from(s));
const BAD_UTF8 = [Buffer.from([0xff]), Buffer.from([0xce]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xf4, 0x90, 0x80, 0x80])];

function makeFuzzer(rand) {
  const int = (n) => Math.floor(rand() * n);
  const pick = (a) => a[int(a.length)];
  const bytes = (n) => {
    const b = Buffer.alloc(n);
    if (n <= 64) {
      for (let i = 0; i < n; i++) b[i] = int(256);
    } else {
      // Large payloads: a cheap seeded pattern (the parser does not look inside binary payloads).
      const start = int(256), step = 1 + int(255);
      for (let i = 0; i < n; i++) b[i] = (start + i * step) & 0xff;
    }
    return b;
  };

  /** A plausible frame stream (mostly valid, as a peer would send), masked when sent to a server. */
  function validStream(toServer) {
    const parts = [];
    const mask = () => (toServer ? bytes(4) : null);
    const n = 1 + int(6);
    for (let k = 0; k < n; k++) {
      const kind = int(10);
      if (kind < 3) {
        parts.push(frame({ opcode: 1, payload: rand() < 0.1 ? pick(BAD_UTF8) : pick(TEXTS), mask: mask() }));
      } else if (kind < 5) {
        const len = rand() < 0.05 ? pick([65535, 65536, 70000]) : pick([0, 1, 5, 125, 126, 127, 300]);
        parts.push(frame({ opcode: 2, payload: bytes(len), mask: mask(), rsv: rand() < 0.05 ? 4 : 0 }));
      } else if (kind < 7) {
        // A fragmented message, split mid code point, with control frames between the fragments.
        const text = Buffer.concat([pick(TEXTS), pick(TEXTS), rand() < 0.1 ? pick(BAD_UTF8) : Buffer.alloc(0)]);
        const opcode = rand() < 0.5 ? 1 : 2;
        const cut = int(text.length + 1);
        parts.push(frame({ fin: false, opcode, payload: text.subarray(0, cut), mask: mask(), rsv: rand() < 0.1 ? 4 : 0 }));
        if (rand() < 0.5) parts.push(frame({ opcode: 9, payload: bytes(int(10)), mask: mask() }));
        if (rand() < 0.3) parts.push(frame({ fin: false, opcode: 0, payload: Buffer.alloc(0), mask: mask() }));
        parts.push(frame({ fin: true, opcode: 0, payload: text.subarray(cut), mask: mask() }));
      } else if (kind < 8) {
        parts.push(frame({ opcode: pick([9, 10]), payload: bytes(pick([0, 3, 125])), mask: mask() }));
      } else if (kind < 9) {
        const code = pick([1000, 1001, 1002, 1005, 1006, 1016, 3000, 4999, 5000, 0]);
        const p = Buffer.concat([Buffer.from([code >> 8, code & 0xff]), rand() < 0.2 ? pick(BAD_UTF8) : Buffer.from("bye")]);
        parts.push(frame({ opcode: 8, payload: rand() < 0.1 ? p.subarray(0, int(3)) : p, mask: mask() }));
      } else {
        parts.push(frame({ opcode: int(16), fin: rand() < 0.8, payload: bytes(int(20)), mask: rand() < 0.8 ? mask() : null, rsv: int(8) }));
      }
    }
    return Buffer.concat(parts);
  }

  function mutate(buf) {
    let b = Buffer.from(buf);
    const count = 1 + int(4);
    for (let k = 0; k < count; k++) {
      const op = int(7);
      const at = int(b.length + 1);
      if (op === 0 && b.length > 0) b[at % b.length] ^= 1 << int(8);
      else if (op === 1 && b.length > 0) b[at % b.length] = int(256);
      else if (op === 2) b = Buffer.concat([b.subarray(0, at), bytes(1 + int(4)), b.subarray(at)]);
      else if (op === 3 && b.length > 0) b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + int(4))]);
      else if (op === 4) b = b.subarray(0, at);
      else if (op === 5 && b.length > 0) b = Buffer.concat([b, b.subarray(int(b.length))]);
      else if (op === 6 && b.length > 1) b[at % b.length] = pick([0x7e, 0x7f, 0xfe, 0xff, 0x80, 0x00]);
    }
    return b;
  }

  function chunks(buf) {
    const out = [];
    // One byte at a time for short inputs; bigger random pieces for long ones (keeps the run bounded).
    const mode = buf.length > 2048 ? 2 + int(2) : int(4);
    let p = 0;
    while (p < buf.length) {
      const n = mode === 0 ? buf.length : mode === 1 ? 1 : mode === 2 ? 1 + int(buf.length > 2048 ? 4096 : 8) : 1 + int(buf.length);
      out.push(buf.subarray(p, p + n));
      p += n;
    }
    return out;
  }

  function input() {
    const toServer = rand() < 0.6;
    const r = rand();
    let data;
    if (r < 0.2) data = bytes(int(64));
    else if (r < 0.35) data = validStream(toServer);
    else data = mutate(validStream(toServer));
    return { isServer: rand() < 0.9 ? toServer : !toServer, data, chunks: chunks(data), maxPayload: pick([16 * 1024 * 1024, 4096, 100, 0]), inflate: rand() < 0.2 };
  }
  return { input };
}

/** An inflater stand-in that passes RSV1 payloads through synchronously (exercises pause/resume). */
const identityInflater = {
  inflate(payload, fin, done) {
    done(null, [Buffer.from(payload)]);
  },
};

function runOne(sample) {
  const problems = [];
  let ended = false;
  let failed = 0;
  let transportCloses = 0;
  const conn = new Connection(
    {
      onWrite(d) {
        if (transportCloses > 0) problems.push("write after onCloseTransport");
      },
      onMessage(d, isBinary) {
        if (ended) problems.push("message after the end");
        if (!isBinary) {
          try {
            STRICT.decode(d);
          } catch {
            problems.push("text message delivered with invalid UTF-8");
          }
        }
        if (d.length > sample.maxPayload) problems.push(`message of ${d.length} bytes exceeds maxPayload ${sample.maxPayload}`);
      },
      onPing(d) {
        if (ended) problems.push("ping after the end");
        if (d.length > 125) problems.push("ping payload over 125 bytes");
      },
      onPong(d) {
        if (ended) problems.push("pong after the end");
      },
      onCloseFrame() {
        if (ended) problems.push("close frame after the end");
      },
      onCloseTransport() {
        transportCloses++;
        if (transportCloses > 1) problems.push("onCloseTransport called twice");
        ended = true;
      },
      onProtocolError(err) {
        failed++;
        if (failed > 1) problems.push("onProtocolError called twice");
        if (!ALLOWED.has(err.closeCode)) problems.push(`close code ${err.closeCode} (${err.code})`);
        if (err.name !== "ProtocolError") problems.push(`error named ${err.name}`);
      },
    },
    { isServer: sample.isServer, maxPayload: sample.maxPayload, inflater: sample.inflate ? identityInflater : null },
  );
  for (const chunk of sample.chunks) {
    try {
      conn.receiveData(Buffer.from(chunk));
    } catch (err) {
      problems.push(`receiveData threw ${err?.name}: ${err?.message}`);
      break;
    }
  }
  return problems;
}

describe("RFC 6455 robustness: random and mutated input only ever yields 1002/1007/1009", () => {
  it(`${INPUTS} inputs (seed ${SEED}): nothing but ProtocolErrors, never a throw`, { timeout: 120_000 }, () => {
    const { input } = makeFuzzer(prng(SEED));
    const codes = new Map();
    let errors = 0;
    const started = Date.now();
    for (let n = 0; n < INPUTS; n++) {
      const sample = input();
      const problems = runOne(sample);
      if (problems.length > 0) {
        assert.fail(`seed ${SEED} input #${n} (${sample.isServer ? "server" : "client"}, maxPayload ${sample.maxPayload}, ${sample.chunks.length} chunks): ${problems.join("; ")}\n${hex(sample.data)}`);
      }
    }
    // Coverage sanity: the generator reaches every failure class and many successes.
    const { input: again } = makeFuzzer(prng(SEED));
    for (let n = 0; n < 3000; n++) {
      const sample = again();
      const conn = new Connection(
        {
          onWrite() {},
          onMessage() {},
          onPing() {},
          onPong() {},
          onCloseFrame() {},
          onCloseTransport() {},
          onProtocolError(err) {
            errors++;
            codes.set(err.closeCode, (codes.get(err.closeCode) ?? 0) + 1);
          },
        },
        { isServer: sample.isServer, maxPayload: sample.maxPayload },
      );
      for (const c of sample.chunks) conn.receiveData(Buffer.from(c));
    }
    for (const code of ALLOWED) assert.ok((codes.get(code) ?? 0) > 0, `no input failed with ${code}: the generator lost coverage`);
    assert.ok(errors < 3000 * 0.95, "almost every input failed: the generator lost coverage of valid streams");
    assert.ok(Date.now() - started < 100_000);
  });
});
