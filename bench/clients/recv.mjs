/**
 * A client under test in the client-side scenario: it connects to the stream sender, counts
 * the messages it receives, and after the warm-up prints one JSON line per event (like the
 * C load generator): measure_start, measure_end, then the result with its own CPU time.
 *
 *   node recv.mjs --impl wshub|ws|node --url ws://127.0.0.1:PORT/ [--warmup 1] [--duration 3]
 * (--impl node uses Node's global WebSocket; on Node 20 run node with --experimental-websocket.)
 */
import { parseArgs } from "../servers/control.mjs";

const args = parseArgs();
const impl = args.impl ?? "wshub";
const warmup = Number(args.warmup ?? 1) * 1000;
const duration = Number(args.duration ?? 3) * 1000;
const print = (o) => process.stdout.write(JSON.stringify(o) + "\n");

let Ctor;
if (impl === "wshub") Ctor = (await import("../../dist/index.js")).WebSocket;
else if (impl === "ws") Ctor = (await import("ws")).WebSocket;
else if (impl === "node") Ctor = globalThis.WebSocket;
if (typeof Ctor !== "function") {
  print({ event: "error", message: `no WebSocket constructor for --impl ${impl}` });
  process.exit(1);
}

let count = 0;
let bytes = 0;
const ws = new Ctor(args.url);
const timeout = setTimeout(() => {
  print({ event: "error", message: "no open within 10 s" });
  process.exit(1);
}, 10_000);
ws.onerror = (e) => {
  print({ event: "error", message: String(e?.message ?? e?.error ?? "error event") });
  process.exit(1);
};
ws.onmessage = (e) => {
  count++;
  bytes += e.data.length;
};
ws.onopen = () => {
  clearTimeout(timeout);
  setTimeout(() => {
    const c0 = count;
    const b0 = bytes;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    print({ event: "measure_start" });
    setTimeout(() => {
      const seconds = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const messages = count - c0;
      print({ event: "measure_end" });
      print({
        event: "result",
        mode: "recv",
        impl,
        seconds,
        messages,
        rate: messages / seconds,
        mbps: (bytes - b0) / seconds / 1e6,
        cpu: { user: cpu.user / 1e6, sys: cpu.system / 1e6, total: (cpu.user + cpu.system) / 1e6, util: (cpu.user + cpu.system) / 1e6 / seconds },
      });
      process.exit(0);
    }, duration);
  }, warmup);
};
