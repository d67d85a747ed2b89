/**
 * The standalone server's front door: accepts TCP connections with node:net and reads each client's request
 * head itself (the sans-I/O parseRequestHead), without Node's HTTP server, parser, IncomingMessage or
 * ServerResponse. What a WebSocket server needs from HTTP/1.1 is one request head per connection; everything
 * after it belongs to the WebSocket stream.
 *
 * Limits: a head longer than maxHeaderSize or with more than maxHeadersCount fields is answered 431, a malformed
 * one 400, one still incomplete after handshakeTimeout 408 (each with a one-line reason and `Connection: close`).
 * At most maxPendingHandshakes connections may be sending their head: a new one beyond that drops the oldest, so
 * a flood of half-open connections (slowloris) cannot lock new clients out.
 */
import { createServer, type Server, type Socket } from "node:net";
import type { IncomingHttpHeaders } from "node:http";
import { HandshakeError } from "../protocol/errors.js";
import { LimitCounters } from "./limit-counters.js";
import { dropSharedReads, holdSharedReads, readIntoSharedBuffer, readsIntoSharedBuffer, type SharedReadCallback } from "./shared-read.js";
import { buildErrorResponse, forEachHeaderLine, parseHeaderFields, parseRequestHead, type HeaderMap, type RequestHead } from "../protocol/http-head.js";

/**
 * The request a standalone server's connection came from: the fields of Node's IncomingMessage that upgrade
 * handlers read (method, url, httpVersion, headers, rawHeaders, socket), without the stream.
 * Only the head's text is kept per connection; `headers` is parsed again on first use after the handshake and
 * then kept, `rawHeaders` is built on each read.
 */
export class UpgradeRequest {
  readonly method: string;
  /** The request target (path and query), as sent. */
  readonly url: string;
  readonly httpVersion: string;
  readonly socket: Socket;
  #text: string;
  #headers: HeaderMap | null;
  #kept = false;

  /** @internal Created by UpgradeListener. */
  constructor(head: RequestHead, socket: Socket) {
    this.method = head.method;
    this.url = head.url;
    this.httpVersion = head.httpVersion;
    this.socket = socket;
    this.#text = head.text;
    this.#headers = head.headers;
  }

  get httpVersionMajor(): number {
    return Number(this.httpVersion.slice(0, this.httpVersion.indexOf(".")));
  }

  get httpVersionMinor(): number {
    return Number(this.httpVersion.slice(this.httpVersion.indexOf(".") + 1));
  }

  /** Lower-case names; repeated values combined as Node's IncomingMessage does (", ", "; " for cookie, set-cookie an array). */
  get headers(): IncomingHttpHeaders {
    this.#kept = true;
    return this.peekHeaders() as IncomingHttpHeaders;
  }

