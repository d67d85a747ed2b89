/**
 * Shared fixtures of the wshub/ws tests: servers of both implementations on 127.0.0.1, bounded event waits
 * (the arguments of an EventEmitter event, as an array), raw TCP clients for handshake answers.
 */
import { connect } from "node:net";
import * as ws from "ws";
import * as compat from "../../dist/compat/index.js";
import { withTimeout } from "../helpers/index.mjs";

export { ws, compat, withTimeout };

/** Resolves with the arguments of the next `type` event of an EventEmitter (as an array); rejects after `ms`. */
export function next(emitter, type, ms = 5000) {
  return withTimeout(new Promise((resolve) => emitter.once(type, (...args) => resolve(args))), ms, `waiting for '${type}'`);
}

/** A standalone server of `impl` (compat or ws) on 127.0.0.1:0, listening. */
export async function listen(impl, options = {}) {
  const server = new impl.WebSocketServer({ host: "127.0.0.1", port: 0, ...options });
  await next(server, "listening");
  return server;
}

export function urlOf(server, path = "/") {
  return `ws://127.0.0.1:${server.address().port}${path}`;
}

/** Closes a server and every client it tracks, bounded. */
export async function shutdown(server) {
  for (const c of server.clients ?? []) c.terminate();
  await withTimeout(new Promise((resolve) => server.close(() => resolve())), 5000, "server close");
}

/** An open client of `impl` to `url`. */
export async function openClient(impl, url, protocols, options) {
  const c = new impl.WebSocket(url, protocols, options);
  await next(c, "open");
  return c;
}

/** Sends `request` over raw TCP and resolves with everything the server sent until it closed. */
export function rawRequest(port, request, ms = 5000) {
  return withTimeout(
    new Promise((resolve, reject) => {
      const s = connect(port, "127.0.0.1", () => s.write(request));
      const chunks = [];
      s.on("data", (c) => chunks.push(c));
      s.on("error", reject);
      s.on("close", () => resolve(Buffer.concat(chunks).toString("latin1")));
    }),
    ms,
    "raw request",
  );
}

export function upgradeRequest(path = "/", extra = "") {
  return (
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`
  );
}
