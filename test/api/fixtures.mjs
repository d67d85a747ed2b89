// Shared fixtures of the WHATWG API tests: a wshub server with a few behaviours by path, and small event helpers.
// Raw servers, frame builders and waits come from test/helpers/.
import { WebSocket, WebSocketServer } from "../../dist/index.js";
import { withTimeout, waitFor, closed } from "../helpers/index.mjs";

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
    await waitFor(() => state.received.length >= n, `${n} messages at the server`, ms);
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


/** Calls ws.close() (no code, no reason) and resolves once its close event has fired. */
export async function closeAndWait(ws) {
  const c = closed(ws);
  ws.close();
  await c;
}
