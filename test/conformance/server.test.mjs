// Server conformance, table-driven: a raw TCP client sends exact bytes (masked client frames, RFC 6455 §5.3)
// to our WebSocketServer running an echo handler, and asserts the exact bytes that come back — echo frames,
// pongs, the close frame with its code — and that the server then closes TCP (RFC 6455 §7.1.1).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { WebSocketServer } from "../../dist/index.js";
import { c, closePayload, frame, s } from "../helpers/frames.mjs";
import { deflateRawSync, constants as zlibConstants } from "node:zlib";
import { connectRaw, diffAt, openWebSocket, splitHead, startEchoServer, waitFor, withTimeout } from "../helpers/index.mjs";

const CASE_TIMEOUT = 8000;
const MiB = 1024 * 1024;

let wss;
let port;

// ---- case builders ----------------------------------------------------------------------------------------

const cases = [];
const B = (x) => (typeof x === "string" ? Buffer.from(x, "utf8") : Buffer.from(x));
const cat = (list) => Buffer.concat(list);
const closeFrame = (code, reason = "") => s(0x8, closePayload(code, reason));
const CLIENT_CLOSE = c(0x8, closePayload(1000));
const SERVER_CLOSE_ECHO = closeFrame(1000);
const pattern = (n, seed = 0) => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 13 + seed) & 0xff;
  return b;
};
const ascii = (n) => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = 0x20 + ((i * 7) % 95);
  return b;
};

/** The client sends `sent` then a close 1000; the server answers `replies`, echoes the close and closes TCP. */
function echo(group, name, sent, replies, opts = {}) {
  cases.push({ group, name, steps: [{ send: cat([...sent, CLIENT_CLOSE]) }, { expect: cat([...replies, SERVER_CLOSE_ECHO]) }], ...opts });
}
/** The client sends `sent`; the server answers `replies`, then fails the connection with `code` and closes TCP. */
function fails(group, name, sent, code, replies = [], opts = {}) {
  cases.push({ group, name, steps: [{ send: cat(sent) }, { expect: cat([...replies, closeFrame(code)]) }], ...opts });
}
/** Explicit steps: { send }, { expect }, { delay } in order. */
function steps(group, name, list, opts = {}) {
  cases.push({ group, name, steps: list, ...opts });
}

// ---- RFC 6455 §5.2 framing and payload lengths --------------------------------------------------------------
{
  const G = "RFC 6455 §5.2 framing and payload lengths";
  for (const n of [0, 1, 125, 126, 127, 1000, 65535, 65536, 100000]) {
    echo(G, `text message of ${n} bytes is echoed`, [c(0x1, ascii(n))], [s(0x1, ascii(n))]);
    echo(G, `binary message of ${n} bytes is echoed`, [c(0x2, pattern(n))], [s(0x2, pattern(n))]);
  }
  for (const n of [0, 125, 126]) {
    const f = c(0x2, pattern(n, 3));
    const list = [];
    for (let i = 0; i < f.length; i++) list.push({ send: f.subarray(i, i + 1) });
    steps(G, `binary frame of ${n} bytes sent one byte per write`, [...list, { send: CLIENT_CLOSE }, { expect: cat([s(0x2, pattern(n, 3)), SERVER_CLOSE_ECHO]) }]);
  }
  {
    const f = c(0x2, pattern(70000, 1));
    steps(G, "header and payload of a 70000-byte frame in separate writes, 20 ms apart", [
      { send: f.subarray(0, 14) },
      { delay: 20 },
      { send: f.subarray(14, 30000) },
      { delay: 20 },
      { send: f.subarray(30000) },
      { send: CLIENT_CLOSE },
      { expect: cat([s(0x2, pattern(70000, 1)), SERVER_CLOSE_ECHO]) },
    ]);
  }
  {
    const sent = [];
    const replies = [];
    for (let i = 0; i < 20; i++) {
      sent.push(i % 2 ? c(0x2, pattern(i * 10, i)) : c(0x1, ascii(i * 10)));
      replies.push(i % 2 ? s(0x2, pattern(i * 10, i)) : s(0x1, ascii(i * 10)));
    }
    echo(G, "20 messages in one write are echoed in order", sent, replies);
  }
  echo(G, "a 5-byte payload in the 16-bit length form is accepted", [c(0x1, "hello", { extended: 16 })], [s(0x1, "hello")]);
  echo(G, "a 5-byte payload in the 64-bit length form is accepted", [c(0x2, "hello", { extended: 64 })], [s(0x2, "hello")]);
  echo(G, "a 16 MiB message (exactly maxPayload) is echoed", [c(0x2, pattern(16 * MiB, 5))], [s(0x2, pattern(16 * MiB, 5))], { timeout: 60000, big: true });
  fails(G, "a frame header announcing 16 MiB + 1 fails with 1009 before the payload is sent", [c(0x2, Buffer.alloc(0), { length: 16 * MiB + 1 })], 1009);
  fails(
    G,
    "fragments of one message count together: 9 MiB + a 9 MiB continuation header fails with 1009",
    [c(0x2, pattern(9 * MiB), { fin: false }), c(0x0, Buffer.alloc(0), { length: 9 * MiB })],
    1009,
    [],
    { timeout: 30000, big: true },
  );
  fails(G, "a 64-bit length of 2^32 fails with 1009 from the header alone", [c(0x2, Buffer.alloc(0), { length: 2 ** 32 })], 1009);
  fails(G, "a 64-bit length with the most significant bit set fails with 1002", [B([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 5])], 1002);
  fails(G, "a 64-bit length with all bits set fails with 1002", [B([0x82, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])], 1002);
}

