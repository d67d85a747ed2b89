// wshub/ws WebSocket (client side), checked against ws.md "Class: WebSocket", with ws's own server as the peer.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer as createNetServer } from "node:net";
import { createServer as createHttpServer } from "node:http";
import { createHash } from "node:crypto";
import { ws, compat, next, listen, urlOf, shutdown, openClient, withTimeout } from "./fixtures.mjs";

const { WebSocket } = compat;

describe("ws.md class WebSocket: constructor, attributes, events", () => {
  let peer;
  before(async () => {
    peer = await listen(ws, { perMessageDeflate: { threshold: 0 }, handleProtocols: (set) => (set.has("chat") ? "chat" : false) });
    peer.on("connection", (s, req) => {
      s.on("message", (d, isBinary) => {
        const text = d.toString();
        if (!isBinary && text === "close-me") s.close(4001, "as asked");
        else if (!isBinary && text === "ping-me") s.ping("srv");
        else if (!isBinary && text === "headers") s.send(JSON.stringify(req.headers));
        else s.send(d, { binary: isBinary });
      });
    });
  });
  after(() => shutdown(peer));

  it("ready-state constants on the class and instances; url, protocol, extensions, _socket, _req", async () => {
    assert.deepEqual([WebSocket.CONNECTING, WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED], [0, 1, 2, 3]);
    const c = new WebSocket(urlOf(peer, "/x?y"), "chat");
    assert.equal(c.readyState, c.CONNECTING);
    assert.equal(c.url, urlOf(peer, "/x?y"));
    assert.ok(c._req, "_req is the handshake request while connecting");
    assert.equal(c._redirects, 0);
    await next(c, "open");
    assert.equal(c._req, null);
    assert.equal(c.readyState, c.OPEN);
    assert.equal(c.protocol, "chat");
    assert.equal(c.extensions, "permessage-deflate");
    assert.equal(typeof c._socket.remotePort, "number");
    assert.equal(c.binaryType, "nodebuffer");
    c.close();
    await next(c, "close");
  });

  it("protocols may be omitted with options second; invalid or duplicated subprotocols throw SyntaxError", async () => {
    assert.throws(() => new WebSocket(urlOf(peer), ["a", "a"]), { name: "SyntaxError", message: "An invalid or duplicated subprotocol was specified" });
    assert.throws(() => new WebSocket("ftp://x"), { name: "SyntaxError" });
    assert.throws(() => new WebSocket("not a url"), { name: "SyntaxError", message: "Invalid URL: not a url" });
    assert.throws(() => new WebSocket(urlOf(peer), { protocolVersion: 7 }), { name: "RangeError" });
    const c = new WebSocket(urlOf(peer), { headers: { "X-A": "b" }, origin: "https://o.test", perMessageDeflate: false });
    await next(c, "open");
    assert.equal(c.extensions, "");
    c.send("headers");
    const [h] = await next(c, "message");
    const headers = JSON.parse(h.toString());
    assert.equal(headers["x-a"], "b");
    assert.equal(headers.origin, "https://o.test");
    c.close();
    await next(c, "close");
  });

  it("message (data, isBinary): text and binary arrive as Buffers by default", async () => {
    const c = await openClient(compat, urlOf(peer));
    c.send("héllo");
    const [t, tb] = await next(c, "message");
    assert.ok(Buffer.isBuffer(t));
    assert.equal(t.toString(), "héllo");
    assert.equal(tb, false);
    c.send(new Uint8Array([1, 2, 3]));
    const [b, bb] = await next(c, "message");
    assert.deepEqual([...b], [1, 2, 3]);
    assert.equal(bb, true);
    c.send("as binary", { binary: true });
    assert.equal((await next(c, "message"))[1], true);
    c.send(Buffer.from("as text"), { binary: false });
    assert.equal((await next(c, "message"))[1], false);
    c.send(42);
    assert.equal((await next(c, "message"))[0].toString(), "42");
    c.send(new Blob([Buffer.from("blob ")]));
    c.send("after blob");
    assert.equal((await next(c, "message"))[0].toString(), "blob ");
    assert.equal((await next(c, "message"))[0].toString(), "after blob");
    c.close();
    await next(c, "close");
  });

  it("binaryType arraybuffer and fragments", async () => {
    const c = await openClient(compat, urlOf(peer));
    c.binaryType = "arraybuffer";
    c.send(Buffer.from([9, 8]));
    const [ab] = await next(c, "message");
    assert.ok(ab instanceof ArrayBuffer);
    assert.deepEqual([...new Uint8Array(ab)], [9, 8]);
    c.binaryType = "fragments";
    c.send(Buffer.from([7]));
    const [frags] = await next(c, "message");
    assert.ok(Array.isArray(frags));
    assert.deepEqual([...Buffer.concat(frags)], [7]);
    c.binaryType = "blob"; // not a ws binaryType: ignored
    assert.equal(c.binaryType, "fragments");
    c.close();
    await next(c, "close");
  });

  it("send(data, { fin: false }) sends fragments that ws's server assembles into one message", async () => {
    const c = await openClient(compat, urlOf(peer));
    c.send("frag-", { fin: false });
    c.send("ment-", { fin: false });
    c.send("ed", { fin: true });
    const [m, isBinary] = await next(c, "message");
    assert.equal(m.toString(), "frag-ment-ed");
    assert.equal(isBinary, false);
    c.send("uncompressed", { compress: false });
    assert.equal((await next(c, "message"))[0].toString(), "uncompressed");
    c.close();
    await next(c, "close");
  });

  it("send callback runs once written; send before open throws; after close the callback gets ws's error", async () => {
    const c = new WebSocket(urlOf(peer));
    assert.throws(() => c.send("x"), { message: "WebSocket is not open: readyState 0 (CONNECTING)" });
    assert.throws(() => c.ping(), { message: "WebSocket is not open: readyState 0 (CONNECTING)" });
    await next(c, "open");
    const err = await withTimeout(new Promise((r) => c.send("cb", r)), 5000, "send cb");
    assert.equal(err, undefined);
    await next(c, "message");
    c.close();
    assert.equal(c.readyState, c.CLOSING);
    const late = await withTimeout(new Promise((r) => c.send("late", r)), 5000, "late cb");
    assert.equal(late.message, "WebSocket is not open: readyState 2 (CLOSING)");
    await next(c, "close");
    assert.equal(c.bufferedAmount, 4, "ws counts data sent after close in bufferedAmount");
  });

  it("close (code, reason Buffer) from the server; close() validates code and reason like ws", async () => {
    const c = await openClient(compat, urlOf(peer));
    assert.throws(() => c.close(1005), { name: "TypeError", message: "First argument must be a valid error code number" });
    assert.throws(() => c.close(1000, "x".repeat(124)), { name: "RangeError", message: "The message must not be greater than 123 bytes" });
    c.send("close-me");
    const [code, reason] = await next(c, "close");
    assert.equal(code, 4001);
    assert.ok(Buffer.isBuffer(reason));
    assert.equal(reason.toString(), "as asked");
    assert.equal(c.readyState, c.CLOSED);
  });

  it("ping/pong: 'ping' from the server (auto-answered), 'pong' for our ping with its data", async () => {
    const c = await openClient(compat, urlOf(peer));
    c.send("ping-me");
    const [data] = await next(c, "ping");
    assert.equal(data.toString(), "srv");
    c.ping("mine");
    const [pong] = await next(c, "pong");
    assert.equal(pong.toString(), "mine");
    assert.throws(() => c.ping(Buffer.alloc(126)), { name: "RangeError", message: "The data size must not be greater than 125 bytes" });
    c.pong("unsolicited");
    c.terminate();
    const [code] = await next(c, "close");
    assert.equal(code, 1006);
  });

  it("addEventListener and on* wrap events like ws (MessageEvent.data is a string for text)", async () => {
    const c = new WebSocket(urlOf(peer));
    const seen = [];
    c.onopen = (e) => seen.push(["open", e.type, e.target === c]);
    const onMessage = (e) => seen.push(["message", e.data]);
    c.addEventListener("message", onMessage);
    c.addEventListener("message", onMessage); // the same listener is not added twice
    c.addEventListener("close", (e) => seen.push(["close", e.code, e.reason, e.wasClean]), { once: true });
    assert.equal(typeof c.onopen, "function");
    assert.equal(c.onmessage, null);
    await next(c, "open");
    c.send("evt");
    await next(c, "message");
    c.removeEventListener("message", onMessage);
    c.close(1000, "bye");
    await next(c, "close");
    assert.deepEqual(seen, [["open", "open", true], ["message", "evt"], ["close", 1000, "bye", true]]);
  });

  it("pause() stops 'message' events until resume(); isPaused", async () => {
    const c = await openClient(compat, urlOf(peer));
    c.pause();
    assert.equal(c.isPaused, true);
    let got = 0;
    c.on("message", () => got++);
    c.send("while paused");
    // Nothing may arrive while paused (a sleep: asserting that nothing happens).
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(got, 0);
    c.resume();
    await next(c, "message");
    assert.equal(got, 1);
    c.close();
    await next(c, "close");
  });
});

