// RFC 6455 §5.5.1 close frames and §7.4 status codes.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Connection, isValidWireCloseCode, parseClosePayload, ProtocolError, serializeClosePayload } from "../../dist/protocol/index.js";
import { c, closePayload, hex } from "../helpers/frames.mjs";
import { recordingHandlers } from "./recorder.mjs";

function accepted(code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

function serverReceives(bytes) {
  const events = [];
  // Data and pings are not recorded: only writes, close frames, the transport close and errors.
  const conn = new Connection({ ...recordingHandlers(events), onMessage() {}, onPing() {}, onPong() {} }, { isServer: true });
  conn.receiveData(bytes);
  return { conn, events };
}

describe("RFC 6455 §7.4 close codes", () => {
  it("every code 0-65535: 1000-1003, 1007-1014 and 3000-4999 accepted, all others 1002", () => {
    let ok = 0;
    for (let code = 0; code <= 0xffff; code++) {
      const valid = accepted(code);
      assert.equal(isValidWireCloseCode(code), valid, `code ${code}`);
      const payload = closePayload(code, "r");
      if (valid) {
        assert.deepEqual(parseClosePayload(payload), { code, reason: "r" });
        ok++;
      } else {
        assert.throws(() => parseClosePayload(payload), (e) => e instanceof ProtocolError && e.closeCode === 1002 && e.code === "WS_ERR_INVALID_CLOSE_CODE", `code ${code}`);
      }
    }
    assert.equal(ok, 4 + 8 + 2000);
  });

  const ACCEPTED = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999];
  for (const code of ACCEPTED) {
    it(`a received close ${code} is echoed with the same code and reason, then the transport closes`, () => {
      const { events, conn } = serverReceives(c(0x8, closePayload(code, "bye")));
      assert.deepEqual(events, [["write", hex(Buffer.concat([Buffer.from([0x88, 5]), closePayload(code, "bye")]))], ["closeFrame", code, "bye"], ["closeTransport"]]);
      assert.equal(conn.wasClean, true);
    });
  }

  const REFUSED = [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535];
  for (const code of REFUSED) {
    it(`a received close ${code} fails the connection with 1002`, () => {
      const { events } = serverReceives(c(0x8, closePayload(code)));
      assert.deepEqual(events, [["write", "880203ea"], ["error", 1002, "WS_ERR_INVALID_CLOSE_CODE"], ["closeTransport"]]);
    });
  }
});

describe("RFC 6455 §5.5.1 close payloads", () => {
  it("an empty close is answered with an empty close; the code reported is 1005", () => {
    const { events } = serverReceives(c(0x8, Buffer.alloc(0)));
    assert.deepEqual(events, [["write", "8800"], ["closeFrame", 1005, ""], ["closeTransport"]]);
  });

  it("a 1-byte close payload fails with 1002", () => {
    assert.throws(() => parseClosePayload(Buffer.from([0x03])), (e) => e.closeCode === 1002);
    const { events } = serverReceives(c(0x8, Buffer.from([0x03])));
    assert.deepEqual(events, [["write", "880203ea"], ["error", 1002, "WS_ERR_INVALID_CLOSE_PAYLOAD"], ["closeTransport"]]);
  });

  for (const [name, reason] of [
    ["a lone continuation byte", [0x80]],
    ["a truncated code point", [0x61, 0xe2, 0x82]],
    ["a surrogate", [0xed, 0xa0, 0x80]],
    ["an overlong", [0xc0, 0xaf]],
  ]) {
    it(`a close reason with ${name} (not UTF-8) fails with 1007`, () => {
      const { events } = serverReceives(c(0x8, closePayload(1000, Buffer.from(reason))));
      assert.deepEqual(events, [["write", "880203ef"], ["error", 1007, "WS_ERR_INVALID_UTF8"], ["closeTransport"]]);
    });
  }

  it("a 123-byte UTF-8 reason (125-byte payload) is accepted and echoed", () => {
    const reason = "é".repeat(61) + "x";
    const { events } = serverReceives(c(0x8, closePayload(4000, reason)));
    assert.deepEqual(events[1], ["closeFrame", 4000, reason]);
    assert.equal(events[0][1], "887d" + hex(closePayload(4000, reason)));
  });

  it("serializeClosePayload: code + reason, empty without a code, RangeError past 123 bytes", () => {
    assert.equal(hex(serializeClosePayload(1000, "ok")), "03e86f6b");
    assert.equal(serializeClosePayload().length, 0);
    assert.equal(serializeClosePayload(4999, "x".repeat(123)).length, 125);
    assert.throws(() => serializeClosePayload(1000, "x".repeat(124)), RangeError);
  });

  it("frames after a close frame are not processed", () => {
    const { events } = serverReceives(Buffer.concat([c(0x8, closePayload(1000)), c(0x1, "late"), c(0x9, "p")]));
    assert.deepEqual(events, [["write", "880203e8"], ["closeFrame", 1000, ""], ["closeTransport"]]);
  });
});
