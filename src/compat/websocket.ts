/**
 * ws 8's WebSocket (ws.md "Class: WebSocket") over wshub's engine: an EventEmitter whose connection is a
 * SocketTransport (node/socket-transport.ts) driving the sans-I/O Connection. Server-side connections are made
 * by the WebSocketServer (server.ts) through setSocket(); client ones dial through client.ts.
 */
import { EventEmitter } from "node:events";
import type { ClientRequest, IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import { SocketTransport } from "../node/socket-transport.js";
import type { PerMessageDeflate } from "../node/deflate.js";
import { encodeFrameBuffer } from "../protocol/frame.js";
import { Opcode } from "../protocol/constants.js";
import { translate, isProtocolError, notOpenError } from "./errors.js";
import { addEventListener, removeEventListener, getAttribute, setAttribute, type EventSource } from "./event-target.js";
import { WS_DEFAULTS, type ClientOptions } from "./options.js";
import { connectClient, abortClientHandshake } from "./client.js";
import { toBuffer, isBlob, toArrayBuffer, type SendData } from "./data.js";

export type BinaryType = "nodebuffer" | "arraybuffer" | "fragments";
const BINARY_TYPES: readonly string[] = ["nodebuffer", "arraybuffer", "fragments"];
const EMPTY = Buffer.alloc(0);
const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/** What setSocket() needs: the negotiated codec and the limits. */
export interface SocketSetup {
  maxPayload: number;
  autoPong: boolean;
  closeTimeout: number;
  allowSynchronousEvents: boolean;
  deflate: PerMessageDeflate | null;
}

export interface SendOptions {
  binary?: boolean;
  compress?: boolean;
  fin?: boolean;
  /** Ignored: a client always masks, a server never does (RFC 6455 §5.1). */
  mask?: boolean;
}
type Callback = (err?: Error) => void;

/** The events of a WebSocket and their arguments (ws.md "Class: WebSocket"). */
export interface WebSocketEvents {
  open: [];
  /** `data`: a Buffer, an ArrayBuffer or an array of Buffers, by binaryType. */
  message: [data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean];
  close: [code: number, reason: Buffer];
  error: [err: Error];
  ping: [data: Buffer];
  pong: [data: Buffer];
  upgrade: [response: IncomingMessage];
  "unexpected-response": [request: ClientRequest, response: IncomingMessage];
  redirect: [url: string, request: ClientRequest];
}

export class WebSocket extends EventEmitter<WebSocketEvents> {
  static readonly CONNECTING = CONNECTING;
  static readonly OPEN = OPEN;
  static readonly CLOSING = CLOSING;
  static readonly CLOSED = CLOSED;
  declare readonly CONNECTING: 0;
  declare readonly OPEN: 1;
  declare readonly CLOSING: 2;
  declare readonly CLOSED: 3;

  /** The socket (net.Socket or tls.TLSSocket) once open, as in ws. */
  _socket: Socket | null = null;
  /** Client: the handshake's http.ClientRequest while it is in flight, as in ws. */
  _req: ClientRequest | null = null;
  /** Client: how many redirects were followed. */
  _redirects = 0;
  /** @internal Whether this end is the server. */
  _isServer: boolean;
  /** @internal Set by client.ts / server.ts. */
  _protocol = "";
  /** @internal Set by client.ts / server.ts: "permessage-deflate" or "". */
  _extensions = "";

  #transport: SocketTransport | null = null;
  #readyState: number = CONNECTING;
  #binaryType: BinaryType = "nodebuffer";
  #url: string | undefined = undefined;
  #closeCode = 1006;
  #closeMessage: Buffer = EMPTY;
  #closeWasClean = false;
  #errorEmitted = false;
  #paused = false;
  /** A fragmented message is being sent (send with fin: false). */
  #fragmenting = false;
  /** Payload accepted after close with no socket (ws counts it in bufferedAmount). */
  #lostBytes = 0;
  /** allowSynchronousEvents false: events waiting for their own tick. */
  #deferred: Array<[string, unknown, unknown]> | null = null;
  #allowSync = true;
  /** Sends waiting behind a Blob being read, to keep their order. */
  #blobChain: Promise<void> | null = null;

  constructor(address: string | URL | null, protocols?: string | string[] | ClientOptions, options?: ClientOptions) {
    super();
    if (address === null) {
      this._isServer = true;
      return;
    }
    this._isServer = false;
    let list: string[];
    if (protocols === undefined) list = [];
    else if (Array.isArray(protocols)) list = protocols;
    else if (typeof protocols === "object" && protocols !== null) {
      options = protocols;
      list = [];
    } else list = [protocols];
    this.#allowSync = options?.allowSynchronousEvents ?? WS_DEFAULTS.allowSynchronousEvents;
    connectClient(this, address, list, options ?? {});
  }

  get binaryType(): BinaryType {
    return this.#binaryType;
  }
  set binaryType(type: BinaryType) {
    if (BINARY_TYPES.includes(type)) this.#binaryType = type;
  }
  get bufferedAmount(): number {
    const t = this.#transport;
    return t === null ? this.#lostBytes : t.bufferedAmount + this.#lostBytes;
  }
  get extensions(): string {
    return this._extensions;
  }
  get isPaused(): boolean {
    return this.#paused;
  }
  get protocol(): string {
    return this._protocol;
  }
  get readyState(): number {
    return this.#readyState;
  }
  get url(): string | undefined {
    return this.#url;
  }
  /** @internal */
  get closeWasClean(): boolean {
    return this.#closeWasClean;
  }
  /** @internal client.ts */
  _setUrl(url: string): void {
    this.#url = url;
  }
  /** @internal client.ts: the handshake failed; the error was emitted or is about to be. */
  _setState(state: number): void {
    this.#readyState = state;
  }

  /** @internal Takes over an upgraded socket (ws: websocket.setSocket()). */
  setSocket(socket: Socket, head: Buffer, setup: SocketSetup): void {
    this.#allowSync = setup.allowSynchronousEvents;
    this._socket = socket;
    this.#transport = new SocketTransport(
      socket,
      this,
      { isServer: this._isServer, maxPayload: setup.maxPayload, autoPong: setup.autoPong, closeTimeout: setup.closeTimeout, deflate: setup.deflate },
      head,
    );
    this.#readyState = OPEN;
    this.emit("open");
  }

  /** @internal client.ts: emits 'error' then 'close' (ws: emitErrorAndClose). */
  _emitErrorAndClose(err: Error): void {
    this.#readyState = CLOSING;
    this.#errorEmitted = true;
    this.emit("error", err);
    this.#emitClose();
  }

  #emitClose(): void {
    this.#readyState = CLOSED;
    this.emit("close", this.#closeCode, this.#closeMessage);
  }

  // ---- TransportListener (called by the transport) ----

  /** @internal */
  onMessage(data: Buffer, isBinary: boolean): void {
    let value: unknown = data;
    if (this.#binaryType === "arraybuffer") value = toArrayBuffer(data);
    else if (this.#binaryType === "fragments") value = [data];
    this.#dispatch("message", value, isBinary);
  }
  /** @internal */
  onPing(data: Buffer): void {
    this.#dispatch("ping", data, undefined);
  }
  /** @internal */
  onPong(data: Buffer): void {
    this.#dispatch("pong", data, undefined);
  }

  /**
   * Emits an event raised by the transport. A listener that throws must not unwind through the protocol core in
   * the middle of a read: the error is rethrown on the next tick (an uncaught exception, as a throwing listener
   * is with ws), as wshub's own API reports listener errors.
   */
  #emitFromTransport(type: string, a: unknown, b?: unknown): void {
    try {
      if (type === "message" || type === "close") untyped(this).emit(type, a, b);
      else untyped(this).emit(type, a);
    } catch (err) {
      process.nextTick(rethrow, err);
    }
  }

  #dispatch(type: string, a: unknown, b: unknown): void {
    if (this.#allowSync) {
      this.#emitFromTransport(type, a, b);
      return;
    }
    // ws with allowSynchronousEvents false: at most one of these events per tick.
    const queue = (this.#deferred ??= []);
    queue.push([type, a, b]);
    if (queue.length === 1) setImmediate(() => this.#drainDeferred(false));
  }

  #drainDeferred(all: boolean): void {
    const queue = this.#deferred;
    if (queue === null || queue.length === 0) return;
    do {
      const [type, a, b] = queue.shift()!;
      this.#emitFromTransport(type, a, b);
    } while (all && queue.length > 0);
    if (queue.length > 0) setImmediate(() => this.#drainDeferred(false));
  }

  /** @internal */
  onCloseFrame(code: number, reason: string): void {
    this.#closeCode = code;
    this.#closeMessage = reason === "" ? EMPTY : Buffer.from(reason, "utf8");
    this.#readyState = CLOSING;
  }
  /** @internal */
  onError(err: Error): void {
    this.#readyState = this.#readyState === CLOSED ? CLOSED : CLOSING;
    // ws emits only the peer's protocol errors; a socket that fails or closes early just closes (1006).
    if (!isProtocolError(err) || this.#errorEmitted) return;
    this.#errorEmitted = true;
    this.#emitFromTransport("error", translate(err));
  }
  /** @internal */
  onClosed(_code: number, _reason: string, _wasClean: boolean): void {
    const conn = this.#transport!.conn;
    this.#closeWasClean = conn.closeSent && conn.closeReceived;
    this.#drainDeferred(true);
    this.#readyState = CLOSED;
    this.#emitFromTransport("close", this.#closeCode, this.#closeMessage);
  }

  // ---- Methods (ws.md) ----

  close(code?: number, data?: string | Buffer): void {
    if (this.#readyState === CLOSED) return;
    if (this.#readyState === CONNECTING) {
      abortClientHandshake(this, "WebSocket was closed before the connection was established");
      return;
    }
    if (this.#readyState === CLOSING && this.#transport!.conn.closeSent) return;
    if (code !== undefined && (typeof code !== "number" || !isValidStatusCode(code))) {
      throw new TypeError("First argument must be a valid error code number");
    }
    if (data !== undefined && Buffer.byteLength(data) > 123) throw new RangeError("The message must not be greater than 123 bytes");
    this.#readyState = CLOSING;
    this.#transport!.close(code, code === undefined ? "" : data ?? "");
  }

  terminate(): void {
    if (this.#readyState === CLOSED) return;
    if (this.#readyState === CONNECTING) {
      abortClientHandshake(this, "WebSocket was closed before the connection was established");
      return;
    }
    this.#readyState = CLOSING;
    this.#transport!.terminate();
  }

  pause(): void {
    if (this.#readyState === CONNECTING || this.#readyState === CLOSED) return;
    this.#paused = true;
    this._socket!.pause();
  }

  resume(): void {
    if (this.#readyState === CONNECTING || this.#readyState === CLOSED) return;
    this.#paused = false;
    this._socket!.resume();
  }

  ping(data?: SendData | number | Callback, mask?: boolean | Callback, cb?: Callback): void {
    this.#control(Opcode.Ping, data, mask, cb);
  }

  pong(data?: SendData | number | Callback, mask?: boolean | Callback, cb?: Callback): void {
    this.#control(Opcode.Pong, data, mask, cb);
  }

  #control(opcode: number, data: SendData | number | Callback | undefined, mask: boolean | Callback | undefined, cb: Callback | undefined): void {
    if (this.#readyState === CONNECTING) throw notOpenError(CONNECTING);
    if (typeof data === "function") {
      cb = data;
      data = undefined;
    } else if (typeof mask === "function") cb = mask;
    if (typeof data === "number") data = data.toString();
    if (this.#readyState !== OPEN) return this.#sendAfterClose(data, cb);
    const payload = data === undefined || data === null ? EMPTY : isBlob(data) ? null : toBuffer(data);
    if (payload === null) throw new TypeError("wshub/ws: a Blob is not supported as ping/pong data");
    if (payload.length > 125) throw new RangeError("The data size must not be greater than 125 bytes");
    const conn = this.#transport!.conn;
    if (opcode === Opcode.Ping) conn.ping(payload);
    else conn.pong(payload);
    if (cb) this.#afterWrite(cb);
  }

  send(data: SendData | number, options?: SendOptions | Callback, cb?: Callback): void {
    if (this.#readyState === CONNECTING) throw notOpenError(CONNECTING);
    if (typeof options === "function") {
      cb = options;
      options = {};
    }
    if (typeof data === "number") data = data.toString();
    if (this.#readyState !== OPEN) return this.#sendAfterClose(data, cb);
    const opts = options ?? {};
    const binary = opts.binary ?? typeof data !== "string";
    const compress = opts.compress ?? true;
    const fin = opts.fin ?? true;
    if (this.#blobChain !== null || isBlob(data)) {
      this.#sendBlobOrdered(data, binary, compress, fin, cb);
      return;
    }
    this.#sendNow(data as string | Buffer | ArrayBuffer | ArrayBufferView, binary, compress, fin, cb);
  }

  #sendNow(data: string | Buffer | ArrayBuffer | ArrayBufferView | null | undefined, binary: boolean, compress: boolean, fin: boolean, cb?: Callback): void {
    const t = this.#transport;
    if (t === null || this.#readyState !== OPEN) return this.#sendAfterClose(data, cb);
    const payload: string | Buffer = typeof data === "string" ? data : data === undefined || data === null ? EMPTY : toBuffer(data);
    if (this.#fragmenting || !fin) {
      // ws.md send(): `fin` false sends a fragment; the next sends continue the message until one with fin true.
      // Fragments go out uncompressed (see docs/migrating-from-ws.md), in order with compressed messages.
      const opcode = this.#fragmenting ? Opcode.Continuation : binary ? Opcode.Binary : Opcode.Text;
      const bytes = typeof payload === "string" ? Buffer.from(payload, "utf8") : payload;
      t.sendPreparedFrame(encodeFrameBuffer(opcode, bytes, { fin, mask: !this._isServer }));
      this.#fragmenting = !fin;
    } else if (typeof payload === "string" && !binary) {
      if (compress || t.deflate === null) t.sendMessage(payload, false);
      else this.#sendPlain(t, Buffer.from(payload, "utf8"), false);
    } else {
      const bytes = typeof payload === "string" ? Buffer.from(payload, "utf8") : payload;
      if (compress || t.deflate === null) t.sendMessage(bytes, binary);
      else this.#sendPlain(t, bytes, binary);
    }
    if (cb) this.#afterWrite(cb);
  }

  /** compress: false with permessage-deflate in use: one uncompressed frame, in order with the queue. */
  #sendPlain(t: SocketTransport, bytes: Buffer, binary: boolean): void {
    if (t.deflate!.idle) t.conn.send(bytes, binary);
    else t.sendPreparedFrame(encodeFrameBuffer(binary ? Opcode.Binary : Opcode.Text, bytes, { mask: !this._isServer }));
  }

  /** ws 8.18+: a Blob is read first; the sends made meanwhile wait behind it so that order is kept. */
  #sendBlobOrdered(data: SendData | undefined, binary: boolean, compress: boolean, fin: boolean, cb?: Callback): void {
    const p: Promise<void> = (this.#blobChain ?? Promise.resolve())
      .then(async () => {
        const bytes = isBlob(data) ? Buffer.from(await data.arrayBuffer()) : data;
        this.#sendNow(bytes as Buffer, binary, compress, fin, cb);
      })
      .catch((err: Error) => {
        if (cb) cb(err);
      })
      .finally(() => {
        if (this.#blobChain === p) this.#blobChain = null;
      });
    this.#blobChain = p;
  }

  /** Calls `cb` once what was written so far has left for the kernel (ws: the send callback). */
  #afterWrite(cb: Callback): void {
    const t = this.#transport!;
    const socket = t.socket;
    const go = () => {
      if (socket.destroyed || socket.writableEnded) {
        process.nextTick(cb, notOpenError(this.#readyState));
        return;
      }
      // A write of no bytes: its callback runs after every write queued before it.
      socket.write(EMPTY, (err) => cb(err ?? undefined));
    };
    if (t.deflate !== null && !t.deflate.idle) t.deflate.whenIdle(go);
    else go();
  }

  #sendAfterClose(data: unknown, cb?: Callback): void {
    if (data !== undefined && data !== null && data !== "") {
      this.#lostBytes += isBlob(data) ? (data as Blob).size : typeof data === "string" ? Buffer.byteLength(data) : toBuffer(data as Buffer).length;
    }
    if (cb) process.nextTick(cb, notOpenError(this.#readyState));
  }

  // ---- EventTarget-style API (ws.md) ----

  addEventListener(type: string, listener: unknown, options?: { once?: boolean }): void {
    addEventListener(untyped(this) as EventSource, type, listener, options);
  }
  removeEventListener(type: string, listener: unknown): void {
    removeEventListener(untyped(this) as EventSource, type, listener);
  }
  get onopen(): unknown {
    return getAttribute(untyped(this) as EventSource, "open");
  }
  set onopen(h: unknown) {
    setAttribute(untyped(this) as EventSource, "open", h);
  }
  get onmessage(): unknown {
    return getAttribute(untyped(this) as EventSource, "message");
  }
  set onmessage(h: unknown) {
    setAttribute(untyped(this) as EventSource, "message", h);
  }
  get onclose(): unknown {
    return getAttribute(untyped(this) as EventSource, "close");
  }
  set onclose(h: unknown) {
    setAttribute(untyped(this) as EventSource, "close", h);
  }
  get onerror(): unknown {
    return getAttribute(untyped(this) as EventSource, "error");
  }
  set onerror(h: unknown) {
    setAttribute(untyped(this) as EventSource, "error", h);
  }
}

for (const [name, value] of [["CONNECTING", CONNECTING], ["OPEN", OPEN], ["CLOSING", CLOSING], ["CLOSED", CLOSED]] as const) {
  Object.defineProperty(WebSocket.prototype, name, { enumerable: true, value });
}

/** The emitter without its event map, for events whose name is a variable. */
function untyped(e: EventEmitter<WebSocketEvents>): EventEmitter {
  return e as unknown as EventEmitter;
}

function rethrow(err: unknown): never {
  throw err;
}

/** ws: codes an application may send (1000-1014 except 1004-1006, and 3000-4999). */
function isValidStatusCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}
