/**
 * Interop with python-websockets (the Debian package python3-websockets, run by /usr/bin/python3), both ways:
 * a Python client against our WebSocketServer, and a Python server for our WebSocket client. Each exchanges
 * text and binary of 0 B, 1 B, 64 KiB and 8 MiB, fragmented messages, pings both ways and a closing handshake
 * whose code and reason both sides see. The Python peers report what they saw as JSON lines.
 * A missing interpreter or package makes these tests fail, never skip.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, withTimeout, nextEvent } from "../helpers/index.mjs";
import { SIZES, KINDS, describeData, EXPECTED, TEXT_FRAGMENTED, BINARY_FRAGMENTED, closeInfo, recordEchoServer, openClient, expectClientExchange } from "./fixtures.mjs";
import { PythonPeer } from "./py-peer.mjs";

describe("interop: python-websockets client → wshub server (RFC 6455 §5, §5.4, §5.5.2-3, §7)", () => {
  let wss;
  let connections; // path -> record of what our server saw

  before(async () => {
    wss = await startServer();
    connections = recordEchoServer(wss);
  });

  after(async () => {
    await wss?.close({ timeout: 1000 });
  });

  it("echoes every size and kind, reassembles fragments, pings both ways, and closes with 4001 'done'", async () => {
    const py = new PythonPeer("client.py", [`${wss.url}py/matrix`, "matrix"]);
    try {
      const exit = await py.finished();
      assert.deepEqual(exit, { code: 0, signal: null }, `python client failed: ${py.stderr}`);
    } finally {
      py.kill();
    }
    const ev = py.events;
    // Python sent each payload and got the same bytes back.
    const echoes = ev.filter((e) => e.event === "echo");
    assert.equal(echoes.length, SIZES.length * KINDS.length);
    for (const e of echoes) assert.equal(e.equal, true, `echo differs: ${JSON.stringify(e)}`);
    assert.deepEqual(
      echoes.map((e) => e.sent),
      EXPECTED,
    );
    // Our server received exactly those messages, then each fragmented message as one message (§5.4), the
    // ping between the text fragments handled on the way.
    const record = connections.get("/py/matrix");
    assert.ok(record, "our server saw the connection at /py/matrix");
    assert.deepEqual(record.messages, [...EXPECTED, describeData(TEXT_FRAGMENTED), describeData(BINARY_FRAGMENTED)]);
    assert.deepEqual(
      ev.filter((e) => e.event === "echo-fragmented").map((e) => e.equal),
      [true, true],
    );
    // §5.5.2-3: Python's ping reached us and was answered; our ping reached Python and was answered.
    assert.ok(ev.some((e) => e.event === "pong" && e.data === "py-ping"));
    assert.deepEqual(record.pings, ["mid-fragment", "py-ping"]);
    assert.deepEqual(record.pongs, ["srv-ping"]);
    assert.ok(ev.some((e) => e.event === "server-says" && e.text === "pong-seen:srv-ping"));
    // §7: Python started the closing handshake with 4001 "done"; we saw it and echoed the code (§5.5.1).
    // Python, the initiator, sent its close frame and received our echo: a clean close.
    const closed = ev.find((e) => e.event === "closed");
    assert.deepEqual(closed, {
      event: "closed",
      code: 4001,
      reason: "done",
      close_sent: { code: 4001, reason: "done" },
      close_rcvd: { code: 4001, reason: "done" },
    });
    assert.deepEqual(await withTimeout(record.closed, 5000, "server close event"), { code: 4001, reason: "done", wasClean: true });
  });

  it("a close started by our server (4002 'server-bye') is seen by the Python client", async () => {
    const py = new PythonPeer("client.py", [`${wss.url}py/server-close`, "server-close"]);
    try {
      const exit = await py.finished(20_000);
      assert.deepEqual(exit, { code: 0, signal: null }, `python client failed: ${py.stderr}`);
    } finally {
      py.kill();
    }
    const seen = py.events.find((e) => e.event === "connection-closed");
    assert.deepEqual({ code: seen?.code, reason: seen?.reason }, { code: 4002, reason: "server-bye" });
    const closed = py.events.find((e) => e.event === "closed");
    assert.deepEqual(closed.close_rcvd, { code: 4002, reason: "server-bye" });
    assert.equal(closed.close_sent?.code, 4002, "python echoed the close code");
    const record = connections.get("/py/server-close");
    // The initiator's close is clean: Python echoed 4002 and our server closed TCP.
    assert.deepEqual(await withTimeout(record.closed, 5000, "server close event"), { code: 4002, reason: "server-bye", wasClean: true });
  });
});

describe("interop: wshub client → python-websockets server (RFC 6455 §5, §5.4, §5.5.2-3, §7)", () => {
  let py;
  let port;

  before(async () => {
    py = new PythonPeer("server.py");
    const listening = await py.waitFor((e) => e.event === "listening", 10_000, "python server listening");
    port = listening.port;
  });

  after(() => py?.kill());

  const open = (path) => openClient(`ws://127.0.0.1:${port}${path}`);

  it("echoes every size and kind, receives fragmented messages whole, pings both ways, and closes with 4001 'done'", async () => {
    const { ws, inbox, pings } = await open("/node/matrix");
    const closed = nextEvent(ws, "close", 40_000);
    // The echo matrix; §5.4: Python sends each fragmented message as several frames (some empty, a ping between the
    // text fragments), and we deliver one message each; §5.5.2-3: our ping is answered with the same payload, and
    // Python's ping is answered by us.
    await expectClientExchange(ws, inbox);
    assert.deepEqual(pings, ["mid-fragment", "py-srv-ping"]);
    // §7: we start the closing handshake; Python echoes 4001 and closes TCP.
    ws.close(4001, "done");
    const close = await closed;
    assert.deepEqual(closeInfo(close), { code: 4001, reason: "done", wasClean: true });
    const seen = await py.waitFor((e) => e.event === "closed" && e.path === "/node/matrix", 10_000, "python closed");
    assert.deepEqual({ code: seen.code, reason: seen.reason }, { code: 4001, reason: "done" });
    assert.deepEqual(seen.close_rcvd, { code: 4001, reason: "done" });
    assert.equal(seen.close_sent?.code, 4001, "python echoed the close code");
    // Python received exactly what we sent.
    const received = py.events.filter((e) => e.event === "received").map(({ kind, size, sha256 }) => ({ kind, size, sha256 }));
    assert.deepEqual(received, EXPECTED);
  });

  it("a close started by the Python server (4003 'server-done') is seen by our client", async () => {
    const { ws } = await open("/node/server-close");
    const closed = nextEvent(ws, "close", 15_000);
    ws.send("cmd:close-me");
    const close = await closed;
    assert.deepEqual(closeInfo(close), { code: 4003, reason: "server-done", wasClean: true });
    const seen = await py.waitFor((e) => e.event === "closed" && e.path === "/node/server-close", 10_000, "python closed");
    // Python, the initiator, sent 4003 and saw our echo of its code (§5.5.1): a clean close.
    assert.equal(seen.code, 4003);
    assert.deepEqual(seen.close_sent, { code: 4003, reason: "server-done" });
    assert.equal(seen.close_rcvd?.code, 4003);
  });
});
