/**
 * ws 8's option objects (ws.md "new WebSocketServer(options[, callback])", "new WebSocket(address[, protocols][,
 * options])") and their translation into wshub's: defaults are ws's, not wshub's (maxPayload 100 MiB, close
 * timeout 30 s, permessage-deflate off on the server and on for clients, with context takeover).
 */
import type { IncomingMessage, ClientRequest, Agent } from "node:http";
import type { Socket } from "node:net";
import type { ConnectionOptions as TlsOptions } from "node:tls";
import type { Duplex } from "node:stream";
import type { PerMessageDeflateOptions as WshubDeflateOptions } from "../node/deflate-options.js";
import { resolveClientDeflate, resolveServerDeflate } from "../node/deflate-options.js";

/** ws's perMessageDeflate object (both sides). zlibInflateOptions is accepted and ignored (see docs). */
export interface PerMessageDeflateOptions {
  serverNoContextTakeover?: boolean;
  clientNoContextTakeover?: boolean;
  serverMaxWindowBits?: number;
  clientMaxWindowBits?: number | boolean;
  /** zlib options of compression: `level` and `memLevel` are used; the others are ignored. */
  zlibDeflateOptions?: { level?: number; memLevel?: number; [key: string]: unknown };
  zlibInflateOptions?: Record<string, unknown>;
  /** Messages smaller than this are not compressed. Default 1024. */
  threshold?: number;
  /** zlib operations in flight at once. Default 10. */
  concurrencyLimit?: number;
}

/** What the options below share between WebSocketServer and client WebSocket. */
export interface CommonOptions {
  /** Emit several message/ping/pong events in one tick. Default true. */
  allowSynchronousEvents?: boolean;
  /** Answer pings automatically. Default true. */
  autoPong?: boolean;
  /** Milliseconds to wait for the closing handshake before destroying the socket. Default 30000. */
  closeTimeout?: number;
  /** Largest message accepted, in bytes (1009 beyond). Default 100 MiB. */
  maxPayload?: number;
  /** Accepted for compatibility; wshub always validates UTF-8 (see docs/migrating-from-ws.md). */
  skipUTF8Validation?: boolean;
}

export interface VerifyClientInfo {
  origin: string | undefined;
  secure: boolean;
  req: IncomingMessage;
}
export type VerifyClientCallback = (result: boolean, code?: number, message?: string, headers?: Record<string, string | number>) => void;

export interface ServerOptions extends CommonOptions {
  port?: number;
  host?: string;
  backlog?: number;
  server?: import("node:http").Server | import("node:https").Server;
  noServer?: boolean;
  path?: string;
  verifyClient?: ((info: VerifyClientInfo) => boolean) | ((info: VerifyClientInfo, callback: VerifyClientCallback) => void);
  handleProtocols?: (protocols: Set<string>, request: IncomingMessage) => string | false;
  clientTracking?: boolean;
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** ws's WebSocket class option: not supported (connections are always wshub/ws WebSockets). */
  WebSocket?: unknown;
}

export interface ClientOptions extends CommonOptions, TlsOptions {
  headers?: Record<string, string | string[] | number>;
  origin?: string;
  handshakeTimeout?: number;
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  followRedirects?: boolean;
  maxRedirects?: number;
  protocolVersion?: 8 | 13;
  agent?: Agent;
  createConnection?: (options: object, callback?: () => void) => Duplex | Socket;
  finishRequest?: (request: ClientRequest, websocket: unknown) => void;
  family?: number;
  localAddress?: string;
  timeout?: number;
  auth?: string;
  [key: string]: unknown;
}

export const WS_DEFAULTS = Object.freeze({
  allowSynchronousEvents: true,
  autoPong: true,
  closeTimeout: 30_000,
  maxPayload: 100 * 1024 * 1024,
  maxRedirects: 10,
  protocolVersion: 13,
  clientTracking: true,
  /** The standalone server's limits on a request head (Node's http server: 16 KiB, headersTimeout 60 s). */
  maxHeaderSize: 16 * 1024,
  headersTimeout: 60_000,
});

/** ws's perMessageDeflate option as wshub's, with ws's defaults (context takeover allowed both ways). */
function toWshub(o: PerMessageDeflateOptions): WshubDeflateOptions {
  return {
    serverNoContextTakeover: o.serverNoContextTakeover ?? false,
    clientNoContextTakeover: o.clientNoContextTakeover ?? false,
    serverMaxWindowBits: typeof o.serverMaxWindowBits === "number" ? o.serverMaxWindowBits : undefined,
    clientMaxWindowBits: o.clientMaxWindowBits,
    threshold: o.threshold,
    level: o.zlibDeflateOptions?.level,
    memLevel: o.zlibDeflateOptions?.memLevel,
    concurrencyLimit: o.concurrencyLimit,
  };
}

/** Server side: ws's default is off. */
export function serverDeflate(opt: boolean | PerMessageDeflateOptions | undefined) {
  if (opt === undefined || opt === false) return null;
  return resolveServerDeflate(toWshub(opt === true ? {} : opt), true);
}

/** Client side: ws's default is on, offering client_max_window_bits. */
export function clientDeflate(opt: boolean | PerMessageDeflateOptions | undefined) {
  if (opt === false) return null;
  const o = opt === true || opt === undefined ? {} : opt;
  return resolveClientDeflate({ ...toWshub(o), serverNoContextTakeover: o.serverNoContextTakeover, clientNoContextTakeover: o.clientNoContextTakeover }, true);
}
