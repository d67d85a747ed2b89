/**
 * The node:net I/O floor: what any Node server pays to move the bytes, with no WebSocket work at all.
 * It answers the upgrade (Sec-WebSocket-Accept only), then writes every received chunk straight back:
 * frames return still masked, unparsed and unvalidated (the load generator accepts masked frames and
 * counts them the same). No server that parses, unmasks and re-frames can pass this rate on the same
 * machine, so it bounds the ratio any Node WebSocket server can reach over `ws` for large messages.
 *
 *   node floor.mjs [--mode echo] [--port 0]
 */
import { createServer } from "node:net";
import { minimalUpgradeResponse, parseArgs, ready } from "./control.mjs";

const args = parseArgs();
if ((args.mode ?? "echo") !== "echo") {
  process.stderr.write("floor.mjs serves echo only\n");
  process.exit(2);
}

function handle(socket) {
  socket.setNoDelay(true);
  socket.on("error", () => {});
  let head = "";
  const echo = (chunk) => socket.write(chunk);
  const handshake = (chunk) => {
    head += chunk.latin1Slice(0, chunk.length);
    const end = head.indexOf("\r\n\r\n");
    if (end === -1) return;
    socket.write(minimalUpgradeResponse(head.slice(0, end)));
    const rest = head.length - end - 4;
    head = "";
    socket.off("data", handshake);
    socket.on("data", echo);
    if (rest > 0) echo(chunk.subarray(chunk.length - rest));
  };
  socket.on("data", handshake);
}

const server = createServer({ noDelay: true }, handle);
server.listen(Number(args.port ?? 0), "127.0.0.1", 4096, () => ready(server.address().port));
