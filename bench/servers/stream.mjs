/**
 * The sender for the client-side scenario: a raw node:net WebSocket endpoint that answers the
 * upgrade and then writes pre-built 32 B text frames (unmasked, as a server sends them) as fast
 * as the socket drains, 64 KiB per write. It ignores what the client sends.
 *
 *   node stream.mjs [--port 0] [--size 32]
 */
import { createServer } from "node:net";
import { minimalUpgradeResponse, parseArgs, ready } from "./control.mjs";

const args = parseArgs();
const size = Number(args.size ?? 32);
if (size >= 126) throw new Error("stream.mjs sends frames with a 7-bit length only");
const frame = Buffer.alloc(2 + size, "x".charCodeAt(0));
frame[0] = 0x81;
frame[1] = size;
const count = Math.floor(65536 / frame.length);
const batch = Buffer.alloc(count * frame.length);
for (let i = 0; i < count; i++) frame.copy(batch, i * frame.length);

const server = createServer({ noDelay: true }, (socket) => {
  socket.on("error", () => {});
  let head = "";
  const onData = (chunk) => {
    head += chunk.latin1Slice(0, chunk.length);
    const end = head.indexOf("\r\n\r\n");
    if (end === -1) return;
    socket.off("data", onData);
    socket.on("data", () => {});
    socket.write(minimalUpgradeResponse(head.slice(0, end)));
    const pump = () => {
      while (!socket.destroyed && socket.write(batch));
    };
    socket.on("drain", pump);
    pump();
  };
  socket.on("data", onData);
});
server.listen(Number(args.port ?? 0), "127.0.0.1", () => ready(server.address().port));
