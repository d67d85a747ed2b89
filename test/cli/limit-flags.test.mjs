// `wshub serve --max-connections, --max-connections-per-ip, --max-pending-handshakes, --rate-limit,
// --rate-limit-bytes` (issue 18): the flags reach the server (a real `wshub serve` child process over loopback),
// and bad values are usage errors.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { randomBytes } from "node:crypto";
import { WebSocket } from "../../dist/index.js";
import { parseServeArgs } from "../../dist/cli/serve.js";
import { runCli, startServe } from "./spawn.mjs";
import { opened, closed, splitHead, upgradeRequest, withTimeout } from "../helpers/index.mjs";

function statusOf(port) {
  return withTimeout(
    new Promise((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => s.write(upgradeRequest(randomBytes(16).toString("base64"))));
      let buf = Buffer.alloc(0);
      s.on("error", () => {});
      s.on("data", (d) => {
        buf = Buffer.concat([buf, d]);
        const h = splitHead(buf);
        if (h !== null) {
          s.destroy();
          resolve(h.status);
        }
      });
    }),
    5000,
    "upgrade answer",
  );
}

describe("wshub serve: limit flags", () => {
  it("parses each flag into the server's options (burst: one second's worth)", () => {
    const c = parseServeArgs(
      ["--max-connections", "100", "--max-connections-per-ip", "5", "--max-pending-handshakes", "50", "--rate-limit", "20", "--rate-limit-bytes", "65536"],
      {},
    );
    assert.deepEqual(c.limits, { maxConnections: 100, maxConnectionsPerIp: 5, maxPendingHandshakes: 50, messageRate: { messagesPerSecond: 20, bytesPerSecond: 65536 } });
    assert.deepEqual(parseServeArgs([], {}).limits, {});
  });

  for (const flag of ["--max-connections", "--max-connections-per-ip", "--max-pending-handshakes", "--rate-limit", "--rate-limit-bytes"]) {
    it(`${flag} 0 is a usage error`, async () => {
      const r = await runCli(["serve", flag, "0"], { timeout: 10_000 });
      assert.equal(r.code, 2);
      assert.match(r.stderr, new RegExp(`^wshub: ${flag} must be a positive integer`));
    });
  }

  it("echo mode: --max-connections 2 answers 503 to a third client; --rate-limit 10 closes a flood with 1008", async () => {
    const srv = await startServe(["--mode", "echo", "--host", "127.0.0.1", "--port", "0", "--max-connections", "2", "--rate-limit", "10"]);
    try {
      const a = await opened(new WebSocket(srv.url));
      const b = await opened(new WebSocket(srv.url));
      assert.equal(await statusOf(srv.port), 503);
      const done = closed(b);
      for (let i = 0; i < 50; i++) b.send(`m${i}`);
      const ev = await done;
      assert.deepEqual([ev.code, ev.reason], [1008, "rate limit"]);
      a.close();
    } finally {
      assert.equal((await srv.stop()).code, 0);
    }
  });

  it("chat mode: --max-connections-per-ip 1 answers 429 to a second connection from the same address", async () => {
    const srv = await startServe(["--mode", "chat", "--host", "127.0.0.1", "--port", "0", "--max-connections-per-ip", "1"]);
    try {
      const wsUrl = srv.url.replace(/^http/, "ws").replace(/\/$/, "") + "/chat";
      const a = await opened(new WebSocket(`${wsUrl}?name=alice`));
      const s = await new Promise((resolve) => {
        const sock = net.connect(srv.port, "127.0.0.1", () => sock.write(upgradeRequest(randomBytes(16).toString("base64"), { path: "/chat?name=bob" })));
        let buf = Buffer.alloc(0);
        sock.on("error", () => {});
        sock.on("data", (d) => {
          buf = Buffer.concat([buf, d]);
          const h = splitHead(buf);
          if (h !== null) {
            sock.destroy();
            resolve(h.status);
          }
        });
      });
      assert.equal(s, 429);
      a.close();
    } finally {
      assert.equal((await srv.stop()).code, 0);
    }
  });
});
