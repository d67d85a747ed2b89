// Handshake edges: a refused client sees status, headers and the start of the body; an upgrade that no attached
// server handles is answered 404 and closed; wss.url says wss:// on an https server.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer as createHttpServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createServer as createTcpServer, connect } from "node:net";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WebSocket, WebSocketServer } from "../../dist/index.js";
import { startServer, withTimeout } from "../helpers/index.mjs";

function errorOf(url) {
  const ws = new WebSocket(url);
  return withTimeout(new Promise((resolve) => (ws.onerror = (ev) => resolve(ev.error))), 5000, "error event");
}

describe("a refused client gets the status, the headers and the start of the body (docs/api.md)", () => {
  it("authenticate refusing with 401, a header and a reason", async () => {
    const wss = await startServer({
      authenticate: () => ({ accept: false, status: 401, reason: "token expired", headers: { "WWW-Authenticate": 'Bearer realm="x"' } }),
    });
    try {
      const err = await errorOf(`ws://127.0.0.1:${wss.address().port}/`);
      assert.equal(err.status, 401);
      assert.equal(err.code, "WS_ERR_UNEXPECTED_RESPONSE");
      assert.equal(err.headers["www-authenticate"], 'Bearer realm="x"');
      assert.ok(Buffer.isBuffer(err.body) && err.body.toString().includes("token expired"), String(err.body));
    } finally {
      await wss.close();
    }
  });

  it("a 10 KiB body is cut at 4 KiB; a body without Content-Length ends with the connection", async () => {
    for (const withLength of [true, false]) {
      const body = "b".repeat(10 * 1024);
      const sockets = new Set();
      const server = createTcpServer((s) => {
        sockets.add(s);
        s.on("error", () => {});
        s.once("data", () => {
          s.write(`HTTP/1.1 403 Forbidden\r\nX-Why: no\r\n${withLength ? `Content-Length: ${body.length}\r\n` : "Connection: close\r\n"}\r\n`);
          if (withLength) s.write(body);
          else s.end("short body");
        });
      });
      await new Promise((r) => server.listen(0, "127.0.0.1", r));
      try {
        const err = await errorOf(`ws://127.0.0.1:${server.address().port}/`);
        assert.equal(err.status, 403);
        assert.equal(err.headers["x-why"], "no");
        assert.equal(err.body.toString(), withLength ? body.slice(0, 4096) : "short body");
      } finally {
        for (const s of sockets) s.destroy();
        await withTimeout(new Promise((r) => server.close(r)), 5000, "raw server close");
      }
    }
  });
});

describe("an upgrade no attached server handles", () => {
  it("two servers by path on one http server: a third path is answered 404 and its socket closed", async () => {
    const http = createHttpServer();
    const a = new WebSocketServer({ server: http, path: "/a", handshakeTimeout: 2000 });
    const b = new WebSocketServer({ server: http, path: "/b", handshakeTimeout: 2000 });
    await new Promise((r) => http.listen(0, "127.0.0.1", r));
    let socket;
    try {
      socket = connect(http.address().port, "127.0.0.1");
      socket.on("error", () => {});
      let answer = "";
      socket.on("data", (c) => (answer += c.toString("latin1")));
      socket.write("GET /c HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
      await withTimeout(new Promise((r) => socket.on("close", r)), 3000, "socket closed by the server");
      assert.match(answer, /^HTTP\/1\.1 404 /);
      // The paths that exist still work.
      const ws = new WebSocket(`ws://127.0.0.1:${http.address().port}/b`);
      await withTimeout(new Promise((r, j) => ((ws.onopen = r), (ws.onerror = j))), 5000, "open /b");
      ws.close();
    } finally {
      socket?.destroy();
      await a.close();
      await b.close();
      http.closeAllConnections();
      await withTimeout(new Promise((r) => http.close(r)), 5000, "http close");
    }
  });
});

describe("wss.url", () => {
  it("is wss:// for a server attached to an https server", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wshub-url-"));
    try {
      execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
        "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")], { stdio: "ignore" });
      const https = createHttpsServer({ key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) });
      const wss = new WebSocketServer({ server: https, path: "/x" });
      await new Promise((r) => https.listen(0, "127.0.0.1", r));
      assert.equal(wss.url, `wss://127.0.0.1:${https.address().port}/x`);
      await wss.close();
      await new Promise((r) => https.close(r));
      const http = createHttpServer();
      const wss2 = new WebSocketServer({ server: http });
      await new Promise((r) => http.listen(0, "127.0.0.1", r));
      assert.equal(wss2.url, `ws://127.0.0.1:${http.address().port}/`);
      await wss2.close();
      await new Promise((r) => http.close(r));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
