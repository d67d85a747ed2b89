// Helpers for the CLI and chat tests: run `wshub` as a child process, bounded in time.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const MAIN = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));

/**
 * Runs `node dist/cli/main.js ...args` to completion; writes `input` to stdin (then ends it) unless input is null.
 * Resolves { code, signal, stdout, stderr }; the child is killed after `timeout` ms (the result then says so).
 */
export function runCli(args, { input = "", env = {}, timeout = 15_000, cwd = ROOT } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd, env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeout);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
    child.stdin.on("error", () => {});
    if (input !== null) child.stdin.end(input);
  });
}

/** Sends `signal` to a child still running, SIGKILL after `ms`; resolves with what `exited` resolves to. */
export async function stopChild(child, exited, signal = "SIGTERM", ms = 10_000) {
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  const t = setTimeout(() => child.kill("SIGKILL"), ms);
  const r = await exited;
  clearTimeout(t);
  return r;
}

/**
 * Starts `wshub serve ...args` and resolves once it prints its "listening on" line:
 * { child, port, line, output(), stop(signal) → Promise<{code, signal}> }.
 */
export function startServe(args, { env = {}, timeout = 15_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, "serve", ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const exited = new Promise((r) => child.on("exit", (code, signal) => r({ code, signal })));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`server did not start in ${timeout} ms; stdout=${stdout} stderr=${stderr}`));
    }, timeout);
    child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
    child.stdout.setEncoding("utf8").on("data", (d) => {
      stdout += d;
      const m = /listening on (\S+)/.exec(stdout);
      if (m && timer) {
        clearTimeout(timer);
        const port = Number(/:(\d+)\//.exec(m[1])[1]);
        resolve({
          child,
          port,
          url: m[1],
          line: stdout.split("\n")[0],
          output: () => ({ stdout, stderr }),
          exited,
          stop: (signal = "SIGTERM", ms = 10_000) => stopChild(child, exited, signal, ms),
        });
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening; stdout=${stdout} stderr=${stderr}`));
    });
  });
}
