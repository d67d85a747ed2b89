/**
 * Shared fixtures of the interop tests (python.test.mjs, ws.test.mjs): the payload matrix both peers exchange,
 * the fragmented messages, an echoing wshub server that records what it saw per path, and a wshub client with a
 * message queue. Not a test file.
 */
import assert from "node:assert/strict";
import { WebSocket } from "../../dist/index.js";
import { nextEvent, messageQueue, sha256, textPayload, binaryPayload } from "../helpers/index.mjs";

/** Message sizes in octets: empty, one, 64 KiB (16-bit length) and 8 MiB (64-bit length) — RFC 6455 §5.2. */
export const SIZES = [0, 1, 64 * 1024, 8 * 1024 * 1024];
export const KINDS = ["text", "binary"];

/** The deterministic payload of a kind and size (test/interop/py/payloads.py builds the same ones). */
export const payload = (kind, n) => (kind === "text" ? textPayload(n) : binaryPayload(n));

/** What a message was, as both sides report it: { kind, size in octets, sha256 }. */
export const describeData = (data) => ({
  kind: typeof data === "string" ? "text" : "binary",
  size: typeof data === "string" ? Buffer.byteLength(data) : data.length,
  sha256: sha256(data),
});

/** describeData of every payload, kinds in KINDS order, sizes in SIZES order. */
export const EXPECTED = KINDS.flatMap((kind) => SIZES.map((n) => describeData(payload(kind, n))));

/** The messages each peer sends as several frames (RFC 6455 §5.4) on "cmd:fragments" or by itself. */
export const TEXT_FRAGMENTED = "fragménted ✓";
export const BINARY_FRAGMENTED = Buffer.from([0, 1, 2, 3, 4]);

/** The { code, reason, wasClean } of a close event. */
export const closeInfo = (ev) => ({ code: ev.code, reason: ev.reason, wasClean: ev.wasClean });

/**
 * Makes our server `wss` echo every message and record, per request path, what it saw: { messages (describeData),
 * pings, pongs, closed (a promise of closeInfo) }. Two commands are not echoed: "cmd:ping-me" pings the peer with
 * "srv-ping" and answers its pong with "pong-seen:<payload>"; "cmd:close-me" closes with 4002 "server-bye".
 * Returns the Map from path to record.
 */
export function recordEchoServer(wss) {
  const connections = new Map();
  wss.on("connection", (ws, req) => {
    const record = { messages: [], pings: [], pongs: [] };
    record.closed = new Promise((resolve) => ws.addEventListener("close", (ev) => resolve(closeInfo(ev))));
    connections.set(req.url, record);
    ws.addEventListener("ping", (ev) => record.pings.push(ev.data.toString()));
    ws.addEventListener("pong", (ev) => record.pongs.push(ev.data.toString()));
    ws.addEventListener("message", (ev) => {
      const data = ev.data;
      if (data === "cmd:ping-me") {
        ws.addEventListener("pong", (p) => ws.send(`pong-seen:${p.data.toString()}`), { once: true });
        ws.ping("srv-ping");
      } else if (data === "cmd:close-me") {
        ws.close(4002, "server-bye");
      } else {
        record.messages.push(describeData(data));
        ws.send(data);
      }
    });
  });
  return connections;
}

/**
 * Opens our WebSocket client (binaryType "nodebuffer") at `url`; resolves once it is open with { ws, inbox, pings }:
 * `inbox` queues its messages, `pings` lists the payloads (as strings) of the pings it received.
 */
export async function openClient(url) {
  const ws = new WebSocket(url, undefined, { binaryType: "nodebuffer" });
  const inbox = messageQueue(ws);
  const pings = [];
  ws.addEventListener("ping", (ev) => pings.push(ev.data.toString()));
  await nextEvent(ws, "open", 5000);
  return { ws, inbox, pings };
}

/**
 * Sends every payload of the matrix from `sock` (ours or a `ws` socket), each after the previous echo, and checks
 * that each echo is the same message: same kind, size and digest, and the same string or bytes.
 */
export async function expectEchoes(sock, inbox) {
  for (const kind of KINDS) {
    for (const n of SIZES) {
      const data = payload(kind, n);
      sock.send(data);
      const echo = await inbox.next();
      assert.deepEqual(describeData(echo), describeData(data), `${kind} ${n} B echo`);
      if (kind === "text") assert.equal(echo, data, `text ${n} B echo`);
      else assert.ok(Buffer.isBuffer(echo) && echo.equals(data), `binary ${n} B echo`);
    }
  }
}

/** RFC 6455 §5.5.2-3: pings the peer from our `ws` with `data` and checks the pong carries the same payload. */
async function expectPong(ws, data) {
  const pong = nextEvent(ws, "pong");
  ws.ping(data);
  assert.equal((await pong).data.toString(), data);
}

/** Sends every payload of the matrix from `sock` back to back, without waiting, and checks the echoes in order. */
export async function expectPipelinedEchoes(sock, inbox) {
  for (const kind of KINDS) for (const n of SIZES) sock.send(payload(kind, n));
  for (const kind of KINDS) {
    for (const n of SIZES) assert.deepEqual(describeData(await inbox.next()), describeData(payload(kind, n)), `${kind} ${n} B`);
  }
}

/** RFC 6455 §5.4: the next two messages are TEXT_FRAGMENTED and BINARY_FRAGMENTED, each whole. */
export async function expectFragmented(inbox) {
  assert.equal(await inbox.next(), TEXT_FRAGMENTED);
  assert.deepEqual(await inbox.next(), BINARY_FRAGMENTED);
}

/**
 * Our client's side of the exchange with a peer server that echoes and understands two commands: every payload of
 * the matrix echoed; on "cmd:fragments" it sends TEXT_FRAGMENTED and BINARY_FRAGMENTED as several frames, which
 * arrive whole (RFC 6455 §5.4); our ping "node-ping" is answered (§5.5.2-3); on "cmd:ping-me" it pings us and,
 * once our pong arrives, sends "pong-seen".
 */
export async function expectClientExchange(ws, inbox) {
  await expectEchoes(ws, inbox);
  ws.send("cmd:fragments");
  await expectFragmented(inbox);
  await expectPong(ws, "node-ping");
  ws.send("cmd:ping-me");
  assert.equal(await inbox.next(), "pong-seen");
}
