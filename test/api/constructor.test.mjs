// WHATWG WebSockets — "new WebSocket(url, protocols)" constructor steps, the url/protocol/extensions attributes
// and the interface constants. Against a real wshub server over loopback.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { WebSocket, WebSocketBase, ServerWebSocket } from "../../dist/index.js";
import { startApiServer, openClient } from "./fixtures.mjs";
import { closed, nextEvent } from "../helpers/index.mjs";

function assertDOMException(fn, name) {
  assert.throws(fn, (err) => {
    assert.ok(err instanceof DOMException, `expected a DOMException, got ${err}`);
    assert.equal(err.name, name);
    return true;
  });
}

/** Constructs a client that must not connect anywhere useful, and closes it (error + close 1006 follow). */
async function constructAndAbort(url, protocols) {
  const ws = new WebSocket(url, protocols);
  const c = closed(ws);
  ws.close();
  await c;
  return ws;
}

describe("WHATWG WebSockets §new WebSocket(url, protocols) — URL steps", () => {
  let srv;
  before(async () => (srv = await startApiServer()));
  after(() => srv.close());

  it("WebIDL: the url argument is required (TypeError without arguments)", () => {
    assert.throws(() => new WebSocket(), TypeError);
  });

  it("step 2 (get a URL record, 2): a URL that fails to parse throws a SyntaxError DOMException", () => {
    assertDOMException(() => new WebSocket("not a url"), "SyntaxError");
    assertDOMException(() => new WebSocket("ws://exa mple.com/"), "SyntaxError");
    assertDOMException(() => new WebSocket("ws://[::1/"), "SyntaxError");
  });

  it("step 2: a relative URL throws SyntaxError (Node has no API base URL)", () => {
    assertDOMException(() => new WebSocket("/chat"), "SyntaxError");
    assertDOMException(() => new WebSocket("chat"), "SyntaxError");
    assertDOMException(() => new WebSocket("//127.0.0.1/chat"), "SyntaxError");
  });

  it("get a URL record step 3: scheme http becomes ws", async () => {
    const ws = await openClient(srv.url.replace("ws:", "http:") + "/echo?x=1");
    assert.equal(ws.url, srv.url + "/echo?x=1");
    const c = closed(ws);
    ws.close();
    await c;
  });

  it("get a URL record step 4: scheme https becomes wss", async () => {
    const ws = await constructAndAbort("https://127.0.0.1:1/path");
    assert.equal(ws.url, "wss://127.0.0.1:1/path");
  });

  it("get a URL record step 5: any scheme other than ws/wss (after steps 3-4) throws SyntaxError", () => {
    for (const u of ["ftp://127.0.0.1/", "file:///tmp/x", "data:text/plain,hi", "javascript:alert(1)", "mailto:a@b.c", "wss+unix://x/"]) {
      assertDOMException(() => new WebSocket(u), "SyntaxError");
    }
  });

  it("get a URL record step 6: a URL with a fragment throws SyntaxError, even an empty one", () => {
    assertDOMException(() => new WebSocket(srv.url + "/echo#frag"), "SyntaxError");
    assertDOMException(() => new WebSocket(srv.url + "/echo#"), "SyntaxError");
    assertDOMException(() => new WebSocket("http://127.0.0.1/#x"), "SyntaxError");
  });

  it("step 9 and the url getter: url is the serialized URL record (normalized, with a path)", async () => {
    const a = await constructAndAbort("WS://LOCALHOST:80");
    assert.equal(a.url, "ws://localhost/");
    const b = await constructAndAbort(new URL("wss://127.0.0.1:443/a/../b?q"));
    assert.equal(b.url, "wss://127.0.0.1/b?q");
    const c = await constructAndAbort("ws://127.0.0.1:1/%7Euser");
    assert.equal(c.url, "ws://127.0.0.1:1/%7Euser");
  });
});

