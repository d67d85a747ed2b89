// `wshub connect --trace` and `wshub serve --trace` (text and --trace=json): a scripted session — a handshake with a
// subprotocol and permessage-deflate, a fragmented text message, a 70,000-byte binary message, ping/pong, close
// 1000 — checked line by line. Each direction's lines come in a fixed order; the two directions interleave as the
// network delivers them, so they are checked one direction at a time, between the fixed handshake and close lines.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import WebSocket from "ws";
import { WebSocketServer } from "../../dist/index.js";
import { runCli, startServe } from "./spawn.mjs";

const TIME = String.raw`\d\d:\d\d:\d\d\.\d{3}`;
const BIG = 70_000;

/** Text lines of the trace (they start with a timestamp and a connection tag); other stderr lines are dropped. */
function traceLines(stderr, tag) {
  return stderr.split("\n").filter((l) => new RegExp(`^${TIME} ${tag} `).test(l)).map((l) => l.replace(new RegExp(`^${TIME} ${tag} `), ""));
}

/**
 * Checks `lines` against `expected` one by one (regexps). Control frames (ping, pong) may overtake a message still
 * being compressed (RFC 6455 §5.4 lets them in between), so they are checked in order among themselves, and the
 * data frames and messages among themselves.
 */
function matchAll(lines, expected, what) {
  const control = (x) => /\((ping|pong)\\?\)/.test(String(x));
  if (lines.some(control)) {
    matchSeq(lines.filter(control), expected.filter(control), `${what} (control)`);
    matchSeq(lines.filter((l) => !control(l)), expected.filter((re) => !control(re)), what);
    return;
  }
  matchSeq(lines, expected, what);
}

function matchSeq(lines, expected, what) {
  assert.equal(lines.length, expected.length, `${what}: ${lines.length} lines, expected ${expected.length}:\n${lines.join("\n")}`);
  expected.forEach((re, i) => assert.match(lines[i], re, `${what}, line ${i + 1}`));
}

/** Splits a trace into its head (handshake), its frames/messages by direction, and its tail (close). */
function split(lines, isHead, isTail, dirOf) {
  const head = lines.filter(isHead);
  const tail = lines.filter(isTail);
  const rest = lines.filter((l) => !isHead(l) && !isTail(l));
  assert.deepEqual(lines, [...head, ...rest, ...tail], "the handshake comes first and the close last");
  return { head, tail, out: rest.filter((l) => dirOf(l) === "out"), in: rest.filter((l) => dirOf(l) === "in") };
}

const F = (dir, bits, opcode, name, mask, len, form, rest = "") =>
  new RegExp(`^${dir} frame FIN=${bits[0]} RSV1=${bits[1]} RSV2=0 RSV3=0 opcode=${opcode} \\(${name}\\) MASK=${mask ? "1 key=[0-9a-f]{8}" : "0"} length=${len} \\(${form}-bit\\)${rest}$`);

/** The expected text lines of one end (`me`: "client" or "server"). */
function expectedText(me, port) {
  const sent = me === "client" ? ">" : "<"; // the direction of what the client sent, as this end sees it
  const got = me === "client" ? "<" : ">";
  const masked = me === "client"; // what this end sends is masked when it is the client
  const cm = !masked;
  const peer = me === "client" ? "server (remote)" : "client (remote)";
  return {
    head: [
      new RegExp(`^tcp open: local 127\\.0\\.0\\.1:\\d+, remote 127\\.0\\.0\\.1:\\d+$`),
      new RegExp(`^\\${sent} http request: GET /chat HTTP/1\\.1 \\| .*Sec-WebSocket-Key: [A-Za-z0-9+/]{22}==.*Sec-WebSocket-Protocol: chat`),
      new RegExp(`^\\${got} http response: HTTP/1\\.1 101 Switching Protocols \\| .*Sec-WebSocket-Accept: [A-Za-z0-9+/=]{28}.*Sec-WebSocket-Protocol: chat \\| Sec-WebSocket-Extensions: permessage-deflate`),
      /^accept check: key (?<key>\S{24}); key\+GUID \k<key>258EAFA5-E914-47DA-95CA-C5AB0DC85B11; SHA-1 [0-9a-f]{40}; base64 (?<accept>\S{28}); Sec-WebSocket-Accept \k<accept>: matches$/,
      /^negotiated: subprotocol chat; extensions permessage-deflate \(server_no_context_takeover, client_no_context_takeover\)$/,
    ],
    peer,
    sent,
    got,
    masked,
    cm,
    port,
  };
}