// ---- RFC 6455 §5.5.2/§5.5.3 pings and pongs -----------------------------------------------------------------
{
  const G = "RFC 6455 §5.5.2-3 pings and pongs";
  for (const n of [0, 1, 2, 50, 124, 125]) {
    echo(G, `a ping of ${n} bytes is answered by a pong with the same payload`, [c(0x9, ascii(n))], [s(0xa, ascii(n))]);
  }
  echo(G, "a 125-byte binary ping payload is echoed in the pong", [c(0x9, pattern(125, 9))], [s(0xa, pattern(125, 9))]);
  echo(G, "three pings in one write get three pongs in order", [c(0x9, "1"), c(0x9, "2"), c(0x9, "3")], [s(0xa, "1"), s(0xa, "2"), s(0xa, "3")]);
  echo(G, "a ping between two messages: pong and echoes keep their order", [c(0x1, "a"), c(0x9, "p"), c(0x1, "b")], [s(0x1, "a"), s(0xa, "p"), s(0x1, "b")]);
  {
    const f = c(0x9, "slow");
    steps(G, "a ping sent one byte per write", [...[...f].map((b) => ({ send: B([b]) })), { send: CLIENT_CLOSE }, { expect: cat([s(0xa, "slow"), SERVER_CLOSE_ECHO]) }]);
  }
  fails(G, "a 126-byte ping (16-bit length form) fails with 1002", [c(0x9, pattern(126))], 1002);
  fails(G, "a 5-byte ping in the 64-bit length form (len7 = 127) fails with 1002", [c(0x9, "hello", { extended: 64 })], 1002);
  fails(G, "a 5-byte ping in the 16-bit length form (len7 = 126 > 125) fails with 1002", [c(0x9, "hello", { extended: 16 })], 1002);
  for (const n of [0, 1, 125]) echo(G, `an unsolicited pong of ${n} bytes is ignored`, [c(0xa, pattern(n))], []);
  echo(G, "an unsolicited pong between messages is ignored", [c(0x1, "x"), c(0xa, "hb"), c(0x1, "y")], [s(0x1, "x"), s(0x1, "y")]);
  fails(G, "a 126-byte pong fails with 1002", [c(0xa, pattern(126))], 1002);
}

// ---- RFC 6455 §5.2 reserved bits -------------------------------------------------------------------------------
{
  const G = "RFC 6455 §5.2 reserved bits (no extension negotiated)";
  const kinds = [
    ["text", (rsv) => [c(0x1, "x", { rsv })]],
    ["binary", (rsv) => [c(0x2, "x", { rsv })]],
    ["ping", (rsv) => [c(0x9, "x", { rsv })]],
    ["close", (rsv) => [c(0x8, closePayload(1000), { rsv })]],
    ["continuation", (rsv) => [c(0x1, "a", { fin: false }), c(0x0, "b", { rsv })]],
  ];
  for (let rsv = 1; rsv <= 7; rsv++) {
    const bits = [rsv & 4 ? "RSV1" : "", rsv & 2 ? "RSV2" : "", rsv & 1 ? "RSV3" : ""].filter(Boolean).join("+");
    for (const [kind, make] of kinds) fails(G, `${bits} set on a ${kind} frame fails with 1002`, make(rsv), 1002);
  }
  fails(G, "RSV2 on a frame after a good message: echo, then 1002", [c(0x1, "ok"), c(0x1, "x", { rsv: 2 })], 1002, [s(0x1, "ok")]);
}

