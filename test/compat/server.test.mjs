// wshub/ws WebSocketServer, checked against ws.md "Class: WebSocketServer", with ws's own client as the peer.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { ws, compat, next, listen, urlOf, shutdown, openClient, rawRequest, upgradeRequest, withTimeout } from "./fixtures.mjs";

describe("ws.md new WebSocketServer(options): modes", () => {
  it("exactly one of port, server, noServer (TypeError with ws's message)", () => {
    for (const bad of [{}, { port: 0, noServer: true }, { server: createServer(), noServer: true }]) {
      assert.throws(() => new compat.WebSocketServer(bad), { name: "TypeError", message: 'One and only one of the "port", "server", or "noServer" options must be specified' });
    }
  });

  it("port: listens (callback and 'listening'), address(), 'connection' (ws, req) with req.url and headers, _socket", async () => {
    let called = false;
    const wss = new compat.WebSocketServer({ port: 0, host: "127.0.0.1" }, () => (called = true));
    await next(wss, "listening");
    assert.equal(called, true);
    const addr = wss.address();
    assert.equal(addr.address, "127.0.0.1");
    const conn = next(wss, "connection");
    const c = new ws.WebSocket(urlOf(wss, "/a?b=1"), { headers: { "x-test": "yes" } });
    const [sock, req] = await conn;
    assert.ok(sock instanceof compat.WebSocket);
    assert.equal(req.url, "/a?b=1");
    assert.equal(req.headers["x-test"], "yes");
    assert.equal(typeof sock._socket.remoteAddress, "string");
    assert.equal(sock.readyState, compat.WebSocket.OPEN);
    await next(c, "open");
    c.close();
    await next(c, "close");
    await shutdown(wss);
  });

  it("port: a plain HTTP request is answered 426 Upgrade Required (as ws's own http server)", async () => {
    const wss = await listen(compat);
    const res = await rawRequest(wss.address().port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.match(res, /^HTTP\/1\.1 426 Upgrade Required\r\n/);
    assert.match(res, /\r\n\r\nUpgrade Required$/);
    await shutdown(wss);
  });

  it("server: attaches to an http.Server, forwards 'listening'; other requests stay the server's", async () => {
    const http = createServer((req, res) => res.end("plain"));
    const wss = new compat.WebSocketServer({ server: http });
    http.listen(0, "127.0.0.1");
    await next(wss, "listening");
    const port = http.address().port;
    assert.equal(wss.address().port, port);
    const plain = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text());
    assert.equal(plain, "plain");
    const c = await openClient(ws, `ws://127.0.0.1:${port}/`);
    c.send("over http.Server");
    const [[server]] = [[...wss.clients]];
    const [msg, isBinary] = await next(server, "message");
    assert.equal(msg.toString(), "over http.Server");
    assert.equal(isBinary, false);
    c.close();
    await next(c, "close");
    await shutdown(wss);
    http.close();
  });

  it("noServer: handleUpgrade(req, socket, head, cb); address() throws; shouldHandle by path", async () => {
    const wss = new compat.WebSocketServer({ noServer: true, path: "/ws" });
    assert.throws(() => wss.address(), { message: 'The server is operating in "noServer" mode' });
    const http = createServer();
    http.on("upgrade", (req, socket, head) => {
      if (!wss.shouldHandle(req)) return socket.destroy();
      wss.handleUpgrade(req, socket, head, (s, r) => wss.emit("connection", s, r));
    });
    await new Promise((r) => http.listen(0, "127.0.0.1", r));
    const port = http.address().port;
    wss.on("connection", (s) => s.on("message", (d, b) => s.send(d, { binary: b })));
    const c = await openClient(ws, `ws://127.0.0.1:${port}/ws?x`);
    c.send(Buffer.from([7, 8, 9]));
    const [echo, isBinary] = await next(c, "message");
    assert.deepEqual([...echo], [7, 8, 9]);
    assert.equal(isBinary, true);
    const refused = new ws.WebSocket(`ws://127.0.0.1:${port}/other`);
    const [err] = await withTimeout(new Promise((r) => refused.on("error", (e) => r([e]))), 5000, "refused");
    assert.match(err.message, /socket hang up|ECONNRESET/);
    c.close();
    await next(c, "close");
    await shutdown(wss);
    http.close();
  });

  it("path: a request for another path is answered 400 by handleUpgrade", async () => {
    const wss = await listen(compat, { path: "/only" });
    const res = await rawRequest(wss.address().port, upgradeRequest("/elsewhere"));
    assert.match(res, /^HTTP\/1\.1 400 Bad Request\r\n/);
    const c = await openClient(ws, urlOf(wss, "/only?q=1"));
    c.terminate();
    await shutdown(wss);
  });

  it("handleUpgrade twice with the same socket throws ws's error", async () => {
    const wss = new compat.WebSocketServer({ noServer: true });
    const http = createServer();
    const thrown = new Promise((resolve) => {
      http.on("upgrade", (req, socket, head) => {
        wss.handleUpgrade(req, socket, head, () => {});
        try {
          wss.handleUpgrade(req, socket, head, () => {});
        } catch (e) {
          resolve(e);
        }
      });
    });
    await new Promise((r) => http.listen(0, "127.0.0.1", r));
    const c = new ws.WebSocket(`ws://127.0.0.1:${http.address().port}/`);
    c.on("error", () => {});
    const e = await withTimeout(thrown, 5000, "second handleUpgrade");
    assert.match(e.message, /handleUpgrade\(\) was called more than once with the same socket/);
    c.terminate();
    for (const s of wss.clients) s.terminate();
    http.close();
  });
});

