/**
 * Process plumbing for the benchmark: building the C load generator, starting pinned child
 * processes with a raised descriptor limit, reading their JSON lines, and sampling a process's
 * CPU time and RSS from /proc.
 */
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from "node:fs";
import { createInterface } from "node:readline";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const BENCH_DIR = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const ROOT = path.dirname(BENCH_DIR);
export const BUILD_DIR = path.join(BENCH_DIR, ".build");
export const LOADGEN = path.join(BUILD_DIR, "loadgen");
const LOADGEN_SRC = path.join(BENCH_DIR, "loadgen", "loadgen.c");

export const SERVER_CORE = 0;
export const LOAD_CORE = 1;

function has(cmd) {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
export const HAVE_TASKSET = has("taskset");
export const CLK_TCK = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Compiles bench/loadgen/loadgen.c with `cc -O2` when the binary is missing or older than the source. */
export function buildLoadgen() {
  mkdirSync(BUILD_DIR, { recursive: true });
  if (existsSync(LOADGEN) && statSync(LOADGEN).mtimeMs >= statSync(LOADGEN_SRC).mtimeMs) return;
  const cc = has("cc") ? "cc" : "gcc";
  execFileSync(cc, ["-O2", "-Wall", "-o", LOADGEN, LOADGEN_SRC], { stdio: "inherit" });
}

/** The descriptor limit children get (the wrapper raises the soft limit as far as allowed). */
export function childFdLimit() {
  return execFileSync("sh", ["-c", 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; ulimit -n']).toString().trim();
}

/**
 * Spawns `cmd args` pinned to `core` (when taskset exists) with the descriptor limit raised.
 * sh and taskset both exec, so the child's pid is the program's pid.
 */
export function spawnPinned(core, cmd, args, options = {}) {
  const script = 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"';
  const pin = HAVE_TASKSET && core !== null ? ["taskset", "-c", String(core)] : [];
  const child = spawn("sh", ["-c", script, "sh", ...pin, cmd, ...args], {
    cwd: ROOT,
    stdio: ["pipe", "pipe", "inherit"],
    ...options,
    env: { ...process.env, ...(options.env ?? {}) },
  });
  child.stdin.on("error", () => {});
  return child;
}

/** Reads a child's stdout as JSON lines; next(pred, ms) resolves with the first matching line. */
export class JsonLines {
  #queue = [];
  #waiters = [];
  #ended = false;
  constructor(child, name) {
    this.name = name;
    const rl = createInterface({ input: child.stdout });
    rl.on("line", (line) => {
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        return;
      }
      this.#queue.push(msg);
      this.#pump();
    });
    child.on("exit", (code, signal) => {
      this.#ended = true;
      this.exit = { code, signal };
      this.#pump();
    });
  }
  #pump() {
    for (const w of [...this.#waiters]) {
      const i = this.#queue.findIndex(w.pred);
      const err = this.#queue.find((m) => m.event === "error");
      if (i !== -1) {
        const [msg] = this.#queue.splice(i, 1);
        w.done(null, msg);
      } else if (err) w.done(new Error(`${this.name}: ${err.message}`));
      else if (this.#ended) w.done(new Error(`${this.name} exited (${this.exit?.code ?? this.exit?.signal}) before the expected output`));
    }
  }
  next(pred, ms) {
    return new Promise((resolve, reject) => {
      const w = {
        pred,
        done: (err, msg) => {
          clearTimeout(w.timer);
          this.#waiters.splice(this.#waiters.indexOf(w), 1);
          err ? reject(err) : resolve(msg);
        },
      };
      w.timer = setTimeout(() => w.done(new Error(`${this.name}: timed out after ${ms} ms`)), ms);
      this.#waiters.push(w);
      this.#pump();
    });
  }
}

/** utime + stime of a process, in seconds (from /proc/<pid>/stat). */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/**
 * Busy and total jiffies of each CPU (from /proc/stat: everything but idle and iowait counts as busy).
 * coreBusy(a, b)[core] is the share of that core that was busy between two samples, whoever used it.
 */
export function cpuTimes() {
  try {
    const out = [];
    for (const line of readFileSync("/proc/stat", "latin1").split("\n")) {
      const m = /^cpu(\d+) (.*)$/.exec(line);
      if (!m) continue;
      const f = m[2].trim().split(/\s+/).map(Number);
      const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
      out[Number(m[1])] = { busy: total - f[3] - f[4], total };
    }
    return out;
  } catch {
    return [];
  }
}
export function coreBusy(a, b) {
  return b.map((x, i) => (a[i] && x.total > a[i].total ? (x.busy - a[i].busy) / (x.total - a[i].total) : NaN));
}

/** Pids of the per-CPU ksoftirqd threads (network work the kernel defers to them is nobody's process time). */
export const KSOFTIRQD = (() => {
  const out = [];
  try {
    for (const pid of readdirSync("/proc")) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const m = /^ksoftirqd\/(\d+)$/.exec(readFileSync(`/proc/${pid}/comm`, "latin1").trim());
        if (m) out[Number(m[1])] = Number(pid);
      } catch {}
    }
  } catch {}
  return out;
})();

/** Resident set size of a process, in bytes (VmRSS from /proc/<pid>/status). */
export function rssBytes(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "latin1"));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Ends a child we started: "exit" on its control channel, then SIGKILL to its pid after `ms`. */
export async function stop(child, ms = 3000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  try {
    child.stdin.write("exit\n");
    child.stdin.end();
  } catch {}
  const timer = setTimeout(() => child.kill("SIGKILL"), ms);
  await exited;
  clearTimeout(timer);
}
