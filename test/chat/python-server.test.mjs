// End to end, the seed's other side: the chat page served by `wshub serve --mode chat` talks to the Python chat
// server (examples/python/chat_server.py on python3-websockets) through `?server=ws://HOST:PORT/chat`, in Chromium
// (playwright-core driving Debian's /usr/bin/chromium). The same session runs against wshub's own /chat; the page
// must show the same readyState labels and the same event log with both servers. A Python client
// (examples/python/chat_client.py) is the other person in the chat.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { launchChromium } from "../helpers/browser.mjs";
import { startServe } from "../cli/spawn.mjs";
import { waitFor } from "../helpers/index.mjs";
import { startPythonServer, startPythonClient } from "./python-spawn.mjs";

const T = 15_000; // per step
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** Opens the page in a fresh context; records every label #state shows, from the first one. */
async function openPage(browser, url) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  const page = await context.newPage();
  page.setDefaultTimeout(T);
  const errors = [];
  page.on("pageerror", (err) => errors.push(err));
  page.on("console", (msg) => {
    if (msg.type() === "error" && !/WebSocket|Failed to load resource/.test(msg.text())) errors.push(new Error(msg.text()));
  });
  await page.addInitScript(() => {
    window.__states = [];
    document.addEventListener("DOMContentLoaded", () => {
      const state = document.getElementById("state");
      window.__states.push(state.textContent);
      new MutationObserver(() => {
        if (window.__states[window.__states.length - 1] !== state.textContent) window.__states.push(state.textContent);
      }).observe(state, { childList: true, characterData: true, subtree: true });
    });
  });
  await page.goto(url);
  page.jsErrors = errors;
  page.context_ = context;
  return page;
}

function message(page, kind, text) {
  return page.locator(`#messages li[data-kind="${kind}"]`, { hasText: text });
}

/**
 * One session: the page opens, takes a nickname, the Python client joins and says hello, the page answers (to
 * everyone, then privately), the page disconnects. Returns what the page showed, normalized: the readyState
 * labels in order and the event log (times, UUIDs, ports and deflate parameters aside).
 */
async function session(browser, pageUrl, wsUrl, expectServer) {
  const page = await openPage(browser, pageUrl);
  let py;
  try {
    await page.waitForSelector('#state[data-state="OPEN"]');
    await page.waitForFunction(() => /^[0-9a-f-]{36}$/.test(document.getElementById("my-id").textContent));
    assert.equal(await page.locator("#state").textContent(), "OPEN (1)");
    assert.equal(await page.locator("#server").textContent(), expectServer, "the page shows the server it talks to");
    const idPage = await page.locator("#my-id").textContent();
    await page.fill("#nick-input", "alice");
    await page.click("#nick-button");
    await page.locator("#my-nick", { hasText: "alice" }).waitFor();

    // The Python client joins and says hello: the page sees both.
    py = startPythonClient(wsUrl, "py");
    await waitFor(() => py.has((m) => m.type === "welcome"), `the Python client's welcome (stderr: ${py.stderr})`, T);
    const idPy = py.messages.find((m) => m.type === "welcome").id;
    assert.ok(py.messages.find((m) => m.type === "welcome").online.some((u) => u.id === idPage && u.nick === "alice"), "the Python client sees the page online");
    await page.locator(`#online li[data-id="${idPy}"]`).waitFor();
    const hello = message(page, "message", "hello from Python");
    await hello.waitFor();
    assert.equal(await hello.getAttribute("data-from"), idPy);

    // The page answers: to everyone, then privately; the Python client gets both, from the page's UUID.
    await page.selectOption("#target", "all");
    await page.fill("#message-input", "hi from the page");
    await page.click("#send-button");
    await waitFor(() => py.has((m) => m.type === "message" && m.text === "hi from the page" && m.from === idPage && m.nick === "alice"), "the page's message at the Python client", T);
    await message(page, "message", "hi from the page").waitFor(); // its own copy, with the server's timestamp
    await page.selectOption("#target", `user:${idPy}`);
    await page.fill("#message-input", "just for py");
    await page.click("#send-button");
    await waitFor(() => py.has((m) => m.type === "private" && m.text === "just for py" && m.to === idPy && m.from === idPage), "the private message at the Python client", T);
    await message(page, "private", "just for py").waitFor();
    // And one more from Python, typed on its stdin.
    py.say("bye from Python");
    await message(page, "message", "bye from Python").waitFor();

    // Disconnect: a clean 1000; the Python client sees the page leave.
    await page.click("#connect-toggle");
    await page.waitForSelector('#state[data-state="CLOSED"]');
    await page.waitForSelector('#last-close[data-code="1000"]');
    await page.locator('#log li[data-event="close"]').waitFor();
    await waitFor(() => py.has((m) => m.type === "user-left" && m.id === idPage), "the page's user-left at the Python client", T);
    assert.equal(await py.stop(), 0, `the Python client ends cleanly (stderr: ${py.stderr})`);

    const states = await page.evaluate(() => window.__states);
    const log = await page.locator("#log li").evaluateAll((lis) => lis.map((li) => [li.dataset.event, li.textContent]));
    assert.deepEqual(page.jsErrors.map(String), [], "no script errors on the page");
    const names = [[idPage, "<page>"], [idPy, "<py>"]];
    const norm = (text) => {
      let s = text.replace(/^\d\d:\d\d:\d\d /, "").replace(/127\.0\.0\.1:\d+/g, "HOST");
      s = s.replace(/extensions="permessage-deflate[^"]*"/, 'extensions="permessage-deflate(…)"');
      for (const [id, name] of names) s = s.split(id).join(name).split(`guest-${id.slice(0, 4)}`).join(`guest-${name}`);
      return s.replace(UUID, "<uuid>");
    };
    return { states, log: log.map(([event, text]) => [event, norm(text)]), rawLog: log };
  } finally {
    if (py) await py.stop();
    await page.context_.close().catch(() => {});
  }
}

