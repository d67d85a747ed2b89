// Abuse limits of WebSocketServer (issue 18), over loopback: maxConnections (503), maxConnectionsPerIp (429),
// maxPendingHandshakes (the oldest pending handshake is dropped), maxHeadersCount (431), messageRate (close 1008
// "rate limit"), and the counters of wss.stats(). The slowloris and flood tests check that other clients keep
// being served meanwhile. Servers listen on 127.0.0.1 only.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { createServer } from "node:http";
import { spawn, execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";
import { WebSocket, WebSocketServer } from "../../dist/index.js";
import { addressKey } from "../../dist/api/admission.js";
import { connectRaw, splitHead, upgradeRequest, startServer, startEchoServer, waitFor, withTimeout, opened, closed, sleep } from "../helpers/index.mjs";

const servers = [];
after(async () => {
  for (const s of servers) await s.close({ timeout: 500 }).catch(() => {});
});
async function track(p) {
  const wss = await p;
  servers.push(wss);
  return wss;
}

/** Sends a full upgrade request on a raw socket and resolves with the parsed response head (or null if closed first). */
async function rawUpgrade(port, { lines, localAddress } = {}) {
  const socket = net.connect({ port, host: "127.0.0.1", ...(localAddress ? { localAddress } : {}) });
  const key = randomBytes(16).toString("base64");
  let buf = Buffer.alloc(0);
  socket.on("error", () => {});
  const head = await withTimeout(
    new Promise((resolve) => {
      socket.on("connect", () => socket.write(upgradeRequest(key, lines ? { lines: ["Host: 127.0.0.1", "Upgrade: websocket", "Connection: Upgrade", `Sec-WebSocket-Key: ${key}`, "Sec-WebSocket-Version: 13", ...lines] } : {})));
      socket.on("data", (d) => {
        buf = Buffer.concat([buf, d]);
        const h = splitHead(buf);
        if (h !== null) resolve(h);
      });
      socket.on("close", () => resolve(null));
    }),
    5000,
    "upgrade response",
  );
  return { socket, head };
}

async function echo(ws, text) {
  const got = new Promise((resolve) => ws.addEventListener("message", (e) => resolve(e.data), { once: true }));
  ws.send(text);
  return withTimeout(got, 5000, "echo");
}

function p99(samples) {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(s.length * 0.99) - 1)];
}

describe("limit options are checked at construction", () => {
  const bad = [
    [{ maxConnections: 0 }, RangeError, /maxConnections/],
    [{ maxConnections: "10" }, TypeError, /maxConnections/],
    [{ maxConnectionsPerIp: 1.5 }, RangeError, /maxConnectionsPerIp/],
    [{ maxPendingHandshakes: -1 }, RangeError, /maxPendingHandshakes/],
    [{ maxHeadersCount: 0 }, RangeError, /maxHeadersCount/],
    [{ messageRate: 5 }, TypeError, /messageRate/],
    [{ messageRate: { messagesPerSecond: 0 } }, RangeError, /messageRate\.messagesPerSecond/],
    [{ messageRate: { bytesPerSecond: "1k" } }, TypeError, /messageRate\.bytesPerSecond/],
    [{ messageRate: { burst: Infinity } }, RangeError, /messageRate\.burst/],
    [{ messageRate: { perSecond: 5 } }, TypeError, /perSecond/],
  ];
  for (const [opts, type, re] of bad) {
    it(`${JSON.stringify(opts)} → ${type.name}`, () => {
      assert.throws(() => new WebSocketServer({ noServer: true, ...opts }), (err) => err instanceof type && re.test(err.message));
    });
  }
  it("accepts Infinity for the counts, and the documented defaults", () => {
    const wss = new WebSocketServer({ noServer: true, maxConnections: Infinity, maxConnectionsPerIp: Infinity, messageRate: { messagesPerSecond: 0.5 } });
    assert.equal(wss.options.maxConnections, Infinity);
    const d = new WebSocketServer({ noServer: true });
    assert.deepEqual(
      [d.options.maxConnections, d.options.maxConnectionsPerIp, d.options.maxPendingHandshakes, d.options.maxHeadersCount, d.options.messageRate],
      [Infinity, Infinity, 1024, 100, undefined],
    );
  });
});

