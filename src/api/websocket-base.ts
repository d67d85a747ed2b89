/**
 * The WebSocket interface of the WHATWG HTML standard (§9.3 "Network: WebSockets", now the WHATWG WebSockets
 * Standard), shared by the Node client and by server-side connections. It meets the protocol only through
 * SocketTransport. Step numbers in comments refer to the algorithms of that interface.
 */
import { Blob } from "node:buffer";
import { ReadyState } from "../protocol/constants.js";
import { MERGE_THRESHOLD } from "../protocol/frame.js";
import type { SocketTransport, TransportListener } from "../node/socket-transport.js";
import { CloseEvent, PingPongEvent, createErrorEvent } from "./events.js";
import { WebSocketEventTarget, type EventHandlerValue, type HandlerSlots, type WebSocketEventHandler } from "./event-target.js";
import { createMessageEvent } from "./node-events.js";
import { SendQueue, type PendingClose, type SendQueueHost } from "./send-queue.js";
import {
  controlBytes,
  defineReadyStateConstants,
  originOf,
  toArrayBuffer,
  toBinaryType,
  toCloseCode,
  toCloseReason,
  toSendData,
  type BinaryType,
  type SendData,
} from "./webidl.js";

export { type BinaryType, type SendData };

export type { EventHandlerValue, WebSocketEventHandler };

/**
 * What few connections ever need (a send after the closing handshake started, queued Blobs, a failure, listener
 * state), kept out of every connection's object until one does.
 */
interface RareState extends HandlerSlots {
  /** Bytes passed to send() once the closing handshake had started: never sent, yet counted (send() steps). */
  droppedBytes: number;
  lastError: Error | null;
  /** The connection was failed by this side for a reason the core does not know (a Blob could not be read). */
  failed: boolean;
  /** The subprotocol and extensions selected by the server; "" when none (the values while no RareState exists). */
  protocol: string;
  extensions: string;
  /** Sends waiting behind a Blob that is being read, in order. Null when nothing waits. */
  sendQueue: SendQueue | null;
}

const EMPTY = Buffer.alloc(0);

/** The WebSocket interface; its event handlers and event dispatch are those of WebSocketEventTarget. */
// (It implements TransportListener structurally: those methods are internal, so the public .d.ts does not name it.)
export class WebSocketBase extends WebSocketEventTarget {
  // WebIDL constants, on the interface object and on the prototype (defined below the class as read-only).
  declare static readonly CONNECTING: 0;
  declare static readonly OPEN: 1;
  declare static readonly CLOSING: 2;
  declare static readonly CLOSED: 3;
  declare readonly CONNECTING: 0;
  declare readonly OPEN: 1;
  declare readonly CLOSING: 2;
  declare readonly CLOSED: 3;

  #url = "";
  /** The serialization of url's origin, computed when the first message event needs it. */
  #origin: string | null = null;
  #readyState: ReadyState = ReadyState.CONNECTING;
  #binaryType: BinaryType = "blob";
  #rare: RareState | null = null;
  /** @internal */ protected transport: SocketTransport | null = null;

  // ---- attributes ----

  /** The url getter steps: return this's url, serialized. */
  get url(): string {
    return this.#url;
  }
  get readyState(): ReadyState {
    return this.#readyState;
  }
  /** The subprotocol selected by the server ("" until open, or when none was selected). */
  get protocol(): string {
    const rare = this.#rare;
    return rare !== null ? rare.protocol : "";
  }
  /** The extensions selected by the server ("" until open, or when none was). */
  get extensions(): string {
    const rare = this.#rare;
    return rare !== null ? rare.extensions : "";
  }
  get binaryType(): BinaryType {
    return this.#binaryType;
  }
  set binaryType(value: BinaryType) {
    // WebIDL enumeration attribute: a value that is not a BinaryType value is ignored (no exception).
    const v = toBinaryType(value);
    if (v !== null) this.#binaryType = v;
  }

  /**
   * The number of bytes of application data (UTF-8 text and binary payloads) queued by send() and not yet
   * transmitted to the network, without framing overhead. Data passed to send() after the closing handshake
   * started is counted too and never leaves the count.
   */
  get bufferedAmount(): number {
    const t = this.transport;
    const rare = this.#rare;
    if (rare === null) return t !== null ? t.payloadBuffered : 0;
    const queue = rare.sendQueue;
    return rare.droppedBytes + (queue !== null ? queue.queuedBytes : 0) + (t !== null ? t.payloadBuffered : 0);
  }

