// `wshub serve --mode broadcast`: every message from any client goes to all connected clients, the sender
// included. Peers: the `ws` library (an independent implementation) and `wshub connect`.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { runCli, startServe } from "./spawn.mjs";
import { waitFor } from "../helpers/index.mjs";

function open(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.received = [];
    ws.on("message", (data, isBinary) => ws.received.push(isBinary ? data : data.toString()));
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

function closeAll(clients) {
  return Promise.all(clients.map((ws) => new Promise((r) => (ws.readyState === WebSocket.CLOSED ? r() : (ws.once("close", r), ws.close(1000))))));
}

describe("wshub serve --mode broadcast", () => {
  let server;
  before(async () => {
    server = await startServe(["--mode", "broadcast", "--port", "0"]);
  });
  after(async () => {
    const r = await server?.stop("SIGINT");
    assert.equal(r?.code, 0, "exit code 0 on SIGINT");
  });

  it("announces itself", () => {
    assert.match(server.line, /^wshub broadcast server listening on ws:\/\/127\.0\.0\.1:\d+\/$/);
  });

  it("delivers a text message to all clients, the sender included, and a binary one as binary", async () => {
    const clients = await Promise.all([1, 2, 3].map(() => open(`ws://127.0.0.1:${server.port}/`)));
    try {
      clients[1].send("hello all");
      await waitFor(() => clients.every((c) => c.received.length === 1), "three copies of the text message");
      for (const c of clients) assert.deepEqual(c.received, ["hello all"]);
      clients[2].send(Buffer.from([0, 1, 2, 255]));
      await waitFor(() => clients.every((c) => c.received.length === 2), "three copies of the binary message");
      for (const c of clients) assert.deepEqual(c.received[1], Buffer.from([0, 1, 2, 255]));
    } finally {
      await closeAll(clients);
    }
  });

  it("keeps each sender's order, and a client that left gets nothing more", async () => {
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => open(`ws://127.0.0.1:${server.port}/`)));
    try {
      await closeAll([c]);
      for (let i = 0; i < 50; i++) a.send(`m${i}`);
      await waitFor(() => a.received.length === 50 && b.received.length === 50, "50 messages at a and b");
      const expected = Array.from({ length: 50 }, (_, i) => `m${i}`);
      assert.deepEqual(a.received, expected);
      assert.deepEqual(b.received, expected);
      assert.deepEqual(c.received, []);
    } finally {
      await closeAll([a, b]);
    }
  });

  it("wshub connect in piped mode gets its own line back, and a ws client gets it too", async () => {
    const watcher = await open(`ws://127.0.0.1:${server.port}/`);
    try {
      const r = await runCli(["connect", "--raw", `ws://127.0.0.1:${server.port}/`], { input: "from the cli\n" });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "from the cli\n");
      await waitFor(() => watcher.received.includes("from the cli"), "the watcher's copy");
    } finally {
      await closeAll([watcher]);
    }
  });
});
