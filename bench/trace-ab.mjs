// Interleaved A/B in one process: rounds of echo (64-byte, 100 in flight) on A then B; medians per side.
// Usage: node bench/trace-ab.mjs BASE_DIST THIS_DIST (e.g. a build of main and ./dist): no subscriber on either.
const A = await import(`${process.argv[2]}/index.js`), B = await import(`${process.argv[3]}/index.js`);
async function setup(lib) {
  const wss = new lib.WebSocketServer({ port: 0, host: "127.0.0.1", perMessageDeflate: false });
  await new Promise((r) => wss.once("listening", r));
  const hub = new lib.Hub(wss);
  hub.on("message", (ws, data) => { if (data === "b") hub.broadcast("x".repeat(64)); else ws.send(data); });
  const url = `ws://127.0.0.1:${wss.address().port}/`;
  const open = (n) => Promise.all(Array.from({ length: n }, () => new Promise((r) => { const w = new lib.WebSocket(url, [], { perMessageDeflate: false }); w.onopen = () => r(w); })));
  const [c] = await open(1); const subs = await open(20);
  return { c, subs };
}
const msg = "y".repeat(64);
function echo({ c }, N) { return new Promise((r) => { let got = 0; const t0 = performance.now(); c.onmessage = () => { if (++got === N) r(N / ((performance.now() - t0) / 1000)); else if (got % 100 === 0) for (let i = 0; i < 100; i++) c.send(msg); }; for (let i = 0; i < 100; i++) c.send(msg); }); }
function bcast({ c, subs }, M) { return new Promise((r) => { let got = 0; const total = M * subs.length; const t0 = performance.now(); c.onmessage = null; for (const w of subs) w.onmessage = () => { if (++got === total) r(total / ((performance.now() - t0) / 1000)); }; let sent = 0; const step = () => { for (let i = 0; i < 50 && sent < M; i++, sent++) c.send("b"); if (sent < M) setImmediate(step); }; step(); }); }
const a = await setup(A), b = await setup(B);
const res = { A: { echo: [], bc: [] }, B: { echo: [], bc: [] } };
for (let round = 0; round < 10; round++) {
  for (const [k, s] of round % 2 ? [["B", b], ["A", a]] : [["A", a], ["B", b]]) {
    res[k].echo.push(await echo(s, 40000));
    res[k].bc.push(await bcast(s, 2000));
  }
}
const med = (x) => { const y = [...x].sort((p, q) => p - q); return Math.round((y[4] + y[5]) / 2); };
const rng = (x) => `${Math.round(Math.min(...x))}-${Math.round(Math.max(...x))}`;
for (const k of ["A", "B"]) console.log(k, "echo median", med(res[k].echo), "range", rng(res[k].echo), "| broadcast deliveries/s median", med(res[k].bc), "range", rng(res[k].bc));
process.exit(0);
