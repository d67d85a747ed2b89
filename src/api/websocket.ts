/** The WHATWG WebSocket client for Node (HTML §9.3.2 constructor steps), dialing through node/dial. */
import type { ConnectionOptions as TlsConnectionOptions } from "node:tls";
import { isToken } from "../protocol/http-head.js";
import { PROTOCOL_DEFAULTS } from "../protocol/options.js";
import { dial, type DialHandle } from "../node/dial.js";
import { SocketTransport } from "../node/socket-transport.js";
import { buildClientOffer, validateServerAnswer, type DeflateParams } from "../protocol/extensions/permessage-deflate.js";
import { PerMessageDeflate } from "../node/deflate.js";
import { resolveClientDeflate, type PerMessageDeflateOptions } from "../node/deflate-options.js";
import { checkClientOptions } from "./option-checks.js";
import { WebSocketBase, type BinaryType } from "./websocket-base.js";
import { defineReadyStateConstants } from "./webidl.js";

export interface WebSocketOptions {
  /**
   * permessage-deflate (RFC 7692): offered by default, as browsers do (`permessage-deflate; client_max_window_bits`).
   * `false` offers nothing; options tune the offer and the codec. See docs/api.md "permessage-deflate".
   */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
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
  maxPayload: PROTOCOL_DEFAULTS.maxPayload,
  maxResponseHeaderSize: 16 * 1024,
  autoPong: PROTOCOL_DEFAULTS.autoPong,
});

export class WebSocket extends WebSocketBase {
  #dial: DialHandle | null = null;

