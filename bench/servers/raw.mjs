/**
 * The raw ceiling: the least a WebSocket server must do per message, on node:net directly.
 * It answers the upgrade (Sec-WebSocket-Accept only, no other checks), parses frame headers,
 * unmasks the payload in place and writes an unmasked frame back (echo), or frames each
 * message once and writes it to every connection (bcast). No validation, no fragmentation,
 * no UTF-8 checks, no close handshake.
 *
 *   node raw.mjs --mode echo|bcast [--port 0]
 */
import { createServer } from "node:net";
import { minimalUpgradeResponse, parseArgs, ready } from "./control.mjs";

const args = parseArgs();
const mode = args.mode ?? "echo";
const sockets = new Set();

function frameHeader(opcode, len) {
  if (len < 126) return Buffer.from([0x80 | opcode, len]);
  if (len < 65536) return Buffer.from([0x80 | opcode, 126, len >> 8, len & 255]);
  const h = Buffer.alloc(10);
  h[0] = 0x80 | opcode;
  h[1] = 127;
  h.writeUIntBE(len, 4, 6);
  return h;
}

/**
 * Unmasks in place: byte-wise for short payloads; for long ones, bytes up to a 4-byte boundary, then 32-bit
 * words (Uint32Array, little-endian host assumed) with the key rotated to match, then the byte tail.
 */
function unmask(buf, start, len) {
  const m = [buf[start - 4], buf[start - 3], buf[start - 2], buf[start - 1]];
  let j = 0;
  if (len >= 64) {
    const abs = buf.byteOffset + start;
    const head = (4 - (abs & 3)) & 3;
    for (; j < head; j++) buf[start + j] ^= m[j & 3];
    const key = (m[j & 3] | (m[(j + 1) & 3] << 8) | (m[(j + 2) & 3] << 16) | (m[(j + 3) & 3] << 24)) >>> 0;
    const words = new Uint32Array(buf.buffer, abs + j, (len - j) >>> 2);
    for (let w = 0; w < words.length; w++) words[w] ^= key;
    j += words.length * 4;
  }
  for (; j < len; j++) buf[start + j] ^= m[j & 3];
  return buf.subarray(start, start + len);
}

function handle(socket) {
  socket.setNoDelay(true);
  socket.on("error", () => {});
  socket.on("close", () => sockets.delete(socket));
  let head = "";
  let open = false;
  let chunks = [];
  let pending = 0;
  let need = 2;

  socket.on("data", (chunk) => {
    if (!open) {
      head += chunk.latin1Slice(0, chunk.length);
      const end = head.indexOf("\r\n\r\n");
      if (end === -1) return;
      socket.write(minimalUpgradeResponse(head.slice(0, end)));
      open = true;
      sockets.add(socket);
      const rest = chunk.subarray(chunk.length - (head.length - end - 4));
      head = "";
      if (rest.length === 0) return;
      chunk = rest;
    }
    chunks.push(chunk);
    pending += chunk.length;
    if (pending < need) return;
    let buf = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, pending);
    chunks = [];
    pending = 0;
    let i = 0;
    const out = [];
    while (true) {
      const avail = buf.length - i;
      if (avail < 2) break;
      const b1 = buf[i + 1];
      let len = b1 & 127;
      let hl = 2;
      if (len === 126) hl = 4;
      else if (len === 127) hl = 10;
      if (b1 & 128) hl += 4;
      if (avail < hl) break;
      if (len === 126) len = buf.readUInt16BE(i + 2);
      else if (len === 127) len = buf.readUIntBE(i + 4, 6);
      if (avail < hl + len) {
        need = hl + len;
        break;
      }
      const opcode = buf[i] & 15;
      const start = i + hl;
      const payload = b1 & 128 ? unmask(buf, start, len) : buf.subarray(start, start + len);
      i = start + len;
      need = 2;
      if (opcode === 8) {
        socket.destroy();
        return;
      }
      if (opcode < 8) out.push(frameHeader(opcode, len), payload);
    }
    if (i < buf.length) {
      const rest = buf.subarray(i);
      chunks.push(rest);
      pending = rest.length;
    }
    if (out.length > 0) {
      let bytes = 0;
      for (const b of out) bytes += b.length;
      if (mode === "bcast") {
        // Every message of this chunk, framed once, one write per connection.
        const frames = Buffer.concat(out, bytes);
        for (const s of sockets) s.write(frames);
      } else if (bytes <= 65536) socket.write(Buffer.concat(out, bytes));
      else {
        socket.cork();
        for (const b of out) socket.write(b);
        socket.uncork();
      }
    }
  });
}

const server = createServer({ noDelay: true }, handle);
server.listen(Number(args.port ?? 0), "127.0.0.1", 4096, () => ready(server.address().port));
