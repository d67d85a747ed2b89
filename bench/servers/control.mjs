/**
 * The control channel every benchmark server shares with bench/run.mjs:
 * - it prints one JSON line {"port": N} on stdout once it listens;
 * - stdin lines: "gc" runs a full collection (needs --expose-gc) and answers {"gc":true, heapUsed, external, ...};
 *   "exit" (or stdin closing) ends the process, so --cpu-prof profiles are written.
 */
import { createInterface } from "node:readline";
import { createHash } from "node:crypto";

/**
 * The least answer to an upgrade request head (the text before its blank line) that a client accepts: a 101 with
 * Sec-WebSocket-Accept (RFC 6455 §4.2.2) and no other checks. For the raw ceiling and the byte-echo floor only.
 */
export function minimalUpgradeResponse(headText) {
  const key = /sec-websocket-key:\s*(\S+)/i.exec(headText)?.[1] ?? "";
  const accept = createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
  return `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`;
}

/** Parses `--name value` pairs and bare `--flag`s into an object. */
export function parseArgs(argv = process.argv.slice(2)) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) throw new Error(`unexpected argument ${a}`);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith("--")) out[a.slice(2)] = true;
    else out[a.slice(2)] = next, i++;
  }
  return out;
}

/** Announces the port and starts serving control commands. `onExit` may close servers first. */
export function ready(port, onExit = () => {}) {
  process.stdout.write(JSON.stringify({ port }) + "\n");
  const rl = createInterface({ input: process.stdin });
  const exit = () => {
    try {
      onExit();
    } finally {
      process.exit(0);
    }
  };
  rl.on("line", (line) => {
    const cmd = line.trim();
    if (cmd === "gc") {
      if (typeof globalThis.gc === "function") {
        globalThis.gc();
        globalThis.gc();
      }
      const { heapUsed, external, arrayBuffers } = process.memoryUsage();
      process.stdout.write(JSON.stringify({ gc: typeof globalThis.gc === "function", heapUsed, external, arrayBuffers }) + "\n");
    } else if (cmd === "exit") exit();
  });
  rl.on("close", exit);
}
