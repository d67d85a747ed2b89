/** Runs a python-websockets peer script (test/interop/py/) and collects the JSON lines it prints. */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { withTimeout } from "../helpers/index.mjs";

/** The Debian interpreter that has python3-websockets; `python3` on PATH may be another one. */
export const PYTHON = "/usr/bin/python3";
const PY_DIR = fileURLToPath(new URL("./py/", import.meta.url));

export class PythonPeer {
  /** @param {string} script file name under test/interop/py/ */
  constructor(script, args = []) {
    this.events = [];
    this.stderr = "";
    this.waiters = [];
    this.child = spawn(PYTHON, [script, ...args], {
      cwd: PY_DIR,
      stdio: ["ignore", "pipe", "pipe"],
      // No __pycache__ in the source tree.
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" },
    });
    this.exited = new Promise((resolve, reject) => {
      this.child.once("error", reject);
      this.child.once("exit", (code, signal) => resolve({ code, signal }));
    });
    let partial = "";
    this.child.stdout.setEncoding("utf8");
    this.child.stdout.on("data", (chunk) => {
      partial += chunk;
      let nl;
      while ((nl = partial.indexOf("\n")) !== -1) {
        const line = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        if (line.trim() === "") continue;
        let event;
        try {
          event = JSON.parse(line);
        } catch {
          event = { event: "bad-line", line };
        }
        this.events.push(event);
        this.waiters = this.waiters.filter((w) => !w(event));
      }
    });
    this.child.stderr.setEncoding("utf8");
    this.child.stderr.on("data", (chunk) => (this.stderr += chunk));
  }

  /** Resolves with the first event (already seen or future) that matches `predicate`. */
  waitFor(predicate, ms = 20_000, label = "a python event") {
    const seen = this.events.find(predicate);
    if (seen !== undefined) return Promise.resolve(seen);
    return withTimeout(
      new Promise((resolve, reject) => {
        this.waiters.push((event) => (predicate(event) ? (resolve(event), true) : false));
        // A peer that exits (or cannot start) before reporting fails the wait at once.
        this.exited.then(
          (exit) => reject(new Error(`python peer exited (${JSON.stringify(exit)}) before ${label}: ${this.stderr.slice(-2000)}`)),
          reject,
        );
      }),
      ms,
      `${label} (stderr: ${this.stderr.slice(-2000)})`,
    );
  }

  /** Waits for the process to exit by itself; returns { code, signal }. */
  async finished(ms = 55_000) {
    return withTimeout(this.exited, ms, `python peer exit (stderr: ${this.stderr.slice(-2000)})`);
  }

  kill() {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGTERM");
  }
}