describe("ws.md handshake checks, verifyClient, handleProtocols, 'headers', 'wsClientError'", () => {
  it("bad requests get ws's status and message; with a 'wsClientError' listener the socket is the listener's", async () => {
    const wss = await listen(compat);
    const port = wss.address().port;
    const noKey = upgradeRequest("/").replace(/Sec-WebSocket-Key: .*\r\n/, "");
    assert.match(await rawRequest(port, noKey), /^HTTP\/1\.1 400 Bad Request\r\n[^]*\r\n\r\nMissing or invalid Sec-WebSocket-Key header$/);
    const v12 = upgradeRequest("/").replace("Version: 13", "Version: 12");
    const r12 = await rawRequest(port, v12);
    assert.match(r12, /Sec-WebSocket-Version: 13, 8\r\n/);
    assert.match(r12, /Missing or invalid Sec-WebSocket-Version header$/);
    const post = upgradeRequest("/").replace("GET", "POST");
    assert.match(await rawRequest(port, post), /^HTTP\/1\.1 405 Method Not Allowed\r\n[^]*Invalid HTTP method$/);
    const dupProto = upgradeRequest("/", "Sec-WebSocket-Protocol: a, a\r\n");
    assert.match(await rawRequest(port, dupProto), /Invalid Sec-WebSocket-Protocol header$/);
    const seen = [];
    wss.on("wsClientError", (err, socket, req) => {
      seen.push([err.message, req.url]);
      socket.end("HTTP/1.1 418 I'm a Teapot\r\nConnection: close\r\n\r\n");
    });
    assert.match(await rawRequest(port, noKey.replace("GET /", "GET /t")), /^HTTP\/1\.1 418/);
    assert.deepEqual(seen, [["Missing or invalid Sec-WebSocket-Key header", "/t"]]);
    await shutdown(wss);
  });

  it("verifyClient (sync): info.origin/secure/req; false answers 401", async () => {
    const infos = [];
    const wss = await listen(compat, {
      verifyClient: (info) => {
        infos.push(info);
        return info.req.url !== "/deny";
      },
    });
    const c = await openClient(ws, urlOf(wss, "/ok"), { origin: "https://example.test" });
    assert.equal(infos[0].origin, "https://example.test");
    assert.equal(infos[0].secure, false);
    assert.equal(infos[0].req.url, "/ok");
    const denied = new ws.WebSocket(urlOf(wss, "/deny"));
    const [req, res] = await next(denied, "unexpected-response");
    assert.equal(res.statusCode, 401);
    req.destroy();
    denied.on("error", () => {});
    c.terminate();
    await shutdown(wss);
  });

  it("verifyClient (async): callback(false, code, message, headers) answers them; callback(true) accepts later", async () => {
    const wss = await listen(compat, {
      verifyClient: (info, cb) => {
        setImmediate(() => (info.req.url === "/no" ? cb(false, 403, "Go away", { "X-Why": "test" }) : cb(true)));
      },
    });
    const res = await rawRequest(wss.address().port, upgradeRequest("/no"));
    assert.match(res, /^HTTP\/1\.1 403 Forbidden\r\n/);
    assert.match(res, /X-Why: test\r\n/);
    assert.match(res, /\r\n\r\nGo away$/);
    const c = await openClient(ws, urlOf(wss, "/yes"));
    c.send("after async verify");
    const [server] = [...wss.clients];
    const [m] = await next(server, "message");
    assert.equal(m.toString(), "after async verify");
    c.terminate();
    await shutdown(wss);
  });

  it("subprotocols: the first offered by default; handleProtocols(Set, req) picks; false selects none", async () => {
    const wss = await listen(compat);
    const c1 = await openClient(ws, urlOf(wss), ["one", "two"]);
    assert.equal(c1.protocol, "one");
    let got;
    wss.options.handleProtocols = (protocols, req) => {
      got = [protocols, req.url];
      return protocols.has("two") ? "two" : false;
    };
    const c2 = await openClient(ws, urlOf(wss, "/p"), ["one", "two"]);
    assert.ok(got[0] instanceof Set);
    assert.deepEqual([...got[0]], ["one", "two"]);
    assert.equal(got[1], "/p");
    assert.equal(c2.protocol, "two");
    const server2 = [...wss.clients].find((s) => s.protocol === "two");
    assert.ok(server2);
    const c3 = new ws.WebSocket(urlOf(wss), ["three"]);
    const [err] = await next(c3, "error").catch((e) => [e]);
    assert.equal(err.message, "Server sent no subprotocol");
    c1.terminate();
    c2.terminate();
    await shutdown(wss);
  });

  it("'headers' (headers, req): the listener's changes are sent in the 101", async () => {
    const wss = await listen(compat);
    wss.on("headers", (headers, req) => headers.push(`X-Req: ${req.url}`, "Set-Cookie: a=1"));
    const c = new ws.WebSocket(urlOf(wss, "/h"));
    const opened = next(c, "open");
    const [res] = await next(c, "upgrade");
    assert.equal(res.headers["x-req"], "/h");
    assert.deepEqual(res.headers["set-cookie"], ["a=1"]);
    await opened;
    c.terminate();
    await shutdown(wss);
  });
});

