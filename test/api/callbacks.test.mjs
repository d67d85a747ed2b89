// No application callback can crash the server: what authenticate, handleProtocols, a `connection` listener or a
// connection's handler or listener throws (or rejects with) is caught; the handshake is answered 500 with a
// generic reason (never the exception's text); the error goes to the server's `error` event when it has a
// listener, else to stderr; the process goes on. Run in a child process, with and without an error listener.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";
import { WebSocket } from "../../dist/index.js";
import { withTimeout } from "../helpers/index.mjs";

const child = fileURLToPath(new URL("./fixtures/callbacks-child.mjs", import.meta.url));

function startChild(mode) {
  const proc = spawn(process.execPath, [child, mode], { stdio: ["pipe", "pipe", "pipe"] });
  const out = { stdout: "", stderr: "", exit: null };
  proc.stdout.on("data", (c) => (out.stdout += c));
  proc.stderr.on("data", (c) => (out.stderr += c));
  proc.on("exit", (code, signal) => (out.exit = { code, signal }));
  const port = withTimeout(
    new Promise((resolve, reject) => {
      proc.stdout.on("data", () => {
        const m = /PORT (\d+)/.exec(out.stdout);
        if (m) resolve(Number(m[1]));
      });
      proc.on("exit", () => reject(new Error(`child exited: ${out.stderr}`)));
    }),
    10_000,
    "child listening",
  );
  return { proc, out, port };
}

/** The raw answer to an upgrade request at `path` (with a subprotocol offer), read until the server closes. */
function rawAnswer(port, path) {
  return withTimeout(
    new Promise((resolve, reject) => {
      const s = connect(port, "127.0.0.1");
      let text = "";
      s.on("data", (c) => (text += c.toString("latin1")));
      s.on("error", reject);
      s.on("close", () => resolve(text));
      s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat\r\n\r\n`);
    }),
    5000,
    `answer at ${path}`,
  );
}

async function openAndSend(port, path, message = "hi") {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, ["chat"]);
  await withTimeout(new Promise((r, j) => ((ws.onopen = r), (ws.onerror = () => j(new Error(`no open at ${path}`))))), 5000, `open ${path}`);
  ws.send(message);
  return ws;
}

async function echoWorks(port) {
  const ws = await openAndSend(port, "/echo", "alive?");
  const ev = await withTimeout(new Promise((r) => (ws.onmessage = r)), 5000, "echo");
  ws.close();
  return ev.data === "alive?";
}

async function waitFor(cond, ms, label) {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

for (const mode of ["listener", "none"]) {
  describe(`application callbacks that throw or reject (error listener: ${mode === "listener" ? "yes" : "no"})`, () => {
    it("every handshake is answered, nothing crashes, every error is reported", async () => {
      const { proc, out, port: portP } = startChild(mode);
      try {
        const port = await portP;
        for (const path of ["/auth-throw", "/auth-crlf", "/auth-badstatus", "/proto-throw"]) {
          const answer = await rawAnswer(port, path);
          assert.match(answer, /^HTTP\/1\.1 500 /, `${path}: ${answer.split("\r\n")[0]}`);
          assert.ok(!answer.includes("secret-token") && !answer.includes("exploded") && !answer.includes("Injected"), `${path} leaks: ${answer}`);
        }
        for (const path of ["/conn-throw", "/conn-reject", "/msg-throw", "/listener-throw", "/listener-reject"]) {
          const ws = await openAndSend(port, path);
          // The connection itself stays usable: a throwing listener is the application's problem, not the connection's.
          ws.close();
        }
        const wsClose = await openAndSend(port, "/close-throw");
        wsClose.close();
        const expected = ["secret-token-123 in auth", "a refusal's status", "protocols exploded", "connection listener threw",
          "connection listener rejected", "onmessage threw", "listener threw", "listener rejected", "close listener threw"];
        const sink = () => (mode === "listener" ? out.stdout : out.stderr);
        await waitFor(() => expected.every((m) => sink().includes(m)), 5000, `reports in ${mode === "listener" ? "error events" : "stderr"}: ${sink()}`);
        if (mode === "listener") assert.doesNotMatch(out.stderr, /threw|rejected|exploded/);
        assert.equal(out.exit, null, `the server process is still running: ${out.stderr}`);
        assert.ok(await echoWorks(port), "the server still serves");
      } finally {
        proc.stdin.end();
        await withTimeout(new Promise((r) => (out.exit ? r() : proc.on("exit", r))), 5000, "child exit").catch(() => proc.kill("SIGKILL"));
      }
    });
  });
}