describe("wshub connect --trace", () => {
  for (const format of ["text", "json"]) {
    it(`traces a scripted session against a wshub server (--trace${format === "json" ? "=json" : ""})`, async () => {
      const big = randomBytes(BIG);
      const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
      wss.acceptProtocol("chat");
      await new Promise((r) => wss.once("listening", r));
      wss.on("connection", (ws) => {
        ws.onmessage = () => {
          // A fragmented text message (RFC 6455 §5.4), written through the core, then a 70,000-byte binary
          // message (compressed by permessage-deflate; random bytes stay above 65,535), then a ping.
          const conn = ws.transport.conn;
          conn.sendFrame(1, Buffer.from("Hello, "), false, false);
          conn.sendFrame(0, Buffer.from("world"), true, false);
          ws.send(big);
          ws.ping("are you there?");
        };
      });
      try {
        const flag = format === "json" ? "--trace=json" : "--trace";
        const r = await runCli(["connect", flag, "--protocol", "chat", "--wait", "1000", `ws://127.0.0.1:${wss.address().port}/chat`], { input: "/ping hi\nhello server\n" });
        assert.equal(r.code, 0, r.stderr);
        if (format === "text") checkClientText(r.stderr);
        else checkJson(r.stderr, "client");
      } finally {
        await wss.close({ timeout: 1000 });
      }
    });
  }
});

function checkClientText(stderr) {
  const lines = traceLines(stderr, "c1");
  const e = expectedText("client");
  const s = split(lines, (l) => /^(tcp open|[<>] http|accept check|negotiated)/.test(l), (l) => /^(closing handshake|tcp close)/.test(l) || /\(close\)/.test(l), (l) => (l.startsWith(">") ? "out" : "in"));
  matchAll(s.head, e.head, "handshake");
  matchAll(s.out, [
    F(">", "10", 9, "ping", true, 2, 7, ' payload "hi"'),
    F(">", "10", 1, "text", true, 12, 7, ' payload "hello server"'),
    F(">", "10", 10, "pong", true, 14, 7, ' payload "are you there\\?"'),
  ], "frames sent");
  matchAll(s.in, [
    F("<", "10", 10, "pong", false, 2, 7, ' payload "hi"'),
    F("<", "00", 1, "text", false, 7, 7, ' payload "Hello, "'),
    F("<", "10", 0, "continuation", false, 5, 7, ' payload "world"'),
    F("<", "11", 2, "binary", false, "\\d{5,}", 64, " compressed payload hex [0-9a-f]{64}…"),
    F("<", "10", 9, "ping", false, 14, 7, ' payload "are you there\\?"'),
    new RegExp(`^< message binary \\(permessage-deflate\\): \\d+ bytes compressed, ${BIG} bytes inflated$`),
  ], "frames received");
  matchAll(s.tail, [
    F(">", "10", 8, "close", true, 2, 7, " close 1000"),
    F("<", "10", 8, "close", false, 2, 7, " close 1000"),
    /^closing handshake: started by client \(local\); code 1000; clean \(both close frames exchanged\)$/,
    /^tcp close: FIN first from server \(remote\); FIN sent yes, FIN received yes; no reset$/,
  ], "close");
}

/** The JSON trace: one object per line, the same events as the text trace. */
function checkJson(stderr, me) {
  const objs = stderr.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
  assert.ok(objs.every((o) => typeof o.time === "string" && o.side === me && o.id === 1), "every line has a time, the side and the connection id");
  const kinds = objs.map((o) => `${o.channel}:${o.type ?? o.direction ?? ""}`);
  assert.deepEqual(kinds.slice(0, 5), ["wshub:connection:open", "wshub:handshake:request", "wshub:handshake:response", "wshub:handshake:accept", "wshub:handshake:negotiated"]);
  assert.deepEqual(kinds.slice(-2), ["wshub:close:", "wshub:connection:close"]);
  const accept = objs[3];
  assert.equal(accept.keyWithGuid, `${accept.key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`);
  assert.match(accept.sha1, /^[0-9a-f]{40}$/);
  assert.equal(Buffer.from(accept.sha1, "hex").toString("base64"), accept.expected);
  assert.equal(accept.matches, true);
  assert.equal(objs[4].protocol, "chat");
  assert.deepEqual(objs[4].extensions, [{ name: "permessage-deflate", params: { server_no_context_takeover: true, client_no_context_takeover: true } }]);
  const frames = objs.filter((o) => o.channel === "wshub:frame");
  const clientSent = me === "client" ? "out" : "in";
  for (const f of frames) {
    assert.equal(f.masked, f.direction === clientSent, "client frames are masked, server frames not (RFC 6455 §5.1)");
    assert.equal(f.maskKey === null, !f.masked);
  }
  const big = frames.find((f) => f.opcode === 2 && f.direction === (me === "client" ? "in" : clientSent));
  assert.equal(big.rsv1, true);
  assert.equal(big.lengthForm, 64);
  const frag = frames.filter((f) => f.messageOpcode === 1 && f.length > 0 && (f.opcode === 0 || !f.fin));
  assert.deepEqual(frag.map((f) => [f.opcode, f.fin, Buffer.from(f.payload, "hex").toString()]), [[1, false, "Hello, "], [0, true, "world"]]);
  const inflated = objs.find((o) => o.channel === "wshub:message" && o.direction === "in");
  assert.equal(inflated.length, BIG);
  const closes = frames.filter((f) => f.opcode === 8);
  assert.deepEqual(closes.map((f) => f.closeCode), [1000, 1000]);
  const close = objs.at(-2);
  assert.equal(close.code, 1000);
  assert.equal(close.wasClean, true);
  assert.equal(close.initiator, me === "client" ? "local" : "remote");
  const tcp = objs.at(-1);
  assert.deepEqual([tcp.finFirst, tcp.localFin, tcp.remoteFin, tcp.reset], [me === "client" ? "remote" : "local", true, true, false]);
}

