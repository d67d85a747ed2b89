// The standalone WebSocketServer reads request heads itself on node:net (RFC 7230 §3 message format, RFC 6455
// §4.2.1 opening handshake). These tests hold its parser and its request object to what Node's own HTTP server
// gives for the same bytes (a real node:http server is the reference peer), and check the handshake around it.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { createServer, IncomingMessage } from "node:http";
import { randomBytes } from "node:crypto";
import { WebSocketServer, WebSocket, UpgradeRequest } from "../../dist/index.js";
import { parseRequestHead, encodeUpgradeResponse, buildUpgradeResponse, HandshakeError } from "../../dist/protocol/index.js";
import { acceptFor, connectRaw, splitHead, startEchoServer, withTimeout, nextEvent } from "../helpers/index.mjs";

const TIMEOUT = 5000;
const KEY = "dGhlIHNhbXBsZSBub25jZQ==";
const head = (lines, first = "GET /chat?room=1 HTTP/1.1") => `${first}\r\n${lines.join("\r\n")}\r\n\r\n`;
const UPGRADE = ["Host: 127.0.0.1", "Upgrade: websocket", "Connection: Upgrade", `Sec-WebSocket-Key: ${KEY}`, "Sec-WebSocket-Version: 13"];
// Repeated fields of each kind Node treats differently: joined with ", ", kept first only, cookie "; ", set-cookie array.
const REPEATS = ["X-Multi: a", "x-multi: b", "User-Agent: first", "User-Agent: second", "Cookie: a=1", "Cookie: b=2", "Set-Cookie: s=1", "Set-Cookie: t=2", "X-Spaces:   padded value  "];

