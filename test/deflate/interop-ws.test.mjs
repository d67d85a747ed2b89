// RFC 7692 interop with `ws` (perMessageDeflate on) in both directions: text and binary from 0 B to 8 MiB,
// fragmented compressed messages, threshold, context takeover and no context takeover measured on the wire.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import WS, { WebSocketServer as WSServer } from "ws";
import { WebSocket, WebSocketServer } from "../../dist/index.js";
import { SIZES, text, binary, collect, collectWs } from "./helpers.mjs";
import { listening, opened, withTimeout } from "../helpers/index.mjs";

function payloads() {
  const out = [];
  for (const n of SIZES) {
    out.push(text(n, n + 1));
    out.push(binary(n));
  }
  return out;
}

function same(got, sent) {
  assert.equal(got.length, sent.length);
  for (let i = 0; i < sent.length; i++) {
    const s = sent[i];
    const g = got[i];
    if (typeof s === "string") {
      assert.equal(typeof g, "string", `message ${i} is text`);
      assert.ok(g === s, `text message ${i} (${s.length} B) round-trips`);
    } else {
      assert.ok(Buffer.isBuffer(g) || g instanceof ArrayBuffer || ArrayBuffer.isView(g), `message ${i} is binary`);
      assert.ok(Buffer.from(g).equals(s), `binary message ${i} (${s.length} B) round-trips`);
    }
  }
}

describe("RFC 7692 our server ↔ ws client (perMessageDeflate)", () => {
  let wss;
  const serverSockets = [];
  before(async () => {
    wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: true });
    wss.on("connection", (ws) => {
      serverSockets.push(ws);
      ws.binaryType = "nodebuffer";
      ws.addEventListener("message", (e) => ws.send(e.data));
    });
    await listening(wss);
  });
  after(async () => {
    await wss.close({ timeout: 1000 });
  });

  it("echoes text and binary from 0 B to 8 MiB, compressed both ways; extensions agree", async () => {
    const c = new WS(wss.url, { perMessageDeflate: { threshold: 0 }, maxPayload: 64 * 1024 * 1024 });
    await opened(c);
    try {
      const server = serverSockets.at(-1);
      assert.equal(server.extensions, "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
      assert.match(c.extensions, /^permessage-deflate/);
      const sent = payloads();
      const done = collectWs(c, sent.length, 60000);
      for (const p of sent) c.send(p);
      same(await done, sent);
      // Compression really happened: the text alone is > 9 MiB; the socket carried far less.
      const read = server._transport.socket.bytesRead;
      const textBytes = SIZES.reduce((a, n) => a + n, 0);
      const rawTotal = textBytes * 2;
      assert.ok(read < rawTotal * 0.75, `server read ${read} B for ${rawTotal} B of payload`);
      assert.ok(c._socket.bytesRead < rawTotal * 0.75, `client read ${c._socket.bytesRead} B for ${rawTotal} B of payload`);
    } finally {
      c.terminate();
    }
  });

  it("receives fragmented compressed messages (RSV1 on the first frame only)", async () => {
    const c = new WS(wss.url, { perMessageDeflate: { threshold: 0 } });
    await opened(c);
    try {
      const whole = text(300000, 7);
      const bin = binary(200000);
      const done = collectWs(c, 2);
      c.send(whole.slice(0, 1000), { fin: false });
      c.send(whole.slice(1000, 150000), { fin: false });
      c.send(whole.slice(150000), { fin: true });
      c.send(bin.subarray(0, 5), { fin: false, binary: true });
      c.send(bin.subarray(5), { fin: true, binary: true });
      same(await done, [whole, bin]);
    } finally {
      c.terminate();
    }
  });

  it("sends messages under the threshold (1 KiB) uncompressed and larger ones compressed", async () => {
    const c = new WS(wss.url, { perMessageDeflate: true });
    await opened(c);
    try {
      const server = serverSockets.at(-1);
      let before = c._socket.bytesRead;
      let p = collectWs(c, 1);
      server.send(text(1023, 3));
      await p;
      assert.equal(c._socket.bytesRead - before, 1023 + 4, "1023 B sent as is (4-byte header)");
      before = c._socket.bytesRead;
      p = collectWs(c, 1);
      server.send(text(4096, 3));
      await p;
      assert.ok(c._socket.bytesRead - before < 2048, `4 KiB compressed to ${c._socket.bytesRead - before} B`);
    } finally {
      c.terminate();
    }
  });
});