describe("maxConnections", () => {
  it("answers 503 past the limit, counts it, and admits again once a connection closes", async () => {
    const wss = await track(startEchoServer({ maxConnections: 3 }));
    const port = wss.address().port;
    const clients = await Promise.all([0, 1, 2].map(() => opened(new WebSocket(`ws://127.0.0.1:${port}/`))));
    const { head } = await rawUpgrade(port);
    assert.equal(head.status, 503);
    assert.equal(wss.stats().refused.WS_ERR_TOO_MANY_CONNECTIONS, 1);
    assert.equal(wss.stats().connections, 3);
    clients[0].close();
    await waitFor(() => wss.stats().connections === 2, "the closed connection to leave the count");
    const again = await opened(new WebSocket(`ws://127.0.0.1:${port}/`));
    assert.equal(await echo(again, "in"), "in");
    for (const c of [...clients, again]) c.close();
  });

  it("counts refused and failed handshakes out at once (a 400 does not hold a slot)", async () => {
    const wss = await track(startServer({ maxConnections: 1 }));
    const port = wss.address().port;
    for (let i = 0; i < 3; i++) {
      const { head } = await rawUpgrade(port, { lines: ["Sec-WebSocket-Protocol: a b"] });
      assert.equal(head.status, 400);
    }
    assert.equal(wss.stats().connections, 0);
    assert.equal(wss.stats().refused.WS_ERR_TOO_MANY_CONNECTIONS, undefined);
    const ws = await opened(new WebSocket(`ws://127.0.0.1:${port}/`));
    ws.close();
  });
});

