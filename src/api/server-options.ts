/** The options of WebSocketServer, their defaults (SERVER_DEFAULTS) and the types its hooks take. */
import type { Server as HttpServer } from "node:http";
import type { Server as HttpsServer } from "node:https";
import { PROTOCOL_DEFAULTS } from "../protocol/options.js";
import type { PerMessageDeflateOptions } from "../node/deflate-options.js";
import type { MessageRateOptions } from "../node/rate-limit.js";
import type { ServerRequest } from "./server-websocket.js";

export type { MessageRateOptions } from "../node/rate-limit.js";

/** What the authenticate hook decides: accept (optionally with user data) or refuse with a status. */
export type AuthDecision<T> =
  | boolean
  | { accept: true; data?: T }
  | { accept: false; status?: number; reason?: string; headers?: Record<string, string> };

export interface UpgradeInfo {
  /** The upgrade request: an IncomingMessage, or on a standalone server an UpgradeRequest (see ServerRequest). */
  req: ServerRequest;
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
  /** Largest request head of a standalone server (request line, headers, blank line), in bytes; 431 beyond. Default 16 KiB. */
  maxHeaderSize?: number;
  /** Answer pings automatically. Default true. */
  autoPong?: boolean;
  /** Keep accepted connections in `clients`. Default true. */
  clientTracking?: boolean;
  /** Picks a subprotocol from those offered; return false/undefined to select none. Default: none is selected. */
  handleProtocols?: (protocols: string[], req: ServerRequest) => string | false | undefined;
  /** Decides whether to accept an upgrade; may be async. Default: accept all. */
  authenticate?: (info: UpgradeInfo) => AuthDecision<T> | Promise<AuthDecision<T>>;
  /**
   * permessage-deflate (RFC 7692): `true` or options to accept it when a client offers it, `false` to decline.
   * Default enabled, without context takeover in either direction (no zlib memory kept per connection between
   * messages). See docs/api.md "permessage-deflate".
   */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /**
   * Most connections held at once (upgrades being answered and open connections); an upgrade beyond is answered
   * 503. Default Infinity (the process's file descriptor limit is the bound). See SECURITY.md.
   */
  maxConnections?: number;
  /**
   * Most connections held at once from one remote address (IPv6: one /64); an upgrade beyond is answered 429.
   * Default Infinity: behind a reverse proxy every client has the proxy's address.
   */
  maxConnectionsPerIp?: number;
  /**
   * Most TCP connections that have not finished their upgrade (standalone: head still arriving; any mode: waiting
   * for `authenticate`); a new one beyond drops the oldest. Default 1024.
   */
  maxPendingHandshakes?: number;
  /** Most header fields in an upgrade request; 431 beyond. Default 100. */
  maxHeadersCount?: number;
  /**
   * Token bucket per connection; a connection over its rate is closed with 1008 "rate limit". Default: off (no
   * rate limit; see docs/api.md "Limits" for why).
   */
  messageRate?: MessageRateOptions;
}

export const SERVER_DEFAULTS = Object.freeze({
  host: "127.0.0.1",
  maxPayload: PROTOCOL_DEFAULTS.maxPayload,
  handshakeTimeout: 10_000,
  closeTimeout: 10_000,
  maxHeaderSize: 16 * 1024,
  autoPong: PROTOCOL_DEFAULTS.autoPong,
  clientTracking: true,
  maxConnections: Infinity,
  maxConnectionsPerIp: Infinity,
  maxPendingHandshakes: 1024,
  maxHeadersCount: 100,
});

export type Resolved<T> = Required<Pick<WebSocketServerOptions<T>, "maxPayload" | "handshakeTimeout" | "closeTimeout" | "autoPong" | "clientTracking" | "maxConnections" | "maxConnectionsPerIp" | "maxPendingHandshakes" | "maxHeadersCount">> &
  WebSocketServerOptions<T>;

