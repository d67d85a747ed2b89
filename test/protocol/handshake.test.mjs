// RFC 6455 §4 opening handshake, computed and checked without I/O.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  buildErrorResponse,
  buildUpgradeRequest,
  buildUpgradeResponse,
  computeAccept,
  generateKey,
  HandshakeError,
  parseResponseHead,
  parseRequestHead,
  validateUpgradeRequest,
  validateUpgradeResponse,
} from "../../dist/protocol/index.js";

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

function request(overrides = {}, drop = []) {
  const headers = {
    host: "example.com",
    upgrade: "websocket",
    connection: "Upgrade",
    "sec-websocket-key": KEY,
    "sec-websocket-version": "13",
    ...overrides.headers,
  };
  for (const d of drop) delete headers[d];
  return { method: overrides.method ?? "GET", httpVersion: overrides.httpVersion ?? "1.1", headers };
}

describe("RFC 6455 §4.2.2 Sec-WebSocket-Accept", () => {
  it("computeAccept of the RFC example key", () => {
    assert.equal(computeAccept(KEY), ACCEPT);
  });
  it("generateKey gives base64 of 16 fresh random bytes", () => {
    const a = generateKey();
    assert.equal(Buffer.from(a, "base64").length, 16);
    assert.match(a, /^[A-Za-z0-9+/]{22}==$/);
    assert.notEqual(a, generateKey());
  });
  it("buildUpgradeResponse carries the accept value and the selected subprotocol", () => {
    const r = buildUpgradeResponse({ key: KEY, protocol: "chat" });
    assert.equal(
      r,
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${ACCEPT}\r\nSec-WebSocket-Protocol: chat\r\n\r\n`,
    );
  });
});

describe("RFC 6455 §4.2.1 server: validateUpgradeRequest", () => {
  it("accepts a valid request in any header case / token list form", () => {
    const v = validateUpgradeRequest(
      request({ headers: { upgrade: "WebSocket", connection: "keep-alive, UPGRADE", "sec-websocket-protocol": "a, b", origin: "http://o" } }),
    );
    assert.deepEqual(v, { key: KEY, protocols: ["a", "b"], extensions: undefined, origin: "http://o" });
    assert.doesNotThrow(() => validateUpgradeRequest(request({ httpVersion: "2.0" })));
    assert.doesNotThrow(() => validateUpgradeRequest(request({ headers: { upgrade: ["h2c", "websocket"] } })));
  });

  const FAULTS = [
    ["POST", request({ method: "POST" }), 400, "WS_ERR_INVALID_METHOD"],
    ["HTTP/1.0", request({ httpVersion: "1.0" }), 400, "WS_ERR_INVALID_HTTP_VERSION"],
    ["HTTP/0.9", request({ httpVersion: "0.9" }), 400, "WS_ERR_INVALID_HTTP_VERSION"],
    ["no Host", request({}, ["host"]), 400, "WS_ERR_MISSING_HOST"],
    ["no Upgrade", request({}, ["upgrade"]), 400, "WS_ERR_INVALID_UPGRADE_HEADER"],
    ["Upgrade: h2c", request({ headers: { upgrade: "h2c" } }), 400, "WS_ERR_INVALID_UPGRADE_HEADER"],
    ["no Connection", request({}, ["connection"]), 400, "WS_ERR_INVALID_CONNECTION_HEADER"],
    ["Connection: keep-alive", request({ headers: { connection: "keep-alive" } }), 400, "WS_ERR_INVALID_CONNECTION_HEADER"],
    ["Connection: upgraded (not the token)", request({ headers: { connection: "upgraded" } }), 400, "WS_ERR_INVALID_CONNECTION_HEADER"],
    ["no key", request({}, ["sec-websocket-key"]), 400, "WS_ERR_MISSING_KEY"],
    ["key of 15 bytes", request({ headers: { "sec-websocket-key": Buffer.alloc(15).toString("base64") } }), 400, "WS_ERR_INVALID_KEY"],
    ["key of 17 bytes", request({ headers: { "sec-websocket-key": Buffer.alloc(17).toString("base64") } }), 400, "WS_ERR_INVALID_KEY"],
    ["key not base64", request({ headers: { "sec-websocket-key": "!!!!!!!!!!!!!!!!!!!!!!==" } }), 400, "WS_ERR_INVALID_KEY"],
    ["version 8", request({ headers: { "sec-websocket-version": "8" } }), 426, "WS_ERR_UNSUPPORTED_VERSION"],
    ["no version", request({}, ["sec-websocket-version"]), 426, "WS_ERR_UNSUPPORTED_VERSION"],
    ["invalid subprotocol", request({ headers: { "sec-websocket-protocol": "a b" } }), 400, "WS_ERR_INVALID_PROTOCOL"],
    ["duplicate subprotocol", request({ headers: { "sec-websocket-protocol": "a, a" } }), 400, "WS_ERR_INVALID_PROTOCOL"],
  ];
  for (const [name, req, status, code] of FAULTS) {
    it(`${name} → ${status} ${code}`, () => {
      assert.throws(
        () => validateUpgradeRequest(req),
        (e) => e instanceof HandshakeError && e.status === status && e.code === code && !/[\r\n]/.test(e.message) && e.message.length > 0,
      );
    });
  }

  it("426 carries Sec-WebSocket-Version: 13 (RFC 6455 §4.4)", () => {
    try {
      validateUpgradeRequest(request({ headers: { "sec-websocket-version": "8" } }));
      assert.fail("no error");
    } catch (e) {
      assert.deepEqual(e.headers, { "Sec-WebSocket-Version": "13" });
      const text = buildErrorResponse(e.status, e.message, e.headers);
      assert.match(text, /^HTTP\/1\.1 426 Upgrade Required\r\n/);
      assert.match(text, /\r\nSec-WebSocket-Version: 13\r\n/);
    }
  });

  it("buildErrorResponse: a one-line body with the reason, line breaks removed", () => {
    const text = buildErrorResponse(400, "bad\r\nthing");
    const [head, body] = text.split("\r\n\r\n");
    assert.match(head, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.equal(body, "bad thing\n");
    assert.match(head, new RegExp(`Content-Length: ${Buffer.byteLength(body)}`));
  });
});

function response(lines) {
  return Buffer.from(lines.join("\r\n") + "\r\n\r\n");
}
const GOOD = ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade", `Sec-WebSocket-Accept: ${ACCEPT}`];

describe("RFC 6455 §4.1 client: parseResponseHead and validateUpgradeResponse", () => {
  it("the client request has the required headers", () => {
    const r = buildUpgradeRequest({ host: "h:1", path: "/p?q", key: KEY, protocols: ["a", "b"] });
    assert.equal(r, `GET /p?q HTTP/1.1\r\nHost: h:1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: a, b\r\n\r\n`);
  });

  it("returns null until the blank line, then the head and its length", () => {
    const full = Buffer.concat([response(GOOD), Buffer.from([0x81, 0x00])]);
    for (let i = 0; i < full.length - 2; i++) assert.equal(parseResponseHead(full.subarray(0, i)), null);
    const head = parseResponseHead(full);
    assert.equal(head.statusCode, 101);
    assert.equal(head.length, full.length - 2);
    assert.deepEqual(validateUpgradeResponse(head, KEY, []), { protocol: "", extensions: "" });
  });

  it("a selected subprotocol that was offered is accepted", () => {
    const head = parseResponseHead(response([...GOOD, "Sec-WebSocket-Protocol: b"]));
    assert.deepEqual(validateUpgradeResponse(head, KEY, ["a", "b"]), { protocol: "b", extensions: "" });
  });

  it("a malformed status line or header line is refused", () => {
    assert.throws(() => parseResponseHead(response(["HTTP/1.1 10 Nope", "Upgrade: websocket"])), (e) => e.code === "WS_ERR_INVALID_RESPONSE" && /status line/.test(e.message));
    assert.throws(() => parseResponseHead(response(["garbage"])), (e) => e.code === "WS_ERR_INVALID_RESPONSE");
    assert.throws(() => parseResponseHead(response([GOOD[0], "no colon here"])), (e) => e.code === "WS_ERR_INVALID_RESPONSE" && /header line/.test(e.message));
  });

  it("a head larger than maxSize is refused", () => {
    assert.throws(() => parseResponseHead(Buffer.alloc(2000, 0x61), 1024), (e) => e.code === "WS_ERR_RESPONSE_TOO_LARGE");
  });

  const FAULTS = [
    ["status 200", ["HTTP/1.1 200 OK", ...GOOD.slice(1)], [], "WS_ERR_UNEXPECTED_RESPONSE", /200/],
    ["status 403", ["HTTP/1.1 403 Forbidden"], [], "WS_ERR_UNEXPECTED_RESPONSE", /403/],
    ["missing Upgrade", GOOD.filter((l) => !l.startsWith("Upgrade")), [], "WS_ERR_INVALID_UPGRADE_HEADER", /Upgrade/],
    ["Upgrade: h2c", GOOD.map((l) => (l.startsWith("Upgrade") ? "Upgrade: h2c" : l)), [], "WS_ERR_INVALID_UPGRADE_HEADER", /Upgrade/],
    ["bad Connection", GOOD.map((l) => (l.startsWith("Connection") ? "Connection: keep-alive" : l)), [], "WS_ERR_INVALID_CONNECTION_HEADER", /Connection/],
    ["missing Accept", GOOD.slice(0, 3), [], "WS_ERR_MISSING_ACCEPT", /Accept/],
    ["wrong Accept", [...GOOD.slice(0, 3), `Sec-WebSocket-Accept: ${computeAccept("AAAAAAAAAAAAAAAAAAAAAA==")}`], [], "WS_ERR_INVALID_ACCEPT", /Accept/],
    ["subprotocol when none was offered", [...GOOD, "Sec-WebSocket-Protocol: chat"], [], "WS_ERR_INVALID_PROTOCOL", /subprotocol/],
    ["subprotocol not offered", [...GOOD, "Sec-WebSocket-Protocol: c"], ["a", "b"], "WS_ERR_INVALID_PROTOCOL", /subprotocol/],
    ["extension not offered", [...GOOD, "Sec-WebSocket-Extensions: permessage-deflate"], [], "WS_ERR_INVALID_EXTENSION", /extension/],
  ];
  for (const [name, lines, offered, code, pattern] of FAULTS) {
    it(`${name} → ${code}`, () => {
      const head = parseResponseHead(response(lines));
      assert.throws(
        () => validateUpgradeResponse(head, KEY, offered),
        (e) => e instanceof HandshakeError && e.code === code && pattern.test(e.message),
      );
    });
  }
});

describe("RFC 7230 §3.2 header fields named like Object.prototype members (found by test/fuzz/)", () => {
  // A field named "constructor" was combined with Object.prototype.constructor: its value became
  // "function Object() { [native code] }, x". Node's IncomingMessage gives "x"; "__proto__" it drops.
  const head = "constructor: x\r\ntoString: y\r\nvalueOf: 1\r\nvalueOf: 2\r\n__proto__: z\r\n\r\n";
  it("parseRequestHead keeps their own values, as Node does", () => {
    const h = parseRequestHead(Buffer.from(`GET / HTTP/1.1\r\nHost: a\r\n${head}`));
    assert.deepEqual({ ...h.headers }, { host: "a", constructor: "x", tostring: "y", valueof: "1, 2" });
    assert.equal(Object.hasOwn(h.headers, "__proto__"), false);
  });
  it("parseResponseHead keeps their own values", () => {
    const h = parseResponseHead(Buffer.from(`HTTP/1.1 101 Switching Protocols\r\n${head}`));
    assert.deepEqual({ ...h.headers }, { constructor: "x", tostring: "y", valueof: "1, 2" });
  });
});
