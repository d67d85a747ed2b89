// Two in-memory endpoints — a server Connection and a client Connection wired together with no socket —
// exchange messages and close (RFC 6455 §5, §7).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Connection, ProtocolError, ReadyState } from "../../dist/protocol/index.js";
import { hex, parseFrames, s } from "../helpers/frames.mjs";

/** One endpoint: records events; its writes go to `wire` (what it sent, for inspection) and to the peer. */
function endpoint(isServer, queue, options = {}) {
  const ep = { events: [], sent: [], conn: null, peer: null };
  ep.conn = new Connection(
    {
      onWrite: (d) => {
        const copy = Buffer.from(d);
        ep.sent.push(Buffer.from(copy));
        queue.push([ep, copy]);
      },
      onMessage: (d, isBinary) => ep.events.push(["message", isBinary, isBinary ? hex(d) : d.toString("utf8")]),
      onPing: (d) => ep.events.push(["ping", d.toString()]),
      onPong: (d) => ep.events.push(["pong", d.toString()]),
      onCloseFrame: (code, reason) => ep.events.push(["closeFrame", code, reason]),
      onCloseTransport: () => ep.events.push(["closeTransport"]),
      onProtocolError: (err) => ep.events.push(["error", err.closeCode, err.code]),
    },
    { isServer, ...options },
  );
  return ep;
}

/** A server and a client joined by an in-memory queue; pump() delivers bytes until both are quiet. */
function pair(options = {}) {
  const queue = [];
  const server = endpoint(true, queue, options);
  const client = endpoint(false, queue, options);
  server.peer = client;
  client.peer = server;
  const pump = () => {
    while (queue.length > 0) {
      const [from, bytes] = queue.shift();
      from.peer.conn.receiveData(bytes);
    }
  };
  return { server, client, pump };
}

