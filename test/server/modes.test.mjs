// Issue 2 §3: the server standalone, attached to an existing http/https server at a path, and through
// handleUpgrade() for frameworks; the subprotocol hook, the async authenticate hook, UUIDs, graceful close();
// and §4: the client's custom headers, handshake timeout and TLS options (ca, servername, rejectUnauthorized).
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WebSocketServer, WebSocket } from "../../dist/index.js";
import { opened, closed, nextEvent } from "../helpers/index.mjs";

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const nextMessage = async (ws, ms = 5000) => (await nextEvent(ws, "message", ms)).data;
function listen(server) {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server.address().port)));
}
async function rawStatus(port, path) {
  const net = await import("node:net");
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    let data = "";
    const t = setTimeout(() => (s.destroy(), reject(new Error("no answer"))), 5000);
    s.on("connect", () =>
      s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`),
    );
    s.on("data", (d) => {
      data += d.toString("latin1");
      if (data.includes("\r\n\r\n")) {
        clearTimeout(t);
        s.destroy();
        resolve(Number(data.split(" ")[1]));
      }
    });
    s.on("error", reject);
  });
}

describe("RFC 6455 §4.2 server modes", () => {
  test("standalone: every connection gets a distinct UUID id; url points at the server", async () => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise((r) => wss.once("listening", r));
    const ids = [];
    wss.on("connection", (ws) => ids.push(ws.id));
    assert.match(wss.url, /^ws:\/\/127\.0\.0\.1:\d+\/$/);
    const clients = await Promise.all([1, 2, 3].map(() => opened(new WebSocket(wss.url))));
    await new Promise((r) => setImmediate(r));
    assert.equal(ids.length, 3);
    for (const id of ids) assert.match(id, UUID_RE);
    assert.equal(new Set(ids).size, 3);
    for (const c of clients) c.close();
    await wss.close();
  });

  test("attached to an existing http server at a path: /chat upgrades, other paths get 404, plain HTTP still served", async () => {
    const http = createServer((req, res) => res.end("plain http"));
    const wss = new WebSocketServer({ server: http, path: "/chat" });
    wss.on("connection", (ws) => (ws.onmessage = (e) => ws.send(`echo ${e.data}`)));
    const port = await listen(http);
    const ws = await opened(new WebSocket(`ws://127.0.0.1:${port}/chat?x=1`));
    ws.send("hi");
    assert.equal(await nextMessage(ws), "echo hi");
    assert.equal(await rawStatus(port, "/other"), 404);
    const body = await (await fetch(`http://127.0.0.1:${port}/`)).text();
    assert.equal(body, "plain http");
    ws.close();
    await closed(ws);
    await wss.close();
    await new Promise((r) => http.close(r));
  });

  test("two servers on one http server, at different paths, each get their own connections", async () => {
    const http = createServer();
    const a = new WebSocketServer({ server: http, path: "/a" });
    const b = new WebSocketServer({ server: http, path: "/b" });
    a.on("connection", (ws) => ws.send("from a"));
    b.on("connection", (ws) => ws.send("from b"));
    const port = await listen(http);
    const wa = new WebSocket(`ws://127.0.0.1:${port}/a`);
    const wb = new WebSocket(`ws://127.0.0.1:${port}/b`);
    assert.equal(await nextMessage(wa), "from a");
    assert.equal(await nextMessage(wb), "from b");
    wa.close();
    wb.close();
    await Promise.all([closed(wa), closed(wb)]);
    await a.close();
    await b.close();
    await new Promise((r) => http.close(r));
  });

  test("noServer + handleUpgrade(req, socket, head) from a framework's own upgrade routing", async () => {
    const wss = new WebSocketServer({ noServer: true });
    const http = createServer();
    http.on("upgrade", (req, socket, head) => {
      if (req.url !== "/ws") {
        socket.end("HTTP/1.1 400 Bad Request\r\n\r\n");
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws, request) => {
        assert.equal(request, req);
        ws.onmessage = (e) => ws.send(e.data.toUpperCase());
      });
    });
    const port = await listen(http);
    const ws = await opened(new WebSocket(`ws://127.0.0.1:${port}/ws`));
    ws.send("shout");
    assert.equal(await nextMessage(ws), "SHOUT");
    ws.close();
    await closed(ws);
    await wss.close();
    await new Promise((r) => http.close(r));
  });

  test("handleProtocols picks the subprotocol; both ends report it", async () => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, handleProtocols: (protocols) => (protocols.includes("v2.chat") ? "v2.chat" : false) });
    await new Promise((r) => wss.once("listening", r));
    const serverSide = new Promise((r) => wss.once("connection", (ws) => r(ws.protocol)));
    const ws = await opened(new WebSocket(wss.url, ["v1.chat", "v2.chat"]));
    assert.equal(ws.protocol, "v2.chat");
    assert.equal(await serverSide, "v2.chat");
    const none = await opened(new WebSocket(wss.url, ["other"]));
    assert.equal(none.protocol, "");
    ws.close();
    none.close();
    await wss.close();
  });

  test("authenticate (async) sees Origin, headers and URL; accepts with data or refuses with a status", async () => {
    const seen = [];
    const wss = new WebSocketServer({
      host: "127.0.0.1",
      port: 0,
      authenticate: async ({ req, origin, url }) => {
        seen.push({ origin, token: url.searchParams.get("token"), custom: req.headers["x-custom"] });
        await new Promise((r) => setImmediate(r)); // answers in a later turn of the event loop
        if (url.searchParams.get("token") === "good") return { accept: true, data: { user: "alice" } };
        return { accept: false, status: 401, reason: "bad token" };
      },
    });
    await new Promise((r) => wss.once("listening", r));
    const data = new Promise((r) => wss.once("connection", (ws) => r(ws.data)));
    const ok = await opened(new WebSocket(`${wss.url}?token=good`, [], { origin: "http://example.test", headers: { "X-Custom": "yes" } }));
    assert.deepEqual(await data, { user: "alice" });
    const refused = await rawStatus(wss.address().port, "/?token=bad");
    assert.equal(refused, 401);
    const bad = new WebSocket(`${wss.url}?token=bad`);
    const err = new Promise((r) => bad.addEventListener("error", (e) => r(e), { once: true }));
    const ev = await closed(bad);
    assert.equal(ev.code, 1006);
    assert.match((await err).error?.message ?? "", /401/);
    assert.deepEqual(seen[0], { origin: "http://example.test", token: "good", custom: "yes" });
    ok.close();
    await wss.close();
  });

  test("graceful close(): clients get 1001, the port is released, new upgrades are refused meanwhile", async () => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise((r) => wss.once("listening", r));
    const port = wss.address().port;
    const clients = await Promise.all([1, 2].map(() => opened(new WebSocket(wss.url))));
    const events = clients.map((c) => closed(c));
    await wss.close();
    for (const e of await Promise.all(events)) {
      assert.equal(e.code, 1001);
      assert.equal(e.wasClean, true);
    }
    assert.equal(wss.clients.size, 0);
    // The port is free again.
    const again = new WebSocketServer({ host: "127.0.0.1", port });
    await new Promise((resolve, reject) => (again.once("listening", resolve), again.once("error", reject)));
    await again.close();
  });
});

