// Runs examples/python/chat_server.py (python3-websockets) as a child process for the chat tests, bounded in time.
// No python3 or no websockets module: the start rejects, and the test fails (it never skips).
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ROOT, stopChild } from "../cli/spawn.mjs";

export const PYTHON = "/usr/bin/python3";
export const CHAT_SERVER = fileURLToPath(new URL("../../examples/python/chat_server.py", import.meta.url));
export const CHAT_CLIENT = fileURLToPath(new URL("../../examples/python/chat_client.py", import.meta.url));

/**
 * The Python chat client (examples/python/chat_client.py, --json) as a child process, leaving after `duration` s:
 * { child, messages (the JSON messages it printed), stderr, exited, say(line), has(pred) }.
 */
export function startPythonClient(wsUrl, nick, { duration = 60 } = {}) {
  const child = spawn(PYTHON, [CHAT_CLIENT, "--url", wsUrl, "--nick", nick, "--json", "--hello", "hello from Python", "--duration", String(duration)], {
    cwd: ROOT,
    stdio: ["pipe", "pipe", "pipe"],
  });
  const py = { child, messages: [], stderr: "", exit: null };
  let buf = "";
  child.stdout.setEncoding("utf8").on("data", (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf("\n")) !== -1) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.trim() !== "") py.messages.push(JSON.parse(line));
    }
  });
  child.stderr.setEncoding("utf8").on("data", (d) => (py.stderr += d));
  py.exited = new Promise((r) => child.on("exit", (code) => r((py.exit = code))));
  child.stdin.on("error", () => {});
  py.say = (line) => child.stdin.write(line + "\n");
  py.has = (pred) => py.messages.some(pred);
  /** SIGTERM (the client closes with 1000), SIGKILL after 5 s; resolves with its exit code. */
  py.stop = () => stopChild(child, py.exited, "SIGTERM", 5000);
  return py;
}

/**
 * Starts the Python chat server on a free loopback port (--port 0) and resolves once it prints its listening
 * line: { child, port, url, wsUrl, line, output(), stop(signal) → Promise<{code, signal}> }.
 */
export function startPythonServer(args = [], { timeout = 15_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [CHAT_SERVER, "--host", "127.0.0.1", "--port", "0", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let started = false;
    const exited = new Promise((r) => child.on("exit", (code, signal) => r({ code, signal })));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the Python chat server did not start in ${timeout} ms; stdout=${stdout} stderr=${stderr}`));
    }, timeout);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${PYTHON}: ${err.message}`));
    });
    child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
    child.stdout.setEncoding("utf8").on("data", (d) => {
      stdout += d;
      const m = /listening on (http:\/\/127\.0\.0\.1:(\d+)\/) \(WebSocket endpoint (ws:\S+)\)/.exec(stdout);
      if (m === null || started) return;
      started = true;
      clearTimeout(timer);
      resolve({
        child,
        port: Number(m[2]),
        url: m[1],
        wsUrl: m[3],
        line: stdout.split("\n")[0],
        output: () => ({ stdout, stderr }),
        exited,
        stop: (signal = "SIGTERM", ms = 10_000) => stopChild(child, exited, signal, ms),
      });
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (!started) reject(new Error(`the Python chat server exited with ${code} before listening; stdout=${stdout} stderr=${stderr}`));
    });
  });
}
