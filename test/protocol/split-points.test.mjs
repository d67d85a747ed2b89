// RFC 6455 §5.2/§5.4: the parser accepts any chunking. A multi-frame input fed whole, split in two at every
// index, and one byte at a time gives the identical event list.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Connection } from "../../dist/protocol/index.js";
import { c, closePayload, hex, parseFrames, s } from "../helpers/frames.mjs";
import { recorder, recordingHandlers } from "./recorder.mjs";

function run(isServer, chunks) {
  const { conn, events } = recorder(isServer);
  for (const chunk of chunks) conn.receiveData(Buffer.from(chunk)); // a copy: the server unmasks in place
  return events;
}

const kosme = Buffer.from("κόσμε 😀", "utf8");
const bin = Buffer.alloc(300, 0xa5);
const INPUT = Buffer.concat([
  c(0x1, "Hello"),
  // A fragmented text message with a code point split across fragments and control frames between them.
  c(0x1, kosme.subarray(0, 3), { fin: false }),
  c(0x9, "p1"),
  c(0x0, kosme.subarray(3, 11), { fin: false }),
  c(0xa, "unsolicited"),
  c(0x0, Buffer.alloc(0), { fin: false }),
  c(0x0, kosme.subarray(11), { fin: true }),
  c(0x2, bin), // 16-bit length
  c(0x2, Buffer.alloc(0)),
  c(0x9, Buffer.alloc(0)),
  c(0x8, closePayload(1000, "bye")),
  c(0x1, "after close: ignored"),
]);

const EXPECTED = [
  ["message", false, hex(Buffer.from("Hello"))],
  ["write", "8a027031"],
  ["ping", hex(Buffer.from("p1"))],
  ["pong", hex(Buffer.from("unsolicited"))],
  ["message", false, hex(kosme)],
  ["message", true, hex(bin)],
  ["message", true, ""],
  ["write", "8a00"],
  ["ping", ""],
  ["write", "880503e8627965"],
  ["closeFrame", 1000, "bye"],
  ["closeTransport"],
];

// A second input that ends in a protocol error (invalid UTF-8 in a later fragment), so error paths are split too.
const FAILING = Buffer.concat([
  c(0x2, "ok"),
  c(0x1, kosme.subarray(0, 5), { fin: false }),
  c(0x9, "x"),
  c(0x0, Buffer.from([0xce, 0xff]), { fin: true }),
  c(0x1, "never seen"),
]);
const FAILING_EXPECTED = [
  ["message", true, hex(Buffer.from("ok"))],
  ["write", "8a0178"],
  ["ping", hex(Buffer.from("x"))],
  ["write", "880203ef"],
  ["error", 1007, "WS_ERR_INVALID_UTF8"],
  ["closeTransport"],
];

// The same for a client: unmasked server frames, and the client's own writes are masked (compared unmasked).
const SERVER_INPUT = Buffer.concat([
  s(0x2, Buffer.alloc(70000, 1)), // 64-bit length
  s(0x1, kosme.subarray(0, 1), { fin: false }),
  s(0x9, "ping"),
  s(0x0, kosme.subarray(1)),
  s(0x8, closePayload(4000, "done")),
]);

function runClient(chunks) {
  const events = [];
  const conn = new Connection(
    {
      ...recordingHandlers(events),
      onWrite: (d) => {
        const f = parseFrames(Buffer.from(d)).frames[0];
        events.push(["write", f.masked, f.opcode, hex(f.payload)]);
      },
      onMessage: (d, isBinary) => events.push(["message", isBinary, d.length, hex(d.subarray(0, 16))]),
    },
    { isServer: false },
  );
  for (const chunk of chunks) conn.receiveData(Buffer.from(chunk));
  return events;
}

describe("RFC 6455 §5.2 framing, client side: every split point gives the same events", () => {
  const expected = [
    ["message", true, 70000, "01".repeat(16)],
    ["write", true, 0xa, hex(Buffer.from("ping"))],
    ["ping", hex(Buffer.from("ping"))],
    ["message", false, kosme.length, hex(kosme)],
    ["write", true, 0x8, hex(closePayload(4000, "done"))],
    ["closeFrame", 4000, "done"],
    ["closeTransport"],
  ];
  it("whole, and split in two at every index of the headers and the tail (every 997th inside the 70000-byte payload)", () => {
    assert.deepEqual(runClient([SERVER_INPUT]), expected);
    for (let i = 0; i <= SERVER_INPUT.length; i += i < 20 || i > SERVER_INPUT.length - 80 ? 1 : 997) {
      assert.deepEqual(runClient([SERVER_INPUT.subarray(0, i), SERVER_INPUT.subarray(i)]), expected, `split at ${i}`);
    }
  });
  it("one byte at a time", () => {
    const chunks = [];
    for (let i = 0; i < SERVER_INPUT.length; i++) chunks.push(SERVER_INPUT.subarray(i, i + 1));
    assert.deepEqual(runClient(chunks), expected);
  });
});

describe("RFC 6455 §5.2 framing: every split point gives the same events", () => {
  for (const [name, input, expected] of [
    ["messages, fragments, interleaved pings and a close", INPUT, EXPECTED],
    ["an input ending in a 1007 failure", FAILING, FAILING_EXPECTED],
  ]) {
    it(`${name}: whole input`, () => {
      assert.deepEqual(run(true, [input]), expected);
    });
    it(`${name}: split in two at every index (${input.length + 1} ways)`, () => {
      for (let i = 0; i <= input.length; i++) {
        const events = run(true, [input.subarray(0, i), input.subarray(i)]);
        assert.deepEqual(events, expected, `split at ${i}`);
      }
    });
    it(`${name}: one byte at a time`, () => {
      const chunks = [];
      for (let i = 0; i < input.length; i++) chunks.push(input.subarray(i, i + 1));
      assert.deepEqual(run(true, chunks), expected);
    });
    it(`${name}: split in three at every pair of indices in the first 80 bytes`, () => {
      const n = Math.min(80, input.length);
      for (let i = 0; i <= n; i++) {
        for (let j = i; j <= n; j++) {
          const events = run(true, [input.subarray(0, i), input.subarray(i, j), input.subarray(j)]);
          assert.deepEqual(events, expected, `split at ${i}, ${j}`);
        }
      }
    });
  }
});
