/**
 * `wshub serve --mode echo` (issue 2, Build 6): prints the URL it listens on, echoes every text and binary
 * message to its sender at any path, honours --max-payload (1009 beyond it), stops cleanly on SIGINT and SIGTERM,
 * and rejects bad flags with a one-line error and exit code 2.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { WebSocket } from "../../dist/index.js";
import { withTimeout, nextEvent, messageQueue } from "../helpers/index.mjs";

const MAIN = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));

/** Runs the wshub command; resolves with its exit status and output once it exits (bounded by `ms`). */
function run(args, ms = 10_000) {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (c) => (stdout += c));
  child.stderr.setEncoding("utf8").on("data", (c) => (stderr += c));
  const exited = new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  /** Resolves with the ws:// URL from the "listening on" line. */
  const url = withTimeout(
    new Promise((resolve, reject) => {
      const check = () => {
        const m = /listening on (ws:\/\/\S+)/.exec(stdout);
        if (m) resolve(m[1]);
      };
      child.stdout.on("data", check);
      exited.then((r) => reject(new Error(`wshub exited before listening: ${JSON.stringify(r)}`)), reject);
    }),
    5000,
    "the 'listening on' line",
  );
  url.catch(() => {}); // only the serve tests await it
  return {
    child,
    url,
    exited: withTimeout(exited, ms, `wshub ${args.join(" ")}`).finally(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }),
  };
}

async function connect(url) {
  const ws = new WebSocket(url, undefined, { binaryType: "nodebuffer" });
  const inbox = messageQueue(ws, 5000);
  const closed = nextEvent(ws, "close", 10_000);
  await nextEvent(ws, "open", 5000);
  return { ws, inbox, closed };
}

describe("wshub serve --mode echo", () => {
  for (const signal of ["SIGINT", "SIGTERM"]) {
    it(`echoes text and binary at any path, then stops cleanly on ${signal} (exit 0, clients get 1001)`, async () => {
      const proc = run(["serve", "--mode", "echo", "--host", "127.0.0.1", "--port", "0"]);
      try {
        const url = await proc.url;
        assert.match(url, /^ws:\/\/127\.0\.0\.1:\d+\/$/);
        const port = new URL(url).port;
        assert.notEqual(port, "0");
        const clients = [];
        for (const path of ["/", "/any/path?x=1"]) {
          const c = await connect(`ws://127.0.0.1:${port}${path}`);
          clients.push(c);
          c.ws.send("héllo ✓");
          assert.equal(await c.inbox.next(), "héllo ✓");
          const bytes = Buffer.from([0, 1, 2, 255, 254]);
          c.ws.send(bytes);
          assert.deepEqual(await c.inbox.next(), bytes);
          const big = Buffer.alloc(100_000, 7);
          c.ws.send(big);
          assert.ok((await c.inbox.next()).equals(big));
        }
        const started = Date.now();
        proc.child.kill(signal);
        // RFC 6455 §7.4.1: 1001 "going away", such as a server going down.
        for (const c of clients) {
          const ev = await c.closed;
          assert.deepEqual({ code: ev.code, wasClean: ev.wasClean }, { code: 1001, wasClean: true });
        }
        const result = await proc.exited;
        assert.deepEqual({ code: result.code, signal: result.signal }, { code: 0, signal: null }, result.stderr);
        assert.ok(Date.now() - started < 5000, "stopped within 5 s");
        assert.equal(result.stderr, "");
      } finally {
        proc.child.kill("SIGKILL");
      }
    });
  }

  it("--max-payload 1000 accepts 1000 bytes and fails a 2000-byte message with 1009", async () => {
    const proc = run(["serve", "--mode", "echo", "--host", "127.0.0.1", "--port", "0", "--max-payload", "1000"]);
    try {
      const url = await proc.url;
      const { ws, inbox, closed } = await connect(url);
      ws.send("a".repeat(1000));
      assert.equal(await inbox.next(), "a".repeat(1000));
      // RFC 6455 §7.4.1: 1009 indicates a message too big to process.
      ws.send(Buffer.alloc(2000, 1));
      const ev = await closed;
      assert.equal(ev.code, 1009);
      proc.child.kill("SIGTERM");
      assert.equal((await proc.exited).code, 0);
    } finally {
      proc.child.kill("SIGKILL");
    }
  });

  for (const args of [
    ["--port", "abc"],
    ["--mode", "nope"],
    ["--bogus"],
    ["--max-payload", "-5"],
    ["--port"],
  ]) {
    it(`rejects ${args.join(" ")} with a one-line error and exit code 2`, async () => {
      const result = await run(["serve", "--host", "127.0.0.1", "--port", "0", ...args]).exited;
      assert.equal(result.code, 2, result.stderr);
      assert.equal(result.stdout, "");
      assert.match(result.stderr, /^wshub: [^\n]+\n$/);
    });
  }

  it("rejects an unknown command with exit code 2", async () => {
    const result = await run(["nope"]).exited;
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^wshub: [^\n]+\n$/);
  });

  for (const args of [["--help"], ["serve", "--help"]]) {
    it(`wshub ${args.join(" ")} prints usage and exits 0`, async () => {
      const result = await run(args).exited;
      assert.equal(result.code, 0);
      assert.match(result.stdout, /^Usage: wshub/);
      assert.equal(result.stderr, "");
    });
  }
});
