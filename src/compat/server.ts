/**
 * ws 8's WebSocketServer (ws.md "Class: WebSocketServer") over wshub's server pieces: the standalone front door
 * (node/upgrade-listener.ts, node:net without Node's HTTP server), the accept key and 101 response
 * (protocol/handshake.ts), permessage-deflate negotiation (protocol/extensions/permessage-deflate.ts) and the
 * connection driver (node/socket-transport.ts, through compat/websocket.ts). The checks, their order, the HTTP
 * answers, the events and the close() semantics are ws's.
 */
import { EventEmitter } from "node:events";
import type { IncomingMessage, Server as HttpServer } from "node:http";
import type { AddressInfo, Server as NetServer, Socket } from "node:net";
import { computeAccept, upgradeResponseText } from "../protocol/handshake.js";
import { isToken } from "../protocol/http-head.js";
import { negotiateServer, type DeflateAgreement } from "../protocol/extensions/permessage-deflate.js";
import { PerMessageDeflate } from "../node/deflate.js";
import { UpgradeListener, UpgradeRequest, ignoreError } from "../node/upgrade-listener.js";
import { dropSharedReads, readsIntoSharedBuffer } from "../node/shared-read.js";
import { abortHandshake } from "./errors.js";
import { checkServerOptions } from "./option-checks.js";
import { WS_DEFAULTS, serverDeflate, type ServerOptions, type VerifyClientCallback } from "./options.js";
import { WebSocket, type SocketSetup } from "./websocket.js";

const RUNNING = 0;
const CLOSING = 1;
const CLOSED = 2;
const KEY_RE = /^[+/0-9A-Za-z]{22}==$/;
const kTaken = Symbol("wshub.compat.upgraded");
const EMPTY = Buffer.alloc(0);

type Request = IncomingMessage | UpgradeRequest;

/** The events of a WebSocketServer and their arguments (ws.md "Class: WebSocketServer"). */
export interface WebSocketServerEvents {
  connection: [socket: WebSocket, request: IncomingMessage];
  headers: [headers: string[], request: IncomingMessage];
  listening: [];
  error: [err: Error];
  wsClientError: [err: Error, socket: Socket, request: IncomingMessage];
  close: [];
}
type ConnectionCallback = (ws: WebSocket, req: IncomingMessage) => void;
type Resolved = ServerOptions & Required<Pick<ServerOptions, "maxPayload" | "autoPong" | "closeTimeout" | "allowSynchronousEvents" | "clientTracking">>;

export class WebSocketServer extends EventEmitter<WebSocketServerEvents> {
  readonly options: Resolved;
  /** The connections, when clientTracking is on (undefined otherwise, as in ws). */
  clients: Set<WebSocket> | undefined;
  #server: HttpServer | NetServer | null = null;
  #listener: UpgradeListener | null = null;
  #removeListeners: (() => void) | null = null;
  #state = RUNNING;
  #shouldEmitClose = false;
  #deflate: ReturnType<typeof serverDeflate>;
  #plain: SocketSetup;

