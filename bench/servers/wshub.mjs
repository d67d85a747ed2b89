/**
 * wshub, used the way its docs show: the WHATWG surface on the server side.
 * Echo: ws.onmessage = (e) => ws.send(e.data). Broadcast: the Hub (hub.broadcast) when dist/
 * has one, otherwise a loop over wss.clients (the line printed on stderr says which).
 *
 *   node wshub.mjs --mode echo|bcast [--port 0] [--binary-type nodebuffer|arraybuffer|blob] [--deflate]
 * --deflate passes perMessageDeflate: true (otherwise wshub's default applies; the load generator only
 * offers the extension in the compressed scenario). --no-shared-reads: sockets emit 'data' with a buffer per
 * read instead of reading into the shared buffer (src/node/shared-read.ts), for A/B comparisons.
 */
import { WebSocketServer } from "../../dist/index.js";
import * as wshub from "../../dist/index.js";
import { parseArgs, ready } from "./control.mjs";

const args = parseArgs();
if (args["no-shared-reads"] === true) (await import("../../dist/node/shared-read.js")).useSharedReads(false);
const mode = args.mode ?? "echo";
const binaryType = args["binary-type"];
const options = { port: Number(args.port ?? 0), host: "127.0.0.1", backlog: 4096 };
if (args.deflate === true) options.perMessageDeflate = true;
const wss = new WebSocketServer(options);

let Hub = wshub.Hub;
if (Hub === undefined) {
  try {
    Hub = (await import("../../dist/hub/index.js")).Hub;
  } catch {
    Hub = undefined;
  }
}
const hub = mode === "bcast" && typeof Hub === "function" ? new Hub(wss) : null;
if (mode === "bcast") process.stderr.write(`wshub bcast via ${hub ? "Hub.broadcast" : "a loop over wss.clients"}\n`);

wss.on("connection", (ws) => {
  if (binaryType !== undefined) ws.binaryType = binaryType;
  if (mode === "echo") {
    ws.onmessage = (e) => ws.send(e.data);
  } else if (hub) {
    ws.onmessage = (e) => hub.broadcast(e.data);
  } else {
    ws.onmessage = (e) => {
      for (const client of wss.clients) client.send(e.data);
    };
  }
  ws.onerror = () => {};
});
wss.on("listening", () => ready(wss.address().port, () => wss.close()));
