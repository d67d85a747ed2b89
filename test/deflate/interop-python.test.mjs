// RFC 7692 interop with python3-websockets (compression="deflate", its default) in both directions:
// text and binary from 0 B to 8 MiB, fragmented messages, context takeover and no context takeover.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { WebSocket, WebSocketServer } from "../../dist/index.js";
import { SIZES, text, binary, collect } from "./helpers.mjs";
import { listening, opened, withTimeout } from "../helpers/index.mjs";

const PYTHON = "/usr/bin/python3";
const fixture = (name) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

function runPython(args, ms) {
  return withTimeout(new Promise((resolve, reject) => {
    const child = spawn(PYTHON, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) reject(new Error(`python exited with ${code}: ${err}`));
      else resolve(JSON.parse(out.trim().split("\n").at(-1)));
    });
  }), ms, "python client");
}

async function pythonServer() {
  const child = spawn(PYTHON, [fixture("py-echo-server.py")], { stdio: ["pipe", "pipe", "inherit"] });
  const port = await withTimeout(new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const m = /port (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on("error", reject);
    child.on("exit", (code) => reject(new Error(`python server exited with ${code}`)));
  }), 10000, "python server start");
  return { url: `ws://127.0.0.1:${port}/`, stop: () => { child.stdin.end(); child.kill(); } };
}

const deltas = (a) => a.slice(1).map((v, i) => v - a[i]);

describe("RFC 7692 python-websockets client → our server", () => {
  for (const takeover of [false, true]) {
    it(`round-trips 0 B..8 MiB text/binary and fragments (${takeover ? "context takeover" : "no context takeover"})`, async () => {
      const wss = new WebSocketServer({
        host: "127.0.0.1",
        port: 0,
        maxPayload: 64 * 1024 * 1024,
        perMessageDeflate: takeover ? { serverNoContextTakeover: false, clientNoContextTakeover: false } : true,
      });
      await listening(wss);
      let server = null;
      const marks = [];
      wss.on("connection", (ws) => {
        server = ws;
        ws.binaryType = "nodebuffer";
        ws.addEventListener("message", (e) => {
          const s = ws._transport.socket;
          marks.push([s.bytesRead, s.bytesWritten]);
          ws.send(e.data);
        });
      });
      try {
        const r = await runPython([fixture("py-client.py"), wss.url], 90000);
        assert.deepEqual(r.bad, []);
        assert.equal(r.ok, SIZES.length * 2);
        assert.equal(r.fragmented, true);
        assert.equal(r.repeats, 5);
        assert.equal(r.extensions, server.extensions, "both sides report the same extensions");
        assert.match(server.extensions, /^permessage-deflate/);
        if (!takeover) assert.match(server.extensions, /server_no_context_takeover; client_no_context_takeover/);
        else assert.doesNotMatch(server.extensions, /no_context_takeover/);
        // The five identical 2000-byte messages at the end: frame sizes in each direction.
        const last = marks.slice(-5);
        const inSizes = deltas(last.map((m) => m[0]));
        const outSizes = deltas(last.map((m) => m[1]));
        if (takeover) {
          // A repeat is a back-reference into the kept window: a few bytes instead of ~1 KiB.
          assert.ok(inSizes.every((d) => d < 300), `client→server frames ${inSizes} (python keeps its context)`);
          // outSizes[0] is our first echo of it (a full compression), the next ones refer back to it.
          assert.ok(outSizes[0] > 500 && outSizes.slice(1).every((d) => d < 300), `server→client frames ${outSizes} (we keep ours)`);
        } else {
          assert.ok(Math.max(...inSizes) - Math.min(...inSizes) <= 2 && inSizes[0] > 500, `client→server frames ${inSizes} stay the same`);
          assert.ok(Math.max(...outSizes) - Math.min(...outSizes) <= 2 && outSizes[0] > 500, `server→client frames ${outSizes} stay the same`);
        }
      } finally {
        await wss.close({ timeout: 1000 });
      }
    });
  }
});

describe("RFC 7692 our client → python-websockets server", () => {
  it("round-trips 0 B..8 MiB text and binary, receives a fragmented message, extensions agree", async () => {
    const py = await pythonServer();
    const c = new WebSocket(py.url, [], { maxPayload: 64 * 1024 * 1024 });
    c.binaryType = "nodebuffer";
    try {
      await opened(c);
      assert.match(c.extensions, /^permessage-deflate/);
      let p = collect(c, 1);
      c.send("ext");
      assert.equal((await p)[0], c.extensions, "python's answer is what our client reports");
      const sent = [];
      for (const n of SIZES) sent.push(text(n, n + 3), binary(n));
      p = collect(c, sent.length, 60000);
      for (const m of sent) c.send(m);
      const got = await p;
      for (let i = 0; i < sent.length; i++) {
        if (typeof sent[i] === "string") assert.ok(got[i] === sent[i], `text ${sent[i].length} B`);
        else assert.ok(Buffer.from(got[i]).equals(sent[i]), `binary ${sent[i].length} B`);
      }
      const rawTotal = SIZES.reduce((a, n) => a + n, 0) * 2;
      assert.ok(c.transport.socket.bytesWritten < rawTotal * 0.75, `sent ${c.transport.socket.bytesWritten} B for ${rawTotal} B`);
      p = collect(c, 1);
      c.send("frag");
      assert.equal((await p)[0], "a".repeat(10) + "b".repeat(70000) + "c".repeat(30000));
    } finally {
      c.close();
      py.stop();
    }
  });

  for (const mode of ["takeover", "no-takeover"]) {
    it(`context ${mode}: repeated messages shrink only with takeover, in both directions`, async () => {
      const py = await pythonServer();
      const opts = mode === "takeover" ? {} : { serverNoContextTakeover: true, clientNoContextTakeover: true };
      const c = new WebSocket(py.url, [], { perMessageDeflate: opts });
      try {
        await opened(c);
        if (mode === "takeover") assert.doesNotMatch(c.extensions, /no_context_takeover/);
        else assert.match(c.extensions, /server_no_context_takeover/);
        const s = c.transport.socket;
        const msg = text(2000, 77); // python compresses with a 4 KiB window (server_max_window_bits=12)
        const rx = [s.bytesRead];
        const tx = [s.bytesWritten];
        for (let i = 0; i < 4; i++) {
          const p = collect(c, 1);
          c.send(msg);
          assert.equal((await p)[0], msg);
          tx.push(s.bytesWritten);
          rx.push(s.bytesRead);
        }
        const inSizes = deltas(rx);
        const outSizes = deltas(tx);
        if (mode === "takeover") {
          assert.ok(inSizes.at(-1) < inSizes[0] / 4, `python→client frames ${inSizes}`);
          assert.ok(outSizes.at(-1) < outSizes[0] / 4, `client→python frames ${outSizes}`);
        } else {
          assert.ok(Math.max(...inSizes) - Math.min(...inSizes) <= 2, `python→client frames ${inSizes}`);
          assert.ok(Math.max(...outSizes) - Math.min(...outSizes) <= 2, `client→python frames ${outSizes}`);
        }
      } finally {
        c.close();
        py.stop();
      }
    });
  }
});
