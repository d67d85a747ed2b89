// End to end: `wshub serve --mode chat` as a child process, two Chromium pages (playwright-core driving Debian's
// /usr/bin/chromium) and the Python client (examples/python/chat_client.py on python3-websockets) talk to each
// other; the server stops and comes back, and the pages reconnect by themselves. Takes docs/chat.png
// (with WSHUB_SCREENSHOTS=1).
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchChromium } from "../helpers/browser.mjs";
import { startServe } from "../cli/spawn.mjs";
import { startPythonClient } from "./python-spawn.mjs";
import { waitFor } from "../helpers/index.mjs";

// docs/chat.png is retaken only on request (WSHUB_SCREENSHOTS=1), so that `npm test` leaves the tree as it was.
const SCREENSHOT = process.env.WSHUB_SCREENSHOTS === "1" ? fileURLToPath(new URL("../../docs/chat.png", import.meta.url)) : join(tmpdir(), `wshub-chat-${process.pid}.png`);
const T = 15_000; // per step

async function openPage(browser, url, viewport) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(T);
  const errors = [];
  page.on("pageerror", (err) => errors.push(err));
  page.on("console", (msg) => {
    if (msg.type() === "error" && !/WebSocket|ERR_CONNECTION_REFUSED|Failed to load resource/.test(msg.text())) errors.push(new Error(msg.text()));
  });
  await page.goto(url);
  page.jsErrors = errors;
  return page;
}

const stateOf = (page) => page.locator("#state");
const myId = (page) => page.locator("#my-id").textContent();

async function waitOpen(page, timeout = T) {
  await page.waitForSelector('#state[data-state="OPEN"]', { timeout });
  await page.waitForFunction(() => /^[0-9a-f-]{36}$/.test(document.getElementById("my-id").textContent), null, { timeout });
}

async function setNick(page, nick) {
  await page.fill("#nick-input", nick);
  await page.click("#nick-button");
  await page.locator("#my-nick", { hasText: nick }).waitFor();
}

async function say(page, text, target = "all") {
  await page.selectOption("#target", target);
  await page.fill("#message-input", text);
  await page.click("#send-button");
}

function message(page, kind, text) {
  return page.locator(`#messages li[data-kind="${kind}"]`, { hasText: text });
}

