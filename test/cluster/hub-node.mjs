/**
 * One wshub node for the cluster tests, in its own process (started with fork(): commands arrive over IPC):
 * a WebSocketServer on 127.0.0.1:0 with a Hub on a RedisAdapter. Each new connection first receives
 * "hello:<its id>". argv: <redis url> <key prefix> <node id>
 * Sends { ready: port } once listening and connected to the cluster; answers { seq, result } / { seq, error }.
 */
import { WebSocketServer, Hub } from "../../dist/index.js";
import { RedisAdapter } from "../../dist/cluster/index.js";

const [url, keyPrefix, nodeId] = process.argv.slice(2);
const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
const hub = new Hub(wss, { nodeId, adapter: new RedisAdapter({ url, keyPrefix, presenceTtl: 3000, reconnectMinDelay: 20, reconnectMaxDelay: 200 }) });
hub.on("error", (err) => process.send({ event: "error", message: err.message }));
hub.on("connection", (ws) => ws.send(`hello:${ws.id}`));
hub.on("clusterState", (connected) => process.send({ event: "clusterState", connected }));
let traffic = null;
let sent = 0;

const listening = new Promise((resolve) => wss.once("listening", resolve));
const up = new Promise((resolve) => hub.on("clusterState", (c) => c && resolve()));
await Promise.all([listening, up]);
process.send({ ready: wss.address().port });

const ops = {
  broadcast: ({ data }) => hub.broadcast(data),
  publish: ({ room, data }) => hub.publish(room, data),
  send: ({ id, data }) => hub.send(id, data),
  sendAsync: ({ id, data }) => hub.sendAsync(id, data),
  join: ({ id, room }) => hub.cluster.join(id, room),
  leave: ({ id, room }) => hub.cluster.leave(id, room),
  disconnect: ({ id, code, reason }) => hub.cluster.disconnect(id, code, reason),
  isOnline: ({ id }) => hub.cluster.isOnline(id),
  roomSize: ({ room }) => hub.cluster.roomSize(room),
  ids: () => hub.cluster.ids(),
  members: ({ room }) => hub.cluster.members(room),
  nodes: () => hub.cluster.nodes(),
  stats: () => hub.stats(),
  /** Broadcasts "<prefix><n>" every `every` ms, n = 0, 1, 2, … until stopTraffic (which answers how many). */
  startTraffic: ({ prefix, every }) => {
    sent = 0;
    traffic = setInterval(() => hub.broadcast(`${prefix}${sent++}`), every);
  },
  stopTraffic: () => {
    clearInterval(traffic);
    return sent;
  },
  close: async () => {
    await hub.close({ timeout: 1000 });
    await wss.close();
    setImmediate(() => process.exit(0));
  },
};

process.on("message", async ({ seq, op, ...args }) => {
  try {
    process.send({ seq, result: await ops[op](args) });
  } catch (err) {
    process.send({ seq, error: String(err?.stack ?? err) });
  }
});
