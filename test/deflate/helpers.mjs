// Shared helpers for the permessage-deflate tests (not a test file): payloads and message collectors. Waits,
// listening() and opened() come from test/helpers/.
import { randomBytes } from "node:crypto";
import { withTimeout } from "../helpers/index.mjs";

const WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon phi chi psi omega".split(" ");

/** Compressible JSON-like text of exactly `n` bytes (ASCII), different for each seed. */
export function text(n, seed = 1) {
  let s = "";
  let x = seed * 2654435761 >>> 0;
  while (s.length < n) {
    x = (x * 1103515245 + 12345) >>> 0;
    s += `{"user":"${WORDS[x % WORDS.length]}","n":${x % 1000},"msg":"${WORDS[(x >>> 8) % WORDS.length]} ${WORDS[(x >>> 16) % WORDS.length]}"}\n`;
  }
  return s.slice(0, n);
}

/** Binary of `n` bytes: half random, half zeros (so it compresses somewhat). */
export function binary(n) {
  const b = Buffer.alloc(n);
  randomBytes(Math.floor(n / 2)).copy(b, 0);
  return b;
}

export const SIZES = [0, 1, 125, 126, 1023, 1024, 65535, 65536, 1024 * 1024, 8 * 1024 * 1024];

/** Resolves with the next `count` messages of a WHATWG-style socket (our WebSocket / ServerWebSocket). */
export function collect(ws, count, ms = 20000) {
  return withTimeout(new Promise((resolve, reject) => {
    const got = [];
    const onMessage = (e) => {
      got.push(e.data);
      if (got.length === count) {
        ws.removeEventListener("message", onMessage);
        resolve(got);
      }
    };
    ws.addEventListener("message", onMessage);
    ws.addEventListener("close", (e) => reject(new Error(`closed (${e.code}) after ${got.length}/${count} messages`)), { once: true });
  }), ms, `${count} messages`);
}

/** Same for a `ws` socket. */
export function collectWs(ws, count, ms = 20000) {
  return withTimeout(new Promise((resolve, reject) => {
    const got = [];
    const onMessage = (data, isBinary) => {
      got.push(isBinary ? Buffer.from(data) : data.toString());
      if (got.length === count) {
        ws.off("message", onMessage);
        resolve(got);
      }
    };
    ws.on("message", onMessage);
    ws.once("close", (code) => reject(new Error(`closed (${code}) after ${got.length}/${count} messages`)));
  }), ms, `${count} messages`);
}