/** What Node's HTTP server makes of `request` (sent over TCP): { method, url, httpVersion, headers, rawHeaders }. */
async function nodeParse(request) {
  const server = createServer();
  const seen = new Promise((resolve) => {
    const take = (req, socket) => {
      resolve({ method: req.method, url: req.url, httpVersion: req.httpVersion, headers: { ...req.headers }, rawHeaders: [...req.rawHeaders] });
      socket.destroy();
    };
    server.on("upgrade", take);
    server.on("request", (req, res) => take(req, res.socket));
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const s = net.connect(server.address().port, "127.0.0.1", () => s.write(request));
  s.on("error", () => {});
  try {
    return await withTimeout(seen, TIMEOUT, "node:http parsing the request");
  } finally {
    s.destroy();
    server.close();
  }
}

describe("RFC 7230 §3 parseRequestHead (sans-I/O)", () => {
  it("returns null until the blank line arrives, then the head's length; later bytes are not part of it", () => {
    const text = head(UPGRADE);
    const bytes = Buffer.concat([Buffer.from(text), Buffer.from([0x81, 0x80])]);
    for (let cut = 0; cut < text.length; cut += 7) assert.equal(parseRequestHead(bytes.subarray(0, cut)), null, `cut at ${cut}`);
    const h = parseRequestHead(bytes);
    assert.equal(h.length, text.length);
    assert.equal(h.method, "GET");
    assert.equal(h.url, "/chat?room=1");
    assert.equal(h.httpVersion, "1.1");
    assert.equal(h.headers["sec-websocket-key"], KEY);
  });

  it("RFC 7230 §3.5: empty lines before the request-line are ignored", () => {
    const h = parseRequestHead(Buffer.from("\r\n\r\n" + head(UPGRADE)));
    assert.equal(h.method, "GET");
    assert.equal(h.headers.host, "127.0.0.1");
  });

  it("combines repeated fields exactly as Node's IncomingMessage does", async () => {
    const text = head([...UPGRADE, ...REPEATS]);
    const ours = parseRequestHead(Buffer.from(text));
    const node = await nodeParse(text);
    assert.deepEqual({ ...ours.headers }, node.headers);
    assert.equal(ours.method, node.method);
    assert.equal(ours.url, node.url);
    assert.equal(ours.httpVersion, node.httpVersion);
  });

  it("lower-cases names in any letter case, common and uncommon ones, as Node's IncomingMessage does", async () => {
    const lines = [
      "HOST: 127.0.0.1", "upGRADE: websocket", "CONNECTION: Upgrade", `sec-WEBSOCKET-key: ${KEY}`, "Sec-Websocket-Version: 13",
      "ORIGIN: http://a.test", "Sec-WebSocket-Protocol: chat", "sec-websocket-protocol: superchat", "Hosts: plural",
      "Origin-X: not-origin", "X-Forwarded-For: 10.0.0.1", "x-forwarded-FOR: 10.0.0.2", "X_Under_Score: 1", "Accept: */*",
      "Sec-WebSocket-Extensions: permessage-deflate", "SEC-WEBSOCKET-EXTENSIONS: x-foo", "User-Agent: ua", "Cache-Control: no-cache",
    ];
    const text = head(lines);
    const ours = parseRequestHead(Buffer.from(text));
    const node = await nodeParse(text);
    assert.deepEqual({ ...ours.headers }, node.headers);
  });

  it("request lines: methods, targets and versions come back as sent", async () => {
    for (const first of ["GET / HTTP/1.1", "POST /x?y=%20z HTTP/1.0", "M-SEARCH * HTTP/1.1", "GET /caf\xe9 HTTP/1.1", "GETX /a HTTP/1.1", "get / HTTP/1.1"]) {
      const h = parseRequestHead(Buffer.from(head(["Host: a"], first), "latin1"));
      const [method, url, version] = first.split(" ");
      assert.deepEqual([h.method, h.url, `HTTP/${h.httpVersion}`], [method, url, version], first);
    }
  });

  const MALFORMED = [
    ["a request line without a version", "GET /\r\nHost: x\r\n\r\n"],
    ["a request line with two spaces", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n"],
    ["a request line with a space at its end", "GET / HTTP/1.1 \r\nHost: x\r\n\r\n"],
    ["a request line with a tab for a space", "GET\t/ HTTP/1.1\r\nHost: x\r\n\r\n"],
    ["a request line with a three-digit version", "GET / HTTP/1.10\r\nHost: x\r\n\r\n"],
    ["a request line with a lower-case protocol name", "GET / http/1.1\r\nHost: x\r\n\r\n"],
    ["a request line without a method", " / HTTP/1.1\r\nHost: x\r\n\r\n"],
    ["a request line with a control character in the target", "GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n"],
    ["a request line with DEL in the target", "GET /a\x7fb HTTP/1.1\r\nHost: x\r\n\r\n"],
    ["a head that is only a request line without a version", "GET /\r\n\r\n"],
    ["a header line without a colon", head([...UPGRADE, "NoColonHere"])],
    ["whitespace between the field name and the colon (§3.2.4)", head([...UPGRADE, "X-Bad : 1"])],
    ["an obs-fold continuation line (§3.2.4)", head([...UPGRADE, "X-Folded: a", " b"])],
    ["a control character in a value", head([...UPGRADE, "X-Ctl: a\x01b"])],
    ["an empty field name", head([...UPGRADE, ": value"])],
  ];
  for (const [name, text] of MALFORMED) {
    it(`${name} → HandshakeError 400`, () => {
      assert.throws(() => parseRequestHead(Buffer.from(text, "latin1")), (err) => err instanceof HandshakeError && err.status === 400 && /\S/.test(err.message));
    });
  }

  it("a head longer than maxSize → 431, whether or not its end has arrived", () => {
    const big = head([...UPGRADE, `X-Big: ${"a".repeat(2000)}`]);
    assert.throws(() => parseRequestHead(Buffer.from(big), 1024), (err) => err.status === 431 && /1024 bytes/.test(err.message));
    assert.throws(() => parseRequestHead(Buffer.from(big.slice(0, 1500)), 1024), (err) => err.status === 431);
    assert.ok(parseRequestHead(Buffer.from(big), 4096));
  });

  it("encodeUpgradeResponse writes the same bytes as buildUpgradeResponse (RFC 6455 §4.2.2 step 5)", () => {
    for (const opts of [{ key: KEY }, { key: KEY, protocol: "chat", extensions: "permessage-deflate" }, { key: KEY, headers: { "X-A": "1", "X-B": ["2", "3"] } }]) {
      const bytes = encodeUpgradeResponse(opts);
      assert.ok(Buffer.isBuffer(bytes));
      assert.equal(bytes.toString("latin1"), buildUpgradeResponse(opts));
    }
    assert.match(encodeUpgradeResponse({ key: KEY }).toString(), /Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n\r\n$/);
  });
});

describe("RFC 6455 §4.2.1 standalone server: the request object handlers get", () => {
  let wss;
  let port;
  const connections = [];
  const authSeen = [];
  before(async () => {
    wss = await startEchoServer({
      authenticate: (info) => {
        authSeen.push(info);
        return true;
      },
      handleProtocols: (protocols, req) => (req.headers["x-pick"] === "yes" ? protocols[0] : false),
    });
    wss.on("connection", (ws, req) => connections.push({ ws, req }));
    port = wss.address().port;
  });
  after(async () => {
    await wss.close({ timeout: 1000 });
  });

  it("method, url, httpVersion, headers and rawHeaders match what node:http parses from the same bytes", { timeout: TIMEOUT * 2 }, async () => {
    const key = randomBytes(16).toString("base64");
    const lines = [`Host: 127.0.0.1:${port}`, "Upgrade: websocket", "Connection: Upgrade", `Sec-WebSocket-Key: ${key}`, "Sec-WebSocket-Version: 13", ...REPEATS];
    const text = head(lines);
    const node = await nodeParse(text);
    const peer = await connectRaw(port, TIMEOUT);
    try {
      peer.write(text);
      await peer.waitFor(() => splitHead(peer.received) !== null, TIMEOUT, "the 101 response");
      assert.equal(splitHead(peer.received).headers["sec-websocket-accept"], acceptFor(key));
      const { ws, req } = connections.at(-1);
      assert.ok(req instanceof UpgradeRequest, "a standalone server passes an UpgradeRequest");
      assert.ok(!(req instanceof IncomingMessage));
      assert.equal(ws.request, req, "ws.request is the same object as the 'connection' argument");
      assert.equal(authSeen.at(-1).req, req, "authenticate's info.req is the same object");
      assert.equal(req.method, node.method);
      assert.equal(req.url, node.url);
      assert.equal(req.httpVersion, node.httpVersion);
      assert.equal(req.httpVersionMajor, 1);
      assert.equal(req.httpVersionMinor, 1);
      assert.deepEqual({ ...req.headers }, node.headers);
      assert.deepEqual(req.rawHeaders, node.rawHeaders);
      assert.equal(req.headers, req.headers, "headers keeps its identity once read");
      assert.ok(req.socket instanceof net.Socket);
      assert.equal(req.socket.remotePort, peer.socket.localPort);
      assert.equal(ws.url, `ws://127.0.0.1:${port}/chat?room=1`);
      assert.match(ws.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    } finally {
      peer.destroy();
    }
  });

  it("headers not read during the handshake are still there afterwards (parsed again from the head)", { timeout: TIMEOUT * 2 }, async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/late`, ["p1", "p2"], { headers: { "X-Pick": "yes", "X-Late": "still here" } });
    try {
      await new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = () => reject(new Error("client failed"));
      });
      assert.equal(ws.protocol, "p1", "handleProtocols saw the request's headers");
      const server = connections.at(-1).ws;
      assert.equal(server.request.url, "/late");
      assert.equal(server.request.headers["x-late"], "still here");
      assert.equal(server.request.headers["sec-websocket-protocol"], "p1, p2");
    } finally {
      ws.close();
    }
  });

  it("ids are unique v4 UUIDs across many connections", { timeout: TIMEOUT * 4 }, async () => {
    const clients = await Promise.all(
      Array.from({ length: 40 }, () => new Promise((resolve, reject) => {
        const c = new WebSocket(`ws://127.0.0.1:${port}/`);
        c.onopen = () => resolve(c);
        c.onerror = () => reject(new Error("client failed"));
      })),
    );
    const ids = connections.slice(-40).map((c) => c.ws.id);
    assert.equal(new Set(ids).size, 40);
    for (const c of clients) c.close();
  });
});