describe("RFC 6455 §4.1 client options", () => {
  test("handshakeTimeout: a server that accepts TCP but never answers fails the client in time", async () => {
    const net = await import("node:net");
    const silent = net.createServer(() => {});
    const port = await listen(silent);
    const started = Date.now();
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, [], { handshakeTimeout: 200 });
    const e = await closed(ws);
    assert.equal(e.code, 1006);
    assert.ok(Date.now() - started < 3000);
    silent.close();
  });

  describe("wss:// with TLS options", () => {
    let dir;
    let https;
    let wss;
    let port;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), "wshub-tls-"));
      execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=wshub.test",
        "-addext", "subjectAltName=DNS:wshub.test,IP:127.0.0.1", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")], { stdio: "ignore" });
      https = createHttpsServer({ cert: readFileSync(join(dir, "cert.pem")), key: readFileSync(join(dir, "key.pem")) });
      wss = new WebSocketServer({ server: https });
      wss.on("connection", (ws) => (ws.onmessage = (e) => ws.send(e.data)));
      port = await listen(https);
    });
    after(async () => {
      await wss.close();
      await new Promise((r) => https.close(r));
      rmSync(dir, { recursive: true, force: true });
    });
    test("ca trusts the self-signed certificate; the echo works over TLS", async () => {
      const ws = await opened(new WebSocket(`wss://127.0.0.1:${port}/`, [], { ca: readFileSync(join(dir, "cert.pem")) }));
      assert.equal(ws.url, `wss://127.0.0.1:${port}/`);
      ws.send("over tls");
      assert.equal(await nextMessage(ws), "over tls");
      ws.close();
      await closed(ws);
    });
    test("servername selects the name checked against the certificate", async () => {
      const ws = await opened(new WebSocket(`wss://127.0.0.1:${port}/`, [], { ca: readFileSync(join(dir, "cert.pem")), servername: "wshub.test" }));
      ws.close();
      await closed(ws);
      const wrong = new WebSocket(`wss://127.0.0.1:${port}/`, [], { ca: readFileSync(join(dir, "cert.pem")), servername: "other.test" });
      assert.equal((await closed(wrong)).code, 1006);
    });
    test("an untrusted certificate fails by default; rejectUnauthorized: false accepts it", async () => {
      const strict = new WebSocket(`wss://127.0.0.1:${port}/`);
      assert.equal((await closed(strict)).code, 1006);
      const lax = await opened(new WebSocket(`wss://127.0.0.1:${port}/`, [], { rejectUnauthorized: false }));
      lax.close();
      await closed(lax);
    });
  });
});
