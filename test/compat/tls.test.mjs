// wss: with wshub/ws on both sides of an https server (ws.md: TLS options of the client; `secure` in
// verifyClient's info), and ws's client as the peer of our server.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer as createHttpsServer } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ws, compat, next, withTimeout } from "./fixtures.mjs";

describe("ws.md wss: TLS options and verifyClient's info.secure", () => {
  let dir;
  let https;
  let wss;
  let port;
  let cert;
  const secure = [];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "wshub-compat-tls-"));
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=wshub.test",
      "-addext", "subjectAltName=DNS:wshub.test,IP:127.0.0.1", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")], { stdio: "ignore" });
    cert = readFileSync(join(dir, "cert.pem"));
    https = createHttpsServer({ cert, key: readFileSync(join(dir, "key.pem")) });
    wss = new compat.WebSocketServer({ server: https, verifyClient: (info) => (secure.push(info.secure), true) });
    wss.on("connection", (s) => s.on("message", (d, b) => s.send(d, { binary: b })));
    await new Promise((r) => https.listen(0, "127.0.0.1", r));
    port = https.address().port;
  });
  after(async () => {
    for (const c of wss.clients) c.terminate();
    await withTimeout(new Promise((r) => wss.close(r)), 5000, "wss close");
    await new Promise((r) => https.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it("our client with `ca` trusts the certificate and echoes over TLS; info.secure is true", async () => {
    const c = new compat.WebSocket(`wss://127.0.0.1:${port}/`, { ca: cert });
    await next(c, "open");
    c.send("over tls");
    assert.equal((await next(c, "message"))[0].toString(), "over tls");
    assert.equal(secure.at(-1), true);
    c.close();
    await next(c, "close");
  });

  it("without `ca` the handshake fails with the TLS error; rejectUnauthorized: false connects", async () => {
    const c = new compat.WebSocket(`wss://127.0.0.1:${port}/`);
    const err = await withTimeout(new Promise((r) => c.on("error", r)), 5000, "tls error");
    assert.match(err.code, /SELF_SIGNED|UNABLE_TO_VERIFY|DEPTH_ZERO/);
    const d = new compat.WebSocket(`wss://127.0.0.1:${port}/`, { rejectUnauthorized: false });
    await next(d, "open");
    d.terminate();
  });

  it("ws's client talks to our server over TLS", async () => {
    const c = new ws.WebSocket(`wss://127.0.0.1:${port}/`, { ca: cert });
    await next(c, "open");
    c.send(Buffer.from([1, 2]));
    const [m, isBinary] = await next(c, "message");
    assert.deepEqual([...m], [1, 2]);
    assert.equal(isBinary, true);
    c.close();
    await next(c, "close");
  });
});
