/**
 * One cluster node in its own process, for tests that kill it: a RedisAdapter bound to a FakeLocal.
 * argv: <redis url> <key prefix> <node id> <presenceTtl> <connection ids, comma-separated> [room]
 * Prints "up" once the adapter reports it is connected (with its connections in presence).
 */
import { RedisAdapter } from "../../dist/cluster/index.js";
import { FakeLocal } from "./fake-local.mjs";

const [url, keyPrefix, nodeId, ttl, ids, room] = process.argv.slice(2);
const adapter = new RedisAdapter({ url, keyPrefix, presenceTtl: Number(ttl), reconnectMinDelay: 20, reconnectMaxDelay: 200 });
const local = new FakeLocal(nodeId, adapter);
local.on("state", (up) => process.stdout.write(up ? "up\n" : "down\n"));
for (const id of ids.split(",")) {
  local.open(id);
  if (room) local.join(id, room);
}
// Runs until killed (the adapter's timers are unref'ed: keep the process alive).
setInterval(() => {}, 1 << 30);
