// `wshub serve --resume` (issue 16): resumable sessions in broadcast and chat modes, with real clients over a TCP
// proxy that cuts connections: ReconnectingWebSocket for sessions, `ws` for a plain client that must see no change.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import WsClient from "ws";
import { ReconnectingWebSocket } from "../../dist/index.js";
import { runCli, startServe } from "../cli/spawn.mjs";
import { nextEvent, waitFor } from "../helpers/index.mjs";
import { startProxy } from "./proxy.mjs";

function collect(c) {
  const got = [];
  c.onmessage = (e) => got.push(e.data);
  return got;
}

describe("wshub serve --resume", () => {
  const cleanup = [];
  after(async () => {
    for (const f of cleanup.reverse()) await f();
  });

  it("broadcast mode: a client cut off gets what was broadcast meanwhile, once; a plain client sees plain text", { timeout: 30_000 }, async () => {
    const server = await startServe(["--mode", "broadcast", "--resume", "--port", "0"]);
    cleanup.push(async () => assert.equal((await server.stop("SIGINT")).code, 0));
    assert.match(server.line, /resumable sessions on/);
    const proxy = await startProxy(server.port);
    cleanup.push(() => proxy.close());
    const url = `ws://127.0.0.1:${server.port}/`;
    const a = new ReconnectingWebSocket(`ws://127.0.0.1:${proxy.port}/`, undefined, { maxDelay: 50 });
    const b = new ReconnectingWebSocket(url);
    cleanup.push(() => (a.close(), b.close()));
    const [gotA, gotB] = [collect(a), collect(b)];
    await Promise.all([nextEvent(a, "open"), nextEvent(b, "open")]);
    const plain = new WsClient(url);
    const gotPlain = [];
    plain.on("message", (d, isBinary) => gotPlain.push(isBinary ? d : d.toString()));
    await nextEvent(plain, "open");
    cleanup.push(() => plain.close());
    assert.equal(plain.protocol, "");

    proxy.pause();
    proxy.cut();
    a.send("from a, while cut off");
    b.send("b1");
    b.send("b2");
    await waitFor(() => gotB.length === 2 && gotPlain.length === 2, "b and the plain client get b1 b2");
    const resumed = nextEvent(a, "resumed", 5000);
    proxy.resume();
    await resumed;
    const all = ["b1", "b2", "from a, while cut off"];
    await waitFor(() => gotA.length === 3 && gotB.length === 3 && gotPlain.length === 3, "everyone gets all three");
    assert.deepEqual(gotA, all);
    assert.deepEqual(gotB, all);
    assert.deepEqual(gotPlain, all);
  });

  it("chat mode: /wshub-client.js is an import-free ES module; a cut-off chat client keeps its user and gets what it missed", { timeout: 30_000 }, async () => {
    const server = await startServe(["--mode", "chat", "--resume", "--port", "0"]);
    cleanup.push(async () => assert.equal((await server.stop("SIGINT")).code, 0));
    const res = await fetch(`http://127.0.0.1:${server.port}/wshub-client.js`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type"), /^text\/javascript/);
    const js = await res.text();
    assert.match(js, /export class ReconnectingWebSocket extends EventTarget/);
    assert.doesNotMatch(js, /^import /m);
    assert.doesNotMatch(js, /sourceMappingURL/);

    const proxy = await startProxy(server.port);
    cleanup.push(() => proxy.close());
    const ana = new ReconnectingWebSocket(`ws://127.0.0.1:${proxy.port}/chat?nick=ana`, undefined, { maxDelay: 50 });
    const bob = new ReconnectingWebSocket(`ws://127.0.0.1:${server.port}/chat?nick=bob`);
    cleanup.push(() => (ana.close(), bob.close()));
    const gotAna = collect(ana);
    const gotBob = collect(bob);
    await waitFor(() => gotAna.some((m) => JSON.parse(m).type === "welcome") && gotBob.some((m) => JSON.parse(m).type === "welcome"), "welcomes");
    const welcome = JSON.parse(gotAna.find((m) => JSON.parse(m).type === "welcome"));
    assert.equal(welcome.id, ana.sessionId);
    assert.equal(welcome.nick, "ana");

    proxy.pause();
    proxy.cut();
    bob.send(JSON.stringify({ type: "message", text: "are you there?" }));
    ana.send(JSON.stringify({ type: "message", text: "typed in the tunnel" }));
    await waitFor(() => gotBob.some((m) => JSON.parse(m).text === "are you there?"), "bob's own message back");
    proxy.resume();
    await nextEvent(ana, "resumed", 5000);
    const texts = (got) => got.map((m) => JSON.parse(m)).filter((m) => m.type === "message").map((m) => `${m.nick}: ${m.text}`);
    await waitFor(() => texts(gotAna).length === 2 && texts(gotBob).length === 2, "both lines everywhere");
    assert.deepEqual(texts(gotAna), ["bob: are you there?", "ana: typed in the tunnel"]);
    assert.deepEqual(texts(gotBob), texts(gotAna));
    // Still one user: one welcome, no "user-left" / second "user-joined" for ana.
    const types = gotAna.map((m) => JSON.parse(m).type);
    assert.equal(types.filter((t) => t === "welcome").length, 1);
    assert.ok(!gotBob.some((m) => JSON.parse(m).type === "user-left"), "bob saw no user-left");
  });

  it("refuses --resume in echo mode and with --workers", async () => {
    for (const args of [["--mode", "echo", "--resume"], ["--mode", "broadcast", "--resume", "--workers", "2", "--redis", "redis://127.0.0.1:1"]]) {
      const r = await runCli(["serve", ...args, "--port", "0"]);
      assert.equal(r.code, 2, `wshub serve ${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /--resume/);
    }
  });
});