describe("WHATWG WebSockets §new WebSocket(url, protocols) — protocols steps", () => {
  let srv;
  before(async () => (srv = await startApiServer()));
  after(() => srv.close());

  it("step 7: a string protocols is a sequence of just that string (offered in Sec-WebSocket-Protocol)", async () => {
    const ws = await openClient(srv.url + "/echo", "chat");
    assert.equal(srv.protocolsSeen.at(-1), "chat");
    assert.equal(ws.protocol, "chat");
    const c = closed(ws);
    ws.close();
    await c;
  });

  it("step 7 (WebIDL): an array or any iterable is a sequence, offered in order; null converts to the string 'null'", async () => {
    const ws = await openClient(srv.url + "/echo", new Set(["superchat", "chat"]));
    assert.equal(srv.protocolsSeen.at(-1), "superchat, chat");
    assert.equal(ws.protocol, "chat", "the server's choice");
    const c = closed(ws);
    ws.close();
    await c;
    const n = await openClient(srv.url + "/echo", null);
    assert.equal(srv.protocolsSeen.at(-1), "null");
    assert.equal(n.protocol, "", "no protocol selected");
    const c2 = closed(n);
    n.close();
    await c2;
  });

  it("step 8: a protocol that occurs more than once throws SyntaxError", () => {
    assertDOMException(() => new WebSocket(srv.url, ["a", "b", "a"]), "SyntaxError");
    assertDOMException(() => new WebSocket(srv.url, ["chat", "chat"]), "SyntaxError");
  });

  it("step 8: duplicates compare exactly — 'chat' and 'Chat' are two protocols (as in Chromium)", async () => {
    await constructAndAbort(srv.url + "/echo", ["chat", "Chat"]);
  });

  it("step 8: a protocol that is not a token (empty, separators, spaces, non-ASCII) throws SyntaxError", () => {
    for (const bad of ["", "a b", "a,b", "a;b", "(x)", "a/b", "é", "a\tb", "{x}", 'a"b']) {
      assertDOMException(() => new WebSocket(srv.url, bad), "SyntaxError");
      assertDOMException(() => new WebSocket(srv.url, ["ok", bad]), "SyntaxError");
    }
  });

  it("step 8: every token character is accepted", async () => {
    await constructAndAbort(srv.url + "/echo", ["!#$%&'*+-.^_`|~09AZaz"]);
  });
});

describe("WHATWG WebSockets §interface WebSocket — initial attributes and constants", () => {
  let srv;
  before(async () => (srv = await startApiServer()));
  after(() => srv.close());

  it("after the constructor: readyState CONNECTING, bufferedAmount 0, protocol and extensions empty, binaryType 'blob'", async () => {
    const ws = new WebSocket(srv.url + "/echo", ["chat"]);
    assert.equal(ws.readyState, WebSocket.CONNECTING);
    assert.equal(ws.bufferedAmount, 0);
    assert.equal(ws.protocol, "");
    assert.equal(ws.extensions, "");
    assert.equal(ws.binaryType, "blob");
    assert.ok(ws instanceof EventTarget);
    await nextEvent(ws, "open");
    assert.equal(ws.protocol, "chat", "the protocol getter returns the selected subprotocol once open");
    assert.equal(typeof ws.extensions, "string");
    const c = closed(ws);
    ws.close();
    await c;
  });

  it("the constants CONNECTING 0, OPEN 1, CLOSING 2, CLOSED 3 are on the class, the prototype and instances, read-only", async () => {
    const ws = await constructAndAbort("ws://127.0.0.1:1/");
    for (const C of [WebSocket, ServerWebSocket, WebSocketBase]) {
      assert.deepEqual([C.CONNECTING, C.OPEN, C.CLOSING, C.CLOSED], [0, 1, 2, 3]);
      for (const target of [C, C.prototype]) {
        const d = Object.getOwnPropertyDescriptor(target, "CLOSED");
        assert.deepEqual(d, { value: 3, writable: false, enumerable: true, configurable: false });
      }
    }
    assert.deepEqual([ws.CONNECTING, ws.OPEN, ws.CLOSING, ws.CLOSED], [0, 1, 2, 3]);
    assert.throws(() => {
      "use strict";
      WebSocket.OPEN = 5;
    }, TypeError);
  });

  it("server-side connections have the same members plus id (a UUID), request, ping() and pong events", async () => {
    const ws = await openClient(srv.url + "/echo?room=1");
    const sws = srv.connections.at(-1);
    assert.ok(sws instanceof ServerWebSocket);
    assert.match(sws.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(sws.request.url, "/echo?room=1");
    for (const m of ["send", "close", "readyState", "bufferedAmount", "protocol", "extensions", "url", "binaryType", "onopen", "onmessage", "onerror", "onclose", "addEventListener", "dispatchEvent"]) {
      assert.ok(m in sws, `ServerWebSocket has ${m}`);
      assert.ok(m in ws, `WebSocket has ${m}`);
    }
    assert.equal(sws.readyState, 1);
    assert.match(sws.url, /^ws:\/\/127\.0\.0\.1:\d+\/echo\?room=1$/);
    const pong = nextEvent(sws, "pong");
    sws.ping("are you there");
    assert.equal((await pong).data.toString(), "are you there");
    const other = await openClient(srv.url + "/echo");
    assert.notEqual(srv.connections.at(-1).id, sws.id, "every connection has its own id");
    for (const w of [ws, other]) {
      const c = closed(w);
      w.close();
      await c;
    }
  });
});
