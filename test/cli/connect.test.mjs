// `wshub connect` against `wshub serve`, both real processes over loopback.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { runCli, startServe, MAIN, ROOT } from "./spawn.mjs";
import { waitFor } from "../helpers/index.mjs";

const LINE = /^\d\d:\d\d:\d\d\.\d{3} ([<>]) (.*)$/;

/** The tests of a describe are independent child processes (sharing at most a server): a few run at once. */
const CONCURRENT = { concurrency: 3 };

function lines(stdout) {
  return stdout.split("\n").filter((l) => l !== "");
}

describe("wshub connect, piped stdin, against wshub serve --mode echo", CONCURRENT, () => {
  let server;
  before(async () => {
    server = await startServe(["--mode", "echo", "--port", "0"]);
  });
  after(async () => {
    await server?.stop();
  });

  it("sends each line, prints both echoes with direction and time, closes with 1000 and exits 0", async () => {
    const r = await runCli(["connect", `ws://127.0.0.1:${server.port}/`], { input: "a\nb\n" });
    assert.equal(r.timedOut, false);
    assert.equal(r.code, 0, r.stderr);
    const got = lines(r.stdout).map((l) => {
      const m = LINE.exec(l);
      assert.ok(m, `line has time and direction: ${JSON.stringify(l)}`);
      return `${m[1]} ${m[2]}`;
    });
    assert.deepEqual(got.filter((l) => l.startsWith("<")), ["< a", "< b"]);
    assert.deepEqual(got.filter((l) => l.startsWith(">")), ["> a", "> b"]);
    assert.match(r.stderr, /connected to ws:\/\/127\.0\.0\.1:\d+\//);
    assert.match(r.stderr, /closed: code 1000, clean/);
  });

  it("--raw prints only the received data", async () => {
    const r = await runCli(["connect", "--raw", `ws://127.0.0.1:${server.port}/any/path`], { input: "first line\nsecond line\n" });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "first line\nsecond line\n");
  });

  it("a last line without a newline, and empty stdin, both end cleanly", async () => {
    const r1 = await runCli(["connect", "--raw", `ws://127.0.0.1:${server.port}/`], { input: "no newline" });
    assert.equal(r1.code, 0, r1.stderr);
    assert.equal(r1.stdout, "no newline\n");
    const r2 = await runCli(["connect", `ws://127.0.0.1:${server.port}/`], { input: "" });
    assert.equal(r2.code, 0, r2.stderr);
    assert.equal(r2.stdout, "");
  });

  it("/ping prints the pong; //text sends /text", async () => {
    const r = await runCli(["connect", `ws://127.0.0.1:${server.port}/`], { input: "/ping hey\n//slash\n" });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /< pong \(hey\)/);
    assert.match(r.stdout, /< \/slash\n/);
  });

  it("/close 4000 bye closes with that code and reason (RFC 6455 §5.5.1: the server echoes the code)", async () => {
    const r = await runCli(["connect", `ws://127.0.0.1:${server.port}/`], { input: "/close 4000 bye\nnot sent\n" });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /closed: code 4000, reason "bye", clean/);
    assert.doesNotMatch(r.stdout, /not sent/);
  });

  it("exits 0 when the server closes cleanly first (Going Away on SIGTERM), stdin still open", async () => {
    const s2 = await startServe(["--mode", "echo", "--port", "0"]);
    const child = spawn(process.execPath, [MAIN, "connect", `ws://127.0.0.1:${s2.port}/`], { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
    const exited = new Promise((r) => child.on("exit", (code) => r(code)));
    const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    try {
      child.stdin.write("ping me\n");
      await waitFor(() => stdout.includes("< ping me"), "the echo");
      const s = await s2.stop("SIGTERM");
      assert.equal(s.code, 0);
      assert.equal(await exited, 0, stderr);
      assert.match(stderr, /closed: code 1001/);
    } finally {
      clearTimeout(killer);
      child.kill("SIGKILL");
      await s2.stop("SIGKILL");
    }
  });

  it("a refused connection is exit code 1 with one line on stderr", async () => {
    // The echo server's port, after it stopped: nothing listens there.
    const s3 = await startServe(["--mode", "echo", "--port", "0"]);
    await s3.stop();
    const r = await runCli(["connect", `ws://127.0.0.1:${s3.port}/`], { input: "x\n" });
    assert.equal(r.code, 1);
    assert.equal(lines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /^wshub: cannot connect to ws:\/\/127\.0\.0\.1:\d+\/: /);
  });
});

