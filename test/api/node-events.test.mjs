// Every use of Node's private symbols by the WebSocket API is in src/api/node-events.ts, each behind a probe with a
// plain fallback (the public constructors). This shows which path runs on this Node, and that the objects made
// either way behave as the public ones do.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createMessageEvent, nodeEventPaths, EventTargetBase } from "../../dist/api/node-events.js";

describe("Node internals used by the WebSocket API (src/api/node-events.ts)", () => {
  it("reports which path runs on this Node", (t) => {
    t.diagnostic(`node ${process.version}: message events via ${nodeEventPaths.messageEvent}, event targets ${nodeEventPaths.eventTarget}`);
    assert.ok(["symbols", "constructor"].includes(nodeEventPaths.messageEvent));
    assert.ok(["lazy", "constructor"].includes(nodeEventPaths.eventTarget));
    // Node 20 and 22 have the fields both tricks rely on: a change there shows up here first.
    const major = Number(process.versions.node.split(".")[0]);
    if (major === 20 || major === 22) {
      assert.equal(nodeEventPaths.messageEvent, "symbols");
      assert.equal(nodeEventPaths.eventTarget, "lazy");
    }
  });

  it("createMessageEvent makes a MessageEvent like the constructor does (WHATWG HTML §9.4.3)", () => {
    const ev = createMessageEvent("data", "ws://127.0.0.1:1");
    const ref = new MessageEvent("message", { data: "data", origin: "ws://127.0.0.1:1" });
    assert.ok(ev instanceof MessageEvent);
    assert.equal(ev.constructor, MessageEvent);
    for (const k of ["type", "data", "origin", "lastEventId", "source", "bubbles", "cancelable"]) assert.equal(ev[k], ref[k], k);
    assert.deepEqual(ev.ports, ref.ports);
  });

  it("EventTargetBase instances are EventTargets", () => {
    assert.equal(Object.getPrototypeOf(EventTargetBase.prototype), Object.prototype);
    assert.equal(EventTargetBase.prototype, EventTarget.prototype);
  });
});