describe("ws.md clientTracking, close(), maxPayload, perMessageDeflate, autoPong", () => {
  it("clients holds open connections; close(cb) waits for them (ws 8: existing connections stay open)", async () => {
    const wss = await listen(compat);
    const c = await openClient(ws, urlOf(wss));
    assert.equal(wss.clients.size, 1);
    const [server] = [...wss.clients];
    const serverClosed = next(server, "close");
    let closed = false;
    const done = new Promise((resolve) => wss.close((err) => resolve(err)));
    wss.once("close", () => (closed = true));
    // Nothing happens while the client stays: ws 8's close() does not close connections (assert no 'close' yet).
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(closed, false);
    assert.equal(c.readyState, ws.WebSocket.OPEN);
    c.close(1000);
    assert.equal(await withTimeout(done, 5000, "close"), undefined);
    await serverClosed;
    assert.equal(wss.clients.size, 0);
    const again = await new Promise((resolve) => wss.close(resolve));
    assert.equal(again.message, "The server is not running");
  });

  it("clientTracking: false leaves clients undefined", async () => {
    const wss = await listen(compat, { clientTracking: false });
    assert.equal(wss.clients, undefined);
    const conn = next(wss, "connection");
    const c = await openClient(ws, urlOf(wss));
    const [s] = await conn;
    c.close();
    await next(s, "close");
    await shutdown(wss);
  });

  it("noServer close() with no clients emits 'close' on the next tick", async () => {
    const wss = new compat.WebSocketServer({ noServer: true });
    await withTimeout(new Promise((r) => wss.close(r)), 1000, "close");
  });

  it("maxPayload: a larger message fails with 1009 and RangeError WS_ERR_UNSUPPORTED_MESSAGE_LENGTH", async () => {
    const wss = await listen(compat, { maxPayload: 10 });
    const conn = next(wss, "connection");
    const c = await openClient(ws, urlOf(wss));
    const [s] = await conn;
    const errP = next(s, "error").catch((e) => e);
    c.send(Buffer.alloc(11));
    const [code] = await next(c, "close");
    const err = await errP;
    const e = Array.isArray(err) ? err[0] : err;
    assert.equal(code, 1009);
    assert.ok(e instanceof RangeError);
    assert.equal(e.code, "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH");
    assert.equal(e.message, "Max payload size exceeded");
    await shutdown(wss);
  });

  it("perMessageDeflate: off by default; with options ws's client negotiates and messages over threshold round trip", async () => {
    const off = await listen(compat);
    const c0 = await openClient(ws, urlOf(off));
    assert.equal(c0.extensions, "");
    c0.terminate();
    await shutdown(off);
    const wss = await listen(compat, { perMessageDeflate: { threshold: 16, zlibDeflateOptions: { level: 1 }, zlibInflateOptions: {}, concurrencyLimit: 2 } });
    wss.on("connection", (s) => s.on("message", (d, b) => s.send(d, { binary: b })));
    const c = await openClient(ws, urlOf(wss));
    assert.match(c.extensions, /permessage-deflate/);
    const [server] = [...wss.clients];
    assert.equal(server.extensions, "permessage-deflate");
    const big = "compress me ".repeat(1000);
    c.send(big);
    const [echo] = await next(c, "message");
    assert.equal(echo.toString(), big);
    c.close();
    await next(c, "close");
    await shutdown(wss);
  });

  it("autoPong: answers pings by default, not with autoPong: false; 'ping' is emitted either way", async () => {
    for (const autoPong of [true, false]) {
      const wss = await listen(compat, { autoPong });
      const conn = next(wss, "connection");
      const c = await openClient(ws, urlOf(wss));
      const [s] = await conn;
      const pinged = next(s, "ping");
      let ponged = false;
      c.on("pong", () => (ponged = true));
      c.ping("x");
      const [data] = await pinged;
      assert.equal(data.toString(), "x");
      // Round trip a message after the ping: a pong, if any, arrives before it.
      s.send("after");
      await next(c, "message");
      assert.equal(ponged, autoPong);
      c.terminate();
      await shutdown(wss);
    }
  });

  it("allowSynchronousEvents: false emits at most one message per tick", async () => {
    const wss = await listen(compat, { allowSynchronousEvents: false });
    const conn = next(wss, "connection");
    const c = await openClient(ws, urlOf(wss));
    const [s] = await conn;
    // Each message must come in a later event-loop turn than the one before: a setImmediate scheduled by one
    // message's listener has run before the next message is emitted.
    let turnPassed = true;
    const order = [];
    const all = new Promise((resolve) => {
      s.on("message", (m) => {
        order.push([m.toString(), turnPassed]);
        turnPassed = false;
        setImmediate(() => (turnPassed = true));
        if (order.length === 3) resolve();
      });
    });
    s.pause();
    c.send("1");
    c.send("2");
    c.send("3");
    // Paused, the three messages wait in the socket, then arrive in one read when it resumes (a sleep: the
    // client reports nothing when its bytes reach the server).
    await new Promise((r) => setTimeout(r, 50));
    s.resume();
    await withTimeout(all, 5000, "messages");
    assert.deepEqual(order, [["1", true], ["2", true], ["3", true]]);
    c.terminate();
    await shutdown(wss);
  });
});