  constructor(url: string | URL, protocols?: string | Iterable<string>, options: WebSocketOptions = {}) {
    super();
    // WebIDL: the url argument is required and converted to a USVString; protocols is
    // optional (DOMString or sequence<DOMString>) = [] — an iterable object is a sequence, anything else a string.
    if (arguments.length === 0) throw new TypeError("WebSocket: 1 argument required, but only 0 present");
    checkClientOptions(options);
    const href = `${url}`;
    // Steps of "new WebSocket(url, protocols)" (WHATWG WebSockets), with "get a URL record":
    // 1-2. Parse url against the API base URL. Node has no document, so there is no base URL: a relative URL
    //      fails to parse. Failure throws a "SyntaxError" DOMException.
    let urlRecord: URL;
    try {
      urlRecord = new URL(href);
    } catch {
      throw new DOMException(`Failed to construct 'WebSocket': The URL '${href}' is invalid.`, "SyntaxError");
    }
    // 3. If urlRecord's scheme is "http", set it to "ws". 4. Otherwise, if it is "https", set it to "wss".
    if (urlRecord.protocol === "http:") urlRecord.protocol = "ws:";
    else if (urlRecord.protocol === "https:") urlRecord.protocol = "wss:";
    // 5. If urlRecord's scheme is not "ws" or "wss", throw a "SyntaxError" DOMException.
    if (urlRecord.protocol !== "ws:" && urlRecord.protocol !== "wss:") {
      throw new DOMException(
        `Failed to construct 'WebSocket': The URL's scheme must be either 'http', 'https', 'ws', or 'wss'. '${urlRecord.protocol.slice(0, -1)}' is not allowed.`,
        "SyntaxError",
      );
    }
    // 6. If urlRecord's fragment is non-null, throw a "SyntaxError" DOMException. (An empty fragment, as in
    //    "ws://h/#", is non-null too: the serialization keeps its "#".)
    if (urlRecord.hash !== "" || urlRecord.href.includes("#")) {
      throw new DOMException(
        `Failed to construct 'WebSocket': The URL contains a fragment identifier ('${urlRecord.hash.slice(1)}'). Fragment identifiers are not allowed in WebSocket URLs.`,
        "SyntaxError",
      );
    }
    // 7. If protocols is a string, set protocols to a sequence consisting of just that string.
    let list: string[];
    if (protocols === undefined) list = [];
    else if ((typeof protocols === "object" && protocols !== null) || typeof protocols === "function") {
      if (typeof (protocols as Iterable<string>)[Symbol.iterator] !== "function") {
        // WebIDL: an object that is not iterable is converted to a string for the DOMString branch.
        list = [`${protocols}`];
      } else list = Array.from(protocols as Iterable<string>, (p) => `${p}`);
    } else list = [`${protocols}`];
    // 8. If any of the values in protocols occur more than once (compared exactly: subprotocol names are
    //    case-sensitive) or otherwise fail to match the requirements for elements of the Sec-WebSocket-Protocol
    //    field (a non-empty RFC 2616 token), throw a "SyntaxError" DOMException.
    const seen = new Set<string>();
    for (const p of list) {
      if (!isToken(p)) throw new DOMException(`Failed to construct 'WebSocket': The subprotocol '${p}' is invalid.`, "SyntaxError");
      if (seen.has(p)) throw new DOMException(`Failed to construct 'WebSocket': The subprotocol '${p}' is duplicated.`, "SyntaxError");
      seen.add(p);
    }
    // 9. Set this's url to urlRecord.
    this.setUrl(urlRecord.href);
    if (options.binaryType !== undefined) this.binaryType = options.binaryType;
    // 10. Establish a WebSocket connection given urlRecord, protocols and client, in parallel.
    const tls: TlsConnectionOptions = { ...options.tls };
    if (options.ca !== undefined) tls.ca = options.ca;
    if (options.rejectUnauthorized !== undefined) tls.rejectUnauthorized = options.rejectUnauthorized;
    if (options.servername !== undefined) tls.servername = options.servername;
    const closeTimeout = options.closeTimeout ?? WEBSOCKET_DEFAULTS.closeTimeout;
    const maxPayload = options.maxPayload ?? WEBSOCKET_DEFAULTS.maxPayload;
    const autoPong = options.autoPong ?? WEBSOCKET_DEFAULTS.autoPong;
    const deflate = resolveClientDeflate(options.perMessageDeflate, true);
    let deflateParams: DeflateParams | null = null;
    this.#dial = dial(
      urlRecord,
      list,
      {
        handshakeTimeout: options.handshakeTimeout ?? WEBSOCKET_DEFAULTS.handshakeTimeout,
        headers: options.headers,
        origin: options.origin,
        tls,
        maxResponseHeaderSize: options.maxResponseHeaderSize ?? WEBSOCKET_DEFAULTS.maxResponseHeaderSize,
        extensions: deflate !== null ? buildClientOffer(deflate.policy) : undefined,
        // RFC 7692 §5.2: the client fails the connection on an answer it did not offer or cannot honour.
        acceptExtensions: deflate !== null ? (value: string) => void (deflateParams = validateServerAnswer(value, deflate.policy)) : undefined,
      },
      (err, result) => {
        this.#dial = null;
        if (err || !result) {
          this.failConnecting(err ?? new Error("connection failed"));
          return;
        }
        const codec = deflateParams !== null ? new PerMessageDeflate(deflateParams, false, deflate!.codec, maxPayload) : null;
        const transport = new SocketTransport(result.socket, this, { isServer: false, maxPayload, autoPong, closeTimeout, deflate: codec }, result.head);
        this.attach(transport, result.protocol, result.extensions);
        this.fireOpen();
      },
    );
  }

  /** @internal */
  protected override abortConnecting(): void {
    if (this.#dial === null) return;
    this.#dial.abort();
    this.#dial = null;
    const err = new Error("WebSocket was closed before the connection was established");
    // HTML: fail the WebSocket connection — error, then close (1006), as a task.
    queueMicrotask(() => this.failConnecting(err));
  }
}

defineReadyStateConstants(WebSocket);
// WebIDL: the constructor's length counts its required arguments (url).
Object.defineProperty(WebSocket, "length", { value: 1 });
