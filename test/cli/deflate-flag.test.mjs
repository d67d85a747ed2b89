// `wshub serve --deflate / --no-deflate` and `wshub connect --no-deflate` (issue 6: "the CLI's --deflate").
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { WebSocket, WebSocketServer } from "../../dist/index.js";
import { runCli, startServe } from "./spawn.mjs";

function open(url, options) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, undefined, options);
    const timer = setTimeout(() => reject(new Error("open timed out")), 5000);
    ws.onopen = () => {
      clearTimeout(timer);
      resolve(ws);
    };
    ws.onerror = () => {
      clearTimeout(timer);
      reject(new Error("connection failed"));
    };
  });
}

async function echoOnce(ws, text) {
  const got = new Promise((resolve) => (ws.onmessage = (e) => resolve(e.data)));
  ws.send(text);
  return got;
}

describe("wshub serve: permessage-deflate flags (RFC 7692)", () => {
  for (const [flags, expectDeflate] of [[[], true], [["--deflate"], true], [["--no-deflate"], false]]) {
    test(`serve --mode echo ${flags.join(" ") || "(default)"} → extensions ${expectDeflate ? "negotiated" : "empty"}`, async () => {
      const srv = await startServe(["--mode", "echo", "--host", "127.0.0.1", "--port", "0", ...flags]);
      try {
        const ws = await open(srv.url);
        if (expectDeflate) assert.match(ws.extensions, /^permessage-deflate/);
        else assert.equal(ws.extensions, "");
        const big = "x".repeat(5000);
        assert.equal(await echoOnce(ws, big), big);
        ws.close();
      } finally {
        assert.equal((await srv.stop()).code, 0);
      }
    });
  }

  test("serve --deflate --no-deflate is a usage error (exit 2, one line)", async () => {
    const r = await runCli(["serve", "--deflate", "--no-deflate", "--port", "0"]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim().split("\n").length, 1);
    assert.match(r.stderr, /--deflate and --no-deflate/);
  });

  test("connect offers permessage-deflate by default and not with --no-deflate", async () => {
    const offers = [];
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise((r) => wss.once("listening", r));
    wss.on("connection", (ws, req) => {
      offers.push(req.headers["sec-websocket-extensions"] ?? "");
      ws.onmessage = (e) => ws.send(e.data);
    });
    try {
      for (const flag of [[], ["--no-deflate"]]) {
        const r = await runCli(["connect", ...flag, "--raw", wss.url], { input: "hello\n" });
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /hello/);
      }
      assert.equal(offers.length, 2);
      assert.match(offers[0], /permessage-deflate/);
      assert.equal(offers[1], "");
    } finally {
      await wss.close();
    }
  });
});