// ---- RFC 6455 §5.2 reserved opcodes -------------------------------------------------------------------------
{
  const G = "RFC 6455 §5.2 reserved opcodes";
  for (const op of [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]) {
    const h = `0x${op.toString(16)}`;
    fails(G, `opcode ${h} with no payload fails with 1002`, [c(op, Buffer.alloc(0))], 1002);
    fails(G, `opcode ${h} with a payload fails with 1002`, [c(op, "reserved")], 1002);
    fails(G, `opcode ${h} after a good message: echo, then 1002`, [c(0x1, "first"), c(op, "x")], 1002, [s(0x1, "first")]);
  }
}

// ---- RFC 6455 §5.4 fragmentation ------------------------------------------------------------------------------
{
  const G = "RFC 6455 §5.4 fragmentation";
  const split = (op, parts, extra = {}) => parts.map((p, i) => c(i === 0 ? op : 0x0, p, { fin: i === parts.length - 1, ...extra }));
  echo(G, "text in 2 fragments", split(0x1, ["Hello, ", "World"]), [s(0x1, "Hello, World")]);
  echo(G, "text in 3 fragments", split(0x1, ["a", "b", "c"]), [s(0x1, "abc")]);
  echo(G, "text in 10 one-byte fragments", split(0x1, [..."0123456789"]), [s(0x1, "0123456789")]);
  echo(G, "text with an empty first fragment", split(0x1, ["", "rest"]), [s(0x1, "rest")]);
  echo(G, "text with an empty last fragment", split(0x1, ["all", ""]), [s(0x1, "all")]);
  echo(G, "text made of three empty fragments", split(0x1, ["", "", ""]), [s(0x1, "")]);
  echo(G, "binary in 2 fragments", split(0x2, [pattern(10), pattern(20, 1)]), [s(0x2, cat([pattern(10), pattern(20, 1)]))]);
  echo(G, "binary in 3 fragments of 65536 + 1 + 126 bytes", split(0x2, [pattern(65536), B([7]), pattern(126)]), [s(0x2, cat([pattern(65536), B([7]), pattern(126)]))]);
  echo(G, "a ping between text fragments: pong first, then the message", [c(0x1, "fr", { fin: false }), c(0x9, "p"), c(0x0, "ag")], [s(0xa, "p"), s(0x1, "frag")]);
  echo(G, "a ping between binary fragments", [c(0x2, B([1]), { fin: false }), c(0x9, ""), c(0x0, B([2]))], [s(0xa, ""), s(0x2, B([1, 2]))]);
  echo(G, "a pong between fragments is ignored", [c(0x1, "x", { fin: false }), c(0xa, "u"), c(0x0, "y")], [s(0x1, "xy")]);
  echo(
    G,
    "ping, pong and ping between three fragments",
    [c(0x1, "1", { fin: false }), c(0x9, "a"), c(0x0, "2", { fin: false }), c(0xa, "b"), c(0x9, "c"), c(0x0, "3")],
    [s(0xa, "a"), s(0xa, "c"), s(0x1, "123")],
  );
  steps(G, "fragments in separate writes 20 ms apart", [
    { send: c(0x1, "one ", { fin: false }) },
    { delay: 20 },
    { send: c(0x0, "two ", { fin: false }) },
    { delay: 20 },
    { send: c(0x0, "three") },
    { send: CLIENT_CLOSE },
    { expect: cat([s(0x1, "one two three"), SERVER_CLOSE_ECHO]) },
  ]);
  echo(G, "two fragmented messages back to back", [...split(0x1, ["a", "b"]), ...split(0x2, [B([1]), B([2])])], [s(0x1, "ab"), s(0x2, B([1, 2]))]);
  // A close in the middle of a message ends the connection; the partial message is dropped.
  cases.push({ group: G, name: "a close between fragments is echoed and the partial message dropped", steps: [{ send: cat([c(0x1, "part", { fin: false }), c(0x8, closePayload(1000))]) }, { expect: SERVER_CLOSE_ECHO }] });
  fails(G, "a continuation with no message open (FIN set) fails with 1002", [c(0x0, "x")], 1002);
  fails(G, "a continuation with no message open (FIN clear) fails with 1002", [c(0x0, "x", { fin: false })], 1002);
  fails(G, "a continuation after a finished message fails with 1002", [c(0x1, "done"), c(0x0, "x")], 1002, [s(0x1, "done")]);
  for (const [a, b] of [[1, 1], [1, 2], [2, 1], [2, 2]]) {
    fails(G, `a new ${b === 1 ? "text" : "binary"} frame while a ${a === 1 ? "text" : "binary"} message is open fails with 1002`, [c(a, "a", { fin: false }), c(b, "b")], 1002);
  }
  fails(G, "a new data frame after a ping inside an open message fails with 1002", [c(0x1, "a", { fin: false }), c(0x9, "p"), c(0x1, "b")], 1002, [s(0xa, "p")]);
  for (const [name, op, payload] of [["ping", 0x9, B("p")], ["pong", 0xa, B("p")], ["close", 0x8, closePayload(1000)]]) {
    fails(G, `a fragmented ${name} (FIN clear) fails with 1002`, [c(op, payload, { fin: false })], 1002);
  }
}

