// A real library on wshub/ws, unchanged: socket.io 4 with engine.io's `wsEngine` set to our WebSocketServer
// (engine.io calls it with noServer and routes upgrades through handleUpgrade), and socket.io-client on the
// websocket transport only: an emit and acknowledgement round trip, both ways.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { Server } from "socket.io";
import { io } from "socket.io-client";
import { compat, next, withTimeout } from "./fixtures.mjs";

describe("socket.io 4 with wsEngine: WebSocketServer from wshub/ws", () => {
  it("websocket transport: emit with ack both ways, binary payload, disconnect", async () => {
    const http = createServer();
    const ioServer = new Server(http, { wsEngine: compat.WebSocketServer, transports: ["websocket"] });
    const sockets = [];
    ioServer.on("connection", (socket) => {
      sockets.push(socket);
      socket.on("echo", (payload, ack) => ack({ got: payload }));
    });
    await new Promise((r) => http.listen(0, "127.0.0.1", r));
    const client = io(`http://127.0.0.1:${http.address().port}`, { transports: ["websocket"], reconnection: false });
    try {
      await next(client, "connect");
      assert.equal(client.io.engine.transport.name, "websocket");
      const reply = await withTimeout(client.emitWithAck("echo", { n: 1, text: "héllo" }), 5000, "ack");
      assert.deepEqual(reply, { got: { n: 1, text: "héllo" } });
      const bin = await withTimeout(client.emitWithAck("echo", Buffer.from([1, 2, 3])), 5000, "binary ack");
      assert.deepEqual([...bin.got], [1, 2, 3]);
      // Server to client, with the client's acknowledgement.
      client.on("question", (q, ack) => ack(q * 2));
      const answer = await withTimeout(sockets[0].timeout(5000).emitWithAck("question", 21), 6000, "server ack");
      assert.equal(answer, 42);
      // The engine's connection is a wshub/ws WebSocket.
      const conn = sockets[0].conn.transport.socket;
      assert.ok(conn instanceof compat.WebSocket);
      const gone = next(sockets[0], "disconnect");
      client.disconnect();
      await gone;
    } finally {
      client.close();
      await withTimeout(new Promise((r) => ioServer.close(() => r())), 5000, "io close");
    }
  });
});
