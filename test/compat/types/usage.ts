// Type-checked by test/compat/types.test.mjs (tsc --noEmit against dist/compat/*.d.ts): ws-style code, as
// written against @types/ws, compiles unchanged on wshub/ws.
import { WebSocket, WebSocketServer, createWebSocketStream, type ServerOptions } from "wshub/ws";
import wsModule from "wshub/ws";

const options: ServerOptions = { port: 0, host: "127.0.0.1", perMessageDeflate: { threshold: 1024, zlibDeflateOptions: { level: 3 } } };
const wss = new WebSocketServer(options, () => undefined);
wss.on("connection", (ws, req) => {
  const ip: string | undefined = req.socket.remoteAddress;
  void ip;
  ws.on("message", (data, isBinary) => {
    const binary: boolean = isBinary;
    ws.send(data, { binary }, (err?: Error) => void err);
  });
  ws.on("close", (code: number, reason: Buffer) => void [code, reason.toString()]);
  ws.on("ping", (data: Buffer) => ws.pong(data));
  ws.send("text");
  ws.send(new Uint8Array(4));
  ws.send(42);
  const state: number = ws.readyState;
  if (state === WebSocket.OPEN && ws.bufferedAmount === 0) ws.ping();
});
wss.on("headers", (headers: string[]) => headers.push("X-A: b"));
wss.on("wsClientError", (err, socket) => void [err.message, socket.destroy()]);
wss.on("error", (err: Error) => void err);
const size: number | undefined = wss.clients?.size;
void size;

const client = new WebSocket("ws://127.0.0.1:8080", ["chat"], { headers: { "X-Token": "t" }, handshakeTimeout: 1000 });
client.binaryType = "arraybuffer";
client.on("open", () => client.send("hi"));
client.on("unexpected-response", (req, res) => void [req.path, res.statusCode]);
client.on("redirect", (url: string) => void url);
client.onmessage = (event: unknown) => void event;
client.addEventListener("close", () => undefined, { once: true });
const duplex = createWebSocketStream(client, { encoding: "utf8" });
duplex.pipe(process.stdout);

const Server = wsModule.Server;
const other = new Server({ noServer: true });
void other;
const ctor: typeof WebSocket = wsModule.WebSocket;
void ctor;
