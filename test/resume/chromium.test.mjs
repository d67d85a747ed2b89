// The browser build of ReconnectingWebSocket (/wshub-client.js, served by `wshub serve --mode chat --resume`) in
// Chromium (playwright-core, /usr/bin/chromium): a network cut (a TCP proxy destroys both sockets) loses nothing and
// duplicates nothing; a server restart gives the `gap` event ("expired") and a new session, and a line typed while
// the server was down is sent once in it.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { launchChromium } from "../helpers/browser.mjs";
import { ReconnectingWebSocket } from "../../dist/index.js";
import { startServe } from "../cli/spawn.mjs";
import { nextEvent, waitFor } from "../helpers/index.mjs";
import { startProxy } from "./proxy.mjs";

describe("/wshub-client.js in Chromium", () => {
  const cleanup = [];
  after(async () => {
    for (const f of cleanup.reverse()) await f();
  });

  it("survives a network cut with no loss and no duplicate, and reports a server restart as a gap", { timeout: 60_000 }, async () => {
    let server = await startServe(["--mode", "chat", "--resume", "--port", "0"]);
    const port = server.port;
    cleanup.push(() => server.stop("SIGKILL"));
    const proxy = await startProxy(port);
    cleanup.push(() => proxy.close());
    const browser = await launchChromium();
    cleanup.push(() => browser.close());
    const page = await browser.newPage();
    page.setDefaultTimeout(15_000);
    const errors = [];
    page.on("pageerror", (e) => errors.push(e));
    // A page of the server's origin (through the proxy, so that the chat's Origin check passes).
    await page.goto(`http://127.0.0.1:${proxy.port}/healthz`);
    await page.evaluate(async (url) => {
      const { ReconnectingWebSocket } = await import("/wshub-client.js");
      const ws = new ReconnectingWebSocket(url, undefined, { maxDelay: 200 });
      window.rws = ws;
      window.lines = [];
      window.events = [];
      ws.onmessage = (e) => {
        const m = JSON.parse(e.data);
        if (m.type === "message") window.lines.push(`${m.nick}: ${m.text}`);
        if (m.type === "welcome") window.events.push(`welcome ${m.id}`);
      };
      ws.addEventListener("resumed", () => window.events.push("resumed"));
      ws.addEventListener("gap", (e) => window.events.push(`gap ${e.reason}`));
      await new Promise((r) => ws.addEventListener("open", r, { once: true }));
      window.events.push(`open ${ws.sessionId} ${ws.protocol}`);
    }, `ws://127.0.0.1:${proxy.port}/chat?nick=eve`);
    const state = () => page.evaluate(() => ({ lines: [...window.lines], events: [...window.events] }));
    const first = (await state()).events;
    assert.match(first.find((e) => e.startsWith("open")), /^open [0-9a-f-]{36} wshub\.resume\.v1$/);

    const bob = new ReconnectingWebSocket(`ws://127.0.0.1:${port}/chat?nick=bob`, undefined, { maxDelay: 200 });
    cleanup.push(() => bob.close());
    const bobLines = [];
    bob.onmessage = (e) => {
      const m = JSON.parse(e.data);
      if (m.type === "message") bobLines.push(`${m.nick}: ${m.text}`);
    };
    await nextEvent(bob, "open");
    bob.send(JSON.stringify({ type: "message", text: "one" }));
    await page.waitForFunction(() => window.lines.includes("bob: one"));

    // The network cut: both sockets destroyed, nothing gets through until the proxy resumes.
    proxy.pause();
    proxy.cut();
    bob.send(JSON.stringify({ type: "message", text: "two" }));
    await page.evaluate(() => window.rws.send(JSON.stringify({ type: "message", text: "typed offline" })));
    await waitFor(() => bobLines.includes("bob: two"), "bob's line");
    proxy.resume();
    await page.waitForFunction(() => window.events.includes("resumed") && window.lines.length === 3);
    await waitFor(() => bobLines.length === 3, "bob gets eve's line");
    assert.deepEqual((await state()).lines, ["bob: one", "bob: two", "eve: typed offline"]);
    assert.deepEqual(bobLines, ["bob: one", "bob: two", "eve: typed offline"]);

    // The server restarts on the same port: the sessions are gone (in memory), the client says so.
    assert.equal((await server.stop("SIGTERM")).code, 0);
    await page.evaluate(() => window.rws.send(JSON.stringify({ type: "message", text: "typed while the server was down" })));
    server = await startServe(["--mode", "chat", "--resume", "--port", String(port)]);
    await page.waitForFunction(() => window.events.includes("gap expired") && window.lines.includes("eve: typed while the server was down"), null, { timeout: 20_000 });
    const after = await state();
    assert.equal(after.lines.filter((l) => l === "eve: typed while the server was down").length, 1);
    assert.equal(after.events.filter((e) => e.startsWith("welcome")).length, 2, "a chat welcome per session");
    assert.deepEqual(errors, []);
  });
});
