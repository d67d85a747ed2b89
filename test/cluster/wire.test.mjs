/** The cluster wire format: round trips, in-place payloads, and malformed input rejected with WireError. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { encodeWire, WireReader, WireError, WireKind, MAX_SEQ } from "../../dist/cluster/wire.js";

const base = { kind: 1, binary: false, code: 0, seq: 1, origin: "node-A", target: "", text: "", except: null, payload: null };

describe("cluster wire format", () => {
  it("round-trips every field, at payload lengths 0, 1, 125, 65536 and with except ids", () => {
    const r = new WireReader();
    for (const n of [0, 1, 125, 65536]) {
      const payload = Buffer.alloc(n, 0xab);
      const f = { ...base, kind: WireKind.Room, binary: true, seq: MAX_SEQ - 1, text: "room é", except: new Set(["x", "y✓"]), payload };
      const buf = encodeWire(f);
      r.read(buf);
      assert.equal(r.kind, WireKind.Room);
      assert.equal(r.binary, true);
      assert.equal(r.seq, MAX_SEQ - 1);
      assert.equal(r.origin, "node-A");
      assert.equal(r.id, `node-A:${MAX_SEQ - 1}`);
      assert.equal(r.text, "room é");
      assert.deepEqual(r.except, new Set(["x", "y✓"]));
      assert.deepEqual(Buffer.from(r.payload), payload);
      // The payload is a view of the received buffer: never copied on the way in.
      assert.equal(r.payload.buffer, buf.buffer);
      assert.equal(r.isFrom(Buffer.from("node-A")), true);
      assert.equal(r.isFrom(Buffer.from("node-B")), false);
      assert.equal(r.isFrom(Buffer.from("node-")), false);
    }
  });

  it("carries operations: target, close code and reason; replies: seq and code", () => {
    const r = new WireReader().read(encodeWire({ ...base, kind: WireKind.Disconnect, seq: 7, target: "c1", text: "bye", code: 4001 }));
    assert.deepEqual([r.kind, r.seq, r.target, r.text, r.code, r.except, r.payload.length], [WireKind.Disconnect, 7, "c1", "bye", 4001, null, 0]);
    const reply = new WireReader().read(encodeWire({ ...base, kind: WireKind.Reply, seq: 7, code: 1 }));
    assert.deepEqual([reply.kind, reply.seq, reply.code], [WireKind.Reply, 7, 1]);
  });

  it("round-trips arbitrary fields (property)", () => {
    const r = new WireReader();
    fc.assert(
      fc.property(
        fc.record({
          kind: fc.integer({ min: 1, max: 7 }),
          binary: fc.boolean(),
          code: fc.integer({ min: 0, max: 0xffff }),
          seq: fc.integer({ min: 0, max: MAX_SEQ - 1 }),
          origin: fc.string({ maxLength: 60 }),
          target: fc.string({ maxLength: 60 }),
          text: fc.string({ maxLength: 300 }),
          except: fc.option(fc.uniqueArray(fc.string({ maxLength: 40 }), { maxLength: 5 }), { nil: null }),
          payload: fc.uint8Array({ maxLength: 300 }),
        }),
        (f) => {
          const except = f.except === null ? null : new Set(f.except);
          r.read(encodeWire({ ...f, except }));
          assert.deepEqual(
            [r.kind, r.binary, r.code, r.seq, r.origin, r.target, r.text, r.except, Buffer.from(r.payload)],
            [f.kind, f.binary, f.code, f.seq, f.origin, f.target, f.text, except !== null && except.size > 0 ? except : null, Buffer.from(f.payload)],
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it("rejects foreign, truncated and unknown messages with WireError", () => {
    const r = new WireReader();
    const good = encodeWire({ ...base, target: "abc", text: "room", except: new Set(["e1"]) });
    const bad = [Buffer.from("hello"), Buffer.alloc(30), Buffer.concat([Buffer.from([2]), good.subarray(1)]), Buffer.concat([good.subarray(0, 1), Buffer.from([9]), good.subarray(2)])];
    for (let cut = 1; cut < good.length; cut++) bad.push(good.subarray(0, cut));
    for (const buf of bad) assert.throws(() => r.read(buf), WireError, `should reject ${buf.toString("hex")}`);
  });

  it("refuses ids longer than 255 bytes and rooms longer than 65535 bytes (RangeError)", () => {
    assert.throws(() => encodeWire({ ...base, origin: "x".repeat(256) }), RangeError);
    assert.throws(() => encodeWire({ ...base, target: "é".repeat(128) }), RangeError);
    assert.throws(() => encodeWire({ ...base, except: new Set(["y".repeat(300)]) }), RangeError);
    assert.throws(() => encodeWire({ ...base, text: "r".repeat(65536) }), RangeError);
  });
});
