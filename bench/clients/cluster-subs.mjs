/**
 * Subscribers for the cluster benchmark (bench/cluster.mjs), forked with an IPC channel. Opens `--count`
 * subscribers, subscriber g (g = --first .. --first+count-1, a global index) on --urls[g % urls.length], so the
 * subscribers of all load processes are spread evenly over the nodes. Every message is read in full (the clients
 * parse each frame) and its payload "SEQ:MICROS..." checked: SEQ must follow the subscriber's previous one (one
 * publisher, in order), MICROS is the publisher's send time on the shared monotonic clock (process.hrtime), from
 * which the publish→receive latency goes into a histogram of 10 µs buckets.
 *
 *   --impl ws          `ws` clients, perMessageDeflate off (for wshub nodes)
 *   --impl socketio    socket.io-client, transports ["websocket"], one connection per client (forceNew)
 *
 * To the parent: {ev:"connected"} once all are open; {d: n} per event-loop turn with the deliveries of that turn;
 * {ev:"report", ...} when asked. From the parent: {cmd:"reset"} (empty the histogram), {cmd:"report"}, {cmd:"exit"}.
 */
import { parseArgs } from "../servers/control.mjs";

const args = parseArgs();
const impl = args.impl;
const urls = String(args.urls).split(",");
const first = Number(args.first ?? 0);
const count = Number(args.count);
const BUCKET_US = 10;
const BUCKETS = 100_000; // 10 µs .. 1 s; later ones land in the last bucket
// Two histograms: subscribers on node A (the publisher's node: no Redis hop) and on the other nodes.
let hist = [new Uint32Array(BUCKETS), new Uint32Array(BUCKETS)];
let delivered = 0;
let pending = 0;
let scheduled = false;
let outOfOrder = 0;
let closed = 0;
const last = new Float64Array(count).fill(-1);

const nowUs = () => {
  const t = process.hrtime();
  return t[0] * 1e6 + t[1] / 1e3;
};
const flush = () => {
  scheduled = false;
  if (pending > 0) {
    process.send({ d: pending });
    pending = 0;
  }
};

/** One message for subscriber i: payload text "SEQ:MICROS" (padded). */
function onPayload(i, seq, sentUs) {
  const lat = nowUs() - sentUs;
  const b = lat > 0 ? Math.floor(lat / BUCKET_US) : 0;
  hist[(first + i) % urls.length === 0 ? 0 : 1][b < BUCKETS ? b : BUCKETS - 1]++;
  if (seq !== last[i] + 1) outOfOrder++;
  last[i] = seq;
  delivered++;
  pending++;
  if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
}

/** Parses "SEQ:MICROS" from a Buffer without building a string. */
function fromBuffer(i, buf) {
  let seq = 0;
  let j = 0;
  for (; j < buf.length; j++) {
    const c = buf[j];
    if (c === 58) break;
    seq = seq * 10 + (c - 48);
  }
  let t = 0;
  for (j++; j < buf.length; j++) {
    const c = buf[j];
    if (c < 48 || c > 57) break;
    t = t * 10 + (c - 48);
  }
  onPayload(i, seq, t);
}
function fromString(i, s) {
  const k = s.indexOf(":");
  onPayload(i, Number(s.slice(0, k)), parseInt(s.slice(k + 1), 10));
}

const sockets = [];
async function openWs(i, url) {
  const { WebSocket } = await import("ws");
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.on("message", (data) => fromBuffer(i, data));
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
    ws.on("close", () => closed++);
  });
}
async function openSocketIo(i, url) {
  const { io } = await import("socket.io-client");
  return new Promise((resolve, reject) => {
    const s = io(url, { transports: ["websocket"], forceNew: true, reconnection: false });
    s.on("m", (data) => fromString(i, data));
    s.once("connect", () => resolve(s));
    s.once("connect_error", reject);
    s.on("disconnect", () => closed++);
  });
}

const open = impl === "socketio" ? openSocketIo : openWs;
const CONCURRENCY = 50;
let next = 0;
const t0 = Date.now();
try {
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, count) }, async () => {
    while (next < count) {
      const i = next++;
      sockets[i] = await open(i, urls[(first + i) % urls.length]);
    }
  }));
} catch (err) {
  process.send({ ev: "error", message: `subscriber connect failed: ${err.message ?? err}` });
  process.exit(1);
}
process.send({ ev: "connected", n: count, seconds: (Date.now() - t0) / 1000 });

process.on("message", (m) => {
  if (m.cmd === "reset") {
    hist = [new Uint32Array(BUCKETS), new Uint32Array(BUCKETS)];
    process.send({ ev: "reset" });
  } else if (m.cmd === "report") {
    flush();
    const h = [[], []];
    for (let k = 0; k < 2; k++) for (let b = 0; b < BUCKETS; b++) if (hist[k][b] !== 0) h[k].push(b, hist[k][b]);
    const cpu = process.cpuUsage();
    process.send({ ev: "report", hist: h, delivered, outOfOrder, closed, lastSeq: Array.from(last), cpu: (cpu.user + cpu.system) / 1e6 });
  } else if (m.cmd === "exit") {
    for (const s of sockets) (impl === "socketio" ? s.disconnect() : s.terminate());
    process.exit(0);
  }
});
process.on("disconnect", () => process.exit(0));
