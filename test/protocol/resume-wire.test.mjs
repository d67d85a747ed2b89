// The wshub.resume.v1 wire format, sans-I/O (docs/resume-protocol.md "Messages"): numbers, D headers in text and
// binary frames, acknowledgements and hellos, valid and malformed.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseDecimal, parseTextData, parseBinaryData, parseAck, parseHello, dataHeader, encodeWelcome } from "../../dist/protocol/resume-wire.js";

describe("wshub.resume.v1 wire format", () => {
  it("numbers: ASCII decimal, no sign, no leading zero, at most 2^53 - 1", () => {
    const table = [
      ["0", 0],
      ["7", 7],
      ["1234", 1234],
      ["9007199254740991", 9007199254740991],
      ["9007199254740992", -1],
      ["99999999999999999", -1],
      ["", -1],
      ["01", -1],
      ["-1", -1],
      ["+1", -1],
      ["1a", -1],
      ["1 ", -1],
    ];
    for (const [s, v] of table) assert.equal(parseDecimal(s, 0, s.length), v, JSON.stringify(s));
  });

  it("D headers: text and binary, the payload after the first space (it may hold spaces and be empty)", () => {
    assert.deepEqual(parseTextData("D12 hello world"), { num: 12, payloadStart: 4 });
    assert.deepEqual(parseTextData("D1 "), { num: 1, payloadStart: 3 });
    for (const bad of ["D12", "D hello", "d1 x", "D01 x", "Dx x", "A1", "", `D${"1".repeat(17)} x`]) assert.equal(parseTextData(bad), null, bad);
    assert.deepEqual(parseBinaryData(Buffer.from("D5 \x00\x01", "latin1")), { num: 5, payloadStart: 3 });
    assert.deepEqual(parseBinaryData(Buffer.from("D5 ")), { num: 5, payloadStart: 3 });
    for (const bad of ["D5", "E5 x", "D x", `D${"1".repeat(17)} x`]) assert.equal(parseBinaryData(Buffer.from(bad)), null, bad);
    assert.deepEqual(dataHeader(42), Buffer.from("D42 "));
  });

  it("acknowledgements and hellos", () => {
    assert.equal(parseAck("A0"), 0);
    assert.equal(parseAck("A17"), 17);
    for (const bad of ["A", "A-1", "A1x", "D1"]) assert.equal(parseAck(bad), -1, bad);
    assert.deepEqual(parseHello("H{}"), { session: null });
    assert.deepEqual(parseHello('H{"session":"s","token":"t","pos":3}'), { session: "s", token: "t", pos: 3 });
    for (const bad of ["H", "H[]", "Hnull", "{}", 'H{"session":"s","token":"t"}', 'H{"session":"s","token":"t","pos":-1}', 'H{"session":"s","token":"t","pos":1.5}', 'H{"session":"","token":"t","pos":0}', `H{"session":"s","token":"${"t".repeat(200)}","pos":0}`]) {
      assert.equal(parseHello(bad), null, bad);
    }
    const w = { session: "s", token: "t", window: 1, resumed: false, seq: 0, gap: null };
    assert.deepEqual(JSON.parse(encodeWelcome(w).slice(1)), w);
    assert.equal(encodeWelcome(w)[0], "W");
  });
});
