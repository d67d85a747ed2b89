// A server connection starts without Node's EventTarget listener state (it is made on first use, to keep idle
// connections small). Whatever path reaches it — event handler attributes alone, addEventListener() (also through
// EventTarget.prototype), dispatchEvent(), Node's getEventListeners()/setMaxListeners() — the DOM event dispatch
// and HTML event handler rules must hold exactly as on a plain EventTarget (DOM §2.9–2.10, HTML §8.1.8.1).
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { getEventListeners, setMaxListeners } from "node:events";
import { WebSocket } from "../../dist/index.js";
import { nextEvent, startServer, withTimeout, waitFor } from "../helpers/index.mjs";

const TIMEOUT = 5000;

describe("WHATWG EventTarget semantics on server connections whose listener state is made on first use", () => {
  let wss;
  const clients = [];
  before(async () => {
    wss = await startServer();
  });
  after(async () => {
    for (const c of clients) c.close();
    await wss.close({ timeout: 1000 });
  });

  /** A connected pair: [server-side ws, client]. */
  async function pair() {
    const accepted = nextEvent(wss, "connection", TIMEOUT);
    const client = new WebSocket(`ws://127.0.0.1:${wss.address().port}/`);
    clients.push(client);
    const [ws] = await Promise.all([accepted, nextEvent(client, "open", TIMEOUT)]);
    return [ws, client];
  }

  /** Resolves once `predicate()` holds, or rejects after TIMEOUT. */
  const until = (predicate, label) => waitFor(predicate, label, TIMEOUT);

  it("an event handler alone: this, target, currentTarget, eventPhase, composedPath as during a dispatch", async () => {
    const [ws, client] = await pair();
    assert.ok(ws instanceof EventTarget);
    let seen = null;
    ws.onmessage = function (e) {
      seen = {
        thisIsWs: this === ws,
        target: e.target === ws,
        currentTarget: e.currentTarget === ws,
        phase: e.eventPhase,
        path: e.composedPath().length === 1 && e.composedPath()[0] === ws,
        data: e.data,
      };
    };
    client.send("hello");
    await until(() => seen !== null, "the message event");
    assert.deepEqual(seen, { thisIsWs: true, target: true, currentTarget: true, phase: Event.AT_TARGET, path: true, data: "hello" });
  });

  it("after the dispatch the event is no longer being dispatched (currentTarget null, eventPhase NONE)", async () => {
    const [ws, client] = await pair();
    let ev = null;
    ws.onmessage = (e) => (ev = e);
    client.send("x");
    await until(() => ev !== null, "the message event");
    assert.equal(ev.currentTarget, null);
    assert.equal(ev.eventPhase, Event.NONE);
    assert.equal(ev.target, ws);
  });

  it("listeners added later (also via EventTarget.prototype) run after the handler set first; once, signal, handleEvent, duplicates", async () => {
    const [ws, client] = await pair();
    const order = [];
    ws.onmessage = () => order.push("handler");
    EventTarget.prototype.addEventListener.call(ws, "message", () => order.push("proto"));
    const obj = { handleEvent: () => order.push("object") };
    ws.addEventListener("message", obj);
    ws.addEventListener("message", obj); // DOM: the same listener twice is added once
    ws.addEventListener("message", () => order.push("once"), { once: true });
    const ac = new AbortController();
    ws.addEventListener("message", () => order.push("signal"), { signal: ac.signal });
    client.send("1");
    await until(() => order.length >= 5, "the first message");
    ac.abort();
    client.send("2");
    await until(() => order.length >= 8, "the second message");
    assert.deepEqual(order, ["handler", "proto", "object", "once", "signal", "handler", "proto", "object"]);
    assert.equal(getEventListeners(ws, "message").length, 3, "handler, proto listener and the object are left");
  });

  it("setting a handler to null and back moves its listener to the end of the list (HTML: deactivate, activate)", async () => {
    const [ws, client] = await pair();
    const order = [];
    ws.onmessage = () => order.push("handler");
    ws.addEventListener("message", () => order.push("listener"));
    ws.onmessage = null;
    ws.onmessage = () => order.push("handler again");
    client.send("m");
    await until(() => order.length >= 2, "the message");
    assert.deepEqual(order, ["listener", "handler again"]);
  });

  it("Node's getEventListeners() and setMaxListeners() see the handlers set before them", async () => {
    const [ws] = await pair();
    const onclose = () => {};
    ws.onclose = onclose;
    setMaxListeners(42, ws);
    assert.equal(getEventListeners(ws, "close").length, 1, "the close handler's listener");
    assert.equal(ws.onclose, onclose);
  });

  it("dispatchEvent() of an event made by the caller reaches the handler, and returns true when not cancelled", async () => {
    const [ws] = await pair();
    let calls = 0;
    ws.onopen = () => calls++;
    assert.equal(ws.dispatchEvent(new Event("open")), true);
    assert.equal(calls, 1);
    ws.onopen = () => false; // HTML: a handler returning false cancels a cancelable event
    assert.equal(ws.dispatchEvent(new Event("open", { cancelable: true })), false);
  });

  it("a non-callable handler object is kept and not called; a non-object value becomes null", async () => {
    const [ws, client] = await pair();
    const obj = { handleEvent() { throw new Error("must not be called"); } };
    ws.onmessage = obj;
    assert.equal(ws.onmessage, obj);
    let got = false;
    ws.addEventListener("message", () => (got = true));
    client.send("z");
    await until(() => got, "the listener");
    ws.onmessage = "not an object";
    assert.equal(ws.onmessage, null);
  });
});