  constructor(options: ServerOptions, callback?: () => void) {
    super();
    const o = options ?? {};
    if ((o.port == null && !o.server && !o.noServer) || (o.port != null && (o.server || o.noServer)) || (o.server && o.noServer)) {
      throw new TypeError('One and only one of the "port", "server", or "noServer" options must be specified');
    }
    checkServerOptions(o);
    this.options = {
      ...o,
      maxPayload: o.maxPayload ?? WS_DEFAULTS.maxPayload,
      autoPong: o.autoPong ?? WS_DEFAULTS.autoPong,
      closeTimeout: o.closeTimeout ?? WS_DEFAULTS.closeTimeout,
      allowSynchronousEvents: o.allowSynchronousEvents ?? WS_DEFAULTS.allowSynchronousEvents,
      clientTracking: o.clientTracking ?? WS_DEFAULTS.clientTracking,
    };
    this.#deflate = serverDeflate(o.perMessageDeflate);
    this.#plain = Object.freeze({
      maxPayload: this.options.maxPayload,
      autoPong: this.options.autoPong,
      closeTimeout: this.options.closeTimeout,
      allowSynchronousEvents: this.options.allowSynchronousEvents,
      deflate: null,
    });
    const emitConnection: ConnectionCallback = (ws, req) => this.emit("connection", ws, req);
    if (o.port != null) {
      // ws answers other HTTP requests 426; the standalone listener reads request heads itself (no http.Server).
      const listener = new UpgradeListener({ maxHeaderSize: WS_DEFAULTS.maxHeaderSize, handshakeTimeout: WS_DEFAULTS.headersTimeout }, (req, socket, head) => {
        if (!isUpgrade(req)) return upgradeRequired(socket);
        this.handleUpgrade(req as unknown as IncomingMessage, socket, head, emitConnection);
      });
      this.#listener = listener;
      this.#server = listener.server;
      listener.server.listen(o.port, o.host ?? undefined, o.backlog ?? undefined, callback);
    } else if (o.server) {
      this.#server = o.server;
    }
    if (this.#server !== null) {
      const server = this.#server;
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const map: Record<string, (...args: any[]) => void> = {
        listening: () => this.emit("listening"),
        error: (err: Error) => this.emit("error", err),
      };
      if (this.#listener === null) {
        map.upgrade = (req: IncomingMessage, socket: Socket, head: Buffer) => this.handleUpgrade(req, socket, head, emitConnection);
      }
      for (const [event, fn] of Object.entries(map)) server.on(event, fn);
      this.#removeListeners = () => {
        for (const [event, fn] of Object.entries(map)) server.removeListener(event, fn);
      };
    }
    if (this.options.clientTracking) this.clients = new Set();
  }

  /** The bound address (ws.md server.address()). */
  address(): AddressInfo | string | null {
    if (this.options.noServer) throw new Error('The server is operating in "noServer" mode');
    if (this.#server === null) return null;
    return this.#server.address();
  }

  /** Stops accepting; 'close' comes once the server (standalone) or every tracked client (otherwise) is gone. */
  close(cb?: (err?: Error) => void): void {
    if (this.#state === CLOSED) {
      if (cb) this.once("close", () => cb(new Error("The server is not running")));
      process.nextTick(() => this.#emitClose());
      return;
    }
    if (cb) this.once("close", cb);
    if (this.#state === CLOSING) return;
    this.#state = CLOSING;
    this.#removeListeners?.();
    this.#removeListeners = null;
    const listener = this.#listener;
    this.#server = null;
    if (listener !== null) {
      listener.close(() => this.#emitClose());
    } else if (this.clients !== undefined && this.clients.size > 0) {
      this.#shouldEmitClose = true;
    } else {
      process.nextTick(() => this.#emitClose());
    }
  }

  #emitClose(): void {
    this.#state = CLOSED;
    this.emit("close");
  }

  /** Whether this server handles `req` (by `path`). */
  shouldHandle(req: IncomingMessage): boolean {
    const path = this.options.path;
    if (path) {
      const i = req.url!.indexOf("?");
      if ((i !== -1 ? req.url!.slice(0, i) : req.url) !== path) return false;
    }
    return true;
  }

  /** ws.md server.handleUpgrade(request, socket, head, callback). */
  handleUpgrade(req: IncomingMessage, socket: Socket, head: Buffer, cb: ConnectionCallback): void {
    socket.on("error", destroyOnError);
    const headers = req.headers;
    const key = headers["sec-websocket-key"];
    const upgrade = headers.upgrade;
    const version = +(headers["sec-websocket-version"] as string);
    if (req.method !== "GET") return this.#clientError(req, socket, 405, "Invalid HTTP method");
    if (upgrade === undefined || upgrade.toLowerCase() !== "websocket") return this.#clientError(req, socket, 400, "Invalid Upgrade header");
    if (key === undefined || !KEY_RE.test(key)) return this.#clientError(req, socket, 400, "Missing or invalid Sec-WebSocket-Key header");
    if (version !== 13 && version !== 8) {
      return this.#clientError(req, socket, 400, "Missing or invalid Sec-WebSocket-Version header", { "Sec-WebSocket-Version": "13, 8" });
    }
    if (!this.shouldHandle(req)) return this.#abort(socket, 400);
    let protocols = new Set<string>();
    const protocolHeader = headers["sec-websocket-protocol"];
    if (protocolHeader !== undefined) {
      const parsed = parseProtocols(protocolHeader);
      if (parsed === null) return this.#clientError(req, socket, 400, "Invalid Sec-WebSocket-Protocol header");
      protocols = parsed;
    }
    // RFC 7692 §5.1: the first acceptable offer; offers wshub cannot accept leave the connection uncompressed.
    const deflate = this.#deflate;
    const ext = headers["sec-websocket-extensions"];
    const agreement = deflate !== null && ext !== undefined ? negotiateServer(ext, deflate.policy) : null;
    const verify = this.options.verifyClient;
    if (verify) {
      const s = req.socket as Socket & { authorized?: boolean; encrypted?: boolean };
      const info = { origin: headers[version === 8 ? "sec-websocket-origin" : "origin"] as string | undefined, secure: !!(s.authorized || s.encrypted), req };
      if (verify.length === 2) {
        (verify as (i: typeof info, c: VerifyClientCallback) => void)(info, (verified, code, message, extra) => {
          if (!verified) return this.#abort(socket, code || 401, message, extra);
          this.#complete(agreement, key, protocols, req, socket, head, cb);
        });
        return;
      }
      if (!(verify as (i: typeof info) => boolean)(info)) return this.#abort(socket, 401);
    }
    this.#complete(agreement, key, protocols, req, socket, head, cb);
  }

  #complete(agreement: DeflateAgreement | null, key: string, protocols: Set<string>, req: Request, socket: Socket, head: Buffer, cb: ConnectionCallback): void {
    if (!socket.readable || !socket.writable) {
      socket.destroy();
      return;
    }
    if ((socket as Socket & { [kTaken]?: boolean })[kTaken]) {
      throw new Error("server.handleUpgrade() was called more than once with the same socket, possibly due to a misconfiguration");
    }
    if (this.#state > RUNNING) return this.#abort(socket, 503);
    const ws = new WebSocket(null);
    let protocol = "";
    if (protocols.size > 0) {
      const pick = this.options.handleProtocols;
      const p = pick ? pick(protocols, req as IncomingMessage) : protocols.values().next().value;
      if (p) protocol = p;
    }
    const extensions = agreement !== null ? agreement.response : "";
    if (this.listenerCount("headers") > 0) {
      const lines = ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade", `Sec-WebSocket-Accept: ${computeAccept(key)}`];
      if (protocol !== "") lines.push(`Sec-WebSocket-Protocol: ${protocol}`);
      if (extensions !== "") lines.push(`Sec-WebSocket-Extensions: ${extensions}`);
      this.emit("headers", lines, req as IncomingMessage);
      socket.write(lines.concat("\r\n").join("\r\n"));
    } else {
      // RFC 6455 §4.2.2 step 5: the 101 response, in one write.
      socket.write(upgradeResponseText(key, protocol, extensions), "latin1");
    }
    socket.removeListener("error", destroyOnError);
    socket.removeListener("error", ignoreError);
    (socket as Socket & { [kTaken]?: boolean })[kTaken] = true;
    ws._protocol = protocol;
    ws._extensions = agreement !== null ? "permessage-deflate" : "";
    // Bytes read past the request head go back in front of what a paused socket holds (see api/server.ts).
    if (head.length > 0 && socket.readableFlowing !== true && !readsIntoSharedBuffer(socket)) {
      socket.unshift(head);
      head = EMPTY;
    }
    const setup =
      agreement !== null
        ? { ...this.#plain, deflate: new PerMessageDeflate(agreement.params, true, this.#deflate!.codec, this.options.maxPayload) }
        : this.#plain;
    ws.setSocket(socket, head, setup);
    const clients = this.clients;
    if (clients !== undefined) {
      clients.add(ws);
      ws.on("close", () => {
        clients.delete(ws);
        if (this.#shouldEmitClose && clients.size === 0) process.nextTick(() => this.#emitClose());
      });
    }
    cb(ws, req as IncomingMessage);
    if (req instanceof UpgradeRequest) req.compact();
  }

  /** ws: a refused request goes to 'wsClientError' listeners when there are any, else is answered. */
  #clientError(req: Request, socket: Socket, code: number, message: string, headers?: Record<string, string>): void {
    if (this.listenerCount("wsClientError") > 0) {
      dropSharedReads(socket);
      this.emit("wsClientError", new Error(message), socket, req as IncomingMessage);
      return;
    }
    this.#abort(socket, code, message, headers);
  }

  #abort(socket: Socket, code: number, message?: string, headers?: Record<string, string | number>): void {
    dropSharedReads(socket);
    abortHandshake(socket, code, message, headers);
  }
}

function destroyOnError(this: Socket): void {
  this.destroy();
}

/** Node's HTTP server emits 'upgrade' for a request with an Upgrade header and the Connection token "upgrade". */
function isUpgrade(req: UpgradeRequest): boolean {
  const h = req.peekHeaders();
  const connection = h.connection;
  const c = Array.isArray(connection) ? connection.join(",") : connection;
  return h.upgrade !== undefined && c !== undefined && c.split(",").some((t) => t.trim().toLowerCase() === "upgrade");
}

/** ws's answer to a request that is not an upgrade, on a server it created. */
function upgradeRequired(socket: Socket): void {
  dropSharedReads(socket);
  const body = "Upgrade Required";
  socket.once("finish", () => socket.destroy());
  socket.end(`HTTP/1.1 426 Upgrade Required\r\nContent-Length: ${body.length}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${body}`);
}

/** ws's subprotocol.parse(): comma-separated tokens, no duplicates; null when invalid. */
function parseProtocols(header: string): Set<string> | null {
  const out = new Set<string>();
  for (const part of header.split(",")) {
    const p = part.trim();
    if (!isToken(p) || out.has(p)) return null;
    out.add(p);
  }
  return out;
}
