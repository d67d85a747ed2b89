/**
 * Interop with the `ws` npm package (a devDependency, used here only as a test peer), both ways: a `ws` client
 * against our WebSocketServer, and our WebSocket client against a `ws` server. Each exchanges text and binary of
 * 0 B, 1 B, 64 KiB and 8 MiB, fragmented messages (a ping and a split code point between fragments), pings both
 * ways and a closing handshake whose code and reason both sides see. perMessageDeflate is off on the `ws` side.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { WebSocketServer as PeerServer, WebSocket as PeerSocket } from "ws";
import { WebSocket } from "../../dist/index.js";
import { startServer, withTimeout, nextEvent, messageQueue } from "../helpers/index.mjs";
import { describeData, EXPECTED, TEXT_FRAGMENTED, BINARY_FRAGMENTED, closeInfo, recordEchoServer, openClient, expectEchoes, expectPipelinedEchoes, expectFragmented, expectClientExchange } from "./fixtures.mjs";

/**
 * Sends TEXT_FRAGMENTED and BINARY_FRAGMENTED from a `ws` socket as fragmented messages (RFC 6455 §5.4).
 * The text message splits "é" (C3 A9) across two fragments, has an empty fragment, and a ping between fragments
 * ("control frames MAY be injected in the middle of a fragmented message").
 */
function sendFragmented(peer) {
  peer.send(Buffer.from([...Buffer.from("fragm"), 0xc3]), { binary: false, fin: false });
  peer.ping("mid-fragment");
  peer.send(Buffer.from([0xa9, ...Buffer.from("nt")]), { fin: false });
  peer.send("", { fin: false });
  peer.send("ed ✓", { fin: true });
  peer.send(BINARY_FRAGMENTED.subarray(0, 2), { binary: true, fin: false });
  peer.send(Buffer.alloc(0), { fin: false });
  peer.send(BINARY_FRAGMENTED.subarray(2), { fin: true });
}

/** Resolves with { code, reason, wasClean } from the `ws` socket's close event. */
function peerClosed(peer, ms = 15_000) {
  return withTimeout(
    new Promise((resolve) => peer.addEventListener("close", (ev) => resolve(closeInfo(ev)), { once: true })),
    ms,
    "ws peer close",
  );
}

describe("interop: ws client → wshub server (RFC 6455 §5, §5.4, §5.5.2-3, §7)", () => {
  let wss;
  let connections; // path -> what our server saw

  before(async () => {
    wss = await startServer();
    connections = recordEchoServer(wss);
  });

  after(async () => {
    await wss?.close({ timeout: 1000 });
  });

  async function openPeer(path) {
    const peer = new PeerSocket(`${wss.url}${path.slice(1)}`, { perMessageDeflate: false });
    const inbox = messageQueue(peer);
    await nextEvent(peer, "open", 5000);
    return { peer, inbox };
  }

  it("echoes every size and kind, reassembles fragments, pings both ways, and closes with 4001 'done'", async () => {
    const { peer, inbox } = await openPeer("/ws/matrix");
    const peerPings = [];
    peer.on("ping", (data) => peerPings.push(data.toString()));
    const closed = peerClosed(peer, 40_000);
    await expectEchoes(peer, inbox);
    sendFragmented(peer);
    await expectFragmented(inbox);
    const record = connections.get("/ws/matrix");
    // Our server received exactly what was sent, each fragmented message as one message (§5.4).
    assert.deepEqual(record.messages, [...EXPECTED, describeData(TEXT_FRAGMENTED), describeData(BINARY_FRAGMENTED)]);
    // §5.5.2-3: the peer's ping is answered with the same payload.
    const pong = new Promise((resolve) => peer.once("pong", resolve));
    peer.ping("ws-ping");
    assert.equal((await withTimeout(pong, 5000, "ws pong")).toString(), "ws-ping");
    // Our ping is answered by the peer.
    peer.send("cmd:ping-me");
    assert.equal(await inbox.next(), "pong-seen:srv-ping");
    assert.deepEqual(record.pings, ["mid-fragment", "ws-ping"]);
    assert.deepEqual(record.pongs, ["srv-ping"]);
    assert.deepEqual(peerPings, ["srv-ping"]);
    // §7: the peer closes with 4001 "done"; our server sees it and echoes the code (§5.5.1).
    peer.close(4001, "done");
    assert.deepEqual(await closed, { code: 4001, reason: "done", wasClean: true });
    assert.deepEqual(await withTimeout(record.closed, 5000, "server close event"), { code: 4001, reason: "done", wasClean: true });
  });

  it("messages sent back to back, without waiting for echoes, come back whole and in order", async () => {
    const { peer, inbox } = await openPeer("/ws/pipelined");
    await expectPipelinedEchoes(peer, inbox);
    assert.deepEqual(connections.get("/ws/pipelined").messages, EXPECTED);
    peer.close(1000);
    await peerClosed(peer);
  });

  it("negotiates a subprotocol picked by handleProtocols (§4.2.2, §4.1)", async () => {
    const server = await startServer({ handleProtocols: (offered) => (offered.includes("v2.wshub") ? "v2.wshub" : false) });
    try {
      const serverSide = nextEvent(server, "connection");
      const peer = new PeerSocket(server.url, ["v1.wshub", "v2.wshub"], { perMessageDeflate: false });
      await nextEvent(peer, "open", 5000);
      assert.equal(peer.protocol, "v2.wshub");
      assert.equal((await serverSide).protocol, "v2.wshub");
      const closed = peerClosed(peer);
      peer.close(1000);
      await closed;
    } finally {
      await server.close({ timeout: 1000 });
    }
  });

  it("a close frame with no status code is reported as 1005 on both sides (§7.1.5)", async () => {
    const { peer } = await openPeer("/ws/no-code");
    const closed = peerClosed(peer);
    peer.close();
    assert.deepEqual(await closed, { code: 1005, reason: "", wasClean: true });
    const record = connections.get("/ws/no-code");
    assert.deepEqual(await withTimeout(record.closed, 5000, "server close event"), { code: 1005, reason: "", wasClean: true });
  });

  it("a close started by our server (4002 'server-bye') is seen by the ws client", async () => {
    const { peer } = await openPeer("/ws/server-close");
    const closed = peerClosed(peer);
    peer.send("cmd:close-me");
    assert.deepEqual(await closed, { code: 4002, reason: "server-bye", wasClean: true });
    const record = connections.get("/ws/server-close");
    assert.deepEqual(await withTimeout(record.closed, 5000, "server close event"), { code: 4002, reason: "server-bye", wasClean: true });
  });
});