describe("RFC 7692 ws server (perMessageDeflate) ↔ our client", () => {
  let wss;
  let url;
  const peers = [];
  before(async () => {
    wss = new WSServer({ port: 0, host: "127.0.0.1", perMessageDeflate: { threshold: 0 }, maxPayload: 64 * 1024 * 1024 });
    wss.on("connection", (ws) => {
      peers.push(ws);
      ws.on("message", (data, isBinary) => {
        if (!isBinary && data.length === 4 && data.toString() === "frag") {
          // Answer with a fragmented compressed message.
          const t = text(100000, 9);
          ws.send(t.slice(0, 10), { fin: false });
          ws.send(t.slice(10, 60000), { fin: false });
          ws.send(t.slice(60000), { fin: true });
          return;
        }
        ws.send(data, { binary: isBinary });
      });
    });
    await listening(wss);
    url = `ws://127.0.0.1:${wss.address().port}/`;
  });
  after(() => new Promise((r) => wss.close(r)));

  it("echoes text and binary from 0 B to 8 MiB; extensions agree", async () => {
    const c = new WebSocket(url, [], { maxPayload: 64 * 1024 * 1024 });
    c.binaryType = "nodebuffer";
    await opened(c);
    try {
      const peer = peers.at(-1);
      assert.equal(c.extensions, "permessage-deflate");
      assert.match(peer.extensions, /^permessage-deflate/);
      const sent = payloads();
      const done = collect(c, sent.length, 60000);
      for (const p of sent) c.send(p);
      same(await done, sent);
      const rawTotal = SIZES.reduce((a, n) => a + n, 0) * 2;
      assert.ok(peer._socket.bytesRead < rawTotal * 0.75, `ws server read ${peer._socket.bytesRead} B for ${rawTotal} B`);
    } finally {
      c.close();
    }
  });

  it("receives a fragmented compressed message from ws", async () => {
    const c = new WebSocket(url);
    await opened(c);
    try {
      const p = collect(c, 1);
      c.send("frag");
      assert.equal((await p)[0], text(100000, 9));
    } finally {
      c.close();
    }
  });
});

/** Bytes the receiving socket reads for each of two identical messages. */
async function twoSends(send, socketOf, wait) {
  const msg = text(8000, 42);
  const deltas = [];
  for (let i = 0; i < 2; i++) {
    const before = socketOf().bytesRead;
    const p = wait();
    send(msg);
    assert.equal(await p, msg);
    deltas.push(socketOf().bytesRead - before);
  }
  return deltas;
}

describe("RFC 7692 §7.1.1 context takeover and no context takeover against ws", () => {
  it("server→client: with takeover the repeated message shrinks to a back-reference; without it does not", async () => {
    for (const takeover of [true, false]) {
      const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: { serverNoContextTakeover: !takeover, clientNoContextTakeover: !takeover } });
      const conn = new Promise((r) => wss.once("connection", r));
      await listening(wss);
      const c = new WS(wss.url, { perMessageDeflate: true });
      try {
        await opened(c);
        const server = await conn;
        assert.equal(server.extensions, takeover ? "permessage-deflate" : "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
        const d = await twoSends((m) => server.send(m), () => c._socket, () => collectWs(c, 1).then((x) => x[0]));
        if (takeover) assert.ok(d[1] < d[0] / 4, `second message ${d[1]} B vs first ${d[0]} B`);
        else assert.ok(Math.abs(d[1] - d[0]) <= 2, `no takeover: ${d[0]} B then ${d[1]} B`);
      } finally {
        c.terminate();
        await wss.close({ timeout: 500 });
      }
    }
  });

  it("client→server: our client keeps or resets its context as negotiated with ws", async () => {
    for (const takeover of [true, false]) {
      const wss = new WSServer({ port: 0, host: "127.0.0.1", perMessageDeflate: { threshold: 0, clientNoContextTakeover: !takeover } });
      await listening(wss);
      const peerP = new Promise((r) => wss.once("connection", r));
      const c = new WebSocket(`ws://127.0.0.1:${wss.address().port}/`);
      try {
        await opened(c);
        const peer = await peerP;
        assert.equal(c.extensions, takeover ? "permessage-deflate" : "permessage-deflate; client_no_context_takeover");
        const d = await twoSends((m) => c.send(m), () => peer._socket, () =>
          withTimeout(new Promise((r) => peer.once("message", (data) => r(data.toString()))), 5000, "ws message"));
        if (takeover) assert.ok(d[1] < d[0] / 4, `second message ${d[1]} B vs first ${d[0]} B`);
        else assert.ok(Math.abs(d[1] - d[0]) <= 2, `no takeover: ${d[0]} B then ${d[1]} B`);
        // And the other direction with the same connection: ws's server context (takeover by default).
        const d2 = await twoSends((m) => peer.send(m), () => c.transport.socket, () => collect(c, 1).then((x) => x[0]));
        assert.ok(d2[1] < d2[0] / 4, `ws server takeover: ${d2[0]} B then ${d2[1]} B`);
      } finally {
        c.close();
        await new Promise((r) => wss.close(r));
      }
    }
  });
});