// ---- RFC 6455 §8.1 UTF-8 ---------------------------------------------------------------------------------------
{
  const G = "RFC 6455 §8.1 UTF-8 in text messages";
  const VALID = ["", "ASCII only", "κόσμε", "€ 中文", "😀 emoji", "\u0080\u07ff\u0800\uffff", "\ud7ff\ue000\u{10000}\u{10ffff}", "x".repeat(200) + "é"];
  for (const t of VALID) echo(G, `valid text ${JSON.stringify(t.length > 20 ? t.slice(0, 12) + "…" : t)} is echoed`, [c(0x1, t)], [s(0x1, t)]);
  const INVALID = [
    ["a lone continuation byte 80", [0x80]],
    ["continuation BF after ASCII", [0x61, 0xbf]],
    ["overlong C0 80", [0xc0, 0x80]],
    ["overlong C1 BF", [0xc1, 0xbf]],
    ["overlong E0 80 80", [0xe0, 0x80, 0x80]],
    ["overlong E0 9F BF", [0xe0, 0x9f, 0xbf]],
    ["overlong F0 80 80 80", [0xf0, 0x80, 0x80, 0x80]],
    ["surrogate ED A0 80 (U+D800)", [0xed, 0xa0, 0x80]],
    ["surrogate ED BF BF (U+DFFF)", [0xed, 0xbf, 0xbf]],
    ["F4 90 80 80 (U+110000)", [0xf4, 0x90, 0x80, 0x80]],
    ["F5 80 80 80", [0xf5, 0x80, 0x80, 0x80]],
    ["FE", [0xfe]],
    ["FF", [0xff]],
    ["C3 then ASCII", [0xc3, 0x41]],
    ["truncated 3-byte E2 82 at the end", [0xe2, 0x82]],
    ["truncated 4-byte F0 9F 98 at the end", [0xf0, 0x9f, 0x98]],
    ["valid text then FF", [...B("κόσμε"), 0xff]],
    ["a long valid prefix then a surrogate", [...B("y".repeat(100)), 0xed, 0xa0, 0x80]],
  ];
  for (const [name, bytes] of INVALID) fails(G, `invalid UTF-8 (${name}) fails with 1007`, [c(0x1, B(bytes))], 1007);
  // Code points split across fragments are fine.
  for (const t of ["é", "€", "😀", "κόσμε"]) {
    const b = B(t);
    for (let i = 1; i < b.length; i++) {
      echo(G, `${JSON.stringify(t)} split after byte ${i} of ${b.length} across two fragments`, [c(0x1, b.subarray(0, i), { fin: false }), c(0x0, b.subarray(i))], [s(0x1, t)]);
    }
  }
  {
    const b = B("😀");
    echo(G, "a 4-byte code point in four one-byte fragments", [c(0x1, b.subarray(0, 1), { fin: false }), c(0x0, b.subarray(1, 2), { fin: false }), c(0x0, b.subarray(2, 3), { fin: false }), c(0x0, b.subarray(3))], [s(0x1, "😀")]);
  }
  // Fail fast: an invalid first fragment gets 1007 before the later fragments are sent.
  const FIRST = [
    ["FF", [0xff]],
    ["overlong C0 80", [0xc0, 0x80]],
    ["surrogate ED A0 80", [0xed, 0xa0, 0x80]],
    ["F4 90 (beyond U+10FFFF)", [0xf4, 0x90]],
    ["CE then ASCII", [0xce, 0x41]],
    ["valid κόσμε then F8", [...B("κόσμε"), 0xf8]],
  ];
  for (const [name, bytes] of FIRST) {
    steps(G, `fail-fast: an invalid first fragment (${name}) gets 1007 before the rest is sent`, [
      { send: c(0x1, B(bytes), { fin: false }) },
      { expect: closeFrame(1007) },
      { send: cat([c(0x0, "valid rest", { fin: false }), c(0x0, "end")]) },
    ]);
  }
  steps(G, "fail-fast: an invalid middle fragment gets 1007 before the last is sent", [
    { send: cat([c(0x1, "ok ", { fin: false }), c(0x0, B([0xed, 0xbf, 0xbf]), { fin: false })]) },
    { expect: closeFrame(1007) },
    { send: c(0x0, "end") },
  ]);
  steps(G, "fail-fast: a bad continuation byte at the start of the second fragment", [
    { send: c(0x1, B([0xe2, 0x82]), { fin: false }) },
    { delay: 20 },
    { send: c(0x0, B([0x41, 0x41]), { fin: false }) },
    { expect: closeFrame(1007) },
    { send: c(0x0, "end") },
  ]);
  fails(G, "a message whose last fragment ends inside a code point fails with 1007", [c(0x1, B([0x61, 0xe2]), { fin: false }), c(0x0, B([0x82]))], 1007);
  fails(G, "a message ending with an incomplete 4-byte sequence across fragments fails with 1007", [c(0x1, B([0xf0, 0x9f]), { fin: false }), c(0x0, B([0x98]))], 1007);
}