describe("interop: wshub client → ws server (RFC 6455 §5, §5.4, §5.5.2-3, §7)", () => {
  let peerServer;
  let url;
  const connections = new Map(); // path -> what the ws server saw

  before(async () => {
    peerServer = new PeerServer({
      host: "127.0.0.1",
      port: 0,
      perMessageDeflate: false,
      handleProtocols: (offered) => (offered.has("v2.wshub") ? "v2.wshub" : false),
    });
    await nextEvent(peerServer, "listening", 5000);
    url = `ws://127.0.0.1:${peerServer.address().port}`;
    peerServer.on("connection", (peer, req) => {
      const record = { messages: [], pings: [], pongs: [] };
      record.closed = peerClosed(peer, 40_000);
      connections.set(req.url, record);
      peer.on("ping", (data) => record.pings.push(data.toString()));
      peer.on("pong", (data) => record.pongs.push(data.toString()));
      peer.on("message", (data, isBinary) => {
        const message = isBinary ? data : data.toString("utf8");
        if (message === "cmd:fragments") sendFragmented(peer);
        else if (message === "cmd:ping-me") {
          peer.once("pong", () => peer.send("pong-seen"));
          peer.ping("ws-srv-ping");
        } else if (message === "cmd:close-me") peer.close(4003, "server-done");
        else {
          record.messages.push(describeData(message));
          peer.send(data, { binary: isBinary });
        }
      });
    });
  });

  after(async () => {
    for (const client of peerServer?.clients ?? []) client.terminate();
    await new Promise((resolve) => (peerServer ? peerServer.close(() => resolve()) : resolve()));
  });

  const open = (path) => openClient(`${url}${path}`);

  it("echoes every size and kind, receives fragmented messages whole, pings both ways, and closes with 4001 'done'", async () => {
    const { ws, inbox, pings } = await open("/node/matrix");
    const closed = nextEvent(ws, "close", 40_000);
    // The echo matrix; §5.4: the ws server sends fragments (a split "é", an empty fragment, a ping between), and we
    // deliver one message each; §5.5.2-3: our ping is answered with the same payload; the peer's pings are answered
    // by us.
    await expectClientExchange(ws, inbox);
    const record = connections.get("/node/matrix");
    assert.deepEqual(record.messages, EXPECTED, "the ws server received exactly the matrix (commands are not recorded)");
    assert.deepEqual(pings, ["mid-fragment", "ws-srv-ping"]);
    assert.deepEqual(record.pings, ["node-ping"]);
    assert.deepEqual(record.pongs, ["mid-fragment", "ws-srv-ping"]);
    // §7: we close with 4001 "done"; the ws server sees it, echoes it and closes TCP.
    ws.close(4001, "done");
    const close = await closed;
    assert.deepEqual(closeInfo(close), { code: 4001, reason: "done", wasClean: true });
    assert.deepEqual(await record.closed, { code: 4001, reason: "done", wasClean: true });
  });

  it("messages sent back to back, without waiting for echoes, come back whole and in order", async () => {
    const { ws, inbox } = await open("/node/pipelined");
    await expectPipelinedEchoes(ws, inbox);
    assert.deepEqual(connections.get("/node/pipelined").messages, EXPECTED);
    const closed = nextEvent(ws, "close", 15_000);
    ws.close(1000);
    assert.equal((await closed).code, 1000);
  });

  it("accepts the subprotocol the ws server selects from those offered (§4.1)", async () => {
    const ws = new WebSocket(`${url}/node/protocols`, ["v1.wshub", "v2.wshub"]);
    await nextEvent(ws, "open", 5000);
    assert.equal(ws.protocol, "v2.wshub");
    const closed = nextEvent(ws, "close", 15_000);
    ws.close(1000);
    assert.equal((await closed).wasClean, true);
  });

  it("a close frame with no status code is reported as 1005 on both sides (§7.1.5)", async () => {
    const { ws } = await open("/node/no-code");
    const closed = nextEvent(ws, "close", 15_000);
    ws.close();
    const close = await closed;
    assert.deepEqual(closeInfo(close), { code: 1005, reason: "", wasClean: true });
    assert.deepEqual(await connections.get("/node/no-code").closed, { code: 1005, reason: "", wasClean: true });
  });

  it("a close started by the ws server (4003 'server-done') is seen by our client", async () => {
    const { ws } = await open("/node/server-close");
    const closed = nextEvent(ws, "close", 15_000);
    ws.send("cmd:close-me");
    const close = await closed;
    assert.deepEqual(closeInfo(close), { code: 4003, reason: "server-done", wasClean: true });
    // The initiator sees our echo of its code (§5.5.1) and a clean close.
    assert.deepEqual(await connections.get("/node/server-close").closed, { code: 4003, reason: "server-done", wasClean: true });
  });
});
