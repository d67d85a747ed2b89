// Usage errors of the wshub command: one line on stderr, nothing on stdout, exit code 2. And --help.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { runCli, startServe } from "./spawn.mjs";

/** The cases of a table are independent child processes: a few run at once. */
const CONCURRENT = { concurrency: 4 };

async function assertUsageError(args, pattern, env = {}) {
  const r = await runCli(args, { env, input: "", timeout: 10_000 });
  assert.equal(r.timedOut, false, `wshub ${args.join(" ")} did not exit`);
  assert.equal(r.code, 2, `exit code of wshub ${args.join(" ")}: stderr=${r.stderr}`);
  assert.equal(r.stdout, "", "nothing on stdout");
  const errLines = r.stderr.split("\n").filter((l) => l !== "");
  assert.equal(errLines.length, 1, `exactly one line on stderr, got ${JSON.stringify(r.stderr)}`);
  assert.match(errLines[0], /^wshub: /);
  assert.match(errLines[0], pattern);
}

describe("wshub serve: bad flags give one line and exit code 2", CONCURRENT, () => {
  const cases = [
    [["serve", "--bogus"], /unknown option --bogus/],
    [["serve", "-x"], /unknown option -x/],
    [["serve", "--port"], /--port needs a value/],
    [["serve", "--port", "abc"], /--port must be a port number/],
    [["serve", "--port", "70000"], /--port must be a port number/],
    [["serve", "--mode", "nope"], /unknown --mode "nope"/],
    [["serve", "--mode"], /--mode needs a value/],
    [["serve", "--path", "chat"], /--path must start with "\/"/],
    [["serve", "--max-payload", "0"], /--max-payload must be a positive integer/],
    [["serve", "--help=yes"], /option --help takes no value/],
    [["serve", "--tls-cert", "/nonexistent/cert.pem"], /--tls-cert and --tls-key go together/],
    [["serve", "--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem"], /cannot read --tls-cert \/nonexistent\/cert\.pem: ENOENT/],
    [["serve", "--tls-cert", "package.json", "--tls-key", "package.json"], /--tls-cert package\.json is not a PEM file/],
    [["serve", "extra"], /unexpected argument "extra"/],
    [["serve", "--host", "203.0.113.7", "--port", "0"], /cannot listen on host 203\.0\.113\.7/],
  ];
  for (const [args, pattern] of cases) {
    it(`wshub ${args.join(" ")}`, () => assertUsageError(args, pattern));
  }
  it("WSHUB_PORT=abc in the environment", () => assertUsageError(["serve"], /WSHUB_PORT must be a port number/, { WSHUB_PORT: "abc" }));
});

describe("wshub connect: bad flags and bad URLs give one line and exit code 2", CONCURRENT, () => {
  const cases = [
    [["connect"], /connect needs a URL/],
    [["connect", "not a url"], /bad URL/],
    [["connect", "ftp://127.0.0.1/"], /bad URL.*scheme/],
    [["connect", "ws://127.0.0.1:1/#frag"], /bad URL.*fragment/],
    [["connect", "ws://:99999/"], /bad URL/],
    [["connect", "ws://127.0.0.1/", "ws://127.0.0.2/"], /unexpected argument/],
    [["connect", "--bogus", "ws://127.0.0.1/"], /unknown option --bogus/],
    [["connect", "--wait", "0", "ws://127.0.0.1/"], /--wait must be a positive integer/],
    [["connect", "--timeout", "soon", "ws://127.0.0.1/"], /--timeout must be a positive integer/],
    [["connect", "--ca", "/nonexistent.pem", "wss://127.0.0.1/"], /cannot read --ca/],
    [["connect", "--protocol", "a b", "ws://127.0.0.1/"], /bad URL or subprotocol/],
    // Issue 17: a delay Node's timers cannot keep (over 2^31 - 1 ms) would fire at once.
    [["connect", "--timeout", "99999999999", "ws://127.0.0.1:1/"], /--timeout must be at most 2147483647/],
    [["connect", "--wait", "3000000000", "ws://127.0.0.1:1/"], /--wait must be at most 2147483647/],
  ];
  for (const [args, pattern] of cases) {
    it(`wshub ${args.join(" ")}`, () => assertUsageError(args, pattern));
  }
});

describe("wshub: unknown command", () => {
  it("wshub frobnicate", () => assertUsageError(["frobnicate"], /unknown command "frobnicate"/));
});

describe("wshub serve: a port in use is exit code 2", CONCURRENT, () => {
  for (const mode of ["echo", "broadcast", "chat"]) {
    it(`--mode ${mode}`, async () => {
      const blocker = createServer();
      await new Promise((resolve, reject) => blocker.listen(0, "127.0.0.1", resolve).once("error", reject));
      const { port } = blocker.address();
      try {
        await assertUsageError(["serve", "--mode", mode, "--port", String(port)], new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`));
      } finally {
        await new Promise((r) => blocker.close(r));
      }
    });
  }
  it("a second wshub serve on the port of a running one", async () => {
    const first = await startServe(["--mode", "chat", "--port", "0"]);
    try {
      await assertUsageError(["serve", "--mode", "chat", "--port", String(first.port)], /is already in use/);
    } finally {
      await first.stop();
    }
  });
});

describe("--help on each command", CONCURRENT, () => {
  for (const [args, pattern] of [
    [["--help"], /^Usage: wshub <command>/],
    [["serve", "--help"], /^Usage: wshub serve \[options\][\s\S]*--mode MODE[\s\S]*--tls-cert FILE/],
    [["serve", "-h"], /^Usage: wshub serve/],
    [["connect", "--help"], /^Usage: wshub connect <url> \[options\][\s\S]*\/close \[code\] \[reason\]/],
  ]) {
    it(`wshub ${args.join(" ")}`, async () => {
      const r = await runCli(args, { input: "" });
      assert.equal(r.code, 0);
      assert.match(r.stdout, pattern);
      assert.equal(r.stderr, "");
    });
  }
  it("wshub with no command prints the help and exits 2", async () => {
    const r = await runCli([], { input: "" });
    assert.equal(r.code, 2);
    assert.match(r.stdout, /^Usage: wshub <command>/);
  });
});
