/**
 * WebSocketServer: standalone on a port, attached to an existing http/https server at a path,
 * or driven by a framework through handleUpgrade(req, socket, head).
 */
import { EventEmitter } from "node:events";
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import type { Server as HttpsServer } from "node:https";
import type { Socket, AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { buildErrorResponse, buildUpgradeResponse, validateUpgradeRequest } from "../protocol/handshake.js";
import { HandshakeError } from "../protocol/errors.js";
import { CloseCode } from "../protocol/constants.js";
import { SocketTransport } from "../node/socket-transport.js";
import { negotiateServer } from "../protocol/extensions/permessage-deflate.js";
import { PerMessageDeflate, resolveServerDeflate, type PerMessageDeflateOptions } from "../node/deflate.js";
import { ServerWebSocket } from "./server-websocket.js";

/** What the authenticate hook decides: accept (optionally with user data) or refuse with a status. */
export type AuthDecision<T> =
  | boolean
  | { accept: true; data?: T }
  | { accept: false; status?: number; reason?: string; headers?: Record<string, string> };

export interface UpgradeInfo {
  req: IncomingMessage;
  /** The Origin header, if any. */
  origin: string | undefined;
  /** The request URL (path and query). */
  url: URL;
  /** Whether the connection is TLS. */
  secure: boolean;
  /** Subprotocols offered by the client. */
  protocols: string[];
}

export interface WebSocketServerOptions<T = unknown> {
  /** Port for a standalone server (0 picks a free port). Exclusive with `server` and `noServer`. */
  port?: number;
  /** Host for a standalone server. Default "127.0.0.1" (loopback only; set "0.0.0.0" or "::" to expose). */
  host?: string;
  /** Listen backlog for a standalone server. Default 511. */
  backlog?: number;
  /** An existing http/https server to attach to. */
  server?: HttpServer | HttpsServer;
  /** Only handle upgrades at this pathname. Default: every path. */
  path?: string;
  /** Create no HTTP server; the caller routes upgrades through handleUpgrade(). */
  noServer?: boolean;
  /** Largest message accepted, in bytes; beyond it the connection fails with 1009. Default 16 MiB. */
  maxPayload?: number;
  /** Milliseconds for a client to send its upgrade request and pass authentication. Default 10000. */
  handshakeTimeout?: number;
  /** Milliseconds to wait for the peer during the closing handshake before destroying the socket. Default 10000. */
  closeTimeout?: number;
  /** Largest request head (standalone server only; Node's maxHeaderSize), in bytes; 431 beyond. Default 16 KiB. */
  maxHeaderSize?: number;
  /** Answer pings automatically. Default true. */
  autoPong?: boolean;
  /** Keep accepted connections in `clients`. Default true. */
  clientTracking?: boolean;
  /** Picks a subprotocol from those offered; return false/undefined to select none. Default: none is selected. */
  handleProtocols?: (protocols: string[], req: IncomingMessage) => string | false | undefined;
  /** Decides whether to accept an upgrade; may be async. Default: accept all. */
  authenticate?: (info: UpgradeInfo) => AuthDecision<T> | Promise<AuthDecision<T>>;
  /**
   * permessage-deflate (RFC 7692): `true` or options to accept it when a client offers it, `false` to decline.
   * Default enabled, without context takeover in either direction (no zlib memory kept per connection between
   * messages). See docs/api.md "permessage-deflate".
   */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
}

export const SERVER_DEFAULTS = Object.freeze({
  host: "127.0.0.1",
  maxPayload: 16 * 1024 * 1024,
  handshakeTimeout: 10_000,
  closeTimeout: 10_000,
  maxHeaderSize: 16 * 1024,
  autoPong: true,
  clientTracking: true,
});

type Resolved<T> = Required<Pick<WebSocketServerOptions<T>, "maxPayload" | "handshakeTimeout" | "closeTimeout" | "autoPong" | "clientTracking">> &
  WebSocketServerOptions<T>;

export interface WebSocketServerEvents<T> {
  connection: [ws: ServerWebSocket<T>, req: IncomingMessage];
  listening: [];
  error: [err: Error];
  close: [];
  /** An upgrade was refused (bad request, auth, timeout): the error carries the HTTP status. */
  upgradeError: [err: HandshakeError, req: IncomingMessage];
}

export class WebSocketServer<T = unknown> extends EventEmitter {
  readonly options: Resolved<T>;
  /** Every open connection (when clientTracking is on). */
  readonly clients = new Set<ServerWebSocket<T>>();
  #server: HttpServer | HttpsServer | null = null;
  #ownsServer = false;
  #closing = false;
  #pending = new Set<Socket>();
  #deflate: ReturnType<typeof resolveServerDeflate> = null;
  #onUpgrade = (req: IncomingMessage, socket: Socket, head: Buffer) => this.#routeUpgrade(req, socket, head);

  constructor(options: WebSocketServerOptions<T> = {}, callback?: () => void) {
    super();
    this.options = {
      ...options,
      maxPayload: options.maxPayload ?? SERVER_DEFAULTS.maxPayload,
      handshakeTimeout: options.handshakeTimeout ?? SERVER_DEFAULTS.handshakeTimeout,
      closeTimeout: options.closeTimeout ?? SERVER_DEFAULTS.closeTimeout,
      autoPong: options.autoPong ?? SERVER_DEFAULTS.autoPong,
      clientTracking: options.clientTracking ?? SERVER_DEFAULTS.clientTracking,
    };
    this.#deflate = resolveServerDeflate(options.perMessageDeflate, true);
    const modes = Number(options.port !== undefined) + Number(options.server !== undefined) + Number(options.noServer === true);
    if (modes !== 1) throw new TypeError("exactly one of the options port, server and noServer must be given");
    if (options.port !== undefined) {
      const server = createServer(
        {
          maxHeaderSize: options.maxHeaderSize ?? SERVER_DEFAULTS.maxHeaderSize,
          // Node checks request timeouts on this period (30 s by default): keep it well under handshakeTimeout.
          connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(this.options.handshakeTimeout / 4))),
        },
        (req, res) => this.#plainRequest(req, res),
      );
      server.headersTimeout = this.options.handshakeTimeout;
      server.requestTimeout = this.options.handshakeTimeout;
      server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => this.#clientError(err, socket));
      this.#server = server;
      this.#ownsServer = true;
      server.on("listening", () => this.emit("listening"));
      server.on("error", (err) => this.emit("error", err));
      server.on("upgrade", this.#onUpgrade);
      if (callback) this.once("listening", callback);
      server.listen(options.port, options.host ?? SERVER_DEFAULTS.host, options.backlog ?? 511);
    } else if (options.server !== undefined) {
      this.#server = options.server;
      options.server.on("upgrade", this.#onUpgrade);
    }
  }

  /** The bound address of a standalone or attached server, or null. */
  address(): AddressInfo | string | null {
    return this.#server?.address() ?? null;
  }

  /** The URL clients can dial (standalone or attached servers that listen on TCP). */
  get url(): string {
    const a = this.address();
    if (a === null || typeof a === "string") return "";
    const host = a.family === "IPv6" ? `[${a.address}]` : a.address;
    return `ws://${host}:${a.port}${this.options.path ?? "/"}`;
  }

  /** Whether a request is for this server (by path). */
  shouldHandle(req: IncomingMessage): boolean {
    if (this.options.path === undefined) return true;
    const q = req.url?.indexOf("?") ?? -1;
    const pathname = q === -1 ? req.url : req.url!.slice(0, q);
    return pathname === this.options.path;
  }

  #routeUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    if (!this.shouldHandle(req)) {
      // Another listener on a shared http server may own this path; answer only when there is none.
      if (this.#server !== null && this.#server.listenerCount("upgrade") > 1) return;
      this.#refuse(socket, req, new HandshakeError(`no WebSocket endpoint at ${req.url}`, 404, "WS_ERR_NOT_FOUND"));
      return;
    }
    this.handleUpgrade(req, socket, head, (ws) => this.emit("connection", ws, req));
  }

  #plainRequest(req: IncomingMessage, res: ServerResponse): void {
    // A request without an upgrade is still checked, so the answer says what is missing.
    let err: HandshakeError;
    try {
      validateUpgradeRequest({ method: req.method ?? "", httpVersion: req.httpVersion, headers: req.headers });
      err = new HandshakeError("Upgrade header must contain the token 'websocket'", 400, "WS_ERR_INVALID_UPGRADE_HEADER");
    } catch (e) {
      err = e as HandshakeError;
    }
    const body = err.message + "\n";
    res.writeHead(err.status, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": Buffer.byteLength(body), Connection: "close", ...err.headers });
    res.end(body);
    this.emit("upgradeError", err, req);
  }

  /** A request head Node's parser refused (too large, malformed, too slow): answer with its status and a reason. */
  #clientError(err: NodeJS.ErrnoException, socket: Socket): void {
    let status = 400;
    let reason = `malformed HTTP request: ${err.message}`;
    if (err.code === "HPE_HEADER_OVERFLOW") {
      status = 431;
      reason = `request head larger than ${this.options.maxHeaderSize ?? SERVER_DEFAULTS.maxHeaderSize} bytes`;
    } else if (err.code === "ERR_HTTP_REQUEST_TIMEOUT") {
      status = 408;
      reason = `request head not received within ${this.options.handshakeTimeout} ms`;
    }
    if (socket.writable && !socket.destroyed && (socket as Socket & { _httpMessage?: unknown })._httpMessage == null) {
      socket.end(buildErrorResponse(status, reason));
      setTimeout(() => socket.destroy(), 1000).unref();
    } else {
      socket.destroy();
    }
  }

  #refuse(socket: Socket, req: IncomingMessage, err: HandshakeError): void {
    this.#pending.delete(socket);
    if (socket.writable && !socket.destroyed) {
      socket.end(buildErrorResponse(err.status, err.message, err.headers));
      setTimeout(() => socket.destroy(), 1000).unref();
    } else {
      socket.destroy();
    }
    if (this.listenerCount("upgradeError") > 0) this.emit("upgradeError", err, req);
  }

  /**
   * Completes (or refuses) the opening handshake for an upgrade request. On success calls `callback`
   * with the open connection; the socket is answered and closed otherwise.
   */
  handleUpgrade(req: IncomingMessage, socket: Socket, head: Buffer, callback: (ws: ServerWebSocket<T>, req: IncomingMessage) => void): void {
    socket.on("error", noop);
    if (this.#closing) {
      this.#refuse(socket, req, new HandshakeError("server is shutting down", 503, "WS_ERR_SHUTTING_DOWN"));
      return;
    }
    let validated;
    try {
      validated = validateUpgradeRequest({ method: req.method ?? "", httpVersion: req.httpVersion, headers: req.headers });
    } catch (err) {
      this.#refuse(socket, req, err instanceof HandshakeError ? err : new HandshakeError(String(err), 400, "WS_ERR_BAD_REQUEST"));
      return;
    }
    const secure = (socket as Socket & { encrypted?: boolean }).encrypted === true;
    const auth = this.options.authenticate;
    const protocolPick = this.options.handleProtocols;
    const complete = (data: T) => {
      this.#pending.delete(socket);
      if (socket.destroyed || !socket.writable) {
        socket.destroy();
        return;
      }
      let protocol = "";
      if (protocolPick !== undefined && validated.protocols.length > 0) {
        const p = protocolPick(validated.protocols, req);
        if (typeof p === "string" && p !== "") {
          if (!validated.protocols.includes(p)) {
            this.#refuse(socket, req, new HandshakeError(`selected subprotocol ${p} was not offered`, 500, "WS_ERR_INVALID_PROTOCOL"));
            return;
          }
          protocol = p;
        }
      }
      // RFC 7692 §5.1: accept the first acceptable permessage-deflate offer, if any.
      const deflate = this.#deflate;
      const agreement = deflate !== null ? negotiateServer(validated.extensions, deflate.policy) : null;
      const extensions = agreement !== null ? agreement.response : "";
      const response = buildUpgradeResponse({ key: validated.key, protocol, extensions });
      socket.write(response);
      const host = req.headers.host ?? "localhost";
      const ws = new ServerWebSocket<T>(randomUUID(), req, `${secure ? "wss" : "ws"}://${host}${req.url ?? "/"}`, data);
      socket.removeListener("error", noop);
      const transport = new SocketTransport(
        socket,
        ws,
        {
          isServer: true,
          maxPayload: this.options.maxPayload,
          autoPong: this.options.autoPong,
          closeTimeout: this.options.closeTimeout,
          deflate: agreement !== null ? new PerMessageDeflate(agreement.params, true, deflate!.codec, this.options.maxPayload) : null,
        },
        head,
      );
      ws.open(transport, protocol, extensions);
      if (this.options.clientTracking) {
        this.clients.add(ws);
        ws.addEventListener("close", () => this.clients.delete(ws));
      }
      callback(ws, req);
    };
    if (auth === undefined) {
      complete(undefined as T);
      return;
    }
    // Asynchronous authentication, bounded by the handshake timeout.
    this.#pending.add(socket);
    const timer = setTimeout(() => {
      this.#refuse(socket, req, new HandshakeError("authentication timed out", 408, "WS_ERR_HANDSHAKE_TIMEOUT"));
    }, this.options.handshakeTimeout);
    timer.unref();
    let url: URL;
    try {
      url = new URL(req.url ?? "/", `http://${req.headers.host ?? "localhost"}`);
    } catch {
      url = new URL("http://localhost/");
    }
    Promise.resolve()
      .then(() => auth({ req, origin: req.headers.origin, url, secure, protocols: validated.protocols }))
      .then(
        (decision) => {
          clearTimeout(timer);
          if (!this.#pending.has(socket)) return;
          if (decision === true) complete(undefined as T);
          else if (decision === false || decision === undefined || decision === null) {
            this.#refuse(socket, req, new HandshakeError("connection refused", 403, "WS_ERR_REFUSED"));
          } else if (decision.accept) complete(decision.data as T);
          else {
            this.#refuse(socket, req, new HandshakeError(decision.reason ?? "connection refused", decision.status ?? 403, "WS_ERR_REFUSED", decision.headers));
          }
        },
        (err: unknown) => {
          clearTimeout(timer);
          if (!this.#pending.has(socket)) return;
          this.#refuse(socket, req, new HandshakeError(`authentication failed: ${(err as Error)?.message ?? err}`, 500, "WS_ERR_AUTH_FAILED"));
        },
      );
  }

  /**
   * Graceful shutdown: stop accepting, send Going Away (1001) to every client, wait for their closes up to
   * closeTimeout, destroy the rest, close a server this instance created. Resolves when all sockets are gone.
   */
  async close(options: { code?: number; reason?: string; timeout?: number } = {}): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    const server = this.#server;
    if (server !== null) server.off("upgrade", this.#onUpgrade);
    for (const s of this.#pending) s.destroy();
    this.#pending.clear();
    const timeout = options.timeout ?? this.options.closeTimeout;
    const waits: Promise<void>[] = [];
    for (const ws of this.clients) {
      if (ws.readyState === 3) continue;
      waits.push(new Promise<void>((resolve) => ws.addEventListener("close", () => resolve(), { once: true })));
      ws.closeInternal(options.code ?? CloseCode.GoingAway, Buffer.from(options.reason ?? ""));
    }
    if (waits.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(waits),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, timeout);
        }),
      ]);
      clearTimeout(timer);
      const left = [...this.clients].filter((ws) => ws.readyState !== 3);
      for (const ws of left) ws.terminate();
      if (left.length > 0) await Promise.all(left.map((ws) => new Promise<void>((r) => (ws.readyState === 3 ? r() : ws.addEventListener("close", () => r(), { once: true })))));
    }
    if (this.#ownsServer && server !== null) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as HttpServer).closeAllConnections?.();
      });
    }
    this.emit("close");
  }
}

function noop(): void {}