describe("maxConnectionsPerIp", () => {
  it("answers 429 to a third connection from 127.0.0.1 while 127.0.0.2 still gets in", async () => {
    const wss = await track(startServer({ maxConnectionsPerIp: 2 }));
    const port = wss.address().port;
    const a = await rawUpgrade(port);
    const b = await rawUpgrade(port);
    assert.deepEqual([a.head.status, b.head.status], [101, 101]);
    const c = await rawUpgrade(port);
    assert.equal(c.head.status, 429);
    const other = await rawUpgrade(port, { localAddress: "127.0.0.2" });
    assert.equal(other.head.status, 101, "another address is counted apart");
    assert.equal(wss.stats().refused.WS_ERR_TOO_MANY_CONNECTIONS_PER_IP, 1);
    a.socket.destroy();
    await waitFor(() => wss.stats().connections === 2, "the destroyed connection to leave the count");
    const d = await rawUpgrade(port);
    assert.equal(d.head.status, 101);
    for (const s of [b, c, other, d]) s.socket.destroy();
  });

  it("counts IPv4-mapped addresses as IPv4 and IPv6 by /64", () => {
    assert.equal(addressKey("127.0.0.1"), "127.0.0.1");
    assert.equal(addressKey("::ffff:10.1.2.3"), "10.1.2.3");
    assert.equal(addressKey("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
    assert.equal(addressKey("2001:0db8:0001:0002:ffff:0:0:9"), "2001:db8:1:2::/64");
    assert.equal(addressKey("::1"), "0:0:0:0::/64");
    assert.equal(addressKey("fe80::1%eth0"), "fe80:0:0:0::/64");
    assert.equal(addressKey(undefined), "");
  });
});

describe("maxHeadersCount", () => {
  const extra = (n) => Array.from({ length: n }, (_, i) => `X-H${i}: v`);
  it("standalone: 100 header fields pass, 101 are answered 431 and counted", async () => {
    const wss = await track(startServer());
    const port = wss.address().port;
    const ok = await rawUpgrade(port, { lines: extra(95) });
    assert.equal(ok.head.status, 101);
    const over = await rawUpgrade(port, { lines: extra(96) });
    assert.equal(over.head.status, 431);
    assert.equal(wss.stats().refused.WS_ERR_TOO_MANY_HEADERS, 1);
    ok.socket.destroy();
  });

  it("attached to an http server: the same limit on the request Node parsed", async () => {
    const server = createServer();
    const wss = new WebSocketServer({ server, maxHeadersCount: 10 });
    servers.push(wss);
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    try {
      const port = server.address().port;
      const ok = await rawUpgrade(port, { lines: extra(5) });
      assert.equal(ok.head.status, 101);
      const over = await rawUpgrade(port, { lines: extra(6) });
      assert.equal(over.head.status, 431);
      ok.socket.destroy();
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe("maxPendingHandshakes", () => {
  it("standalone: a new connection past the limit drops the oldest one still sending its head", async () => {
    const wss = await track(startServer({ maxPendingHandshakes: 5 }));
    const port = wss.address().port;
    const stalled = [];
    for (let i = 0; i < 5; i++) {
      const p = await connectRaw(port);
      p.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n");
      stalled.push(p);
      await waitFor(() => wss.stats().pendingHandshakes === i + 1, "the server to see the pending handshake");
    }
    const ws = await opened(new WebSocket(`ws://127.0.0.1:${port}/`));
    await stalled[0].waitFor(() => stalled[0].closed, 5000, "the oldest pending connection to be dropped");
    assert.ok(stalled.slice(1).every((p) => !p.closed), "only the oldest was dropped");
    assert.equal(wss.stats().droppedPendingHandshakes, 1);
    ws.close();
    for (const p of stalled) p.destroy();
  });

  it("any mode: upgrades waiting for authenticate are bounded the same way", async () => {
    const wss = await track(startServer({ maxPendingHandshakes: 2, authenticate: ({ url }) => (url.pathname === "/fast" ? true : new Promise(() => {})) }));
    const port = wss.address().port;
    const waiting = [];
    let firstClosed = null;
    for (let i = 0; i < 3; i++) {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/slow`);
      ws.onerror = () => {};
      if (i === 0) firstClosed = closed(ws);
      waiting.push(ws);
      await waitFor(() => wss.stats().pendingHandshakes === Math.min(i + 1, 2) && wss.stats().droppedPendingHandshakes === Math.max(0, i - 1), "pending upgrades");
    }
    const ev = await firstClosed;
    assert.equal(ev.code, 1006, "the oldest was dropped");
    assert.equal(waiting[1].readyState, WebSocket.CONNECTING);
    const fast = await opened(new WebSocket(`ws://127.0.0.1:${port}/fast`));
    fast.close();
    for (const ws of waiting) ws.close();
  });

  it("a slowloris of 2,000 half-open handshakes does not lock out clients that keep connecting and exchanging messages", async () => {
    const fds = Number(execFileSync("sh", ["-c", "ulimit -n"]).toString().trim());
    // Both ends of every connection live in this process: 2 × 2,000 descriptors and the normal clients.
    assert.ok(Number.isNaN(fds) || fds >= 4500, `ulimit -n is ${fds}: the slowloris needs about 4,500 descriptors (raise the soft limit)`);
    const wss = await track(startEchoServer({ maxPendingHandshakes: 256, handshakeTimeout: 10_000 }));
    const port = wss.address().port;
    const loris = [];
    let stop = false;
    const partial = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n";
    const attack = (async () => {
      for (let i = 0; i < 2000; i += 100) {
        const batch = [];
        for (let k = 0; k < 100; k++) {
          batch.push(
            new Promise((resolve) => {
              const s = net.connect(port, "127.0.0.1");
              s.on("error", () => {});
              s.on("connect", () => {
                s.write(partial);
                resolve();
              });
              s.on("close", resolve);
              loris.push(s);
            }),
          );
        }
        await withTimeout(Promise.all(batch), 10_000, "slowloris batch");
      }
    })();
    // Meanwhile: clients connect anew, one after another, and exchange messages until the attack is in place.
    const rtts = [];
    let rounds = 0;
    const normal = (async () => {
      while (!stop) {
        const ws = await opened(new WebSocket(`ws://127.0.0.1:${port}/`), 5000);
        for (let i = 0; i < 5; i++) {
          const t0 = performance.now();
          assert.equal(await echo(ws, `m${i}`), `m${i}`);
          rtts.push(performance.now() - t0);
        }
        ws.close();
        rounds++;
      }
    })();
    await attack;
    // The attack is in place (2,000 sockets opened): a few more rounds of normal clients while it holds.
    const roundsAtPeak = rounds;
    await waitFor(() => rounds >= roundsAtPeak + 5, "normal clients to get through during the slowloris", 20_000);
    stop = true;
    await normal;
    const s = wss.stats();
    assert.ok(s.pendingHandshakes <= 256, `pending handshakes bounded: ${s.pendingHandshakes}`);
    assert.ok(s.droppedPendingHandshakes >= 2000 - 256, `dropped ${s.droppedPendingHandshakes}`);
    console.log(`slowloris: ${rounds} client rounds, ${rtts.length} round trips, p99 ${p99(rtts).toFixed(1)} ms, dropped ${s.droppedPendingHandshakes}, pending ${s.pendingHandshakes}`);
    for (const l of loris) l.destroy();
  });
});

describe("messageRate", () => {
  it("closes a connection over messagesPerSecond with 1008 'rate limit', counted; one under it stays", async () => {
    const wss = await track(startEchoServer({ messageRate: { messagesPerSecond: 20 } }));
    const port = wss.address().port;
    const polite = await opened(new WebSocket(`ws://127.0.0.1:${port}/`));
    for (let i = 0; i < 10; i++) assert.equal(await echo(polite, `p${i}`), `p${i}`);
    const rude = await opened(new WebSocket(`ws://127.0.0.1:${port}/`));
    let echoed = 0;
    rude.onmessage = () => echoed++;
    const done = closed(rude);
    for (let i = 0; i < 100; i++) rude.send(`r${i}`);
    const ev = await done;
    assert.equal(ev.code, 1008);
    assert.equal(ev.reason, "rate limit");
    assert.ok(echoed <= 21, `at most one burst (20) was served, got ${echoed}`);
    assert.equal(wss.stats().rateLimited, 1);
    assert.equal(polite.readyState, WebSocket.OPEN);
    assert.equal(await echo(polite, "still"), "still");
    polite.close();
  });

  it("bytesPerSecond counts what the connection sends, frames and all", async () => {
    const wss = await track(startEchoServer({ messageRate: { bytesPerSecond: 4096 } }));
    const ws = await opened(new WebSocket(`ws://127.0.0.1:${wss.address().port}/`, undefined, { perMessageDeflate: false }));
    assert.equal((await echo(ws, "x".repeat(3000))).length, 3000);
    const done = closed(ws);
    ws.send("y".repeat(3000));
    const ev = await done;
    assert.deepEqual([ev.code, ev.reason], [1008, "rate limit"]);
    assert.equal(wss.stats().rateLimited, 1);
  });

  it("refills over time: a client at its rate is never closed", async () => {
    const wss = await track(startEchoServer({ messageRate: { messagesPerSecond: 50, burst: 0.1 } }));
    const ws = await opened(new WebSocket(`ws://127.0.0.1:${wss.address().port}/`));
    // 30 messages in about 0.9 s at 33/s: under 50/s, though three times the burst of 5.
    for (let i = 0; i < 30; i++) {
      assert.equal(await echo(ws, `t${i}`), `t${i}`);
      await sleep(30); // pacing the sender, not waiting for an event
    }
    assert.equal(wss.stats().rateLimited, 0);
    ws.close();
  });

  it("a flood from one address: it is cut off while 20 other clients keep a p99 round trip under 50 ms", async () => {
    const wss = await track(startEchoServer({ messageRate: { messagesPerSecond: 1000, bytesPerSecond: 1 << 20 }, closeTimeout: 1000 }));
    const port = wss.address().port;
    const clients = await Promise.all(Array.from({ length: 20 }, () => opened(new WebSocket(`ws://127.0.0.1:${port}/`))));
    const flooder = spawn(process.execPath, [fileURLToPath(new URL("./flooder.mjs", import.meta.url)), String(port), "4", "3000"], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    flooder.stdout.setEncoding("utf8").on("data", (d) => (out += d));
    const exited = new Promise((r) => flooder.on("exit", r));
    const killer = setTimeout(() => flooder.kill("SIGKILL"), 15_000);
    try {
      await waitFor(() => wss.stats().rateLimited >= 4, "the flood to be rate limited");
      const rtts = [];
      let running = true;
      exited.then(() => (running = false));
      await Promise.all(
        clients.map(async (ws, k) => {
          for (let i = 0; running; i++) {
            const t0 = performance.now();
            assert.equal(await echo(ws, `c${k}-${i}`), `c${k}-${i}`);
            rtts.push(performance.now() - t0);
          }
        }),
      );
      await exited;
      const flood = JSON.parse(out);
      const s = wss.stats();
      const p = p99(rtts);
      console.log(`flood: ${flood.connections} flood connections, ${flood.framesWritten} frames written, close codes ${JSON.stringify(flood.closeCodes)}, rateLimited ${s.rateLimited}; others: ${rtts.length} round trips, p99 ${p.toFixed(1)} ms`);
      assert.ok(flood.closeCodes["1008"] >= 1, "the flooder got 1008");
      assert.ok(rtts.length > 100, `the other clients kept exchanging (${rtts.length})`);
      assert.ok(p < 50, `p99 round trip ${p.toFixed(1)} ms`);
    } finally {
      clearTimeout(killer);
      if (flooder.exitCode === null) flooder.kill("SIGKILL");
      for (const c of clients) c.close();
    }
  });
});