  /** Names and values as sent, alternating: [name, value, name, value, ...]. A new array on each read. */
  get rawHeaders(): string[] {
    const out: string[] = [];
    forEachHeaderLine(this.#text, (name, value) => out.push(name, value));
    return out;
  }

  /** @internal The headers without marking them as read by the application. */
  peekHeaders(): HeaderMap {
    return (this.#headers ??= parseHeaderFields(this.#text));
  }

  /** @internal After the handshake: drop the parsed headers unless the application has read them. */
  compact(): void {
    if (!this.#kept) this.#headers = null;
  }
}

export interface UpgradeListenerOptions {
  /** Largest request head in bytes; 431 beyond. */
  maxHeaderSize: number;
  /** Milliseconds for the whole request head to arrive; 408 after. */
  handshakeTimeout: number;
  /** Most header fields in a request head; 431 beyond. Default Infinity. */
  maxHeadersCount?: number;
  /** Most connections sending their request head at once; a new one beyond drops the oldest. Default Infinity. */
  maxPendingHandshakes?: number;
  /** Where refusals and dropped handshakes are counted. Default: counters of this listener's own. */
  counters?: LimitCounters;
}

/** Called with each complete request head; `head` holds the bytes that followed it (the WebSocket stream's start). */
export type RequestHeadHandler = (req: UpgradeRequest, socket: Socket, head: Buffer) => void;

/** One connection whose request head is still arriving. */
class HeadReader {
  readonly socket: Socket;
  readonly deadline: number;
  buffered: Buffer | null = null;
  constructor(socket: Socket, deadline: number) {
    this.socket = socket;
    this.deadline = deadline;
  }
}

export class UpgradeListener {
  readonly server: Server;
  readonly #options: Required<UpgradeListenerOptions>;
  readonly #onRequest: RequestHeadHandler;
  /** The connections whose request head is still arriving. */
  readonly #reading = new Map<Socket, HeadReader>();
  /** The 'data' listener of those sockets, one for all of them (this = the socket). */
  readonly #onHeadData: (this: Socket, chunk: Buffer) => void;
  /** The same for sockets that read into the shared buffer (node/shared-read.ts). */
  readonly #onHeadRead: SharedReadCallback;
  #sweep: NodeJS.Timeout | null = null;

  constructor(options: UpgradeListenerOptions, onRequest: RequestHeadHandler) {
    this.#options = { maxHeadersCount: Infinity, maxPendingHandshakes: Infinity, counters: new LimitCounters(), ...options };
    this.#onRequest = onRequest;
    const listener = this;
    this.#onHeadData = function onHeadData(this: Socket, chunk: Buffer): void {
      const reader = listener.#reading.get(this);
      if (reader !== undefined) listener.#receive(reader, chunk, false);
    };
    this.#onHeadRead = function onHeadRead(this: Socket, nread: number, buffer: Buffer): void {
      const reader = listener.#reading.get(this);
      if (reader !== undefined) listener.#receive(reader, buffer.subarray(0, nread), true);
    };
    // allowHalfOpen: the peer's FIN must not end our side before the WebSocket closing handshake is answered.
    this.server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.#accept(socket));
  }

  /** Connections whose request head is still arriving. */
  get pending(): number {
    return this.#reading.size;
  }

  /** Stops accepting and destroys the connections whose request head has not arrived. */
  close(callback?: (err?: Error) => void): void {
    this.server.close(callback);
    for (const r of this.#reading.values()) r.socket.destroy();
    this.#reading.clear();
    this.#stopSweep();
  }

  #accept(socket: Socket): void {
    if (this.#reading.size >= this.#options.maxPendingHandshakes) {
      // The oldest pending connection goes (a Map iterates in insertion order): a client that is really
      // connecting sends its head within milliseconds, so the oldest is the likeliest to be stalled on purpose.
      const oldest = this.#reading.values().next().value as HeadReader;
      this.#detach(oldest);
      oldest.socket.destroy();
      this.#options.counters.droppedPendingHandshakes++;
    }
    const reader = new HeadReader(socket, Date.now() + this.#options.handshakeTimeout);
    // Only a 'data' listener: a connection that ends, fails or closes before its head is complete is found by
    // the sweep below, which spares two listeners added and removed per handshake.
    socket.on("error", ignoreError);
    // Reads go into the shared buffer when available: no allocation and no stream round per read.
    if (!readIntoSharedBuffer(socket, this.#onHeadRead)) socket.on("data", this.#onHeadData);
    this.#reading.set(socket, reader);
    if (this.#sweep === null) {
      // One timer for all connections still sending their head, checked a few times per handshakeTimeout; it
      // stops at the first sweep that finds none.
      const period = Math.max(50, Math.min(1000, Math.floor(this.#options.handshakeTimeout / 4)));
      this.#sweep = setInterval(() => this.#expire(), period);
      this.#sweep.unref();
    }
  }

  /** A read of a socket whose head is arriving; `shared`: chunk is in the shared buffer, valid only during the call. */
  #receive(reader: HeadReader, chunk: Buffer, shared: boolean): void {
    const buf = reader.buffered === null ? chunk : Buffer.concat([reader.buffered, chunk]);
    let head: RequestHead | null;
    try {
      head = parseRequestHead(buf, this.#options.maxHeaderSize, this.#options.maxHeadersCount);
    } catch (err) {
      this.#refuse(reader, err as HandshakeError);
      return;
    }
    if (head === null) {
      // Copy: a chunk kept across reads must not pin a larger read buffer.
      reader.buffered = reader.buffered === null ? Buffer.from(chunk) : buf;
      return;
    }
    const socket = reader.socket;
    reader.buffered = null;
    this.#reading.delete(socket);
    if (shared) {
      // What followed the head is copied out of the shared buffer; what arrives before a connection takes the
      // socket (asynchronous authentication) is held for it.
      const rest = head.length === buf.length ? EMPTY : buf === chunk ? Buffer.from(buf.subarray(head.length)) : buf.subarray(head.length);
      holdSharedReads(socket);
      this.#onRequest(new UpgradeRequest(head, socket), socket, rest);
      return;
    }
    // The socket stays flowing while the request is handled: no data can arrive meanwhile (this runs
    // synchronously), and a connection accepted at once attaches its own 'data' listener to a socket that is
    // still flowing, which spares pausing and resuming it (a tick and a read per connection). The 'error'
    // listener stays: the server removes it (ignoreError) when it hands the socket to a connection.
    socket.removeListener("data", this.#onHeadData);
    let rest = head.length === buf.length ? EMPTY : buf.subarray(head.length);
    if (socket.readableLength > 0) {
      const more = socket.read() as Buffer | null;
      if (more !== null) rest = Buffer.concat([rest, more]);
    }
    try {
      this.#onRequest(new UpgradeRequest(head, socket), socket, rest);
    } finally {
      if (socket.listenerCount("data") === 0) {
        // Not taken yet (asynchronous authentication) or refused: what was not read yet stays in the socket, and
        // adding a 'data' listener later resumes it (as Node's HTTP server leaves an upgraded socket).
        (socket as unknown as { readableFlowing: boolean | null }).readableFlowing = null;
      }
    }
  }

  #detach(reader: HeadReader): void {
    const socket = reader.socket;
    if (!dropSharedReads(socket)) socket.removeListener("data", this.#onHeadData);
    socket.removeListener("error", ignoreError);
    reader.buffered = null;
    this.#reading.delete(socket);
  }

  #refuse(reader: HeadReader, err: HandshakeError): void {
    const socket = reader.socket;
    this.#detach(reader);
    this.#options.counters.refusal(err.code);
    // Keep swallowing errors and reading (and dropping) what the client still sends, so that closing does not
    // reset the connection before the answer is read.
    socket.on("error", noop);
    if (!readsIntoSharedBuffer(socket)) socket.on("data", noop);
    refuseUpgrade(socket, err);
  }

  #expire(): void {
    if (this.#reading.size === 0) {
      this.#stopSweep();
      return;
    }
    const now = Date.now();
    for (const r of this.#reading.values()) {
      const socket = r.socket;
      if (socket.destroyed) {
        this.#detach(r);
      } else if (socket.readableEnded) {
        // The client ended (allowHalfOpen keeps our side open) before its head was complete: nothing to answer.
        this.#detach(r);
        socket.destroy();
      } else if (r.deadline <= now) {
        this.#refuse(r, new HandshakeError(`request head not received within ${this.#options.handshakeTimeout} ms`, 408, "WS_ERR_HANDSHAKE_TIMEOUT"));
      }
    }
  }

  #stopSweep(): void {
    if (this.#sweep !== null) {
      clearInterval(this.#sweep);
      this.#sweep = null;
    }
  }
}

const EMPTY = Buffer.alloc(0);

function noop(): void {}

/**
 * The 'error' listener of a socket during its opening handshake (a socket with none would throw). The standalone
 * listener leaves it on the socket it hands over with a request head; whoever takes the socket removes it.
 */
export function ignoreError(): void {}

function destroySocket(socket: Socket): void {
  socket.destroy();
}

/**
 * Refuses an upgrade: answers `err`'s HTTP status (RFC 6455 §4.2.1: "the server MUST stop processing the client's
 * handshake and return an HTTP response with an appropriate error code") and closes the socket, destroying it one
 * second later at the latest so a client that never reads the answer cannot hold it; at once when it can no longer
 * be written.
 */
export function refuseUpgrade(socket: Socket, err: HandshakeError): void {
  if (socket.writable && !socket.destroyed) {
    socket.end(buildErrorResponse(err.status, err.message, err.headers));
    setTimeout(destroySocket, 1000, socket).unref();
  } else {
    socket.destroy();
  }
}