describe("RFC 6455 §5.6/§7: two in-memory endpoints", () => {
  it("exchange text and binary messages of many sizes both ways", () => {
    const { server, client, pump } = pair();
    const sizes = [0, 1, 125, 126, 127, 65535, 65536, 200000];
    for (const n of sizes) {
      const data = Buffer.alloc(n);
      for (let i = 0; i < n; i++) data[i] = (i * 7) & 0xff;
      client.conn.send(data, true);
      server.conn.send(data, true);
      client.conn.sendText("é".repeat(n >> 1));
      server.conn.sendText("é".repeat(n >> 1));
    }
    pump();
    const expected = [];
    for (const n of sizes) {
      const data = Buffer.alloc(n);
      for (let i = 0; i < n; i++) data[i] = (i * 7) & 0xff;
      expected.push(["message", true, hex(data)], ["message", false, "é".repeat(n >> 1)]);
    }
    assert.deepEqual(server.events, expected);
    assert.deepEqual(client.events, expected);
    // RFC 6455 §5.1: the client masks every frame; the server masks none.
    for (const b of client.sent) assert.equal(b[1] & 0x80, 0x80);
    for (const b of server.sent) assert.equal(b[1] & 0x80, 0);
  });

  it("a ping is answered with a pong carrying the same payload, both ways", () => {
    const { server, client, pump } = pair();
    client.conn.ping(Buffer.from("from client"));
    server.conn.ping(Buffer.from("from server"));
    pump();
    assert.deepEqual(server.events, [["ping", "from client"], ["pong", "from server"]]);
    assert.deepEqual(client.events, [["ping", "from server"], ["pong", "from client"]]);
  });

  it("client-initiated closing handshake: the server echoes the code and closes the transport", () => {
    const { server, client, pump } = pair();
    client.conn.sendText("last");
    client.conn.close(4001, "done");
    assert.equal(client.conn.readyState, ReadyState.CLOSING);
    assert.equal(client.conn.send(Buffer.from("x"), true), false, "nothing is sent after a close frame");
    pump();
    assert.deepEqual(server.events, [["message", false, "last"], ["closeFrame", 4001, "done"], ["closeTransport"]]);
    assert.deepEqual(client.events, [["closeFrame", 4001, "done"], ["closeTransport"]]);
    for (const ep of [server, client]) {
      assert.equal(ep.conn.readyState, ReadyState.CLOSED);
      assert.equal(ep.conn.wasClean, true);
    }
    assert.equal(client.conn.closeInitiator, "local");
    assert.equal(server.conn.closeInitiator, "remote");
    // The server answered the close exactly once.
    const serverCloses = parseFrames(Buffer.concat(server.sent)).frames.filter((f) => f.opcode === 8);
    assert.equal(serverCloses.length, 1);
    assert.equal(hex(serverCloses[0].payload), "0fa1646f6e65");
  });

  it("server-initiated close with no code: both see 1005 and the echo carries no body", () => {
    const { server, client, pump } = pair();
    server.conn.close();
    pump();
    assert.deepEqual(client.events, [["closeFrame", 1005, ""], ["closeTransport"]]);
    assert.deepEqual(server.events, [["closeFrame", 1005, ""], ["closeTransport"]]);
    const echo = parseFrames(Buffer.concat(client.sent)).frames;
    assert.equal(echo.length, 1);
    assert.equal(echo[0].opcode, 8);
    assert.equal(echo[0].payload.length, 0);
  });

  it("simultaneous close: each side sends one close frame and neither answers twice", () => {
    const { server, client, pump } = pair();
    server.conn.close(1000, "s");
    client.conn.close(1001, "c");
    pump();
    assert.deepEqual(server.events, [["closeFrame", 1001, "c"], ["closeTransport"]]);
    assert.deepEqual(client.events, [["closeFrame", 1000, "s"], ["closeTransport"]]);
    assert.equal(server.sent.length, 1);
    assert.equal(client.sent.length, 1);
  });

  it("a ping is still answered after this end sent its close, until the peer's close arrives (RFC 6455 §5.5.2)", () => {
    const { server, client, pump } = pair();
    server.conn.close(1000);
    // The client's ping crosses the server's close on the wire: the server answers it.
    client.conn.ping(Buffer.from("crossing"));
    const queueBefore = client.sent.length;
    pump();
    const frames = parseFrames(Buffer.concat(server.sent)).frames;
    assert.deepEqual(frames.map((f) => [f.opcode, f.payload.toString("hex")]), [[0x8, "03e8"], [0xa, Buffer.from("crossing").toString("hex")]]);
    assert.equal(queueBefore, 1);
    // After the close frame was received, nothing is answered any more.
    server.conn.receiveData(Buffer.from([0x89, 0x80, 0, 0, 0, 0]));
    assert.equal(parseFrames(Buffer.concat(server.sent)).frames.length, 2);
  });

  it("a client that receives a masked frame fails with 1002 and its close frame is masked", () => {
    const { client } = pair();
    client.conn.receiveData(Buffer.concat([Buffer.from([0x81, 0x81, 1, 2, 3, 4, 0x61 ^ 1])]));
    assert.deepEqual(client.events, [["error", 1002, "WS_ERR_UNEXPECTED_MASK"], ["closeTransport"]]);
    const frames = parseFrames(client.sent[0]).frames;
    assert.equal(frames.length, 1);
    assert.equal(frames[0].masked, true);
    assert.equal(hex(frames[0].payload), "03ea");
  });

  it("a server that receives an unmasked frame fails with 1002", () => {
    const { server } = pair();
    server.conn.receiveData(s(0x1, "hi"));
    assert.deepEqual(server.events, [["error", 1002, "WS_ERR_EXPECTED_MASK"], ["closeTransport"]]);
    assert.equal(hex(server.sent[0]), "880203ea");
  });

  it("fail() with a local ProtocolError sends its code once; later input is ignored", () => {
    const { server, client, pump } = pair();
    server.conn.fail(new ProtocolError("policy", 1008, "TEST"));
    server.conn.fail(new ProtocolError("again", 1011, "TEST"));
    client.conn.sendText("ignored");
    pump();
    assert.deepEqual(server.events, [["error", 1008, "TEST"], ["closeTransport"]]);
    assert.equal(server.sent.length, 1);
    assert.equal(hex(server.sent[0]), "880203f0");
    assert.deepEqual(client.events, [["closeFrame", 1008, ""], ["closeTransport"]]);
  });

  it("a protocol error while CLOSING fails the connection without a second close frame", () => {
    const { server } = pair();
    server.conn.close(1000);
    server.conn.receiveData(Buffer.from([0x83, 0x80, 0, 0, 0, 0])); // reserved opcode 3
    assert.deepEqual(server.events, [["error", 1002, "WS_ERR_INVALID_OPCODE"], ["closeTransport"]]);
    assert.equal(server.sent.length, 1, "only the first close frame was sent");
    assert.equal(server.conn.wasClean, false);
  });

  it("autoPong: false leaves pings to the application", () => {
    const { server, client, pump } = pair({ autoPong: false });
    client.conn.ping(Buffer.from("p"));
    pump();
    assert.deepEqual(server.events, [["ping", "p"]]);
    assert.equal(server.sent.length, 0);
    assert.deepEqual(client.events, []);
  });
});
