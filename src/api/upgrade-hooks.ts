/**
 * Helpers of WebSocketServer's upgrade handling: the checked refusal of an authenticate hook, and the 404 for an
 * upgrade that no WebSocketServer sharing an http(s) server takes.
 */
import type { Server as HttpServer } from "node:http";
import type { Server as HttpsServer } from "node:https";
import type { Server as NetServer, Socket } from "node:net";
import { HandshakeError } from "../protocol/errors.js";
import { show } from "../protocol/checks.js";

/** The refusal an authenticate hook returned ({ accept: false, status, reason, headers }), checked. */
export function refusalOf(decision: unknown): HandshakeError {
  const d = decision as { accept?: unknown; status?: unknown; reason?: unknown; headers?: unknown };
  if (typeof decision !== "object" || d.accept !== false) {
    throw new TypeError(`authenticate must return true, false or { accept: true | false, ... }, got ${show(decision)}`);
  }
  const status = d.status ?? 403;
  if (typeof status !== "number" || !Number.isInteger(status) || status < 400 || status > 599) {
    throw new RangeError(`authenticate: a refusal's status must be an integer from 400 to 599, got ${show(status)}`);
  }
  const reason = d.reason ?? "connection refused";
  if (typeof reason !== "string") throw new TypeError(`authenticate: a refusal's reason must be a string, got ${show(reason)}`);
  if (d.headers !== undefined && (typeof d.headers !== "object" || d.headers === null)) {
    throw new TypeError(`authenticate: a refusal's headers must be an object, got ${show(d.headers)}`);
  }
  return new HandshakeError(reason, status, "WS_ERR_REFUSED", d.headers as Record<string, string> | undefined);
}

/** Sockets of upgrades some WebSocketServer took (answered or handled); and the `upgrade` listeners of servers. */
export const claimed = new WeakSet<object>();
const upgradeListeners = new WeakSet<Function>();

export function markUpgradeListener<F extends Function>(f: F): F {
  upgradeListeners.add(f);
  return f;
}

/**
 * After every `upgrade` listener of a shared http server has run: an upgrade that no WebSocketServer took is
 * answered 404 when all those listeners are WebSocketServers (a listener of other code may have taken it; then it
 * is left to that code).
 */
export function unclaimedUpgrade(server: HttpServer | HttpsServer | NetServer, socket: Socket, notFound: () => void): void {
  if (claimed.has(socket) || socket.destroyed) return;
  if (!server.listeners("upgrade").every((l) => upgradeListeners.has(l))) return;
  notFound();
}