describe("ws.md client handshake events: upgrade, unexpected-response, redirect; handshakeTimeout", () => {
  let http;
  let port;
  let wsPeer;
  before(async () => {
    wsPeer = new ws.WebSocketServer({ noServer: true });
    http = createHttpServer((req, res) => {
      if (req.url === "/redirect") res.writeHead(302, { Location: "/final" }).end();
      else if (req.url === "/loop") res.writeHead(302, { Location: "/loop" }).end();
      else res.writeHead(403, { "Content-Type": "text/plain" }).end("nope");
    });
    http.on("upgrade", (req, socket, head) => {
      if (req.url === "/final" || req.url === "/plain") wsPeer.handleUpgrade(req, socket, head, (s) => s.on("message", (d) => s.send(d)));
      else if (req.url === "/silent") socket.on("error", () => {}); // never answers
      else if (req.url === "/redirect" || req.url === "/loop") {
        socket.end(`HTTP/1.1 302 Found\r\nLocation: ${req.url === "/loop" ? "/loop" : "/final"}\r\nContent-Length: 0\r\n\r\n`);
      } else socket.end("HTTP/1.1 403 Forbidden\r\nContent-Length: 4\r\n\r\nnope");
    });
    await new Promise((r) => http.listen(0, "127.0.0.1", r));
    port = http.address().port;
  });
  after(() => {
    for (const c of wsPeer.clients) c.terminate();
    http.closeAllConnections();
    http.close();
  });

  it("'upgrade' (response) before 'open'", async () => {
    const c = new WebSocket(`ws://127.0.0.1:${port}/plain`);
    const order = [];
    c.on("upgrade", (res) => order.push(["upgrade", res.statusCode]));
    await next(c, "open");
    assert.deepEqual(order, [["upgrade", 101]]);
    c.terminate();
  });

  it("a refused handshake: 'error' Unexpected server response: 403, then 'close' 1006; with a listener, 'unexpected-response'", async () => {
    const c = new WebSocket(`ws://127.0.0.1:${port}/refused`);
    const closed = next(c, "close");
    const err = await withTimeout(new Promise((r) => c.on("error", r)), 5000, "error");
    assert.equal(err.message, "Unexpected server response: 403");
    const [code] = await closed;
    assert.equal(code, 1006);
    const d = new WebSocket(`ws://127.0.0.1:${port}/refused`);
    const [req, res] = await next(d, "unexpected-response");
    assert.equal(res.statusCode, 403);
    assert.equal(typeof req.setHeader, "function");
    req.destroy();
    d.on("error", () => {});
  });

  it("followRedirects: 'redirect' (url, request), _redirects counts; maxRedirects stops a loop", async () => {
    const c = new WebSocket(`ws://127.0.0.1:${port}/redirect`, { followRedirects: true });
    const [url] = await next(c, "redirect");
    assert.equal(url, `ws://127.0.0.1:${port}/final`);
    await next(c, "open");
    assert.equal(c._redirects, 1);
    assert.equal(c.url, `ws://127.0.0.1:${port}/final`);
    c.terminate();
    const l = new WebSocket(`ws://127.0.0.1:${port}/loop`, { followRedirects: true, maxRedirects: 2 });
    const err = await withTimeout(new Promise((r) => l.on("error", r)), 5000, "redirect error");
    assert.equal(err.message, "Maximum redirects exceeded");
    const nf = new WebSocket(`ws://127.0.0.1:${port}/redirect`);
    const nfErr = await withTimeout(new Promise((r) => nf.on("error", r)), 5000, "no follow");
    assert.equal(nfErr.message, "Unexpected server response: 302");
  });

  it("handshakeTimeout: 'Opening handshake has timed out'; close() while connecting aborts", async () => {
    const c = new WebSocket(`ws://127.0.0.1:${port}/silent`, { handshakeTimeout: 100 });
    const err = await withTimeout(new Promise((r) => c.on("error", r)), 5000, "timeout");
    assert.equal(err.message, "Opening handshake has timed out");
    const d = new WebSocket(`ws://127.0.0.1:${port}/silent`);
    const dErr = new Promise((r) => d.on("error", r));
    const dClose = next(d, "close");
    d.close();
    assert.equal(d.readyState, d.CLOSING);
    assert.equal((await withTimeout(dErr, 5000, "abort")).message, "WebSocket was closed before the connection was established");
    assert.equal((await dClose)[0], 1006);
  });
});