describe("wshub serve --tls-cert/--tls-key and wshub connect wss:// (RFC 6455 §3: wss is WebSocket over TLS)", CONCURRENT, () => {
  let dir;
  let server;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "wshub-tls-"));
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
      "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
      "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"),
    ], { stdio: "ignore", timeout: 15_000 });
    server = await startServe(["--mode", "echo", "--port", "0", "--tls-cert", join(dir, "cert.pem"), "--tls-key", join(dir, "key.pem")]);
  });
  after(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("announces a wss:// URL", () => {
    assert.match(server.line, /^wshub echo server listening on wss:\/\/127\.0\.0\.1:\d+\/$/);
  });

  it("echoes over wss with --ca", async () => {
    const r = await runCli(["connect", "--raw", "--ca", join(dir, "cert.pem"), `wss://127.0.0.1:${server.port}/`], { input: "secure\n" });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "secure\n");
  });

  it("echoes over wss with --insecure", async () => {
    const r = await runCli(["connect", "--raw", "--insecure", `wss://127.0.0.1:${server.port}/`], { input: "any cert\n" });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "any cert\n");
  });

  it("serves the chat app over https and wss (--mode chat)", async () => {
    const chat = await startServe(["--mode", "chat", "--port", "0", "--tls-cert", join(dir, "cert.pem"), "--tls-key", join(dir, "key.pem")]);
    try {
      assert.match(chat.line, /listening on https:\/\/127\.0\.0\.1:\d+\/ \(WebSocket endpoint wss:\/\/127\.0\.0\.1:\d+\/chat\)/);
      const r = await runCli(["connect", "--raw", "--ca", join(dir, "cert.pem"), `wss://127.0.0.1:${chat.port}/chat?nick=tls`], {
        input: JSON.stringify({ type: "message", text: "over TLS" }) + "\n",
      });
      assert.equal(r.code, 0, r.stderr);
      const got = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
      assert.equal(got[0].type, "welcome");
      assert.equal(got[0].nick, "tls");
      assert.ok(got.some((m) => m.type === "message" && m.text === "over TLS" && m.nick === "tls"));
    } finally {
      await chat.stop();
    }
  });

  it("refuses the self-signed certificate by default (exit 1)", async () => {
    const r = await runCli(["connect", `wss://127.0.0.1:${server.port}/`], { input: "x\n" });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^wshub: cannot connect to wss:/);
    assert.equal(r.stdout, "");
  });
});

describe("wshub connect on a terminal (a pseudo-terminal from util-linux `script`)", () => {
  it("sends typed lines, prints both directions with time, /ping shows the pong, /close closes with its code", async () => {
    const server = await startServe(["--mode", "echo", "--port", "0"]);
    // `script -qfec CMD /dev/null` runs CMD on a new pty (stdin and stdout are TTYs) and returns its exit code.
    const child = spawn("script", ["-qfec", `${process.execPath} ${MAIN} connect ws://127.0.0.1:${server.port}/`, "/dev/null"], { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d) => (out += d));
    const exited = new Promise((r) => child.on("exit", (code) => r(code)));
    const killer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    try {
      await waitFor(() => out.includes("connected to"), `the connected line (output: ${out})`);
      child.stdin.write("hello tty\r");
      await waitFor(() => /\d\d:\d\d:\d\d\.\d{3} < hello tty/.test(out), "the echo");
      assert.match(out, /\d\d:\d\d:\d\d\.\d{3} > hello tty/);
      child.stdin.write("/ping tick\r");
      await waitFor(() => out.includes("< pong (tick)"), "the pong");
      child.stdin.write("/close 4001 done\r");
      assert.equal(await exited, 0, out);
      assert.match(out, /closed: code 4001, reason "done", clean/);
    } finally {
      clearTimeout(killer);
      child.kill("SIGKILL");
      await server.stop();
    }
  });
});