// ---- RFC 6455 §5.5.1/§7.4 close frames ------------------------------------------------------------------------
{
  const G = "RFC 6455 §5.5.1 and §7.4 close codes and reasons";
  for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999]) {
    cases.push({ group: G, name: `close ${code} is echoed with the same code`, steps: [{ send: c(0x8, closePayload(code)) }, { expect: closeFrame(code) }] });
  }
  for (const reason of ["bye", "κόσμε 😀", "r".repeat(123)]) {
    cases.push({
      group: G,
      name: `close 1000 with a ${B(reason).length}-byte reason is echoed with code and reason`,
      steps: [{ send: c(0x8, closePayload(1000, reason)) }, { expect: closeFrame(1000, reason) }],
    });
  }
  cases.push({ group: G, name: "an empty close is answered with an empty close", steps: [{ send: c(0x8, Buffer.alloc(0)) }, { expect: B([0x88, 0x00]) }] });
  for (const code of [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]) {
    fails(G, `close ${code} fails with 1002`, [c(0x8, closePayload(code))], 1002);
  }
  fails(G, "a 1-byte close payload fails with 1002", [c(0x8, B([0x03]))], 1002);
  fails(G, "a close of 126 bytes (16-bit form) fails with 1002", [c(0x8, closePayload(1000, "r".repeat(124)))], 1002);
  for (const [name, bytes] of [["FF", [0xff]], ["a surrogate", [0xed, 0xa0, 0x80]], ["a truncated code point", [0x61, 0xe2, 0x82]]]) {
    fails(G, `a close reason with invalid UTF-8 (${name}) fails with 1007`, [c(0x8, closePayload(1000, B(bytes)))], 1007);
  }
}

// ---- RFC 6455 §5.1 masking -------------------------------------------------------------------------------------
{
  const G = "RFC 6455 §5.1 client frames must be masked";
  for (const [name, op, payload] of [["text", 1, B("hi")], ["binary", 2, B([1])], ["ping", 9, B("p")], ["pong", 10, B("p")], ["close", 8, closePayload(1000)], ["empty text", 1, B("")]]) {
    fails(G, `an unmasked ${name} frame fails with 1002`, [s(op, payload)], 1002);
  }
  fails(G, "an unmasked frame after a masked message: echo, then 1002", [c(0x1, "masked"), s(0x1, "plain")], 1002, [s(0x1, "masked")]);
  fails(G, "an unmasked continuation inside a masked message fails with 1002", [c(0x1, "a", { fin: false }), s(0x0, "b")], 1002);
}