describe("ws.md websocket.pause() / resume() on server-side connections", () => {
  it("a paused connection of the standalone server emits no 'message' until resumed", async () => {
    const wss = await listen(compat);
    const conn = next(wss, "connection");
    const c = await openClient(ws, urlOf(wss));
    const [s] = await conn;
    s.pause();
    assert.equal(s.isPaused, true);
    let got = 0;
    s.on("message", () => got++);
    c.send("one");
    c.send("two");
    // Nothing may arrive while paused (a sleep: asserting that nothing happens).
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(got, 0);
    const both = new Promise((resolve) => s.on("message", () => got === 2 && resolve()));
    s.resume();
    await withTimeout(both, 5000, "messages after resume");
    c.terminate();
    await shutdown(wss);
  });
});

describe("a 'message' listener that throws", () => {
  it("is rethrown on the next tick (uncaught, as with ws) and the connection keeps working", async () => {
    const { spawn } = await import("node:child_process");
    const { fileURLToPath } = await import("node:url");
    const root = fileURLToPath(new URL("../..", import.meta.url));
    const script = `
      import { WebSocketServer } from "wshub/ws";
      import { WebSocket } from "ws";
      process.on("uncaughtException", (e) => console.log("uncaught: " + e.message));
      const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" }, () => {
        const c = new WebSocket("ws://127.0.0.1:" + wss.address().port);
        c.on("open", () => { c.send("a"); c.send("b"); });
        c.on("message", (d) => { console.log("client got: " + d); c.close(); wss.close(); });
      });
      wss.on("connection", (s) => s.on("message", (d) => {
        if (String(d) === "a") throw new Error("listener threw");
        s.send("alive after " + d);
      }));`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    const [code] = await next(child, "exit", 10_000).catch((e) => {
      child.kill();
      throw e;
    });
    assert.equal(code, 0);
    assert.equal(out, "uncaught: listener threw\nclient got: alive after b\n");
  });
});

