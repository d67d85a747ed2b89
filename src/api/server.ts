/**
 * WebSocketServer: standalone on a port, attached to an existing http/https server at a path,
 * or driven by a framework through handleUpgrade(req, socket, head).
 * The standalone server reads request heads itself on node:net (node/upgrade-listener.ts); the other two
 * modes take Node's IncomingMessage. Both go through the same checks, hooks and transport.
 */
import { EventEmitter } from "node:events";
import type { IncomingMessage, Server as HttpServer } from "node:http";
import type { Server as HttpsServer } from "node:https";
import type { Socket, AddressInfo, Server as NetServer } from "node:net";
import type { Duplex } from "node:stream";
import { Server as TlsServer } from "node:tls";
import { upgradeResponseText, validateUpgradeRequest, type ValidatedUpgrade } from "../protocol/handshake.js";
import type { HeaderMap } from "../protocol/http-head.js";
import { HandshakeError } from "../protocol/errors.js";
import { CloseCode } from "../protocol/constants.js";
import { SocketTransport, type TransportOptions } from "../node/socket-transport.js";
import { negotiateServer } from "../protocol/extensions/permessage-deflate.js";
import { PerMessageDeflate } from "../node/deflate.js";
import { resolveServerDeflate } from "../node/deflate-options.js";
import { UpgradeListener, UpgradeRequest, ignoreError, refuseUpgrade } from "../node/upgrade-listener.js";
import { dropSharedReads, readsIntoSharedBuffer } from "../node/shared-read.js";
import { traceUpgrade, tracing } from "../node/diagnostics.js";
import { ServerWebSocket, reportToStderr, type ServerRequest } from "./server-websocket.js";
import { checkServerOptions } from "./option-checks.js";
import { claimed, markUpgradeListener, refusalOf, unclaimedUpgrade } from "./upgrade-hooks.js";
import { checkCloseOptions } from "../protocol/close.js";
import { tooManyHeaders } from "../protocol/http-head.js";
import { LimitCounters } from "../node/limit-counters.js";
import { resolveRateLimit } from "../node/rate-limit.js";
import { Admission } from "./admission.js";
import { SERVER_DEFAULTS, type AuthDecision, type Resolved, type UpgradeInfo, type WebSocketServerOptions } from "./server-options.js";

export type { ServerRequest } from "./server-websocket.js";
export { SERVER_DEFAULTS, type AuthDecision, type UpgradeInfo, type WebSocketServerOptions, type MessageRateOptions } from "./server-options.js";

/** What `wss.stats()` returns. */
export interface ServerStats {
  /** Connections held: upgrades being answered and open connections (what maxConnections bounds). */
  connections: number;
  /** TCP connections that have not finished their upgrade (what maxPendingHandshakes bounds). */
  pendingHandshakes: number;
  /** Refused upgrades by error code, e.g. { WS_ERR_TOO_MANY_CONNECTIONS: 3, WS_ERR_HANDSHAKE_TIMEOUT: 1 }. */
  refused: Record<string, number>;
  /** Pending handshakes dropped to make room for new ones (maxPendingHandshakes). */
  droppedPendingHandshakes: number;
  /** Connections closed with 1008 "rate limit" (messageRate). */
  rateLimited: number;
}

export interface WebSocketServerEvents<T> {
  connection: [ws: ServerWebSocket<T>, req: ServerRequest];
  listening: [];
  error: [err: Error];
  close: [];
  /** An upgrade was refused (bad request, auth, timeout): the error carries the HTTP status. */
  upgradeError: [err: HandshakeError, req: ServerRequest];
}

