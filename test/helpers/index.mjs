/**
 * The shared test helpers, in one module: bounded waits (timing.mjs), frame builders and parsers (frames.mjs),
 * raw TCP clients and servers (raw.mjs), a fake clock for the hub (fake-clock.mjs), and here: a server on
 * 127.0.0.1:0, deterministic payloads, a message queue. Tests in every area import from this file; the in-memory
 * protocol tests may import frames.mjs alone.
 */
import { createHash } from "node:crypto";
import { WebSocketServer } from "../../dist/index.js";
import { withTimeout } from "./timing.mjs";

export { withTimeout, nextEvent, waitFor, sleep, opened, closed, listening } from "./timing.mjs";
export * from "./frames.mjs";
export * from "./raw.mjs";
export { FakeClock } from "./fake-clock.mjs";

/** Starts a standalone WebSocketServer on 127.0.0.1 and an ephemeral port; resolves once it listens. */
export async function startServer(options = {}) {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, ...options });
  await withTimeout(
    new Promise((resolve, reject) => {
      wss.once("listening", resolve);
      wss.once("error", reject);
    }),
    5000,
    "server listen",
  );
  return wss;
}

/** startServer, and every connection echoes each message it receives (same type, same data). */
export async function startEchoServer(options = {}) {
  const wss = await startServer(options);
  wss.on("connection", (ws) => {
    ws.onmessage = (e) => ws.send(e.data);
  });
  return wss;
}

/** Hex SHA-256 of a string (as UTF-8) or of bytes. */
export function sha256(data) {
  return createHash("sha256").update(typeof data === "string" ? Buffer.from(data, "utf8") : data).digest("hex");
}

/**
 * A text payload of exactly `n` UTF-8 bytes, mixing 1-, 2-, 3- and 4-byte code points.
 * test/interop/py/payloads.py builds the same strings.
 */
export function textPayload(n) {
  return "aé✓😀".repeat(Math.floor(n / 10)) + "x".repeat(n % 10);
}

/** `n` pseudo-random bytes (SHAKE-256 of "wshub-<n>"), identical to payloads.py's binary_payload(n). */
export function binaryPayload(n) {
  if (n === 0) return Buffer.alloc(0);
  return createHash("shake256", { outputLength: n }).update(`wshub-${n}`).digest();
}

/** mulberry32: a small deterministic PRNG; returns a function giving numbers in [0, 1) from a 32-bit seed. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Queues the `message` events of a WebSocket (ours or `ws`) so a test can await them in order:
 * `const inbox = messageQueue(ws); const data = await inbox.next();`.
 */
export function messageQueue(ws, ms = 20_000) {
  const queued = [];
  const waiting = [];
  const push = (data) => (waiting.length > 0 ? waiting.shift()(data) : queued.push(data));
  ws.addEventListener("message", (ev) => push(ev.data));
  return {
    next() {
      if (queued.length > 0) return Promise.resolve(queued.shift());
      return withTimeout(new Promise((resolve) => waiting.push(resolve)), ms, "waiting for a message");
    },
    get pending() {
      return queued.length;
    },
  };
}
