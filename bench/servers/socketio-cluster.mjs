/**
 * One socket.io 4 node of the cluster benchmark (bench/cluster.mjs): @socket.io/redis-adapter on node-redis, the
 * way socket.io's docs show it. A client's "p" event is sent to every client of every node with io.emit("m", data)
 * (the publisher included, as wshub's broadcast mode does).
 *
 *   node socketio-cluster.mjs --redis redis://127.0.0.1:PORT [--port 0]
 * Prints {"port": N} once it listens and both Redis clients are connected; stdin closing or "exit" ends it.
 */
import { createServer } from "node:http";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";
import { parseArgs, ready } from "./control.mjs";

const args = parseArgs();
if (typeof args.redis !== "string") throw new Error("--redis URL is required");
const pubClient = createClient({ url: args.redis });
const subClient = pubClient.duplicate();
pubClient.on("error", (err) => process.stderr.write(`socket.io node: redis: ${err.message}\n`));
subClient.on("error", (err) => process.stderr.write(`socket.io node: redis: ${err.message}\n`));
await Promise.all([pubClient.connect(), subClient.connect()]);

const http = createServer();
const io = new Server(http, { adapter: createAdapter(pubClient, subClient), transports: ["websocket"], serveClient: false });
io.on("connection", (socket) => {
  socket.on("p", (data) => io.emit("m", data));
});
http.listen(Number(args.port ?? 0), "127.0.0.1", () => {
  ready(http.address().port, () => {
    io.close();
    pubClient.destroy?.();
    subClient.destroy?.();
  });
});
