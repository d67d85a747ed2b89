/** Client dialing: opens TCP/TLS, performs the opening handshake (RFC 6455 §4.1) and hands over the socket. */
import { connect as netConnect, type NetConnectOpts, type Socket } from "node:net";
import { connect as tlsConnect, type ConnectionOptions as TlsConnectionOptions } from "node:tls";
import { buildUpgradeRequest, generateKey, validateUpgradeResponse, type ValidatedResponse } from "../protocol/handshake.js";
import { parseResponseHead } from "../protocol/http-head.js";
import { HandshakeError } from "../protocol/errors.js";
import { holdSharedReads, sharedReadOption } from "./shared-read.js";
import { publishAccept, publishHead, publishOpen, tracing } from "./diagnostics.js";

export interface DialOptions {
  /** Milliseconds for TCP connect + TLS + handshake. */
  handshakeTimeout: number;
  /** Extra request headers. */
  headers?: Record<string, string | string[]> | undefined;
  origin?: string | undefined;
  /** Sec-WebSocket-Extensions offer. */
  extensions?: string | undefined;
  /** Checks the server's extensions answer; throws to fail the connection. */
  acceptExtensions?: ((value: string) => void) | undefined;
  /** TLS options for wss: (ca, rejectUnauthorized, servername, cert, key...). */
  tls?: TlsConnectionOptions | undefined;
  /** Largest response head accepted, in bytes. */
  maxResponseHeaderSize: number;
}

export interface DialResult extends ValidatedResponse {
  socket: Socket;
  /** Bytes received after the response head (already WebSocket frames). */
  head: Buffer;
}

export interface DialHandle {
  /** Aborts the attempt; the callback is not called afterwards. */
  abort(): void;
}

/** The most of a refusal's body kept on its HandshakeError. */
export const REFUSAL_BODY_MAX = 4096;

/** Dials `url` (ws: or wss:) and calls back exactly once, unless aborted. */
export function dial(
  url: URL,
  protocols: readonly string[],
  options: DialOptions,
  callback: (err: Error | null, result?: DialResult) => void,
): DialHandle {
  const secure = url.protocol === "wss:";
  const port = url.port !== "" ? Number(url.port) : secure ? 443 : 80;
  // URL keeps brackets on IPv6 literals; sockets want them off.
  const hostname = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  let done = false;
  let socket: Socket;
  /** Plain TCP reads into the shared buffer (node/shared-read.ts) when available; onRead gets its bytes. */
  let shared = false;
  if (secure) {
    socket = tlsConnect({
      host: hostname,
      port,
      servername: /^[\d.]+$|:/.test(hostname) ? undefined : hostname,
      ALPNProtocols: ["http/1.1"],
      ...options.tls,
    });
  } else {
    const onread = sharedReadOption(function onRead(nread: number, buffer: Buffer): void {
      onData(Buffer.from(buffer.subarray(0, nread)));
    });
    shared = onread !== undefined;
    // (@types/node wants a boolean from the callback; undefined keeps reading too: Node stops only on false.)
    socket = netConnect({ host: hostname, port, onread } as unknown as NetConnectOpts);
  }
  const key = generateKey();
  /** A wshub diagnostics channel has a subscriber (node/diagnostics.ts): the handshake is published. */
  const traced = tracing();
  const timer = setTimeout(() => (refusal !== null ? readRefusalBody(true) : finish(new HandshakeError(`opening handshake timed out after ${options.handshakeTimeout} ms`, 0, "WS_ERR_HANDSHAKE_TIMEOUT"))), options.handshakeTimeout);
  let received: Buffer = Buffer.alloc(0);
  /** A refusal (a status other than 101) whose body is being read, up to REFUSAL_BODY_MAX bytes. */
  let refusal: { err: HandshakeError; bodyStart: number; bodyLength: number } | null = null;

  const onConnect = () => {
    const request = buildUpgradeRequest({
      host: url.host,
      path: (url.pathname || "/") + url.search,
      key,
      protocols,
      extensions: options.extensions,
      origin: options.origin,
      headers: options.headers,
    });
    if (traced) {
      publishOpen(socket, "client");
      publishHead(socket, "client", "request", request);
    }
    socket.write(request);
  };
  const onData = (chunk: Buffer) => {
    received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
    if (refusal !== null) {
      readRefusalBody();
      return;
    }
    let head;
    try {
      head = parseResponseHead(received, options.maxResponseHeaderSize);
      if (head === null) return;
      if (traced) {
        publishHead(socket, "client", "response", received.subarray(0, head.length).toString("latin1"));
        if (head.statusCode === 101) {
          const h = head.headers;
          publishAccept(socket, "client", key, String(h["sec-websocket-accept"] ?? ""), String(h["sec-websocket-protocol"] ?? ""), String(h["sec-websocket-extensions"] ?? ""));
        }
      }
      if (head.statusCode !== 101) {
        // Refused: the status, the headers and the start of the body (up to 4 KiB) go on the error, read until
        // the body is complete (Content-Length), 4 KiB have arrived, or the server closes (docs/api.md).
        const err = new HandshakeError(`unexpected server response: ${head.statusCode}${head.statusText ? " " + head.statusText : ""}`, head.statusCode, "WS_ERR_UNEXPECTED_RESPONSE", head.headers);
        const declared = Number(head.headers["content-length"]);
        const bodyLength = head.headers["transfer-encoding"] === undefined && Number.isSafeInteger(declared) && declared >= 0 ? declared : Infinity;
        refusal = { err, bodyStart: head.length, bodyLength };
        readRefusalBody();
        return;
      }
      const validated = validateUpgradeResponse(head, key, protocols, options.acceptExtensions);
      // Reads from now on are held for the connection that takes the socket (node/shared-read.ts).
      if (shared) holdSharedReads(socket);
      finish(null, { ...validated, socket, head: received.subarray(head.length) });
    } catch (err) {
      finish(err as Error);
    }
  };
  const readRefusalBody = (ended = false) => {
    const r = refusal!;
    const have = received.length - r.bodyStart;
    if (ended || have >= r.bodyLength || have >= REFUSAL_BODY_MAX) {
      const end = r.bodyStart + Math.min(have, r.bodyLength, REFUSAL_BODY_MAX);
      r.err.body = Buffer.from(received.subarray(r.bodyStart, end));
      finish(r.err);
    }
  };
  const onError = (err: Error) => (refusal !== null ? readRefusalBody(true) : finish(err));
  const onClose = () => (refusal !== null ? readRefusalBody(true) : finish(new HandshakeError("connection closed before the opening handshake completed", 0, "WS_ERR_HANDSHAKE_CLOSED")));

  function finish(err: Error | null, result?: DialResult): void {
    if (done) return;
    done = true;
    clearTimeout(timer);
    socket.off(secure ? "secureConnect" : "connect", onConnect);
    if (!shared) socket.off("data", onData);
    socket.off("error", onError);
    socket.off("close", onClose);
    if (err) {
      socket.on("error", () => {});
      socket.destroy();
      callback(err);
    } else {
      callback(null, result);
    }
  }

  socket.once(secure ? "secureConnect" : "connect", onConnect);
  if (!shared) socket.on("data", onData);
  socket.on("error", onError);
  socket.on("close", onClose);

  return {
    abort() {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.on("error", () => {});
      socket.destroy();
    },
  };
}