// ---- RFC 6455 §5.5.1 data after close ------------------------------------------------------------------------
{
  const G = "RFC 6455 §5.5.1 nothing is processed after a close frame";
  cases.push({ group: G, name: "a text frame after the close, same write, is ignored", steps: [{ send: cat([c(0x8, closePayload(1000)), c(0x1, "late")]) }, { expect: SERVER_CLOSE_ECHO }] });
  cases.push({ group: G, name: "a ping after the close is not answered", steps: [{ send: cat([c(0x8, closePayload(1000)), c(0x9, "late")]) }, { expect: SERVER_CLOSE_ECHO }] });
  cases.push({
    group: G,
    name: "a frame sent after the close echo arrived is ignored",
    steps: [{ send: c(0x8, closePayload(1001)) }, { expect: closeFrame(1001) }, { send: c(0x1, "late") }],
  });
  cases.push({ group: G, name: "garbage after the close is ignored", steps: [{ send: cat([c(0x8, closePayload(1000)), B([0xff, 0xff, 0xff, 0xff])]) }, { expect: SERVER_CLOSE_ECHO }] });
}

// ---- runner ------------------------------------------------------------------------------------------------------

/** A case's `delay` step: pacing between two writes (separate reads at the server), not a wait for anything. */
const delay = (ms) => new Promise((r) => setTimeout(r, ms));

async function runCase(kase) {
  const ms = kase.timeout ?? CASE_TIMEOUT;
  const peer = await openWebSocket(port, ms);
  try {
    let pos = 0;
    for (const step of kase.steps) {
      if (step.delay !== undefined) await delay(step.delay);
      else if (step.send !== undefined) peer.write(step.send);
      else if (step.expect !== undefined) {
        const exp = step.expect;
        await peer.waitFor(() => peer.receivedLength >= pos + exp.length || peer.ended, ms, `${exp.length} bytes from the server`).catch((err) => {
          throw new Error(`${err.message}\n${diffAt(peer.received.subarray(pos), exp)}`);
        });
        const got = peer.received.subarray(pos, pos + exp.length);
        if (!got.equals(exp)) assert.fail(`unexpected bytes: ${diffAt(got, exp)}`);
        pos += exp.length;
      }
    }
    // RFC 6455 §7.1.1: after the closing handshake (or a failure) the server closes the TCP connection.
    await peer.waitFor(() => peer.ended, ms, "the server to close TCP");
    if (peer.received.length !== pos) {
      assert.fail(`server sent ${peer.received.length - pos} unexpected extra bytes: ${peer.received.subarray(pos, pos + 32).toString("hex")}`);
    }
  } finally {
    peer.destroy();
  }
}

describe("server conformance (raw TCP client, exact bytes)", () => {
  before(async () => {
    wss = await startEchoServer();
    port = wss.address().port;
  });
  after(async () => {
    await wss.close({ timeout: 2000 });
  });

  it(`the table holds at least 150 cases (${cases.length})`, () => {
    assert.ok(cases.length >= 150);
    const names = new Set(cases.map((k) => `${k.group}: ${k.name}`));
    assert.equal(names.size, cases.length, "case names are unique");
  });

  const groups = [...new Set(cases.map((k) => k.group))];
  for (const group of groups) {
    describe(group, { concurrency: 6 }, () => {
      for (const kase of cases.filter((k) => k.group === group)) {
        it(kase.name, { timeout: (kase.timeout ?? CASE_TIMEOUT) * 3 }, () => runCase(kase));
      }
    });
  }

  it("after every case, the same server still serves a fresh connection", { timeout: 10000 }, async () => {
    await runCase({ steps: [{ send: cat([c(0x1, "still here"), c(0x9, "alive"), CLIENT_CLOSE]) }, { expect: cat([s(0x1, "still here"), s(0xa, "alive"), SERVER_CLOSE_ECHO]) }] });
    // Every connection of the suite ends: the server drops it from `clients` once its socket closes.
    await waitFor(() => wss.clients.size === 0, "every connection to leave clients", 2000).catch(() => {});
    assert.equal(wss.clients.size, 0, "every connection of the suite is gone from clients");
  });
});

