// Client conformance: a raw TCP server (node:net, handshake by hand) drives our WebSocket client through the
// client-side rules of RFC 6455: masking (§5.1, §5.3), the closing handshake and timeout (§7.1.1), protocol
// failures, and the checks on the server's handshake response (§4.1).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { WebSocket } from "../../dist/index.js";
import { closePayload, parseFrames, s } from "../helpers/frames.mjs";
import { acceptFor, RawPeer, splitHead, withTimeout, waitFor } from "../helpers/index.mjs";

const TIMEOUT = 5000;
const delay = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts a raw server on 127.0.0.1:0. For each connection it reads the upgrade request and calls
 * `script(peer, request)`; `request.key` and `request.headers` are parsed. Returns { url, peers, close }.
 */
async function rawServer(script) {
  const peers = [];
  const errors = [];
  const server = net.createServer(async (socket) => {
    const peer = new RawPeer(socket);
    peers.push(peer);
    try {
      await peer.waitFor(() => peer.received.indexOf("\r\n\r\n") !== -1, TIMEOUT, "the upgrade request");
      const end = peer.received.indexOf("\r\n\r\n");
      const lines = peer.received.toString("latin1", 0, end).split("\r\n");
      const headers = {};
      for (const l of lines.slice(1)) headers[l.slice(0, l.indexOf(":")).toLowerCase()] = l.slice(l.indexOf(":") + 1).trim();
      peer.received = Buffer.from(peer.received.subarray(end + 4));
      await script(peer, { requestLine: lines[0], headers, key: headers["sec-websocket-key"] });
    } catch (err) {
      errors.push(err);
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `ws://127.0.0.1:${server.address().port}/`,
    peers,
    errors,
    close: () =>
      new Promise((resolve) => {
        for (const p of peers) p.destroy();
        server.close(() => resolve());
      }),
  };
}

const accept101 = (key, extra = []) =>
  ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade", `Sec-WebSocket-Accept: ${acceptFor(key)}`, ...extra].join("\r\n") + "\r\n\r\n";

/** Records a client's events in order; `closed` resolves with the close event. */
function watch(ws) {
  const log = [];
  let resolveClosed;
  const closed = new Promise((r) => (resolveClosed = r));
  ws.addEventListener("open", () => log.push(["open"]));
  ws.addEventListener("message", (e) => log.push(["message", typeof e.data === "string" ? e.data : Buffer.from(e.data).toString("hex")]));
  ws.addEventListener("error", (e) => log.push(["error", e.error?.code ?? e.error?.name, e.error?.message ?? e.message]));
  ws.addEventListener("close", (e) => {
    log.push(["close", e.code, e.reason, e.wasClean]);
    resolveClosed(e);
  });
  return { log, closed };
}

/** Frames the raw server received from the client (all complete ones). */
const framesOf = (peer) => parseFrames(peer.received).frames;

describe("RFC 6455 §5.1/§5.3 client masking", () => {
  it("a masked frame from the server fails the client with 1002; its close frame is masked", { timeout: TIMEOUT * 2 }, async () => {
    const srv = await rawServer(async (peer, req) => {
      peer.write(accept101(req.key));
      peer.write(Buffer.from([0x81, 0x82, 1, 2, 3, 4, 0x68 ^ 1, 0x69 ^ 2])); // masked "hi"
    });
    try {
      const ws = new WebSocket(srv.url, [], { closeTimeout: 2000 });
      const { log, closed } = watch(ws);
      const ev = await withTimeout(closed, TIMEOUT, "close event");
      assert.deepEqual(log.map((e) => e[0]), ["open", "error", "close"]);
      assert.equal(log[1][1], "WS_ERR_UNEXPECTED_MASK");
      assert.equal(ev.code, 1006);
      assert.equal(ev.wasClean, false);
      const peer = srv.peers[0];
      await peer.waitFor(() => peer.ended, TIMEOUT, "the client to close TCP");
      const frames = framesOf(peer);
      assert.equal(frames.length, 1);
      assert.equal(frames[0].opcode, 0x8);
      assert.equal(frames[0].masked, true, "the client's close frame is masked");
      assert.equal(frames[0].payload.toString("hex"), "03ea");
    } finally {
      await srv.close();
    }
  });

  it("the client masks every frame with a fresh key", { timeout: TIMEOUT * 2 }, async () => {
    const srv = await rawServer(async (peer, req) => {
      peer.write(accept101(req.key));
    });
    try {
      const ws = new WebSocket(srv.url, [], { closeTimeout: 2000 });
      const { closed } = watch(ws);
      await withTimeout(new Promise((r) => ws.addEventListener("open", r)), TIMEOUT, "open");
      const sent = [];
      for (let i = 0; i < 40; i++) {
        const text = `message ${i} ` + "x".repeat(i * 5);
        ws.send(text);
        sent.push([1, Buffer.from(text)]);
        const bin = Buffer.alloc(i * 40, i);
        ws.send(bin);
        sent.push([2, bin]);
      }
      ws.ping(Buffer.from("p"));
      sent.push([9, Buffer.from("p")]);
      ws.send(Buffer.alloc(70000, 7));
      sent.push([2, Buffer.alloc(70000, 7)]);
      const peer = srv.peers[0];
      await peer.waitFor(() => framesOf(peer).length === sent.length, TIMEOUT, `${sent.length} frames`);
      const frames = framesOf(peer);
      const keys = new Set();
      frames.forEach((f, i) => {
        assert.equal(f.masked, true, `frame ${i} is masked`);
        assert.equal(f.opcode, sent[i][0]);
        assert.ok(f.payload.equals(sent[i][1]), `frame ${i} unmasks to what was sent`);
        keys.add(f.key.toString("hex"));
      });
      // 82 keys from a CSPRNG collide with probability ~1e-6.
      assert.equal(keys.size, frames.length, "no key is reused");
      ws.terminate();
      await withTimeout(closed, TIMEOUT, "close event");
    } finally {
      await srv.close();
    }
  });
});

describe("RFC 6455 §7.1.1 client closing behaviour", () => {
  it("server-initiated close: the client echoes (masked) and waits for the server to close TCP", { timeout: TIMEOUT * 2 }, async () => {
    const srv = await rawServer(async (peer, req) => {
      peer.write(accept101(req.key));
      peer.write(s(0x8, closePayload(1000, "bye")));
    });
    try {
      const ws = new WebSocket(srv.url, [], { closeTimeout: 3000 });
      const { log, closed } = watch(ws);
      await waitFor(() => srv.peers.length > 0, "the connection", TIMEOUT);
      const peer = srv.peers[0];
      await peer.waitFor(() => framesOf(peer).length === 1, TIMEOUT, "the client's close echo");
      const [f] = framesOf(peer);
      assert.equal(f.opcode, 0x8);
      assert.equal(f.masked, true);
      assert.equal(f.payload.toString("hex"), closePayload(1000, "bye").toString("hex"), "the echo repeats code and reason");
      // The client does not close TCP first: the server does (RFC 6455 §7.1.1). A sleep to assert that nothing
      // happens: the client leaves TCP open.
      await delay(300);
      assert.equal(peer.ended, false, "the client closed TCP before the server");
      assert.equal(log.some((e) => e[0] === "close"), false);
      peer.socket.end();
      const ev = await withTimeout(closed, TIMEOUT, "close event");
      assert.equal(ev.wasClean, true);
      assert.equal(ev.code, 1000);
      assert.equal(ev.reason, "bye");
      assert.deepEqual(log.map((e) => e[0]), ["open", "close"]);
    } finally {
      await srv.close();
    }
  });

  it("after the closing handshake, a server that never closes TCP is cut off at the closing timeout", { timeout: TIMEOUT * 2 }, async () => {
    const srv = await rawServer(async (peer, req) => {
      peer.write(accept101(req.key));
      peer.write(s(0x8, closePayload(4000)));
    });
    try {
      const ws = new WebSocket(srv.url, [], { closeTimeout: 300 });
      const { closed } = watch(ws);
      await waitFor(() => srv.peers.length > 0, "the connection", TIMEOUT);
      const peer = srv.peers[0];
      await peer.waitFor(() => framesOf(peer).length === 1, TIMEOUT, "the close echo");
      const echoed = Date.now();
      await peer.waitFor(() => peer.ended || peer.closed, TIMEOUT, "the client to close TCP");
      const waited = Date.now() - echoed;
      assert.ok(waited >= 200, `client closed TCP after ${waited} ms, before its closing timeout`);
      const ev = await withTimeout(closed, TIMEOUT, "close event");
      assert.equal(ev.code, 4000);
      assert.equal(ev.wasClean, true, "both close frames were exchanged");
    } finally {
      await srv.close();
    }
  });

  it("client-initiated close with a silent server: the client closes TCP at the closing timeout (1006)", { timeout: TIMEOUT * 2 }, async () => {
    const srv = await rawServer(async (peer, req) => {
      peer.write(accept101(req.key));
    });
    try {
      const ws = new WebSocket(srv.url, [], { closeTimeout: 300 });
      const { log, closed } = watch(ws);
      await withTimeout(new Promise((r) => ws.addEventListener("open", r)), TIMEOUT, "open");
      ws.close(1000, "x");
      const started = Date.now();
      const peer = srv.peers[0];
      await peer.waitFor(() => framesOf(peer).length === 1, TIMEOUT, "the client's close frame");
      const [f] = framesOf(peer);
      assert.equal(f.masked, true);
      assert.equal(f.payload.toString("hex"), "03e878");
      const ev = await withTimeout(closed, TIMEOUT, "close event");
      assert.ok(Date.now() - started >= 250, "closed before the closing timeout");
      assert.equal(ev.code, 1006);
      assert.equal(ev.wasClean, false);
      // Whether a lost connection also fires "error" is the WHATWG layer's call (issue 3); here: no message, then close.
      assert.deepEqual(log.map((e) => e[0]).filter((t) => t !== "error"), ["open", "close"]);
      await peer.waitFor(() => peer.ended || peer.closed, TIMEOUT, "TCP closed");
    } finally {
      await srv.close();
    }
  });

  it("client-initiated close answered by the server: clean close with the server's code", { timeout: TIMEOUT * 2 }, async () => {
    const srv = await rawServer(async (peer, req) => {
      peer.write(accept101(req.key));
      await peer.waitFor(() => framesOf(peer).length === 1, TIMEOUT, "close frame");
      peer.write(s(0x8, framesOf(peer)[0].payload));
      peer.socket.end();
    });
    try {
      const ws = new WebSocket(srv.url, [], { closeTimeout: 3000 });
      const { closed } = watch(ws);
      await withTimeout(new Promise((r) => ws.addEventListener("open", r)), TIMEOUT, "open");
      ws.close(4321, "done");
      assert.equal(ws.readyState, WebSocket.CLOSING);
      const ev = await withTimeout(closed, TIMEOUT, "close event");
      assert.equal(ev.wasClean, true);
      assert.equal(ev.code, 4321);
      assert.equal(ev.reason, "done");
    } finally {
      await srv.close();
    }
  });

  it("the server closing TCP with no close frame gives close 1006, not clean", { timeout: TIMEOUT * 2 }, async () => {
    const srv = await rawServer(async (peer, req) => {
      peer.write(accept101(req.key));
      await delay(20); // Not a wait: the peer's script ends TCP a little after the 101.
      peer.socket.end();
    });
    try {
      const ws = new WebSocket(srv.url, [], { closeTimeout: 3000 });
      const { log, closed } = watch(ws);
      const ev = await withTimeout(closed, TIMEOUT, "close event");
      assert.deepEqual(log.map((e) => e[0]).filter((t) => t !== "error"), ["open", "close"]);
      assert.equal(ev.code, 1006);
      assert.equal(ev.wasClean, false);
    } finally {
      await srv.close();
    }
  });
});

describe("RFC 6455 §5 client receive rules", () => {
  /** The server sends `bytes` after the 101; returns the client's log and the frames it sent back. */
  async function serverSends(bytes, { options = {}, sameWrite = false } = {}) {
    const srv = await rawServer(async (peer, req) => {
      if (sameWrite) peer.write(Buffer.concat([Buffer.from(accept101(req.key)), bytes]));
      else {
        peer.write(accept101(req.key));
        peer.write(bytes);
      }
    });
    try {
      const ws = new WebSocket(srv.url, [], { closeTimeout: 300, binaryType: "nodebuffer", ...options });
      const { log, closed } = watch(ws);
      const ev = await withTimeout(closed, TIMEOUT, "close event");
      await waitFor(() => srv.peers.length > 0, "the connection", TIMEOUT);
      return { log, ev, frames: framesOf(srv.peers[0]) };
    } finally {
      await srv.close();
    }
  }

  it("a ping is answered with a masked pong carrying the same payload", { timeout: TIMEOUT * 2 }, async () => {
    const { frames } = await serverSends(Buffer.concat([s(0x9, "are you there"), s(0x8, closePayload(1000))]));
    assert.equal(frames[0].opcode, 0xa);
    assert.equal(frames[0].masked, true);
    assert.equal(frames[0].payload.toString(), "are you there");
    assert.equal(frames[1].opcode, 0x8);
  });

  it("fragments with an interleaved ping form one message; frames in the same write as the 101 are read", { timeout: TIMEOUT * 2 }, async () => {
    const { log, frames } = await serverSends(
      Buffer.concat([s(0x1, "frag", { fin: false }), s(0x9, "p"), s(0x0, "ment"), s(0x2, Buffer.from([1, 2])), s(0x8, closePayload(1000))]),
      { sameWrite: true },
    );
    assert.deepEqual(log.slice(0, 3), [["open"], ["message", "fragment"], ["message", "0102"]]);
    assert.equal(frames[0].opcode, 0xa);
    assert.equal(frames[0].payload.toString(), "p");
  });

  it("the 101, a message, a close and the server's FIN all at once: message and close code both arrive", { timeout: TIMEOUT * 2 }, async () => {
    const srv = await rawServer(async (peer, req) => {
      peer.socket.end(Buffer.concat([Buffer.from(accept101(req.key)), s(0x1, "hello"), s(0x8, closePayload(4001, "gone"))]));
    });
    try {
      const ws = new WebSocket(srv.url, [], { closeTimeout: 1000 });
      const { log, closed } = watch(ws);
      const ev = await withTimeout(closed, TIMEOUT, "close event");
      assert.deepEqual(log, [["open"], ["message", "hello"], ["close", 4001, "gone", true]]);
      assert.equal(ev.wasClean, true);
    } finally {
      await srv.close();
    }
  });

  for (const [name, bytes, code, errCode] of [
    ["invalid UTF-8 in a text message", s(0x1, Buffer.from([0xce, 0xff])), 1007, "WS_ERR_INVALID_UTF8"],
    ["a reserved opcode", s(0x3, "x"), 1002, "WS_ERR_INVALID_OPCODE"],
    ["RSV1 with no extension", s(0x1, "x", { rsv: 4 }), 1002, "WS_ERR_UNEXPECTED_RSV_1"],
    ["a 126-byte ping", s(0x9, Buffer.alloc(126)), 1002, "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH"],
    ["a close code of 1005", s(0x8, closePayload(1005)), 1002, "WS_ERR_INVALID_CLOSE_CODE"],
    ["a message over maxPayload (1000)", s(0x2, Buffer.alloc(1001)), 1009, "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH"],
  ]) {
    it(`${name}: the client fails with ${code}`, { timeout: TIMEOUT * 2 }, async () => {
      const { log, ev, frames } = await serverSends(bytes, { options: { maxPayload: 1000 } });
      assert.deepEqual(log.map((e) => e[0]), ["open", "error", "close"]);
      assert.equal(log[1][1], errCode);
      assert.equal(ev.code, 1006);
      assert.equal(frames.length, 1);
      assert.equal(frames[0].masked, true);
      assert.equal(frames[0].payload.readUInt16BE(0), code);
    });
  }
});

describe("RFC 6455 §4.1 the client checks the server's handshake response", () => {
  const GOOD = (key) => ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade", `Sec-WebSocket-Accept: ${acceptFor(key)}`];
  const CASES = [
    ["status 200", (k) => ["HTTP/1.1 200 OK", "Content-Length: 0"], [], "WS_ERR_UNEXPECTED_RESPONSE", /200/],
    ["status 403", (k) => ["HTTP/1.1 403 Forbidden", "Content-Length: 0"], [], "WS_ERR_UNEXPECTED_RESPONSE", /403/],
    ["missing Upgrade", (k) => GOOD(k).filter((l) => !l.startsWith("Upgrade")), [], "WS_ERR_INVALID_UPGRADE_HEADER", /Upgrade/],
    ["Upgrade: h2c", (k) => GOOD(k).map((l) => (l.startsWith("Upgrade") ? "Upgrade: h2c" : l)), [], "WS_ERR_INVALID_UPGRADE_HEADER", /Upgrade/],
    ["bad Connection", (k) => GOOD(k).map((l) => (l.startsWith("Connection") ? "Connection: close" : l)), [], "WS_ERR_INVALID_CONNECTION_HEADER", /Connection/],
    ["missing Connection", (k) => GOOD(k).filter((l) => !l.startsWith("Connection")), [], "WS_ERR_INVALID_CONNECTION_HEADER", /Connection/],
    ["wrong Accept", (k) => [...GOOD(k).slice(0, 3), `Sec-WebSocket-Accept: ${acceptFor("AAAAAAAAAAAAAAAAAAAAAA==")}`], [], "WS_ERR_INVALID_ACCEPT", /Accept/],
    ["missing Accept", (k) => GOOD(k).slice(0, 3), [], "WS_ERR_MISSING_ACCEPT", /Accept/],
    ["a subprotocol when none was offered", (k) => [...GOOD(k), "Sec-WebSocket-Protocol: chat"], [], "WS_ERR_INVALID_PROTOCOL", /subprotocol/],
    ["a subprotocol that was not offered", (k) => [...GOOD(k), "Sec-WebSocket-Protocol: other"], ["chat"], "WS_ERR_INVALID_PROTOCOL", /subprotocol/],
    ["an extension when none was offered", (k) => [...GOOD(k), "Sec-WebSocket-Extensions: permessage-deflate"], [], "WS_ERR_INVALID_EXTENSION", /extension/, { perMessageDeflate: false }],
    ["an extension other than the one offered", (k) => [...GOOD(k), "Sec-WebSocket-Extensions: x-webkit-deflate-frame"], [], "WS_ERR_INVALID_EXTENSION", /x-webkit-deflate-frame/],
    ["a malformed status line", (k) => ["HTTP/1.1 101", ...GOOD(k).slice(1)].map((l, i) => (i === 0 ? "HTTP/1.1 one-oh-one Switching" : l)), [], "WS_ERR_INVALID_RESPONSE", /status line/],
    ["a response that is not HTTP", (k) => ["SSH-2.0-OpenSSH_9.0"], [], "WS_ERR_INVALID_RESPONSE", /status line/],
    ["a malformed header line", (k) => [...GOOD(k), "this is not a header"], [], "WS_ERR_INVALID_RESPONSE", /header line/],
  ];
  for (const [name, lines, offered, code, pattern, options = {}] of CASES) {
    it(`${name} → error event naming the fault (${code}), then close 1006`, { timeout: TIMEOUT * 2 }, async () => {
      const srv = await rawServer(async (peer, req) => {
        peer.write(lines(req.key).join("\r\n") + "\r\n\r\n");
      });
      try {
        const ws = new WebSocket(srv.url, offered, { closeTimeout: 1000, ...options });
        const { log, closed } = watch(ws);
        const ev = await withTimeout(closed, TIMEOUT, "close event");
        assert.deepEqual(log.map((e) => e[0]), ["error", "close"], JSON.stringify(log));
        assert.equal(log[0][1], code);
        assert.match(log[0][2], pattern);
        assert.equal(ev.code, 1006);
        assert.equal(ev.wasClean, false);
        assert.equal(ws.readyState, WebSocket.CLOSED);
        // The client drops the TCP connection.
        const peer = srv.peers[0];
        await peer.waitFor(() => peer.ended || peer.closed, TIMEOUT, "the client to drop TCP");
        assert.equal(peer.received.length, 0, "no frame is sent after a failed handshake");
      } finally {
        await srv.close();
      }
    });
  }

  it("the server closing TCP before answering → error (WS_ERR_HANDSHAKE_CLOSED), then close 1006", { timeout: TIMEOUT * 2 }, async () => {
    const srv = await rawServer(async (peer) => {
      peer.socket.end();
    });
    try {
      const ws = new WebSocket(srv.url, [], { closeTimeout: 1000 });
      const { log, closed } = watch(ws);
      const ev = await withTimeout(closed, TIMEOUT, "close event");
      assert.deepEqual(log.map((e) => e[0]), ["error", "close"]);
      assert.equal(log[0][1], "WS_ERR_HANDSHAKE_CLOSED");
      assert.equal(ev.code, 1006);
    } finally {
      await srv.close();
    }
  });

  it("a server that never answers → error (WS_ERR_HANDSHAKE_TIMEOUT) at handshakeTimeout, then close 1006", { timeout: TIMEOUT * 2 }, async () => {
    const srv = await rawServer(async () => {});
    try {
      const started = Date.now();
      const ws = new WebSocket(srv.url, [], { handshakeTimeout: 300 });
      const { log, closed } = watch(ws);
      const ev = await withTimeout(closed, TIMEOUT, "close event");
      assert.ok(Date.now() - started >= 250, "gave up before handshakeTimeout");
      assert.deepEqual(log.map((e) => e[0]), ["error", "close"]);
      assert.equal(log[0][1], "WS_ERR_HANDSHAKE_TIMEOUT");
      assert.equal(ev.code, 1006);
      const peer = srv.peers[0];
      await peer.waitFor(() => peer.ended || peer.closed, TIMEOUT, "the client to drop TCP");
    } finally {
      await srv.close();
    }
  });

  it("a valid response with an offered subprotocol opens the connection with that protocol", { timeout: TIMEOUT * 2 }, async () => {
    const srv = await rawServer(async (peer, req) => {
      assert.equal(req.headers["sec-websocket-protocol"], "chat, superchat");
      assert.equal(req.headers["sec-websocket-version"], "13");
      assert.equal(Buffer.from(req.key, "base64").length, 16);
      peer.write(accept101(req.key, ["Sec-WebSocket-Protocol: superchat"]));
      peer.write(s(0x8, closePayload(1000)));
      await peer.waitFor(() => framesOf(peer).length === 1, TIMEOUT, "close echo");
      peer.socket.end();
    });
    try {
      const ws = new WebSocket(srv.url, ["chat", "superchat"], { closeTimeout: 1000 });
      const { log, closed } = watch(ws);
      let protocol = null;
      ws.addEventListener("open", () => (protocol = ws.protocol));
      const ev = await withTimeout(closed, TIMEOUT, "close event");
      assert.equal(protocol, "superchat");
      assert.deepEqual(log.map((e) => e[0]), ["open", "close"]);
      assert.equal(ev.wasClean, true);
      assert.deepEqual(srv.errors, []);
    } finally {
      await srv.close();
    }
  });
});