describe("wshub serve --trace", () => {
  for (const format of ["text", "json"]) {
    it(`traces a scripted session of a ws client (--trace${format === "json" ? "=json" : ""})`, async () => {
      const server = await startServe(["--port", "0", "--protocol", "chat", format === "json" ? "--trace=json" : "--trace"]);
      try {
        const ws = new WebSocket(`ws://127.0.0.1:${server.port}/chat`, ["chat"]);
        const got = [];
        const closed = new Promise((resolve, reject) => {
          ws.on("close", (code) => resolve(code));
          ws.on("error", reject);
        });
        const pong = new Promise((r) => ws.once("pong", r));
        ws.on("open", () => {
          ws.send("Hello, ", { fin: false });
          ws.send("world", { fin: true });
          ws.send(randomBytes(BIG));
          ws.ping("are you there?");
        });
        ws.on("message", async (data) => {
          got.push(data);
          if (got.length === 2) {
            await pong;
            ws.close(1000, "bye");
          }
        });
        assert.equal(await closed, 1000);
        assert.equal(got[1].length, BIG);
        // The server's trace of the TCP close is written as the socket closes: wait for that line.
        await waitForOutput(server, /tcp close|"type":"close"/);
        const { stderr } = server.output();
        if (format === "json") checkJson(stderr, "server");
        else checkServerText(stderr);
      } finally {
        await server.stop();
      }
    });
  }
});

async function waitForOutput(server, re) {
  const child = server.child;
  if (re.test(server.output().stderr)) return;
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${re} in ${server.output().stderr}`)), 5000);
    const on = () => {
      if (!re.test(server.output().stderr)) return;
      clearTimeout(t);
      child.stderr.off("data", on);
      resolve();
    };
    child.stderr.on("data", on);
  });
}

function checkServerText(stderr) {
  const lines = traceLines(stderr, "s1");
  const e = expectedText("server");
  const s = split(lines, (l) => /^(tcp open|[<>] http|accept check|negotiated)/.test(l), (l) => /^(closing handshake|tcp close)/.test(l) || /\(close\)/.test(l), (l) => (l.startsWith(">") ? "out" : "in"));
  matchAll(s.head, e.head, "handshake");
  matchAll(s.in, [
    F("<", "00", 1, "text", true, 7, 7, ' payload "Hello, "'),
    F("<", "10", 0, "continuation", true, 5, 7, ' payload "world"'),
    F("<", "11", 2, "binary", true, "\\d{5,}", 64, " compressed payload hex [0-9a-f]{64}…"),
    F("<", "10", 9, "ping", true, 14, 7, ' payload "are you there\\?"'),
    new RegExp(`^< message binary \\(permessage-deflate\\): \\d+ bytes compressed, ${BIG} bytes inflated$`),
  ], "frames received");
  matchAll(s.out, [
    F(">", "10", 1, "text", false, 12, 7, ' payload "Hello, world"'),
    F(">", "10", 10, "pong", false, 14, 7, ' payload "are you there\\?"'),
    F(">", "11", 2, "binary", false, "\\d{5,}", 64, " compressed payload hex [0-9a-f]{64}…"),
    new RegExp(`^> message binary \\(permessage-deflate\\): ${BIG} bytes, \\d+ bytes compressed$`),
  ], "frames sent");
  matchAll(s.tail, [
    F("<", "10", 8, "close", true, 5, 7, ' close 1000 "bye"'),
    F(">", "10", 8, "close", false, 5, 7, ' close 1000 "bye"'),
    /^closing handshake: started by client \(remote\); code 1000 "bye"; clean \(both close frames exchanged\)$/,
    /^tcp close: FIN first from server \(local\); FIN sent yes, FIN received yes; no reset$/,
  ], "close");
}

describe("--trace usage", () => {
  it("takes text or json only, as --trace=VALUE (exit 2 otherwise); a bare --trace leaves the URL alone", async () => {
    for (const args of [["connect", "--trace=xml", "ws://127.0.0.1:1/"], ["connect", "--trace=", "ws://127.0.0.1:1/"], ["serve", "--trace=xml"]]) {
      const r = await runCli(args, { input: null, timeout: 10_000 });
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /--trace/);
    }
    // Port 1 refuses: the bare flag took no value, so the URL was dialed (exit 1, not a usage error).
    const r = await runCli(["connect", "--trace", "ws://127.0.0.1:1/"], { timeout: 10_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /cannot connect/);
  });
});