  /** @internal Where WebSocketEventTarget keeps onopen and the handlers' listeners: the RareState. */
  protected handlerSlots(create: boolean): HandlerSlots | null {
    return create ? this.#rareState() : this.#rare;
  }

  #rareState(): RareState {
    return (this.#rare ??= {
      droppedBytes: 0,
      lastError: null,
      failed: false,
      handlerListeners: null,
      protocol: "",
      extensions: "",
      sendQueue: null,
      onopen: null,
    });
  }

  // ---- protected hooks for the client and server subclasses ----

  /** @internal */ protected setUrl(url: string): void {
    this.#url = url;
    this.#origin = null;
  }

  /**
   * @internal "When the WebSocket connection is established": 1. set ready state to OPEN; 2. extensions;
   * 3. protocol. The caller fires `open` (step 4).
   */
  protected attach(transport: SocketTransport, protocol: string, extensions: string): void {
    this.transport = transport;
    this.#readyState = ReadyState.OPEN;
    if (extensions !== "" || protocol !== "" || this.#rare !== null) {
      const rare = this.#rareState();
      rare.extensions = extensions;
      rare.protocol = protocol;
    }
  }

  /** @internal */ protected setReadyState(state: ReadyState): void {
    this.#readyState = state;
  }

  /** @internal */ protected setDefaultBinaryType(type: BinaryType): void {
    this.#binaryType = type;
  }

  // ---- methods ----

  /** The send(data) method steps. */
  send(data: SendData): void {
    // WebIDL: send((BufferSource or Blob or USVString) data) — the argument is required (see toSendData).
    if (arguments.length === 0) throw new TypeError("WebSocket.send: 1 argument required, but only 0 present");
    const value = toSendData(data);
    let bytes: Uint8Array | null = null;
    let text: string | null = null;
    let blob: Blob | null = null;
    if (typeof value === "string") text = value;
    else if (value instanceof Uint8Array) bytes = value;
    else blob = value;

    // 1. If this's ready state is CONNECTING, throw an "InvalidStateError" DOMException.
    const state = this.#readyState;
    if (state === ReadyState.CONNECTING) {
      throw new DOMException("Failed to execute 'send' on 'WebSocket': Still in CONNECTING state.", "InvalidStateError");
    }
    // 2. Every call that does not throw increases the buffered amount by the data's size in bytes: UTF-8 bytes
    //    of a string, the Blob's size, the ArrayBuffer's or ArrayBufferView's byte length. The data is sent
    //    only if the connection is established and the closing handshake has not started.
    const size = text !== null ? Buffer.byteLength(text) : bytes !== null ? bytes.byteLength : blob!.size;
    const transport = this.transport;
    if (state !== ReadyState.OPEN || transport === null || !transport.conn.canSend) {
      this.#rareState().droppedBytes += size;
      return;
    }
    const rare = this.#rare;
    const queue = rare !== null ? rare.sendQueue : null;
    if (queue !== null || blob !== null) {
      // A Blob is read asynchronously; this message and every later one wait behind it, in order. The bytes are
      // copied now: send() takes the data as it is at the time of the call.
      const item = blob ?? text ?? Buffer.from(bytes!);
      if (queue !== null) queue.push(item, size);
      else {
        const q = (this.#rareState().sendQueue = new SendQueue(this.#sendQueueHost()));
        q.push(item, size);
        void q.drain();
      }
      return;
    }
    if (text !== null) {
      transport.sendMessage(text, false, size);
    } else {
      // send() takes the bytes as they are at the time of the call. They are read later when the message waits
      // for zlib (permessage-deflate) or, on the server (no masking), when a large payload is written from the
      // caller's memory: then a copy is made. A Buffer is never copied (Node extension: do not modify it after
      // send()). Otherwise the frame encoder copies (or masks) the bytes right away.
      let payload = bytes!;
      if (!Buffer.isBuffer(payload)) {
        const d = transport.deflate;
        const len = payload.byteLength;
        const later = d !== null ? !d.idle || d.codec.shouldCompress(len) : transport.conn.isServer && len >= MERGE_THRESHOLD;
        if (later) payload = Buffer.from(payload);
      }
      transport.sendMessage(payload, true);
    }
    transport.notePayload(size);
  }

  /** What a SendQueue needs from this WebSocket (made once per queue: only Blob sends make one). */
  #sendQueueHost(): SendQueueHost {
    return {
      transport: () => this.transport,
      dropped: (size) => {
        this.#rareState().droppedBytes += size;
      },
      failed: (err) => {
        const rare = this.#rareState();
        rare.lastError = err;
        rare.failed = true;
        rare.sendQueue = null;
        this.transport?.terminate();
      },
      drained: (pending) => {
        this.#rareState().sendQueue = null;
        if (pending !== null) this.transport?.close(pending.code, pending.reason ?? EMPTY);
      },
    };
  }

  /** The close(code, reason) method steps. */
  close(code?: number, reason?: string): void {
    // WebIDL: optional [Clamp] unsigned short code, optional USVString reason.
    // 1. If code is present, but is neither an integer equal to 1000 nor an integer in the range 3000 to 4999,
    //    inclusive, throw an "InvalidAccessError" DOMException.
    const c = toCloseCode(code);
    // 2. If reason is present: let reasonBytes be the result of UTF-8 encoding reason; if reasonBytes is longer
    //    than 123 bytes, throw a "SyntaxError" DOMException.
    const reasonBytes = toCloseReason(reason);
    this.closeInternal(c, reasonBytes);
  }

  /** @internal Step 3 of close(), also used by server shutdown (which may use 1001 and other codes). */
  closeInternal(code: number | undefined, reason: Buffer | undefined): void {
    const state = this.#readyState;
    // 3. Run the first matching steps:
    //    - If this's ready state is CLOSING or CLOSED: do nothing.
    if (state === ReadyState.CLOSING || state === ReadyState.CLOSED) return;
    //    - If the WebSocket connection is not yet established: fail the WebSocket connection and set this's
    //      ready state to CLOSING.
    if (state === ReadyState.CONNECTING) {
      this.#readyState = ReadyState.CLOSING;
      this.abortConnecting();
      return;
    }
    //    - If the closing handshake has not yet been started: start it and set ready state to CLOSING. With neither
    //      code nor reason the close frame has no body; a reason follows the code (1000 when only a reason is
    //      given, as a close frame body always starts with a code — RFC 6455 §5.5.1).
    if (code === undefined && reason !== undefined && reason.length > 0) code = 1000;
    this.#readyState = ReadyState.CLOSING;
    const rare = this.#rare;
    if (rare !== null && rare.sendQueue !== null) {
      // Messages accepted by send() before close() are sent first: the close frame waits for queued Blobs.
      rare.sendQueue.pendingClose = { code, reason } satisfies PendingClose;
      return;
    }
    //    - Otherwise (the closing handshake has started): set ready state to CLOSING (done above).
    this.transport?.close(code, reason ?? EMPTY);
  }

  /** @internal Client: abort the pending connection (fail the WebSocket connection while CONNECTING). */
  protected abortConnecting(): void {}

  /** Node extra: sends a ping (payload at most 125 bytes); answered by a `pong` event. */
  ping(data: string | ArrayBufferView | ArrayBufferLike = EMPTY): void {
    if (this.#readyState === ReadyState.CONNECTING) {
      throw new DOMException("Failed to execute 'ping' on 'WebSocket': Still in CONNECTING state.", "InvalidStateError");
    }
    this.transport?.conn.ping(controlBytes(data));
  }

  /** Node extra: sends an unsolicited pong (a one-way heartbeat, RFC 6455 §5.5.3). */
  pong(data: string | ArrayBufferView | ArrayBufferLike = EMPTY): void {
    if (this.#readyState === ReadyState.CONNECTING) {
      throw new DOMException("Failed to execute 'pong' on 'WebSocket': Still in CONNECTING state.", "InvalidStateError");
    }
    this.transport?.conn.pong(controlBytes(data));
  }

  /** Node extra: destroys the connection at once, without a closing handshake (close 1006, wasClean false). */
  terminate(): void {
    if (this.transport !== null) this.transport.terminate();
    else if (this.#readyState === ReadyState.CONNECTING) {
      this.#readyState = ReadyState.CLOSING;
      this.abortConnecting();
    }
  }

  // ---- TransportListener ----

  /**
   * "When a WebSocket message has been received with type type and data data". Text messages arrive decoded
   * through onTextMessage (the transport delivers them so because that method exists); this takes binary ones.
   */
  /** @internal */
  onMessage(data: Buffer, isBinary: boolean): void {
    // 1. If ready state is not OPEN, then return.
    if (this.#readyState !== ReadyState.OPEN) return;
    // Nothing can receive the event: neither it nor its data need exist (nothing observable is skipped).
    const handler = this.onmessage;
    if (!this.wants(handler)) return;
    // 2-3. dataForEvent: a string for text; for binary, a Blob or an ArrayBuffer by binaryType.
    let value: unknown;
    if (!isBinary) value = data.toString("utf8");
    else {
      const bt = this.#binaryType;
      if (bt === "nodebuffer") value = data;
      else if (bt === "arraybuffer") value = toArrayBuffer(data);
      else value = new Blob([data]);
    }
    // 4. Fire an event named message, using MessageEvent, with origin the serialization of url's origin.
    this.fire(createMessageEvent(value, (this.#origin ??= originOf(this.#url))), handler);
  }

  /** The same steps for a text message (type text), whose data the core has already decoded to a string. */
  /** @internal */
  onTextMessage(text: string): void {
    // 1. If ready state is not OPEN, then return.
    if (this.#readyState !== ReadyState.OPEN) return;
    const handler = this.onmessage;
    if (!this.wants(handler)) return;
    // 2-4. dataForEvent is the text; fire an event named message, using MessageEvent, with the origin.
    this.fire(createMessageEvent(text, (this.#origin ??= originOf(this.#url))), handler);
  }

  /** @internal */
  onPing(data: Buffer): void {
    // No event handler attribute exists for ping and pong: only listeners can receive them.
    if (this.listening) this.dispatchEvent(new PingPongEvent("ping", data));
  }

  /** @internal */
  onPong(data: Buffer): void {
    if (this.listening) this.dispatchEvent(new PingPongEvent("pong", data));
  }

  /** "When the WebSocket closing handshake is started": set ready state to CLOSING. */
  /** @internal */
  onCloseFrame(_code: number, _reason: string): void {
    if (this.#readyState === ReadyState.OPEN) this.#readyState = ReadyState.CLOSING;
  }

  /** The connection was failed (a close frame with the error's code was sent, so the handshake started). */
  /** @internal */
  onError(err: Error): void {
    const rare = this.#rareState();
    if (rare.lastError === null) rare.lastError = err;
    if (this.#readyState === ReadyState.OPEN) this.#readyState = ReadyState.CLOSING;
  }

  /** "When the WebSocket connection is closed, possibly cleanly". */
  /** @internal */
  onClosed(code: number, reason: string, wasClean: boolean): void {
    // 1. Change the ready state to CLOSED.
    this.#readyState = ReadyState.CLOSED;
    // 2. If the user agent was required to fail the WebSocket connection, fire an event named error. It is
    //    required to on a protocol violation by the peer (RFC 6455 §7.1.7; the core then records the error) or
    //    when a Blob to send cannot be read. A connection merely lost (TCP closed or reset without a close frame)
    //    is closed abnormally (1006, wasClean false) but not failed: no error event, as in Chromium.
    const t = this.transport;
    const rare = this.#rare;
    if (((rare !== null && rare.failed) || (t !== null && t.conn.error !== null)) && this.wants(this.onerror)) {
      this.fire(createErrorEvent(rare?.lastError ?? new Error("WebSocket connection failed")), this.onerror);
    }
    // 3. Fire an event named close, using CloseEvent, with wasClean, code and reason.
    if (this.wants(this.onclose)) this.fire(new CloseEvent("close", { wasClean, code, reason }), this.onclose);
  }

  /** @internal "When the WebSocket connection is established", step 4: fire an event named open. */
  protected fireOpen(): void {
    const onopen = this.onopen;
    if (this.wants(onopen)) this.fire(new Event("open"), onopen);
  }

  /**
   * @internal The connection could not be established (refused, handshake failure, close() while connecting):
   * ready state CLOSED, then error, then close with code 1006 and wasClean false.
   */
  protected failConnecting(err: Error): void {
    this.#readyState = ReadyState.CLOSED;
    const rare = this.#rareState();
    if (rare.lastError === null) rare.lastError = err;
    if (this.wants(this.onerror)) this.fire(createErrorEvent(err), this.onerror);
    if (this.wants(this.onclose)) this.fire(new CloseEvent("close", { wasClean: false, code: 1006, reason: "" }), this.onclose);
  }
}

defineReadyStateConstants(WebSocketBase);

// WebIDL operation lengths (required arguments only) and the class string: "[object WebSocket]".
Object.defineProperty(WebSocketBase.prototype.close, "length", { value: 0 });
Object.defineProperty(WebSocketBase.prototype, Symbol.toStringTag, { value: "WebSocket", configurable: true });