describe("the chat page talks to the Python chat server (?server=) as it talks to wshub", () => {
  let wshub;
  let python;
  let browser;

  before(async () => {
    wshub = await startServe(["--mode", "chat", "--port", "0"]);
    // The page comes from wshub's origin: the Python server is told to accept it (as wshub refuses foreign Origins).
    python = await startPythonServer(["--allow-origin", `http://127.0.0.1:${wshub.port}`]);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await python?.stop("SIGKILL");
    await wshub?.stop("SIGKILL");
  });

  it("welcome, messages both ways, close: the same readyState labels and event log as with wshub", { timeout: 120_000 }, async () => {
    const pageUrl = `http://127.0.0.1:${wshub.port}/`;
    const withWshub = await session(browser, pageUrl, `ws://127.0.0.1:${wshub.port}/chat`, `127.0.0.1:${wshub.port}/chat`);
    const withPython = await session(browser, `${pageUrl}?server=${encodeURIComponent(python.wsUrl)}`, python.wsUrl, `127.0.0.1:${python.port}/chat`);

    assert.deepEqual(withWshub.states, ["CONNECTING (0)", "OPEN (1)", "CLOSING (2)", "CLOSED (3)"], "wshub: every readyState, in order");
    assert.deepEqual(withPython.states, withWshub.states, "Python: the same readyState labels");
    // The page really talked to the Python server, not to its own origin.
    assert.ok(withPython.rawLog.some(([e, text]) => e === "connecting" && text.includes(python.wsUrl)), JSON.stringify(withPython.rawLog));
    const events = withWshub.log.map(([e]) => e);
    assert.deepEqual(events.slice(0, 2), ["connecting", "open"]);
    assert.equal(events.at(-1), "close");
    assert.match(withWshub.log.at(-1)[1], /^close code=1000 reason="user disconnected" wasClean=true$/);
    assert.deepEqual(withPython.log, withWshub.log, "the same event log entries");
  });

  it("the Python server also serves the page itself: opened from it, the page talks to it on its own origin", { timeout: 60_000 }, async () => {
    const page = await openPage(browser, python.url);
    try {
      await page.waitForSelector('#state[data-state="OPEN"]');
      await page.locator('#log li[data-event="message"]', { hasText: "welcome" }).waitFor();
      assert.equal(await page.locator("#server").textContent(), `127.0.0.1:${python.port}/chat`);
      await page.fill("#message-input", "served by Python");
      await page.click("#send-button");
      await message(page, "message", "served by Python").waitFor();
      assert.deepEqual(page.jsErrors.map(String), []);
    } finally {
      await page.context_.close().catch(() => {});
    }
  });
});