describe("RFC 6455 §7.1.1-§7.1.2 server-initiated closing handshake (raw TCP client)", () => {
  let closing;
  let closingPort;
  before(async () => {
    closing = new WebSocketServer({ host: "127.0.0.1", port: 0, closeTimeout: 300 });
    closing.on("connection", (ws) => {
      ws.onmessage = (e) => {
        if (String(e.data) === "close-me") ws.close(4000, "bye");
      };
    });
    await new Promise((resolve) => closing.once("listening", resolve));
    closingPort = closing.address().port;
  });
  after(async () => {
    await closing.close({ timeout: 1000 });
  });

  it("the server sends close 4000 'bye', the client answers, and the server closes TCP", { timeout: 10000 }, async () => {
    const peer = await openWebSocket(closingPort);
    try {
      peer.write(c(0x1, "close-me"));
      await peer.waitFor(() => peer.received.length >= 7, 5000, "the server's close frame");
      assert.equal(peer.received.toString("hex"), closeFrame(4000, "bye").toString("hex"));
      peer.write(c(0x8, closePayload(4000, "bye")));
      await peer.waitFor(() => peer.ended, 5000, "the server to close TCP");
      assert.equal(peer.received.length, 7);
    } finally {
      peer.destroy();
    }
  });

  it("a ping that crosses the server's close is still answered (RFC 6455 §5.5.2)", { timeout: 10000 }, async () => {
    const peer = await openWebSocket(closingPort);
    try {
      peer.write(c(0x1, "close-me"));
      await peer.waitFor(() => peer.received.length >= 7, 5000, "the server's close frame");
      peer.write(Buffer.concat([c(0x9, "crossing"), c(0x8, closePayload(4000))]));
      await peer.waitFor(() => peer.ended, 5000, "the server to close TCP");
      assert.equal(peer.received.toString("hex"), Buffer.concat([closeFrame(4000, "bye"), s(0xa, "crossing")]).toString("hex"));
    } finally {
      peer.destroy();
    }
  });

  it("a client that never answers the close is cut off at the server's closing timeout", { timeout: 10000 }, async () => {
    const peer = await openWebSocket(closingPort);
    try {
      peer.write(c(0x1, "close-me"));
      await peer.waitFor(() => peer.received.length >= 7, 5000, "the server's close frame");
      const started = Date.now();
      await peer.waitFor(() => peer.ended || peer.closed, 5000, "the server to drop the connection");
      const waited = Date.now() - started;
      assert.ok(waited >= 200, `dropped after ${waited} ms, before the 300 ms closing timeout`);
      assert.equal(peer.received.toString("hex"), closeFrame(4000, "bye").toString("hex"));
    } finally {
      peer.destroy();
    }
  });
});

describe("RFC 6455 §7.1.1 a peer's TCP FIN does not discard frames it sent before (raw TCP client)", () => {
  // With permessage-deflate negotiated, an inflation runs asynchronously while later frames wait in the parser.
  // A client that sends a compressed message, its close and its FIN at once must still be heard in full.
  it("compressed message + close + FIN in one write: the message arrives and the close is clean", { timeout: 15000 }, async () => {
    const srv = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: true });
    const seen = [];
    const done = new Promise((resolve) => {
      srv.on("connection", (ws) => {
        ws.onmessage = (e) => seen.push(["message", String(e.data).length]);
        ws.onclose = (e) => {
          seen.push(["close", e.code, e.wasClean]);
          resolve();
        };
      });
    });
    await new Promise((resolve) => srv.once("listening", resolve));
    const peer = await connectRaw(srv.address().port);
    try {
      peer.write(
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
      );
      await peer.waitFor(() => splitHead(peer.received) !== null, 5000, "the 101");
      const head = splitHead(peer.received);
      assert.equal(head.status, 101);
      assert.match(head.headers["sec-websocket-extensions"] ?? "", /permessage-deflate/);
      peer.received = Buffer.from(head.rest);
      // RFC 7692 §7.2.1: compress, then drop the 00 00 FF FF tail of the sync flush.
      const text = "hello ".repeat(20000);
      const z = deflateRawSync(Buffer.from(text), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
      peer.socket.end(Buffer.concat([c(0x1, z.subarray(0, z.length - 4), { rsv: 4 }), c(0x8, closePayload(1000))]));
      await peer.waitFor(() => peer.closed, 5000, "the connection to close");
      await withTimeout(done, 2000, "the server-side close event").catch(() => {});
      assert.deepEqual(seen, [["message", text.length], ["close", 1000, true]]);
      assert.equal(peer.received.subarray(-4).toString("hex"), "880203e8", "the close is echoed");
    } finally {
      peer.destroy();
      await srv.close({ timeout: 1000 });
    }
  });
});
