/** The WHATWG WebSocket client for Node (HTML §9.3.2 constructor steps), dialing through node/dial. */
import type { ConnectionOptions as TlsConnectionOptions } from "node:tls";
import { isToken } from "../protocol/handshake.js";
import { dial, type DialHandle } from "../node/dial.js";
import { SocketTransport } from "../node/socket-transport.js";
import { WebSocketBase, type BinaryType } from "./websocket-base.js";

export interface WebSocketOptions {
  /** Extra headers for the opening handshake. Default none. */
  headers?: Record<string, string | string[]>;
  /** Origin header to send. Default none (Node is not a browser). */
  origin?: string;
  /** Milliseconds for connect + TLS + opening handshake before failing. Default 10000. */
  handshakeTimeout?: number;
  /** Milliseconds to wait for the server to close TCP after the closing handshake. Default 10000. */
  closeTimeout?: number;
  /** Largest message accepted, in bytes (1009 beyond). Default 16 MiB. */
  maxPayload?: number;
  /** Largest handshake response head, in bytes. Default 16 KiB. */
  maxResponseHeaderSize?: number;
  /** Answer pings automatically. Default true. */
  autoPong?: boolean;
  /** Initial binaryType. Default "blob", as in browsers. */
  binaryType?: BinaryType;
  /** TLS options for wss: ca, rejectUnauthorized, servername, cert, key, ... */
  tls?: TlsConnectionOptions;
  /** Shortcuts for the most used TLS options. */
  ca?: TlsConnectionOptions["ca"];
  rejectUnauthorized?: boolean;
  servername?: string;
}

export const WEBSOCKET_DEFAULTS = Object.freeze({
  handshakeTimeout: 10_000,
  closeTimeout: 10_000,
  maxPayload: 16 * 1024 * 1024,
  maxResponseHeaderSize: 16 * 1024,
  autoPong: true,
});

export class WebSocket extends WebSocketBase {
  #dial: DialHandle | null = null;

  constructor(url: string | URL, protocols?: string | string[], options: WebSocketOptions = {}) {
    super();
    // HTML §9.3.2 "new WebSocket(url, protocols)":
    // 1-2. Let urlRecord be the result of parsing url (no base URL in Node); failure throws "SyntaxError".
    let urlRecord: URL;
    try {
      urlRecord = new URL(String(url));
    } catch {
      throw new DOMException(`invalid URL: ${String(url)}`, "SyntaxError");
    }
    // 4-5. "http" becomes "ws", "https" becomes "wss".
    if (urlRecord.protocol === "http:") urlRecord.protocol = "ws:";
    else if (urlRecord.protocol === "https:") urlRecord.protocol = "wss:";
    // 6. A scheme other than "ws" or "wss" throws "SyntaxError".
    if (urlRecord.protocol !== "ws:" && urlRecord.protocol !== "wss:") {
      throw new DOMException(`URL scheme must be ws: or wss:, got ${urlRecord.protocol}`, "SyntaxError");
    }
    // 7. A fragment throws "SyntaxError".
    if (urlRecord.hash !== "" || String(url).includes("#")) {
      throw new DOMException("URL must not contain a fragment", "SyntaxError");
    }
    // 8-9. protocols: a string is a sequence of one; duplicates or non-token values throw "SyntaxError".
    const list = protocols === undefined ? [] : typeof protocols === "string" ? [protocols] : Array.from(protocols, String);
    const seen = new Set<string>();
    for (const p of list) {
      if (!isToken(p)) throw new DOMException(`invalid subprotocol ${JSON.stringify(p)}`, "SyntaxError");
      const lower = p.toLowerCase();
      if (seen.has(lower)) throw new DOMException(`duplicate subprotocol ${JSON.stringify(p)}`, "SyntaxError");
      seen.add(lower);
    }
    // 10. Set this's url to urlRecord.
    this.setUrl(urlRecord.href);
    if (options.binaryType !== undefined) this.binaryType = options.binaryType;
    // 11. Establish a WebSocket connection, in parallel.
    const tls: TlsConnectionOptions = { ...options.tls };
    if (options.ca !== undefined) tls.ca = options.ca;
    if (options.rejectUnauthorized !== undefined) tls.rejectUnauthorized = options.rejectUnauthorized;
    if (options.servername !== undefined) tls.servername = options.servername;
    const closeTimeout = options.closeTimeout ?? WEBSOCKET_DEFAULTS.closeTimeout;
    const maxPayload = options.maxPayload ?? WEBSOCKET_DEFAULTS.maxPayload;
    const autoPong = options.autoPong ?? WEBSOCKET_DEFAULTS.autoPong;
    this.#dial = dial(
      urlRecord,
      list,
      {
        handshakeTimeout: options.handshakeTimeout ?? WEBSOCKET_DEFAULTS.handshakeTimeout,
        headers: options.headers,
        origin: options.origin,
        tls,
        maxResponseHeaderSize: options.maxResponseHeaderSize ?? WEBSOCKET_DEFAULTS.maxResponseHeaderSize,
      },
      (err, result) => {
        this.#dial = null;
        if (err || !result) {
          this.failConnecting(err ?? new Error("connection failed"));
          return;
        }
        const transport = new SocketTransport(result.socket, this, { isServer: false, maxPayload, autoPong, closeTimeout }, result.head);
        this.attach(transport, result.protocol, result.extensions);
        this.fireOpen();
      },
    );
  }

  protected override abortConnecting(): void {
    if (this.#dial === null) return;
    this.#dial.abort();
    this.#dial = null;
    const err = new Error("WebSocket was closed before the connection was established");
    // HTML: fail the WebSocket connection — error, then close (1006), as a task.
    queueMicrotask(() => this.failConnecting(err));
  }
}
