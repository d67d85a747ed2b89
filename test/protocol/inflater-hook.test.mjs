// The MessageInflater hook of Connection (used by RFC 7692 permessage-deflate): RSV1 messages go through the
// inflater, the parser pauses meanwhile, and frame order, UTF-8 checks and failures are kept.
// The inflaters here are stand-ins that reverse the bytes — enough to prove the hook's ordering and errors.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Connection, ProtocolError } from "../../dist/protocol/index.js";
import { c, closePayload } from "../helpers/frames.mjs";
import { recordingHandlers } from "./recorder.mjs";

const reverse = (b) => Buffer.from(b).reverse();

/** Inflations answered on a later turn and not yet answered. */
let pending = 0;

/** An inflater that answers synchronously, on a later tick, or with an error when the payload is "ERR". */
function inflater(mode, log) {
  return {
    inflate(payload, fin, done) {
      log.push(["inflate", payload.toString("latin1"), fin]);
      const answer = () => {
        if (mode !== "sync") pending--;
        if (payload.toString() === "ERR") done(new ProtocolError("inflate failed", 1009, "TEST_INFLATE"), null);
        else done(null, [reverse(payload)]);
      };
      if (mode === "sync") answer();
      else {
        pending++;
        setImmediate(answer);
      }
    },
  };
}

function setup(mode) {
  const events = [];
  const conn = new Connection(
    {
      ...recordingHandlers(events),
      onMessage: (d, isBinary) => events.push(["message", isBinary, d.toString("latin1")]),
      onPing: (d) => events.push(["ping", d.toString()]),
      onPong: (d) => events.push(["pong", d.toString()]),
    },
    { isServer: true, inflater: inflater(mode, events) },
  );
  return { conn, events };
}

/**
 * Resolves once every inflation has been answered. The core is sans-I/O (no timers of its own): after the last
 * answer, nothing more can happen, so the events recorded by then are final.
 */
async function settle() {
  while (pending > 0) await new Promise((r) => setImmediate(r));
}

describe("Connection MessageInflater hook (RFC 7692 §6 RSV1 messages)", () => {
  for (const mode of ["sync", "async"]) {
    it(`${mode}: order is kept across a fragmented compressed message, an interleaved ping and a close`, async () => {
      const { conn, events } = setup(mode);
      conn.receiveData(
        Buffer.concat([
          c(0x1, "cba", { fin: false, rsv: 4 }),
          c(0x9, "p"),
          c(0x0, "fed"),
          c(0x2, "plain"),
          c(0x1, "zyx", { rsv: 4 }),
          c(0x8, closePayload(1000)),
        ]),
      );
      await settle();
      assert.deepEqual(events, [
        ["inflate", "cba", false],
        ["write", "8a0170"],
        ["ping", "p"],
        ["inflate", "fed", true],
        ["message", false, "abcdef"],
        ["message", true, "plain"],
        ["inflate", "zyx", true],
        ["message", false, "xyz"],
        ["write", "880203e8"],
        ["closeFrame", 1000, ""],
        ["closeTransport"],
      ]);
    });

    it(`${mode}: an inflater error fails the connection with its code; later frames are not processed`, async () => {
      const { conn, events } = setup(mode);
      conn.receiveData(Buffer.concat([c(0x2, "ERR", { rsv: 4 }), c(0x1, "never")]));
      await settle();
      assert.deepEqual(events, [["inflate", "ERR", true], ["write", "880203f1"], ["error", 1009, "TEST_INFLATE"], ["closeTransport"]]);
    });

    it(`${mode}: inflated text that is not UTF-8 fails with 1007`, async () => {
      const { conn, events } = setup(mode);
      conn.receiveData(c(0x1, Buffer.from([0x41, 0xff]), { rsv: 4 }));
      await settle();
      assert.deepEqual(events.slice(1), [["write", "880203ef"], ["error", 1007, "WS_ERR_INVALID_UTF8"], ["closeTransport"]]);
    });

    it(`${mode}: a compressed message split at every byte gives the same events`, async () => {
      const input = Buffer.concat([c(0x1, "olleh", { rsv: 4 }), c(0x9, "x"), c(0x2, "raw")]);
      const expected = [["inflate", "olleh", true], ["message", false, "hello"], ["write", "8a0178"], ["ping", "x"], ["message", true, "raw"]];
      for (let i = 0; i <= input.length; i++) {
        const { conn, events } = setup(mode);
        const copy = Buffer.from(input);
        conn.receiveData(copy.subarray(0, i));
        if (mode === "async") await new Promise((r) => setImmediate(r));
        conn.receiveData(copy.subarray(i));
        await new Promise((r) => setImmediate(r));
        await new Promise((r) => setImmediate(r));
        assert.deepEqual(events, expected, `split at ${i}`);
      }
    });
  }

  it("async: a message whose inflation was under way when the transport closed is still delivered, and nothing after it", async () => {
    const { conn, events } = setup("async");
    conn.receiveData(Buffer.concat([c(0x1, "cba", { rsv: 4 }), c(0x1, "next")]));
    conn.transportClosed();
    await settle();
    assert.deepEqual(events, [["inflate", "cba", true], ["message", false, "abc"]]);
  });

  it("async: a local fail() during an inflation wins; the late inflation result is dropped", async () => {
    const { conn, events } = setup("async");
    conn.receiveData(c(0x1, "cba", { rsv: 4 }));
    conn.fail(new ProtocolError("going away", 1001, "TEST"));
    await settle();
    assert.deepEqual(events, [["inflate", "cba", true], ["write", "880203e9"], ["error", 1001, "TEST"], ["closeTransport"]]);
  });

  it("without an inflater, RSV1 is a protocol error (1002)", () => {
    const events = [];
    const conn = new Connection(
      { onWrite() {}, onMessage() {}, onPing() {}, onPong() {}, onCloseFrame() {}, onCloseTransport() {}, onProtocolError: (e) => events.push(e.code) },
      { isServer: true },
    );
    conn.receiveData(c(0x1, "x", { rsv: 4 }));
    assert.deepEqual(events, ["WS_ERR_UNEXPECTED_RSV_1"]);
  });
});