describe("ws.md options that wshub/ws accepts with a documented difference", () => {
  it("skipUTF8Validation: accepted, and invalid UTF-8 still fails with 1007 (wshub always validates)", async () => {
    const wss = await listen(compat, { skipUTF8Validation: true });
    const conn = next(wss, "connection");
    const c = await openClient(ws, urlOf(wss));
    const [s] = await conn;
    const errP = next(s, "error");
    c._socket.write(Buffer.from([0x81, 0x81, 0, 0, 0, 0, 0xff])); // masked text frame holding 0xFF
    const [err] = await errP;
    assert.equal(err.code, "WS_ERR_INVALID_UTF8");
    const [code] = await next(c, "close");
    assert.equal(code, 1007);
    await shutdown(wss);
  });

  it("closeTimeout: a peer that never answers the close frame is cut off after it", async () => {
    const wss = await listen(compat, { closeTimeout: 200 });
    const conn = next(wss, "connection");
    const c = await openClient(ws, urlOf(wss));
    const [s] = await conn;
    c._socket.pause(); // the ws client no longer reads: it never sees our close frame
    const t0 = Date.now();
    s.close(1000);
    const [code] = await next(s, "close", 5000);
    assert.equal(code, 1006);
    assert.ok(Date.now() - t0 >= 150, `closed after ${Date.now() - t0} ms`);
    c.terminate();
    await shutdown(wss);
  });

  it("terminate() on a server connection: the client sees 1006", async () => {
    const wss = await listen(compat);
    const conn = next(wss, "connection");
    const c = await openClient(ws, urlOf(wss));
    const [s] = await conn;
    s.terminate();
    assert.equal(s.readyState, compat.WebSocket.CLOSING);
    const [code] = await next(c, "close");
    assert.equal(code, 1006);
    await shutdown(wss);
  });

  it("bad option values throw a TypeError naming the option", () => {
    assert.throws(() => new compat.WebSocketServer({ noServer: true, maxPayload: -1 }), { name: "RangeError", message: /maxPayload/ });
    assert.throws(() => new compat.WebSocketServer({ noServer: true, verifyClient: 1 }), { name: "TypeError", message: /verifyClient/ });
    assert.throws(() => new compat.WebSocketServer({ noServer: true, perMessageDeflate: { threshold: "1k" } }), { name: "TypeError", message: /perMessageDeflate\.threshold/ });
    assert.throws(() => new compat.WebSocket("ws://127.0.0.1:1/", { handshakeTimeout: "x" }), { name: "TypeError", message: /handshakeTimeout/ });
    assert.throws(() => new compat.WebSocket("ws://127.0.0.1:1/", { followRedirects: "yes" }), { name: "TypeError", message: /followRedirects/ });
    // ws's null defaults count as absent.
    assert.doesNotThrow(() => new compat.WebSocketServer({ noServer: true, host: null, path: null, verifyClient: null, handleProtocols: null }).close());
    assert.throws(() => new compat.WebSocketServer({ noServer: true, perMessageDeflate: { serverMaxWindowBits: 99 } }), { name: "RangeError" });
  });
});
