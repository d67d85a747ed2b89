// Shared fixtures of the WHATWG API tests: a wshub server with a few behaviours by path, a raw TCP "server" that
// completes the opening handshake by hand (to misbehave afterwards), and small event helpers.
import { createServer as createTcpServer } from "node:net";
import { WebSocket, WebSocketServer, computeAccept } from "../../dist/index.js";
import { withTimeout, nextEvent } from "../helpers/index.mjs";

export { withTimeout, nextEvent };

/**
 * A wshub server on 127.0.0.1:0. Paths: /echo echoes every message; /sink records messages; /close/<code>/<reason>
 * closes at once; /refuse is refused with 403. `server.connections` lists the ServerWebSocket of each
 * connection, `server.received` the messages (with their type) in order, `server.closes` the close events.
 */
export async function startApiServer(extra = {}) {
  const wss = new WebSocketServer({
    host: "127.0.0.1",
    port: 0,
    closeTimeout: 2000,
    handshakeTimeout: 5000,
    handleProtocols: (protocols) => (protocols.includes("chat") ? "chat" : false),
    authenticate: ({ url }) => (url.pathname === "/refuse" ? { accept: false, status: 403 } : { accept: true }),
    ...extra,
  });
  await withTimeout(new Promise((resolve, reject) => (wss.once("listening", resolve), wss.once("error", reject))), 5000, "listen");
  const state = { wss, url: `ws://127.0.0.1:${wss.address().port}`, connections: [], received: [], closes: [], protocolsSeen: [] };
  wss.on("connection", (ws, req) => {
    state.connections.push(ws);
    state.protocolsSeen.push(req.headers["sec-websocket-protocol"] ?? null);
    ws.binaryType = "nodebuffer";
    const path = new URL(req.url, "http://x").pathname;
    ws.addEventListener("close", (ev) => state.closes.push({ code: ev.code, reason: ev.reason, wasClean: ev.wasClean }));
    if (path === "/echo") ws.onmessage = (ev) => ws.send(ev.data);
    else if (path === "/sink") ws.onmessage = (ev) => state.received.push(ev.data);
    else if (path.startsWith("/close/")) {
      const [, , code, reason] = path.split("/");
      ws.close(Number(code), decodeURIComponent(reason ?? ""));
    }
  });
  state.close = () => withTimeout(wss.close({ timeout: 500 }), 5000, "server close");
  /** Resolves once the server has received `n` messages at /sink. */
  state.waitReceived = async (n, ms = 5000) => {
    const start = Date.now();
    while (state.received.length < n) {
      if (Date.now() - start > ms) throw new Error(`server received ${state.received.length} of ${n} messages`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return state.received;
  };
  return state;
}

/** Opens a client and resolves once it is OPEN (rejects on close/error or after `ms`). */
export function openClient(url, protocols, options, ms = 5000) {
  const ws = new WebSocket(url, protocols, options);
  return withTimeout(
    new Promise((resolve, reject) => {
      ws.addEventListener("open", () => resolve(ws), { once: true });
      ws.addEventListener("close", (ev) => reject(new Error(`closed before open: ${ev.code}`)), { once: true });
    }),
    ms,
    "open",
  );
}

/** Records every event type (with readyState) of a WebSocket, for order checks. */
export function recordEvents(ws, types = ["open", "message", "error", "close"]) {
  const events = [];
  for (const t of types) ws.addEventListener(t, (ev) => events.push({ type: t, readyState: ws.readyState, ev }));
  return events;
}

/** Resolves with the next close event of `ws` (attach before the close can happen). */
export function closed(ws, ms = 5000) {
  return nextEvent(ws, "close", ms);
}

/** Calls ws.close() (no code, no reason) and resolves once its close event has fired. */
export async function closeAndWait(ws) {
  const c = closed(ws);
  ws.close();
  await c;
}

/**
 * A raw TCP server that answers the opening handshake itself and then runs `behave(socket)`, to send what a wshub
 * server never would (or to vanish mid-stream).
 */
export async function startRawServer(behave) {
  const sockets = new Set();
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let head = Buffer.alloc(0);
    const onData = (chunk) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end === -1) return;
      socket.off("data", onData);
      const key = /sec-websocket-key:\s*(\S+)/i.exec(head.subarray(0, end).toString("latin1"))[1];
      socket.write(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          `Sec-WebSocket-Accept: ${computeAccept(key)}\r\n\r\n`,
      );
      behave(socket);
    };
    socket.on("data", onData);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `ws://127.0.0.1:${server.address().port}/`,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** An unmasked server frame. */
export function serverFrame(opcode, payload = Buffer.alloc(0)) {
  const p = Buffer.from(payload);
  if (p.length > 125) throw new Error("test frames are small");
  return Buffer.concat([Buffer.from([0x80 | opcode, p.length]), p]);
}

/** A close frame payload: code (2 bytes) and reason. */
export function closePayload(code, reason = "") {
  const b = Buffer.alloc(2 + Buffer.byteLength(reason));
  b.writeUInt16BE(code, 0);
  b.write(reason, 2);
  return b;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