describe("ws.md errors: protocol violations by the peer carry ws's message, code and close code", () => {
  /** A raw server: answers the handshake, then writes `bytes`; resolves with what the client sent afterwards. */
  async function rawPeer(bytes) {
    let captured;
    const got = new Promise((r) => (captured = r));
    const srv = createNetServer((s) => {
      let buf = Buffer.alloc(0);
      s.on("data", (d) => {
        buf = Buffer.concat([buf, d]);
        const end = buf.indexOf("\r\n\r\n");
        if (end === -1 || s.upgraded) return;
        s.upgraded = true;
        const key = /sec-websocket-key: (.*)\r\n/i.exec(buf.toString())[1].trim();
        const accept = createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
        s.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
        s.write(bytes);
        buf = Buffer.alloc(0);
        s.removeAllListeners("data");
        const after = [];
        s.on("data", (d) => after.push(d));
        s.on("end", () => s.end());
        s.on("close", () => captured(Buffer.concat(after)));
      });
      s.on("error", () => {});
    });
    await new Promise((r) => srv.listen(0, "127.0.0.1", r));
    return { url: `ws://127.0.0.1:${srv.address().port}/`, got, close: () => srv.close() };
  }

  const cases = [
    ["RSV2 set", [0xa1, 0x00], RangeError, "Invalid WebSocket frame: RSV2 and RSV3 must be clear", "WS_ERR_UNEXPECTED_RSV_2_3", 1002],
    ["RSV1 without extension", [0xc1, 0x00], RangeError, "Invalid WebSocket frame: RSV1 must be clear", "WS_ERR_UNEXPECTED_RSV_1", 1002],
    ["reserved opcode 3", [0x83, 0x00], RangeError, "Invalid WebSocket frame: invalid opcode 3", "WS_ERR_INVALID_OPCODE", 1002],
    ["fragmented ping", [0x09, 0x00], RangeError, "Invalid WebSocket frame: FIN must be set", "WS_ERR_EXPECTED_FIN", 1002],
    ["masked server frame", [0x81, 0x80, 0, 0, 0, 0], RangeError, "Invalid WebSocket frame: MASK must be clear", "WS_ERR_UNEXPECTED_MASK", 1002],
    ["invalid UTF-8", [0x81, 0x01, 0xff], Error, "Invalid WebSocket frame: invalid UTF-8 sequence", "WS_ERR_INVALID_UTF8", 1007],
    ["close code 1005", [0x88, 0x02, 0x03, 0xed], RangeError, "Invalid WebSocket frame: invalid status code 1005", "WS_ERR_INVALID_CLOSE_CODE", 1002],
  ];
  for (const [name, bytes, type, message, code, closeCode] of cases) {
    it(`${name}: ${code}, close ${closeCode}`, async () => {
      const peer = await rawPeer(Buffer.from(bytes));
      const c = new WebSocket(peer.url);
      const err = await withTimeout(new Promise((r) => c.on("error", r)), 5000, "error");
      assert.ok(err instanceof type, `${err.constructor.name}`);
      assert.equal(err.message, message);
      assert.equal(err.code, code);
      const [closeEventCode] = await next(c, "close");
      assert.equal(closeEventCode, 1006);
      const sent = await withTimeout(peer.got, 5000, "client close frame");
      // The close frame the client sent (masked): opcode 0x88, then the code after unmasking.
      assert.equal(sent[0], 0x88);
      const mask = sent.subarray(2, 6);
      assert.equal(((sent[6] ^ mask[0]) << 8) | (sent[7] ^ mask[1]), closeCode);
      peer.close();
    });
  }

  it("maxPayload on the client: RangeError Max payload size exceeded, 1009", async () => {
    const peer = await rawPeer(Buffer.from([0x82, 0x05, 1, 2, 3, 4, 5]));
    const c = new WebSocket(peer.url, { maxPayload: 4 });
    const err = await withTimeout(new Promise((r) => c.on("error", r)), 5000, "error");
    assert.equal(err.message, "Max payload size exceeded");
    assert.equal(err.code, "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH");
    await next(c, "close");
    peer.close();
  });
});

