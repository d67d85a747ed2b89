/**
 * The `ws` baseline, and the same code on wshub/ws (wshub's ws-compatible entry point): `--impl wshub` switches
 * the import and nothing else. Plain ws when started with WS_NO_BUFFER_UTIL=1 (bench/run.mjs does that);
 * ws loads its native `bufferutil` addon by itself when the variable is unset.
 *
 *   node ws.mjs --mode echo|bcast [--port 0] [--deflate] [--impl ws|wshub]
 * --deflate accepts permessage-deflate (ws leaves it off on servers by default; so does wshub/ws).
 */
import { parseArgs, ready } from "./control.mjs";

const args = parseArgs();
const { WebSocketServer } = await import(args.impl === "wshub" ? "wshub/ws" : "ws");
const mode = args.mode ?? "echo";
const wss = new WebSocketServer({ port: Number(args.port ?? 0), host: "127.0.0.1", backlog: 4096, perMessageDeflate: args.deflate === true });

wss.on("connection", (ws) => {
  if (mode === "echo") {
    ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  } else {
    ws.on("message", (data, isBinary) => {
      for (const client of wss.clients) client.send(data, { binary: isBinary });
    });
  }
  ws.on("error", () => {});
});
wss.on("listening", () => ready(wss.address().port));
