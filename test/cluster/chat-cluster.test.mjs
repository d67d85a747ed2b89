/**
 * One chat over two wshub processes (`wshub serve --mode chat --redis URL`) on a real redis-server: users on
 * different nodes see each other online, share rooms (sizes counted over both nodes) and send private messages by
 * UUID — first with `ws` clients speaking the chat protocol, then with two Chromium pages on the two nodes.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { launchChromium } from "../helpers/browser.mjs";
import { withTimeout } from "../helpers/index.mjs";
import { startRedis } from "../helpers/redis-server.mjs";
import { startServe } from "../cli/spawn.mjs";

const T = 10_000;

/** Polls `cond` every 20 ms (messages from other processes); rejects after `ms`. */
async function until(cond, label, ms = T) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${label}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function chatClient(port, nick) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/chat?nick=${nick}`);
  ws.msgs = [];
  ws.on("message", (d) => ws.msgs.push(JSON.parse(d.toString())));
  ws.closed = new Promise((resolve) => ws.on("close", resolve));
  await withTimeout(new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject)), T, "open");
  await until(() => ws.msgs.some((m) => m.type === "welcome"), "welcome");
  ws.id = ws.msgs.find((m) => m.type === "welcome").id;
  ws.cmd = (m) => ws.send(JSON.stringify(m));
  ws.has = (pred) => ws.msgs.some(pred);
  return ws;
}

const joinedCluster = (node) => until(() => /connected to the cluster/.test(node.output().stderr), "joined the cluster");

describe("chat across nodes over Redis", () => {
  let redis;
  let a;
  let b;
  before(async () => {
    redis = await startRedis();
    a = await startServe(["--mode", "chat", "--port", "0", "--redis", redis.url]);
    b = await startServe(["--mode", "chat", "--port", "0", "--redis", redis.url]);
    await Promise.all([joinedCluster(a), joinedCluster(b)]);
  });
  after(async () => {
    await a?.stop("SIGKILL");
    await b?.stop("SIGKILL");
    await redis?.stop();
  });

  it("online lists, rooms and private messages span the nodes (chat protocol, ws clients)", async () => {
    const ana = await chatClient(a.port, "ana");
    const bo = await chatClient(b.port, "bo");
    // bo's node lists ana (the welcome may list only its own node; the cluster's `who` follows at once).
    await until(() => bo.has((m) => (m.type === "welcome" || m.type === "who") && m.online.some((u) => u.id === ana.id && u.nick === "ana")), "bo sees ana online");
    await until(() => ana.has((m) => m.type === "user-joined" && m.id === bo.id && m.nick === "bo"), "ana sees bo arrive");
    ana.cmd({ type: "who" });
    await until(() => ana.has((m) => m.type === "who" && m.online.some((u) => u.id === bo.id)), "who on node A lists bo");

    // A public message crosses nodes, once.
    ana.cmd({ type: "message", text: "hello everyone" });
    await until(() => bo.has((m) => m.type === "message" && m.text === "hello everyone" && m.from === ana.id), "public message");

    // Rooms: sizes count both nodes; room messages reach members on the other node only.
    ana.cmd({ type: "join", room: "dev" });
    await until(() => ana.has((m) => m.type === "room-joined" && m.room === "dev" && m.id === ana.id && m.size === 1), "ana in dev");
    bo.cmd({ type: "join", room: "dev" });
    await until(() => ana.has((m) => m.type === "room-joined" && m.room === "dev" && m.id === bo.id && m.size === 2), "ana sees bo join dev, size 2");
    await until(() => bo.has((m) => m.type === "rooms" && m.rooms.some((r) => r.name === "dev" && r.size === 2)), "rooms list over both nodes");
    const cy = await chatClient(b.port, "cy");
    bo.cmd({ type: "message", room: "dev", text: "dev talk" });
    await until(() => ana.has((m) => m.type === "message" && m.room === "dev" && m.text === "dev talk"), "room message crossed");
    bo.cmd({ type: "message", text: "marker" });
    await until(() => cy.has((m) => m.text === "marker"), "marker");
    assert.ok(!cy.has((m) => m.text === "dev talk"), "a non-member did not get the room message");

    // Private messages by UUID, across nodes; the sender gets its copy; nobody else.
    bo.cmd({ type: "private", to: ana.id, text: "psst ana" });
    await until(() => ana.has((m) => m.type === "private" && m.text === "psst ana" && m.from === bo.id), "private crossed");
    await until(() => bo.has((m) => m.type === "private" && m.text === "psst ana"), "sender's copy");
    ana.cmd({ type: "private", to: "00000000-0000-4000-8000-000000000000", text: "anyone?" });
    await until(() => ana.has((m) => m.type === "error" && m.code === "unknown-user"), "unknown id refused");
    bo.cmd({ type: "message", text: "marker 2" });
    await until(() => cy.has((m) => m.text === "marker 2"), "marker 2");
    assert.ok(!cy.has((m) => m.type === "private"), "cy got no private message");

    // bo leaves: ana hears it, with dev's size over both nodes.
    bo.close(1000);
    await bo.closed;
    await until(() => ana.has((m) => m.type === "user-left" && m.id === bo.id), "user-left crossed");
    await until(() => ana.has((m) => m.type === "room-left" && m.room === "dev" && m.id === bo.id && m.size === 1), "room-left with the cluster size");
    ana.close();
    cy.close();
    await Promise.all([ana.closed, cy.closed]);
  });

  it("two Chromium pages on two nodes chat in public, in a room and in private", { timeout: 90_000 }, async () => {
    const browser = await launchChromium();
    try {
      const open = async (port) => {
        const page = await (await browser.newContext()).newPage();
        page.setDefaultTimeout(T);
        const errors = [];
        page.on("pageerror", (err) => errors.push(err));
        page.jsErrors = errors;
        await page.goto(`http://127.0.0.1:${port}/`);
        await page.waitForSelector('#state[data-state="OPEN"]');
        await page.waitForFunction(() => /^[0-9a-f-]{36}$/.test(document.getElementById("my-id").textContent));
        return page;
      };
      const say = async (page, text, target = "all") => {
        await page.selectOption("#target", target);
        await page.fill("#message-input", text);
        await page.click("#send-button");
      };
      const message = (page, kind, text) => page.locator(`#messages li[data-kind="${kind}"]`, { hasText: text });
      const pa = await open(a.port);
      const pb = await open(b.port);
      const idA = await pa.locator("#my-id").textContent();
      const idB = await pb.locator("#my-id").textContent();
      // Each page lists the user of the other node.
      await pa.locator(`#online li[data-id="${idB}"]`).waitFor();
      await pb.locator(`#online li[data-id="${idA}"]`).waitFor();

      await say(pa, "hi from node A");
      await message(pb, "message", "hi from node A").waitFor();

      for (const page of [pa, pb]) {
        await page.fill("#room-input", "ops");
        await page.click("#join-button");
      }
      await pa.locator('#rooms li[data-room="ops"]', { hasText: "(2)" }).waitFor();
      await pb.locator('#rooms li[data-room="ops"]', { hasText: "(2)" }).waitFor();
      await say(pb, "ops from node B", "room:ops");
      await message(pa, "message", "ops from node B").waitFor();

      await say(pa, "private to B", `user:${idB}`);
      const secret = message(pb, "private", "private to B");
      await secret.waitFor();
      assert.equal(await secret.getAttribute("data-from"), idA);
      await message(pa, "private", "private to B").waitFor();
      assert.deepEqual(pa.jsErrors.concat(pb.jsErrors).map(String), []);
    } finally {
      await browser.close();
    }
  });
});