describe("standalone server: client tracking and shutdown without Node's HTTP server", () => {
  it("a closed connection has left `clients` when its close event fires", { timeout: TIMEOUT * 2 }, async () => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise((r) => wss.once("listening", r));
    try {
      const inSetAtClose = new Promise((resolve) => {
        wss.on("connection", (ws) => ws.addEventListener("close", () => resolve(wss.clients.has(ws))));
      });
      const c = new WebSocket(wss.url);
      await new Promise((r) => (c.onopen = r));
      assert.equal(wss.clients.size, 1);
      c.close(1000);
      assert.equal(await inSetAtClose, false);
      assert.equal(wss.clients.size, 0);
    } finally {
      await wss.close({ timeout: 500 });
    }
  });

  it("clientTracking: false keeps no set entry", { timeout: TIMEOUT * 2 }, async () => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, clientTracking: false });
    await new Promise((r) => wss.once("listening", r));
    try {
      const opened = new Promise((r) => wss.once("connection", r));
      const c = new WebSocket(wss.url);
      await opened;
      assert.equal(wss.clients.size, 0);
      c.close();
      await new Promise((r) => (c.onclose = r));
    } finally {
      await wss.close({ timeout: 500 });
    }
  });

  it("close() drops connections still sending their head and resolves", { timeout: TIMEOUT * 2 }, async () => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise((r) => wss.once("listening", r));
    const peer = await connectRaw(wss.address().port, TIMEOUT);
    peer.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    // Connections are taken in order: once a later client is open, the half-sent one is in the server.
    const later = new WebSocket(wss.url);
    await nextEvent(later, "open");
    await wss.close({ timeout: 500 });
    await peer.waitFor(() => peer.closed || peer.ended, TIMEOUT, "the half-sent connection to be dropped");
    peer.destroy();
  });

  it("a client that ends before its head is complete is dropped; the server keeps serving", { timeout: TIMEOUT * 2 }, async () => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise((r) => wss.once("listening", r));
    try {
      const peer = await connectRaw(wss.address().port, TIMEOUT);
      peer.socket.end("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n");
      await peer.waitFor(() => peer.closed, TIMEOUT, "the connection to close");
      assert.equal(peer.received.length, 0, "nothing is answered to an incomplete head");
      const c = new WebSocket(wss.url);
      await new Promise((resolve, reject) => {
        c.onopen = resolve;
        c.onerror = () => reject(new Error("client failed"));
      });
      c.close();
    } finally {
      await wss.close({ timeout: 500 });
    }
  });

  it("a plain HTTP request (no upgrade) gets the reason and Connection: close", { timeout: TIMEOUT * 2 }, async () => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise((r) => wss.once("listening", r));
    try {
      const peer = await connectRaw(wss.address().port, TIMEOUT);
      peer.write("GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
      await peer.waitFor(() => peer.ended || peer.closed, TIMEOUT, "the answer");
      const r = splitHead(peer.received);
      assert.equal(r.status, 400);
      assert.equal(r.headers.connection, "close");
      assert.match(r.rest.toString(), /^Upgrade header must contain the token 'websocket'\n$/);
      peer.destroy();
    } finally {
      await wss.close({ timeout: 500 });
    }
  });

  it("attached to an http server, handlers still get Node's IncomingMessage", { timeout: TIMEOUT * 2 }, async () => {
    const http = createServer();
    await new Promise((r) => http.listen(0, "127.0.0.1", r));
    const wss = new WebSocketServer({ server: http });
    try {
      const got = new Promise((r) => wss.once("connection", (ws, req) => r({ ws, req })));
      const c = new WebSocket(`ws://127.0.0.1:${http.address().port}/x`);
      const { ws, req } = await got;
      assert.ok(req instanceof IncomingMessage);
      assert.equal(ws.request, req);
      c.close();
      await new Promise((r) => (c.onclose = r));
    } finally {
      await wss.close({ timeout: 500 });
      await new Promise((r) => http.close(r));
    }
  });
});