describe("ws.md client options: createConnection, agent, ws+unix:, bufferedAmount", () => {
  it("createConnection makes the socket; agent is used for the request", async () => {
    const { connect } = await import("node:net");
    const { Agent } = await import("node:http");
    const peer = await listen(ws);
    peer.on("connection", (s) => s.on("message", (d) => s.send(d)));
    let made = 0;
    const c = await openClient(compat, urlOf(peer), {
      createConnection: (opts) => {
        made++;
        return connect(opts.port, opts.host);
      },
    });
    assert.equal(made, 1);
    c.send("via createConnection");
    assert.equal((await next(c, "message"))[0].toString(), "via createConnection");
    c.close();
    await next(c, "close");
    const agent = new Agent();
    let created = 0;
    const orig = agent.createConnection.bind(agent);
    agent.createConnection = (...a) => (created++, orig(...a));
    const d = await openClient(compat, urlOf(peer), { agent, createConnection: undefined });
    assert.equal(created, 1);
    d.close();
    await next(d, "close");
    agent.destroy();
    await shutdown(peer);
  });

  it("ws+unix: dials a Unix domain socket", async () => {
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { createServer: createHttp } = await import("node:http");
    const sockPath = join(tmpdir(), `wshub-compat-${process.pid}.sock`);
    const http = createHttp();
    const peer = new ws.WebSocketServer({ server: http });
    peer.on("connection", (s, req) => s.send(req.url));
    await new Promise((r) => http.listen(sockPath, r));
    const c = new WebSocket(`ws+unix:${sockPath}:/over/unix?x=1`);
    const [m] = await next(c, "message");
    assert.equal(m.toString(), "/over/unix?x=1");
    c.close();
    await next(c, "close");
    peer.close();
    http.close();
  });

  it("bufferedAmount counts bytes not yet written to the kernel", async () => {
    const peer = await listen(ws);
    const c = await openClient(compat, urlOf(peer), { perMessageDeflate: false });
    const conn = [...peer.clients][0];
    conn.pause(); // the peer stops reading: our writes pile up
    const chunk = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < 16; i++) c.send(chunk);
    await new Promise((r) => setImmediate(r));
    assert.ok(c.bufferedAmount > 0, `bufferedAmount ${c.bufferedAmount}`);
    c.terminate();
    await shutdown(peer);
  });
});
