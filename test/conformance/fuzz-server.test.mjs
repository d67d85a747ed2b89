// Robustness over real sockets (RFC 6455 §7.1.7): random and mutated frame streams sent to our server over raw
// TCP only ever end their own connection — with a close frame of 1002/1007/1009 or a clean echo — while a
// healthy connection on the same server keeps being served, and the process never throws.
// The seed is random per run and printed with any failure; set FUZZ_SEED=<n> to replay one.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { WebSocketServer, WebSocket } from "../../dist/index.js";
import { frame, parseFrames } from "../helpers/frames.mjs";
import { openWebSocket, prng } from "../helpers/index.mjs";

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CONNECTIONS = 400;
const PARALLEL = 8;

function generator(rand) {
  const int = (n) => Math.floor(rand() * n);
  const bytes = (n) => Buffer.from(Array.from({ length: n }, () => int(256)));
  const key = () => bytes(4);
  const one = () => {
    const k = int(8);
    if (k === 0) return frame({ opcode: 1, payload: Buffer.from("héllo wörld".slice(0, int(12))), mask: key() });
    if (k === 1) return frame({ opcode: 2, payload: bytes(int(300)), mask: key() });
    if (k === 2) return frame({ opcode: 9, payload: bytes(int(20)), mask: key() });
    if (k === 3) return frame({ opcode: 10, payload: bytes(int(20)), mask: key() });
    if (k === 4) return Buffer.concat([frame({ opcode: 1, fin: false, payload: Buffer.from([0xce]), mask: key() }), frame({ opcode: 0, payload: Buffer.from([0xba]), mask: key() })]);
    if (k === 5) return frame({ opcode: int(16), fin: rand() < 0.7, rsv: int(8), payload: bytes(int(10)), mask: rand() < 0.8 ? key() : null });
    if (k === 6) return frame({ opcode: 8, payload: Buffer.concat([bytes(int(3)), Buffer.from("r")]), mask: key() });
    return bytes(int(16));
  };
  return () => {
    const parts = [];
    const n = 1 + int(6);
    for (let i = 0; i < n; i++) parts.push(one());
    let b = Buffer.concat(parts);
    const muts = int(3);
    for (let i = 0; i < muts && b.length > 0; i++) b[int(b.length)] ^= 1 << int(8);
    const chunks = [];
    for (let p = 0; p < b.length; ) {
      const len = 1 + int(b.length);
      chunks.push(b.subarray(p, p + len));
      p += len;
    }
    return chunks;
  };
}

describe("RFC 6455 §7.1.7 robustness over TCP: fuzzed peers fail alone, the server keeps serving", () => {
  let wss;
  let port;
  const uncaught = [];
  const onUncaught = (err) => uncaught.push(err);
  before(async () => {
    process.on("uncaughtException", onUncaught);
    wss = new WebSocketServer({ host: "127.0.0.1", port: 0, closeTimeout: 1000 });
    wss.on("connection", (ws) => {
      ws.onmessage = (e) => ws.send(e.data);
      ws.onerror = () => {};
    });
    await new Promise((resolve) => wss.once("listening", resolve));
    port = wss.address().port;
  });
  after(async () => {
    process.off("uncaughtException", onUncaught);
    await wss.close({ timeout: 2000 });
  });

  it(`${CONNECTIONS} fuzzed connections (seed ${SEED}) alongside a healthy client`, { timeout: 90_000 }, async (t) => {
    // A healthy client that keeps talking to the same server during the whole run.
    const healthy = new WebSocket(`ws://127.0.0.1:${port}/`, [], { binaryType: "nodebuffer" });
    await new Promise((resolve, reject) => {
      healthy.onopen = resolve;
      healthy.onerror = (e) => reject(e.error);
    });
    let sent = 0;
    let echoed = 0;
    healthy.onmessage = (e) => {
      assert.equal(e.data, `tick ${echoed}`);
      echoed++;
    };
    const ticker = setInterval(() => healthy.send(`tick ${sent++}`), 20);

    const next = generator(prng(SEED));
    const inputs = Array.from({ length: CONNECTIONS }, () => next());
    const outcomes = new Map();
    let index = 0;
    const worker = async () => {
      while (index < inputs.length) {
        const n = index++;
        const peer = await openWebSocket(port, 5000);
        for (const chunk of inputs[n]) peer.write(chunk);
        // Our side is done: FIN. The server must end the connection either way (failure, close, or our FIN).
        peer.socket.end();
        await peer.waitFor(() => peer.closed, 5000, `connection #${n} (seed ${SEED}) to close`);
        const { frames } = parseFrames(peer.received);
        const close = frames.find((f) => f.opcode === 8);
        let outcome = "no close frame";
        if (close) outcome = close.payload.length >= 2 ? String(close.payload.readUInt16BE(0)) : "empty close";
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        for (const f of frames) assert.equal(f.masked, false, `server frame masked (connection #${n}, seed ${SEED})`);
        // Any failure code the server sends is one of the protocol-error codes, or an echo of a valid close.
        if (close && close.payload.length >= 2) {
          const code = close.payload.readUInt16BE(0);
          assert.ok([1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014].includes(code) || (code >= 3000 && code <= 4999), `close code ${code} (connection #${n}, seed ${SEED})`);
        }
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    clearInterval(ticker);

    // The healthy connection was served throughout and is still open (a sleep to assert that nothing happens:
    // no late close).
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(healthy.readyState, WebSocket.OPEN);
    assert.ok(sent > 5, `the healthy client sent ${sent} messages`);
    assert.ok(echoed >= sent - 1, `healthy client: ${echoed} of ${sent} echoed`);
    healthy.send("last");
    const last = await new Promise((resolve) => (healthy.onmessage = (e) => resolve(e.data)));
    assert.equal(last, "last");
    healthy.close(1000);
    await new Promise((resolve) => (healthy.onclose = resolve));
    t.diagnostic(`outcomes (close code sent by the server → connections): ${JSON.stringify([...outcomes])}`);
    assert.deepEqual(uncaught, []);
    assert.ok((outcomes.get("1002") ?? 0) > 0, `outcomes ${JSON.stringify([...outcomes])}`);
  });
});
