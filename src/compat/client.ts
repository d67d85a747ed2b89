/**
 * The client side of ws's WebSocket (ws.md "new WebSocket(address[, protocols][, options])"): the opening
 * handshake goes through Node's http/https request, as in ws, so that `agent`, `createConnection`, TLS options,
 * `finishRequest`, the `upgrade`, `unexpected-response` and `redirect` events and `_req` behave as documented;
 * the key, the accept check and permessage-deflate negotiation are wshub's (protocol/handshake.ts,
 * protocol/extensions/permessage-deflate.ts), and the upgraded socket is driven by wshub's SocketTransport.
 */
import { request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect as netConnect, isIP, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { computeAccept, generateKey } from "../protocol/handshake.js";
import { isToken } from "../protocol/http-head.js";
import { buildClientOffer, validateServerAnswer, type DeflateParams } from "../protocol/extensions/permessage-deflate.js";
import { PerMessageDeflate } from "../node/deflate.js";
import { WS_DEFAULTS, clientDeflate, type ClientOptions } from "./options.js";
import { checkClientOptions } from "./option-checks.js";
import type { WebSocket } from "./websocket.js";

const kAborted = Symbol("wshub.compat.aborted");
type Req = ClientRequest & { [kAborted]?: boolean };
const EMPTY = Buffer.alloc(0);
/** Where a client that follows redirects first went (ws: _originalHostOrSocketPath, _originalSecure). */
const firstHops = new WeakMap<WebSocket, { host: string; ipc: boolean; secure: boolean }>();

/** Starts (or, after a redirect, restarts) the opening handshake of `ws`. */
export function connectClient(ws: WebSocket, address: string | URL, protocols: string[], options: ClientOptions): void {
  const version = options.protocolVersion ?? WS_DEFAULTS.protocolVersion;
  if (version !== 8 && version !== 13) throw new RangeError(`Unsupported protocol version: ${version} (supported versions: 8, 13)`);
  checkClientOptions(options);
  let url: URL;
  if (address instanceof URL) url = address;
  else {
    try {
      url = new URL(address);
    } catch {
      throw new SyntaxError(`Invalid URL: ${address}`);
    }
  }
  if (url.protocol === "http:" || url.protocol === "https:") {
    url = new URL(url);
    url.protocol = url.protocol === "http:" ? "ws:" : "wss:";
  }
  ws._setUrl(url.href);
  const secure = url.protocol === "wss:";
  const ipc = url.protocol === "ws+unix:";
  let invalid: string | undefined;
  if (url.protocol !== "ws:" && !secure && !ipc) invalid = 'The URL\'s protocol must be one of "ws:", "wss:", "http:", "https:", or "ws+unix:"';
  else if (ipc && !url.pathname) invalid = "The URL's pathname is empty";
  else if (url.hash) invalid = "The URL contains a fragment identifier";
  if (invalid !== undefined) {
    const err = new SyntaxError(invalid);
    if (ws._redirects === 0) throw err;
    ws._emitErrorAndClose(err);
    return;
  }
  const seen = new Set<string>();
  for (const p of protocols) {
    if (typeof p !== "string" || !isToken(p) || seen.has(p)) throw new SyntaxError("An invalid or duplicated subprotocol was specified");
    seen.add(p);
  }

  const maxPayload = options.maxPayload ?? WS_DEFAULTS.maxPayload;
  const deflate = clientDeflate(options.perMessageDeflate);
  const key = generateKey();
  const headers: Record<string, string | string[] | number> = {
    ...options.headers,
    "Sec-WebSocket-Version": version,
    "Sec-WebSocket-Key": key,
    Connection: "Upgrade",
    Upgrade: "websocket",
  };
  if (deflate !== null) headers["Sec-WebSocket-Extensions"] = buildClientOffer(deflate.policy);
  if (protocols.length > 0) headers["Sec-WebSocket-Protocol"] = protocols.join(",");
  if (options.origin) headers[version < 13 ? "Sec-WebSocket-Origin" : "Origin"] = options.origin;

  const opts: RequestOptions & Record<string, unknown> = {
    ...options,
    headers,
    method: "GET",
    socketPath: undefined,
    hostname: undefined,
    protocol: undefined,
    timeout: options.handshakeTimeout,
    host: url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname,
    port: url.port || (secure ? 443 : 80),
    defaultPort: (options.defaultPort as number | undefined) ?? (secure ? 443 : 80),
    path: url.pathname + url.search,
    createConnection: (options.createConnection ?? (secure ? secureConnect : plainConnect)) as RequestOptions["createConnection"],
  };
  if (url.username || url.password) opts.auth = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  if (ipc) {
    const path = opts.path as string;
    const i = path.indexOf(":");
    opts.socketPath = i === -1 ? path : path.slice(0, i);
    opts.path = i === -1 ? "" : path.slice(i + 1);
  }
  if (options.followRedirects && ws._redirects === 0) {
    firstHops.set(ws, { host: ipc ? (opts.socketPath as string) : url.host, ipc, secure });
  } else if (options.followRedirects && ws.listenerCount("redirect") === 0) {
    // ws (as curl): credentials do not follow a redirect to another host, or from wss: to ws:.
    const first = firstHops.get(ws)!;
    const sameHost = ipc ? first.ipc && opts.socketPath === first.host : !first.ipc && url.host === first.host;
    if (!sameHost || (first.secure && !secure)) {
      for (const name of Object.keys(headers)) {
        const lower = name.toLowerCase();
        if (lower === "authorization" || lower === "cookie" || (lower === "host" && !sameHost)) delete headers[name];
      }
      opts.auth = undefined;
    }
  }

  const req: Req = (secure ? httpsRequest : httpRequest)(opts);
  ws._req = req;
  if (ws._redirects > 0) ws.emit("redirect", ws.url!, req);
  if (opts.timeout) req.on("timeout", () => abortClientHandshake(ws, "Opening handshake has timed out"));
  req.on("error", (err) => {
    if (req[kAborted] || ws._req !== req) return;
    ws._req = null;
    ws._emitErrorAndClose(err);
  });
  req.on("response", (res: IncomingMessage) => {
    const location = res.headers.location;
    const status = res.statusCode ?? 0;
    if (location && options.followRedirects && status >= 300 && status < 400) {
      if (++ws._redirects > (options.maxRedirects ?? WS_DEFAULTS.maxRedirects)) {
        abortClientHandshake(ws, "Maximum redirects exceeded");
        return;
      }
      req[kAborted] = true;
      req.destroy();
      let next: URL;
      try {
        next = new URL(location, address);
      } catch {
        ws._emitErrorAndClose(new SyntaxError(`Invalid URL: ${location}`));
        return;
      }
      connectClient(ws, next, protocols, options);
    } else if (!ws.emit("unexpected-response", req, res)) {
      abortClientHandshake(ws, `Unexpected server response: ${status}`);
    }
  });
  req.on("upgrade", (res: IncomingMessage, socket: Socket, head: Buffer) => {
    ws.emit("upgrade", res);
    // The application may have closed the connection from an 'upgrade' listener.
    if (ws.readyState !== 0) return;
    ws._req = null;
    const fail = (message: string) => abortWithSocket(ws, socket, message);
    const upgrade = res.headers.upgrade;
    if (upgrade === undefined || upgrade.toLowerCase() !== "websocket") return fail("Invalid Upgrade header");
    // RFC 6455 §4.1: the accept value MUST be base64(SHA-1(key + GUID)).
    if (res.headers["sec-websocket-accept"] !== computeAccept(key)) return fail("Invalid Sec-WebSocket-Accept header");
    const serverProtocol = res.headers["sec-websocket-protocol"];
    if (serverProtocol !== undefined) {
      if (seen.size === 0) return fail("Server sent a subprotocol but none was requested");
      if (!seen.has(serverProtocol)) return fail("Server sent an invalid subprotocol");
    } else if (seen.size > 0) return fail("Server sent no subprotocol");
    const ext = res.headers["sec-websocket-extensions"];
    let params: DeflateParams | null = null;
    if (ext !== undefined) {
      if (deflate === null) return fail("Server sent a Sec-WebSocket-Extensions header but no extension was requested");
      if (!/^\s*permessage-deflate\s*(;|$)/i.test(ext)) return fail("Server indicated an extension that was not requested");
      try {
        params = validateServerAnswer(ext, deflate.policy);
      } catch {
        return fail("Invalid Sec-WebSocket-Extensions header");
      }
    }
    ws._protocol = serverProtocol ?? "";
    ws._extensions = params !== null ? "permessage-deflate" : "";
    // Bytes that came with the 101 go back in front of whatever the socket still holds.
    if (head.length > 0) socket.unshift(head);
    ws.setSocket(socket, EMPTY, {
      maxPayload,
      autoPong: options.autoPong ?? WS_DEFAULTS.autoPong,
      closeTimeout: options.closeTimeout ?? WS_DEFAULTS.closeTimeout,
      allowSynchronousEvents: options.allowSynchronousEvents ?? WS_DEFAULTS.allowSynchronousEvents,
      deflate: params !== null ? new PerMessageDeflate(params, false, deflate!.codec, maxPayload) : null,
    });
  });
  if (typeof options.finishRequest === "function") options.finishRequest(req, ws);
  else req.end();
}

/** Aborts a handshake in flight: the request is destroyed, then 'error' and 'close' are emitted (ws). */
export function abortClientHandshake(ws: WebSocket, message: string): void {
  ws._setState(2);
  const err = new Error(message);
  const req = ws._req as Req | null;
  if (req !== null) {
    req[kAborted] = true;
    req.destroy();
    if (req.socket && !req.socket.destroyed) req.socket.destroy();
  }
  process.nextTick(() => ws._emitErrorAndClose(err));
}

function abortWithSocket(ws: WebSocket, socket: Socket, message: string): void {
  ws._setState(2);
  socket.on("error", () => {});
  socket.destroy();
  const err = new Error(message);
  process.nextTick(() => ws._emitErrorAndClose(err));
}

function plainConnect(options: Record<string, unknown>): Socket {
  return netConnect({ ...options, path: options.socketPath } as unknown as import("node:net").NetConnectOpts);
}

function secureConnect(options: Record<string, unknown>): Socket {
  const host = options.host as string;
  const servername = options.servername ?? (isIP(host) ? "" : host);
  return tlsConnect({ ...options, path: undefined, servername } as unknown as import("node:tls").ConnectionOptions);
}
