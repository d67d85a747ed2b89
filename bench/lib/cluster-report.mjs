/**
 * The cluster scenario's report (bench/cluster.mjs): its section of docs/benchmarks.md, between
 * <!-- cluster:start --> and <!-- cluster:end -->, and putting that section into the file without touching the rest.
 */
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT } from "./proc.mjs";
import { redisServerVersion } from "../../test/helpers/redis-server.mjs";

export const SECTION_START = "<!-- cluster:start -->";
export const SECTION_END = "<!-- cluster:end -->";

const median = (xs) => {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const range = (xs, f) => {
  const v = xs.filter(Number.isFinite);
  if (!v.length) return "failed";
  return v.length === 1 ? f(v[0]) : `${f(median(v))} (${f(Math.min(...v))}–${f(Math.max(...v))})`;
};
export const kfmt = (v) => (v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)}k` : v.toFixed(0));
export const ms = (v) => `${v.toFixed(2)} ms`;
export const pct = (v) => `${Math.round(v * 100)}%`;
export const loadavg = () => os.loadavg().map((x) => x.toFixed(2)).join(", ");


export function redisVersion() {
  try {
    return redisServerVersion();
  } catch {
    return "?";
  }
}

function version(pkg) {
  try {
    return JSON.parse(readFileSync(path.join(ROOT, "node_modules", pkg, "package.json"), "utf8")).version;
  } catch {
    return "?";
  }
}


/**
 * The section's markdown. `runs`: system id → one result per round ({error} for a failed one); `systems`: id →
 * {label, kind}; `m`: {started, load0, load1}.
 */
export function clusterReport(runs, errors, o, m, systemDefs) {
  const date = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const elapsed = (Date.now() - m.started) / 1000;
  const N = o.subs.toLocaleString("en-US");
  const ok = (id) => (runs[id] ?? []).filter((r) => !r.error);
  const col = (id, f) => (runs[id] ?? []).map((r) => (r.error ? NaN : f(r)));
  const ratio = (a, b, f) => {
    const out = [];
    for (let i = 0; i < Math.min(runs[a]?.length ?? 0, runs[b]?.length ?? 0); i++) {
      const x = runs[a][i];
      const y = runs[b][i];
      if (!x.error && !y.error) out.push(f(x) / f(y));
    }
    return out;
  };
  const fr = (xs) => range(xs, (v) => `${v.toFixed(2)}×`);
  const L = [];
  L.push(SECTION_START);
  L.push(`## Cluster: 3 nodes on one Redis, ${N} subscribers (\`cluster\`)`);
  L.push("");
  L.push(`*Written by \`${o.cmd ?? "node bench/cluster.mjs"}\` on ${date}, in ${elapsed.toFixed(0)} s; the rest of this file is not touched by that command.* ` +
    `Load average (1, 5, 15 min) ${m.load0} at the start, ${m.load1} at the end: the machine was shared with other work, nothing was pinned. ` +
    `Node ${process.version}, ${os.availableParallelism?.() ?? os.cpus().length} CPUs, redis-server ${m.redisVersion}, socket.io ${version("socket.io")}, @socket.io/redis-adapter ${version("@socket.io/redis-adapter")}, socket.io-client ${version("socket.io-client")}, redis (node-redis) ${version("redis")}, ws ${version("ws")}.`);
  L.push("");
  L.push("Method (`bench/cluster.mjs`):");
  L.push("");
  L.push(`- One redis-server started by the run (free loopback port, temp dir, no persistence, stopped at the end). Each system gets fresh node processes; ${o.rounds} round(s), the systems alternate within each round.`);
  L.push(`- wshub: 3 × \`wshub serve --mode broadcast --port 0 --redis URL\` (the CLI: \`Hub\` + \`RedisAdapter\`, every message from any client goes to every client of every node, sender included). socket.io: 3 × \`bench/servers/socketio-cluster.mjs\` (socket.io ${version("socket.io")} with \`@socket.io/redis-adapter\` on node-redis, \`transports: ["websocket"]\`; a client's \`p\` event → \`io.emit("m", data)\`).`);
  L.push(`- ${N} subscribers in ${o.loadProcs} load processes (\`bench/clients/cluster-subs.mjs\`), subscriber i on node i mod 3; wshub: \`ws\` clients (perMessageDeflate off), socket.io: \`socket.io-client\` with \`transports: ["websocket"]\` and \`forceNew\` (one connection each). Every message is read and parsed; each subscriber checks that sequence numbers follow each other, and after each phase the run waits until every subscriber has every message (a run with a loss, a gap or a disconnect fails).`);
  L.push(`- The publisher (in the orchestrating process) is connected to node A and sends 32 B text messages \`SEQ:MICROS\`, MICROS being its send time on the machine's monotonic clock (\`process.hrtime\`, shared by all processes). Maximum rate: it keeps ${o.window} messages in flight, counted in deliveries (it sends while messages sent × ${N} − deliveries counted < ${o.window} × ${N}; the load processes report their counts over IPC once per event-loop turn); ${o.warmup} s warm-up, ${o.duration} s measured. Latency: then it sends at half the measured maximum (a 1 ms timer sends what is due), ${o.warmup} s warm-up, ${o.duration} s measured; latency = receive time − MICROS, in 10 µs buckets, over every delivery of the window.`);
  L.push("- CPU columns: utime+stime over the maximum-rate window (/proc/<pid>/stat) as a share of one core: all server nodes together, redis-server, the load processes together, the publisher's process.");
  L.push("");
  if (runs.wshub && runs.socketio) {
    L.push("Targets (issue 15):");
    L.push("");
    L.push("| Target | Measured | Met |");
    L.push("|---|---|---|");
    const r = ratio("wshub", "socketio", (x) => x.rate);
    L.push(`| deliveries/s ≥ 3× socket.io (wshub ÷ socket.io, round by round) | ${fr(r)} | ${r.length ? (median(r) >= 3 ? "yes" : "no") : "—"} |`);
    const p99 = col("wshub", (x) => x.half?.p99);
    L.push(`| p99 publish→receive < 5 ms at half the maximum rate (wshub) | ${range(p99, ms)} | ${p99.some(Number.isFinite) ? (Math.max(...p99.filter(Number.isFinite)) < 5 ? "yes" : median(p99) < 5 ? "median yes, not every round" : "no") : "—"} |`);
    L.push("");
  }
  L.push("| System | deliveries/s at maximum | ÷ socket.io | half rate (deliveries/s) | p50 | p99 | p99.9 | max | p50 / p99 on node A | p50 / p99 on nodes B, C | CPU: servers / redis / subscribers / publisher |");
  L.push("|---|---|---|---|---|---|---|---|---|---|---|");
  for (const id of o.systems) {
    if (systemDefs[id].kind !== "cluster") continue;
    const rs = ok(id);
    const c = (k) => pct(median(rs.map((x) => x.cpu[k])));
    const half = (k, f) => range(col(id, (x) => x.half?.[k]), f);
    L.push(`| ${systemDefs[id].label} | ${range(col(id, (x) => x.rate), kfmt)} | ${id === "socketio" ? "1" : runs.socketio ? fr(ratio(id, "socketio", (x) => x.rate)) : "—"} | ${half("rate", kfmt)} | ${half("p50", ms)} | ${half("p99", ms)} | ${half("p999", ms)} | ${half("max", ms)} | ${range(col(id, (x) => x.half?.local.p50), ms)} / ${range(col(id, (x) => x.half?.local.p99), ms)} | ${range(col(id, (x) => x.half?.remote.p50), ms)} / ${range(col(id, (x) => x.half?.remote.p99), ms)} | ${rs.length ? `${c("servers")} / ${c("redis")} / ${c("subs")} / ${c("pub")}` : "—"} |`);
  }
  L.push("");
  if (runs.workers || runs.single) {
    L.push(`\`wshub serve --workers 2\` against one process, broadcast, the same ${N} \`ws\` subscribers and publisher (all on the one port; node:cluster hands connections to the workers in turn), maximum rate only:`);
    L.push("");
    L.push("| System | deliveries/s at maximum | ÷ one process | CPU: servers / redis / subscribers / publisher |");
    L.push("|---|---|---|---|");
    for (const id of ["single", "workers"]) {
      if (!runs[id]) continue;
      const rs = ok(id);
      const c = (k) => pct(median(rs.map((x) => x.cpu[k])));
      L.push(`| ${systemDefs[id].label} | ${range(col(id, (x) => x.rate), kfmt)} | ${id === "single" ? "1" : runs.single ? fr(ratio("workers", "single", (x) => x.rate)) : "—"} | ${rs.length ? `${c("servers")} / ${c("redis")} / ${c("subs")} / ${c("pub")}` : "—"} |`);
    }
    L.push("");
  }
  const dl = o.systems.map((id) => `${id} ${ok(id).reduce((s, r) => s + r.delivered, 0).toLocaleString("en-US")}`).join(", ");
  L.push(`Deliveries checked (all rounds, both phases): ${dl}; lost: ${o.systems.reduce((s, id) => s + ok(id).reduce((a, r) => a + r.lost, 0), 0)}.`);
  L.push("");
  if (errors.length) {
    L.push("Failed runs:");
    for (const e of errors) L.push(`- ${e}`);
    L.push("");
  }
  L.push(SECTION_END);
  return L.join("\n");
}


/** Puts `section` into the report file: replaces the old cluster section, or goes before "## Notes" (else at the end). */
export function writeSection(file, section) {
  let text = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmarks\n\n";
  const a = text.indexOf(SECTION_START);
  const b = text.indexOf(SECTION_END);
  if (a !== -1 && b > a) text = text.slice(0, a) + section + text.slice(b + SECTION_END.length);
  else {
    const n = text.indexOf("\n## Notes");
    text = n !== -1 ? text.slice(0, n + 1) + section + "\n\n" + text.slice(n + 1) : text.trimEnd() + "\n\n" + section + "\n";
  }
  writeFileSync(file, text);
}

/** The cluster section currently in `file` (with its markers), or null. */
export function readSection(file) {
  if (!existsSync(file)) return null;
  const text = readFileSync(file, "utf8");
  const a = text.indexOf(SECTION_START);
  const b = text.indexOf(SECTION_END);
  return a !== -1 && b > a ? text.slice(a, b + SECTION_END.length) : null;
}