describe("chat end to end: browsers, Python and the wshub chat server", () => {
  let server;
  let browser;
  let py;
  let port;

  before(async () => {
    server = await startServe(["--mode", "chat", "--port", "0"]);
    port = server.port;
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close().catch(() => {});
    py?.child.kill("SIGKILL");
    await server?.stop("SIGKILL");
  });

  it("two pages and the Python client chat; private messages stay private; the pages reconnect after a restart", { timeout: 150_000 }, async () => {
    const url = `http://127.0.0.1:${port}/`;
    assert.match(server.line, new RegExp(`^wshub chat server listening on http://127\\.0\\.0\\.1:${port}/ \\(WebSocket endpoint ws://127\\.0\\.0\\.1:${port}/chat\\)$`));

    // ---- page A (desktop), page B (phone-sized), both OPEN ----
    const a = await openPage(browser, url, { width: 1100, height: 760 });
    const b = await openPage(browser, url, { width: 390, height: 844 });
    await waitOpen(a);
    await waitOpen(b);
    assert.equal(await stateOf(a).textContent(), "OPEN (1)", "the state label reads OPEN with readyState 1");
    assert.equal(await stateOf(b).getAttribute("data-ready-state"), "1");
    await setNick(a, "alice");
    await setNick(b, "bob");
    const idA = await myId(a);
    const idB = await myId(b);
    assert.notEqual(idA, idB);
    // The event log shows the open event.
    await a.locator('#log li[data-event="open"]').first().waitFor();

    // Usable on a phone: nothing wider than the screen, the message box and send button visible.
    const overflow = await b.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page B scrolls sideways by ${overflow}px`);
    assert.ok(await b.locator("#message-input").isVisible());
    assert.ok(await b.locator("#send-button").isVisible());

    // ---- the Python client joins and says hello ----
    py = startPythonClient(`ws://127.0.0.1:${port}/chat`, "py", { duration: 120 });
    await waitFor(() => py.has((m) => m.type === "welcome"), `the Python client's welcome (stderr: ${py.stderr})`, T);
    const idPy = py.messages.find((m) => m.type === "welcome").id;
    for (const page of [a, b]) {
      await page.locator(`#online li[data-id="${idPy}"]`).waitFor();
      await message(page, "message", "hello from Python").waitFor();
    }

    // ---- a message typed in page A appears on page B and in the Python client's output ----
    await say(a, "hi from page A");
    const onB = message(b, "message", "hi from page A");
    await onB.waitFor();
    assert.equal(await onB.getAttribute("data-from"), idA);
    assert.match(await onB.textContent(), /alice:\s*hi from page A/);
    await waitFor(() => py.has((m) => m.type === "message" && m.text === "hi from page A" && m.from === idA && m.nick === "alice"), "page A's message at the Python client", T);

    // ---- one from the Python client appears on both pages ----
    py.say("python typed this");
    for (const page of [a, b]) {
      const li = message(page, "message", "python typed this");
      await li.waitFor();
      assert.equal(await li.getAttribute("data-from"), idPy);
    }

    // ---- a private message reaches only its target ----
    await say(a, "secret for bob", `user:${idB}`);
    const secret = message(b, "private", "secret for bob");
    await secret.waitFor();
    assert.equal(await secret.getAttribute("data-from"), idA);
    await message(a, "private", "secret for bob").waitFor(); // the sender's own copy
    // A public marker after it: once Python has the marker, it would have had the private message too.
    await say(a, "marker after the secret");
    await waitFor(() => py.has((m) => m.text === "marker after the secret"), "the marker at the Python client", T);
    assert.ok(!py.messages.some((m) => m.text === "secret for bob"), "the Python client did not get the private message");
    // And from Python to page A only.
    py.say(`/pm ${idA} psst, alice`);
    await message(a, "private", "psst, alice").waitFor();
    py.say("second marker");
    await message(b, "message", "second marker").waitFor();
    assert.equal(await message(b, "private", "psst, alice").count(), 0, "page B did not get Python's private message to A");

    // ---- a room, for the screenshot (and rejoining after reconnect) ----
    await a.fill("#room-input", "general");
    await a.click("#join-button");
    await a.locator('#rooms li[data-room="general"]', { hasText: "(1)" }).waitFor();
    await say(a, "anyone in #general?", "room:general");
    await message(a, "message", "anyone in #general?").waitFor();
    await a.screenshot({ path: SCREENSHOT });

    // ---- the server stops: the pages show CLOSED with the close code ----
    const stopped = await server.stop("SIGTERM");
    assert.equal(stopped.code, 0, "the server exits 0 on SIGTERM");
    for (const page of [a, b]) {
      await page.waitForSelector('#state[data-state="CLOSED"]', { timeout: T });
      assert.equal(await stateOf(page).textContent(), "CLOSED (3)");
      await page.waitForSelector('#last-close[data-code="1001"]', { timeout: T });
      await page.locator('#log li[data-event="close"]', { hasText: "code=1001" }).first().waitFor();
    }
    assert.equal(await py.exited, 0, `the Python client ends cleanly on 1001 (stderr: ${py.stderr})`);
    await a.locator("#reconnect:not([hidden])").waitFor();

    // ---- it comes back on the same port: the pages reconnect by themselves ----
    server = await startServe(["--mode", "chat", "--port", String(port)]);
    // Backoff: attempts about 0.5, 1.5, 3.5, 7.5, 15.5 s after the close; allow for a slow restart.
    for (const page of [a, b]) await waitOpen(page, 40_000);
    assert.equal(await stateOf(a).textContent(), "OPEN (1)");
    const idA2 = await myId(a);
    assert.notEqual(idA2, idA, "a new connection, a new UUID");
    await a.locator("#my-nick", { hasText: "alice" }).waitFor(); // the nickname is kept
    await a.locator('#rooms li[data-room="general"]', { hasText: "(1)" }).waitFor(); // and the room rejoined
    await b.locator(`#online li[data-id="${idA2}"]`).waitFor();
    await say(b, "back again");
    await message(a, "message", "back again").waitFor();

    // ---- Disconnect is a clean 1000 close and no reconnect; Connect opens again ----
    const idB2 = await myId(b);
    await b.click("#connect-toggle");
    await b.waitForSelector('#state[data-state="CLOSED"]');
    await b.waitForSelector('#last-close[data-code="1000"]');
    await b.waitForTimeout(1200); // longer than the first backoff step: it must not reconnect by itself
    assert.equal(await stateOf(b).getAttribute("data-state"), "CLOSED");
    assert.ok(await b.locator("#reconnect").isHidden());
    await a.locator(`#online li[data-id="${idB2}"]`).waitFor({ state: "detached" }); // A saw B leave
    await b.click("#connect-toggle");
    await waitOpen(b);

    assert.deepEqual(a.jsErrors.concat(b.jsErrors).map(String), [], "no script errors on the pages");
  });
});