export class WebSocketServer<T = unknown> extends EventEmitter<WebSocketServerEvents<T>> {
  readonly options: Resolved<T>;
  /** Every open connection (when clientTracking is on). */
  readonly clients = new Set<ServerWebSocket<T>>();
  #server: HttpServer | HttpsServer | NetServer | null = null;
  /** The standalone server's own listener (node:net), or null. */
  #listener: UpgradeListener | null = null;
  #closing = false;
  #pending = new Set<Socket>();
  #deflate: ReturnType<typeof resolveServerDeflate> = null;
  #transportOptions: TransportOptions | null = null;
  #lastUrl: { scheme: string; host: string; path: string; url: string } | null = null;
  /** Subprotocols selected whenever a client offers them (acceptProtocol()). */
  #acceptedProtocols: string[] = [];
  /** Counters of every limit (see stats()). */
  readonly #counters = new LimitCounters();
  #admission: Admission;
  #onUpgrade = markUpgradeListener((req: IncomingMessage, socket: Socket, head: Buffer) => this.#routeUpgrade(req, socket, head));
  /**
   * Reports an exception of application code (authenticate, handleProtocols, a listener or handler of a
   * connection, a `connection` listener): to the `error` event when it has a listener, else to stderr. Never thrown.
   */
  #report = (err: unknown): void => {
    if (this.listenerCount("error") > 0) {
      try {
        this.emit("error", err instanceof Error ? err : new Error(String(err)));
        return;
      } catch (e) {
        err = e;
      }
    }
    reportToStderr(err);
  };

  constructor(options: WebSocketServerOptions<T> = {}, callback?: () => void) {
    super({ captureRejections: true });
    checkServerOptions(options);
    this.options = {
      ...options,
      maxPayload: options.maxPayload ?? SERVER_DEFAULTS.maxPayload,
      handshakeTimeout: options.handshakeTimeout ?? SERVER_DEFAULTS.handshakeTimeout,
      closeTimeout: options.closeTimeout ?? SERVER_DEFAULTS.closeTimeout,
      autoPong: options.autoPong ?? SERVER_DEFAULTS.autoPong,
      clientTracking: options.clientTracking ?? SERVER_DEFAULTS.clientTracking,
      maxConnections: options.maxConnections ?? SERVER_DEFAULTS.maxConnections,
      maxConnectionsPerIp: options.maxConnectionsPerIp ?? SERVER_DEFAULTS.maxConnectionsPerIp,
      maxPendingHandshakes: options.maxPendingHandshakes ?? SERVER_DEFAULTS.maxPendingHandshakes,
      maxHeadersCount: options.maxHeadersCount ?? SERVER_DEFAULTS.maxHeadersCount,
    };
    this.#admission = new Admission(this.options.maxConnections, this.options.maxConnectionsPerIp);
    this.#deflate = resolveServerDeflate(options.perMessageDeflate, true);
    const modes = Number(options.port !== undefined) + Number(options.server !== undefined) + Number(options.noServer === true);
    if (modes !== 1) throw new TypeError("exactly one of the options port, server and noServer must be given");
    if (options.port !== undefined) {
      const listener = new UpgradeListener(
        {
          maxHeaderSize: options.maxHeaderSize ?? SERVER_DEFAULTS.maxHeaderSize,
          handshakeTimeout: this.options.handshakeTimeout,
          maxHeadersCount: this.options.maxHeadersCount,
          maxPendingHandshakes: this.options.maxPendingHandshakes,
          counters: this.#counters,
        },
        (req, socket, head) => this.#routeUpgrade(req, socket, head),
      );
      const server = listener.server;
      this.#listener = listener;
      this.#server = server;
      server.on("listening", () => this.emit("listening"));
      server.on("error", (err) => this.emit("error", err));
      if (callback) this.once("listening", callback);
      server.listen(options.port, options.host ?? SERVER_DEFAULTS.host, options.backlog ?? 511);
    } else if (options.server !== undefined) {
      this.#server = options.server;
      options.server.on("upgrade", this.#onUpgrade);
    }
  }

  /** @internal A `connection` (or other) listener's returned promise rejected (captureRejections): reported. */
  override [EventEmitter.captureRejectionSymbol](err: unknown, event: unknown, ..._args: unknown[]): void {
    if (event === "error") reportToStderr(err);
    else this.#report(err);
  }

  /** The bound address of a standalone or attached server, or null. */
  address(): AddressInfo | string | null {
    return this.#server?.address() ?? null;
  }

  /**
   * What the limits have done so far: connections held (upgrading or open), handshakes pending, upgrades refused
   * by error code (every refusal: limits, bad requests, timeouts, authentication), pending handshakes dropped
   * (maxPendingHandshakes) and connections closed for their rate (messageRate). A new object on each call.
   */
  stats(): ServerStats {
    const c = this.#counters;
    return {
      connections: this.#admission.count,
      pendingHandshakes: (this.#listener?.pending ?? 0) + this.#pending.size,
      refused: { ...c.refused },
      droppedPendingHandshakes: c.droppedPendingHandshakes,
      rateLimited: c.rateLimited,
    };
  }

  /** The URL clients can dial (standalone or attached servers that listen on TCP). */
  get url(): string {
    const a = this.address();
    if (a === null || typeof a === "string") return "";
    const host = a.family === "IPv6" ? `[${a.address}]` : a.address;
    // An https server (a tls.Server) serves wss:.
    const scheme = this.#server instanceof TlsServer ? "wss" : "ws";
    return `${scheme}://${host}:${a.port}${this.options.path ?? "/"}`;
  }

  /**
   * Selects the subprotocol `name` whenever a client offers it, before options.handleProtocols is asked (a
   * SessionManager uses it for `wshub.resume.v1`). Returns this.
   */
  acceptProtocol(name: string): this {
    if (!this.#acceptedProtocols.includes(name)) this.#acceptedProtocols.push(name);
    return this;
  }

  /** Whether a request is for this server (by path). */
  shouldHandle(req: ServerRequest): boolean {
    if (this.options.path === undefined) return true;
    const q = req.url?.indexOf("?") ?? -1;
    const pathname = q === -1 ? req.url : req.url!.slice(0, q);
    return pathname === this.options.path;
  }

  #routeUpgrade(req: ServerRequest, socket: Socket, head: Buffer): void {
    try {
      this.#route(req, socket, head);
    } catch (err) {
      this.#internalError(socket as Socket, req, err);
    }
  }

  /**
   * Anything unexpected while answering an upgrade (a bug, or application code that threw): reported, and the
   * handshake answered 500 with a generic reason (never the exception's text), or the socket destroyed if the
   * 101 was already sent.
   */
  #internalError(socket: Socket, req: ServerRequest, err: unknown): void {
    this.#report(err);
    try {
      this.#refuse(socket, req, new HandshakeError("internal server error", 500, "WS_ERR_INTERNAL"));
    } catch {
      socket.destroy();
    }
  }

  #route(req: ServerRequest, socket: Socket, head: Buffer): void {
    if (!this.shouldHandle(req)) {
      // Another listener on a shared http server may own this path: once they all have run (next tick), the
      // upgrade is answered 404 if no WebSocketServer took it and every listener is one (unclaimedUpgrade).
      if (this.#listener === null && this.#server !== null && this.#server.listenerCount("upgrade") > 1) {
        process.nextTick(unclaimedUpgrade, this.#server, socket, () => this.#notFound(req, socket));
        return;
      }
      this.#notFound(req, socket);
      return;
    }
    this.#upgrade(req, socket, head, null);
  }

  /** No endpoint at this path: 404 (RFC 6455 §4.2.1: a server that does not handle the request answers an HTTP error). */
  #notFound(req: ServerRequest, socket: Socket): void {
    claimed.add(socket);
    socket.on("error", noop);
    this.#refuse(socket, req, new HandshakeError("no WebSocket endpoint at this path", 404, "WS_ERR_NOT_FOUND"));
  }

  #refuse(socket: Socket, req: ServerRequest, err: HandshakeError): void {
    this.#pending.delete(socket);
    this.#admission.release(socket);
    this.#counters.refusal(err.code);
    dropSharedReads(socket);
    refuseUpgrade(socket, err);
    if (this.listenerCount("upgradeError") > 0) this.emit("upgradeError", err, req);
  }

  /**
   * Completes (or refuses) the opening handshake for an upgrade request. On success calls `callback`
   * with the open connection; the socket is answered and closed otherwise.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, callback: (ws: ServerWebSocket<T>, req: IncomingMessage) => void): void {
    try {
      this.#upgrade(req, socket as Socket, head, callback as (ws: ServerWebSocket<T>, req: ServerRequest) => void);
    } catch (err) {
      this.#internalError(socket as Socket, req, err);
    }
  }

  /** The opening handshake for either kind of request; `callback` null emits 'connection'. */
  #upgrade(req: ServerRequest, socket: Socket, head: Buffer, callback: ((ws: ServerWebSocket<T>, req: ServerRequest) => void) | null): void {
    claimed.add(socket);
    // Errors are ignored until the connection's transport listens (a standalone server's socket already does).
    if (!(req instanceof UpgradeRequest)) socket.on("error", ignoreError);
    if (this.#closing) {
      this.#refuse(socket, req, new HandshakeError("server is shutting down", 503, "WS_ERR_SHUTTING_DOWN"));
      return;
    }
    // Node's http server drops the header fields past its own maxHeadersCount (2000); ours refuses past this one.
    if (!(req instanceof UpgradeRequest) && req.rawHeaders.length > 2 * this.options.maxHeadersCount) {
      this.#refuse(socket, req, tooManyHeaders(this.options.maxHeadersCount));
      return;
    }
    const refusal = this.#admission.admit(socket);
    if (refusal !== null) {
      this.#refuse(socket, req, refusal);
      return;
    }
    const headers = headersOf(req);
    let validated: ValidatedUpgrade;
    try {
      validated = validateUpgradeRequest({ method: req.method ?? "", httpVersion: req.httpVersion, headers });
    } catch (err) {
      this.#refuse(socket, req, err instanceof HandshakeError ? err : new HandshakeError(String(err), 400, "WS_ERR_BAD_REQUEST"));
      return;
    }
    const auth = this.options.authenticate;
    if (auth === undefined) {
      this.#complete(req, socket, head, validated, undefined as T, callback);
      return;
    }
    // Asynchronous authentication, bounded by the handshake timeout and by maxPendingHandshakes (the oldest goes).
    if (this.#pending.size >= this.options.maxPendingHandshakes) this.#dropOldestPending();
    this.#pending.add(socket);
    const timer = setTimeout(() => {
      // Not when it was dropped meanwhile (maxPendingHandshakes): it is gone, and counted already.
      if (this.#pending.has(socket)) this.#refuse(socket, req, new HandshakeError("authentication timed out", 408, "WS_ERR_HANDSHAKE_TIMEOUT"));
    }, this.options.handshakeTimeout);
    timer.unref();
    let url: URL;
    try {
      url = new URL(req.url ?? "/", `http://${headers.host ?? "localhost"}`);
    } catch {
      url = new URL("http://localhost/");
    }
    const secure = isSecure(socket);
    Promise.resolve()
      .then(() => auth({ req, origin: validated.origin, url, secure, protocols: validated.protocols }))
      .then(
        (decision) => {
          clearTimeout(timer);
          if (!this.#pending.has(socket)) return;
          this.#pending.delete(socket);
          try {
            if (decision === true) this.#complete(req, socket, head, validated, undefined as T, callback);
            else if (decision === false || decision === undefined || decision === null) {
              this.#refuse(socket, req, new HandshakeError("connection refused", 403, "WS_ERR_REFUSED"));
            } else if (typeof decision === "object" && decision.accept === true) this.#complete(req, socket, head, validated, decision.data as T, callback);
            else this.#refuse(socket, req, refusalOf(decision));
          } catch (err) {
            this.#internalError(socket, req, err);
          }
        },
        (err: unknown) => {
          clearTimeout(timer);
          if (!this.#pending.has(socket)) return;
          // The exception's text is not sent: it may hold anything (a secret, a stack).
          this.#report(err);
          this.#refuse(socket, req, new HandshakeError("authentication failed", 500, "WS_ERR_AUTH_FAILED"));
        },
      );
  }

  /** Drops the oldest upgrade waiting for `authenticate` (a Set iterates in insertion order). */
  #dropOldestPending(): void {
    const oldest = this.#pending.values().next().value as Socket;
    this.#pending.delete(oldest);
    this.#admission.release(oldest);
    this.#counters.droppedPendingHandshakes++;
    dropSharedReads(oldest);
    oldest.destroy();
  }

  /** Answers 101, opens the connection and hands it over (no closure is kept per connection). */
  #complete(
    req: ServerRequest,
    socket: Socket,
    head: Buffer,
    validated: ValidatedUpgrade,
    data: T,
    callback: ((ws: ServerWebSocket<T>, req: ServerRequest) => void) | null,
  ): void {
    if (socket.destroyed || !socket.writable) {
      socket.destroy();
      return;
    }
    let protocol = "";
    const protocolPick = this.options.handleProtocols;
    const accepted = this.#acceptedProtocols.length > 0 ? validated.protocols.find((p) => this.#acceptedProtocols.includes(p)) : undefined;
    if (accepted !== undefined) protocol = accepted;
    else if (protocolPick !== undefined && validated.protocols.length > 0) {
      let p: unknown;
      try {
        p = protocolPick(validated.protocols, req);
      } catch (err) {
        this.#internalError(socket, req, err);
        return;
      }
      if (typeof p === "string" && p !== "") {
        if (!validated.protocols.includes(p)) {
          this.#internalError(socket, req, new Error(`handleProtocols selected the subprotocol ${JSON.stringify(p)}, which the client did not offer`));
          return;
        }
        protocol = p;
      }
    }
    // RFC 7692 §5.1: accept the first acceptable permessage-deflate offer, if any.
    const deflate = this.#deflate;
    const agreement = deflate !== null ? negotiateServer(validated.extensions, deflate.policy) : null;
    const extensions = agreement !== null ? agreement.response : "";
    // RFC 6455 §4.2.2 step 5: the 101 response, in one write.
    const response = upgradeResponseText(validated.key, protocol, extensions);
    if (tracing()) traceUpgrade(socket, req, validated.key, response, protocol, extensions);
    socket.write(response, "latin1");
    const ws = new ServerWebSocket<T>(req, this.#urlOf(req, socket), data, this.#report);
    socket.removeListener("error", ignoreError);
    // The bytes that followed the request head come first. On a paused socket (an http server's 'upgrade', or a
    // standalone server's after asynchronous authentication) bytes that arrived since wait in its buffer: the head
    // goes back in front of them, and the transport's 'data' listener reads both in order.
    // (A standalone server's socket that reads into the shared buffer holds them itself: see node/shared-read.ts.)
    if (head.length > 0 && socket.readableFlowing !== true && !readsIntoSharedBuffer(socket)) {
      socket.unshift(head);
      head = NO_HEAD;
    }
    const transport = new SocketTransport(
      socket,
      ws,
      agreement !== null
        ? { ...this.#plainTransport(), deflate: new PerMessageDeflate(agreement.params, true, deflate!.codec, this.options.maxPayload) }
        : this.#plainTransport(),
      head,
    );
    ws.open(transport, protocol, extensions);
    if (this.options.clientTracking) ws.track(this.clients);
    // Application code: what it throws is reported; the connection stays (it is open, and may be used already).
    try {
      if (callback === null) this.emit("connection", ws, req);
      else callback(ws, req);
    } catch (err) {
      this.#report(err);
    }
    if (req instanceof UpgradeRequest) req.compact();
  }

  /** The transport options of a connection without permessage-deflate: one object, shared (read at construction). */
  #plainTransport(): TransportOptions {
    return (this.#transportOptions ??= Object.freeze({
      isServer: true,
      maxPayload: this.options.maxPayload,
      autoPong: this.options.autoPong,
      closeTimeout: this.options.closeTimeout,
      deflate: null,
      rateLimit: this.#rateLimit(),
    }));
  }

  #rateLimit(): ReturnType<typeof resolveRateLimit> {
    return resolveRateLimit(this.options.messageRate, this.#counters);
  }

  /**
   * The url of a connection: ws[s]://host/path from its request. Consecutive connections usually have the same
   * one; they then share the same string (kept by every connection) rather than each building its own.
   */
  #urlOf(req: ServerRequest, socket: Socket): string {
    const scheme = isSecure(socket) ? "wss://" : "ws://";
    const h = headersOf(req).host;
    const host = h === undefined ? "localhost" : typeof h === "string" ? h : `${h}`;
    const path = req.url ?? "/";
    const last = this.#lastUrl;
    if (last !== null && last.scheme === scheme && last.host === host && last.path === path) return last.url;
    const url = `${scheme}${host}${path}`;
    this.#lastUrl = { scheme, host, path, url };
    return url;
  }

  /**
   * Graceful shutdown: stop accepting, send Going Away (1001) to every client, wait for their closes up to
   * closeTimeout, destroy the rest, close a server this instance created. Resolves when all sockets are gone.
   */
  async close(options: { code?: number; reason?: string; timeout?: number } = {}): Promise<void> {
    checkCloseOptions(options, "wss.close");
    if (this.#closing) return;
    this.#closing = true;
    const server = this.#server;
    if (server !== null && this.#listener === null) server.off("upgrade", this.#onUpgrade);
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
    const listener = this.#listener;
    if (listener !== null) await new Promise<void>((resolve) => listener.close(() => resolve()));
    this.emit("close");
  }
}

function noop(): void {}



const NO_HEAD = Buffer.alloc(0);

function headersOf(req: ServerRequest): HeaderMap {
  return req instanceof UpgradeRequest ? req.peekHeaders() : req.headers;
}

function isSecure(socket: Socket): boolean {
  return (socket as Socket & { encrypted?: boolean }).encrypted === true;
}
