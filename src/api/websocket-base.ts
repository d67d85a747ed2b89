/**
 * The WebSocket interface of the WHATWG HTML standard (§9.3 "Network: WebSockets", now the WHATWG WebSockets
 * Standard), shared by the Node client and by server-side connections. It meets the protocol only through
 * SocketTransport. Step numbers in comments refer to the algorithms of that interface.
 */
import { Blob } from "node:buffer";
import { isArrayBuffer, isSharedArrayBuffer } from "node:util/types";
import { MAX_CLOSE_REASON_BYTES, ReadyState } from "../protocol/constants.js";
import { MERGE_THRESHOLD } from "../protocol/frame.js";
import type { SocketTransport, TransportListener } from "../node/socket-transport.js";
import { CloseEvent, PingPongEvent, createErrorEvent } from "./events.js";

/** The WebIDL BinaryType enum, plus "nodebuffer" (Node extension: binary messages arrive as a Buffer, no copy). */
export type BinaryType = "blob" | "arraybuffer" | "nodebuffer";
/** What send() takes: WebIDL (BufferSource or Blob or USVString). */
export type SendData = string | ArrayBufferLike | ArrayBufferView | Blob;

/** An event handler IDL attribute value ([LegacyTreatNonObjectAsNull] EventHandler). */
export type EventHandlerValue = ((this: WebSocketBase, ev: any) => any) | object | null;

/** One event handler: its value and the listener registered for it (HTML "event handler" struct). */
interface HandlerSlot {
  value: EventHandlerValue;
  listener: ((ev: Event) => void) | null;
}

/** A close() waiting for queued Blob sends, so that the close frame follows them (order is kept). */
interface PendingClose {
  code: number | undefined;
  reason: Buffer | undefined;
}

const MessageEventCtor: typeof MessageEvent = globalThis.MessageEvent;
const EMPTY = Buffer.alloc(0);

/**
 * Creates the MessageEvent for a received message. `new MessageEvent(type, init)` costs about three times a plain
 * `new Event(type)` in Node 20 (init dictionary destructuring, string conversions, a ports array, port checks), and
 * it ran once per message. Node's MessageEvent is an Event whose getters read five symbol-keyed fields, so when
 * those symbols can be found (checked below, once) the event is built as an Event plus those fields, with a
 * prototype that inherits from MessageEvent.prototype: `instanceof MessageEvent`, the getters, `constructor` and
 * the inspection output are those of a MessageEvent. On any other runtime the real constructor is used.
 */
const createMessageEvent: (data: unknown, origin: string) => MessageEvent = (() => {
  const viaConstructor = (data: unknown, origin: string): MessageEvent => new MessageEventCtor("message", { data, origin });
  const probe = new MessageEventCtor("message", { data: 1, origin: "o" });
  const keys = new Map<string, symbol>();
  for (const sym of Object.getOwnPropertySymbols(probe)) if (sym.description !== undefined) keys.set(sym.description, sym);
  const kData = keys.get("kData");
  const kOrigin = keys.get("kOrigin");
  const kLastEventId = keys.get("kLastEventId");
  const kSource = keys.get("kSource");
  const kPorts = keys.get("kPorts");
  if (!kData || !kOrigin || !kLastEventId || !kSource || !kPorts) return viaConstructor;
  type Slots = Record<symbol, unknown>;
  // The ports attribute is a FrozenArray<MessagePort>; a WebSocket's message events never carry ports.
  const NO_PORTS: readonly MessagePort[] = Object.freeze([]);
  class ReceivedMessageEvent extends Event {
    constructor(data: unknown, origin: string) {
      super("message");
      const self = this as unknown as Slots;
      self[kData!] = data;
      self[kOrigin!] = origin;
      self[kLastEventId!] = "";
      self[kSource!] = null;
      self[kPorts!] = NO_PORTS;
    }
  }
  Object.setPrototypeOf(ReceivedMessageEvent.prototype, MessageEventCtor.prototype);
  Object.defineProperty(ReceivedMessageEvent.prototype, "constructor", { value: MessageEventCtor, writable: true, configurable: true });
  const fast = (data: unknown, origin: string): MessageEvent => new ReceivedMessageEvent(data, origin) as unknown as MessageEvent;
  try {
    const ev = fast("d", "o");
    const ok = ev instanceof MessageEventCtor && ev.type === "message" && ev.data === "d" && ev.origin === "o" &&
      ev.lastEventId === "" && ev.source === null && Array.isArray(ev.ports) && ev.ports.length === 0 &&
      !ev.bubbles && !ev.cancelable && ev.constructor === MessageEventCtor;
    return ok ? fast : viaConstructor;
  } catch {
    return viaConstructor;
  }
})();

export class WebSocketBase extends EventTarget implements TransportListener {
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
  #origin = "";
  #readyState: ReadyState = ReadyState.CONNECTING;
  #protocol = "";
  #extensions = "";
  #binaryType: BinaryType = "blob";
  /** Bytes passed to send() once the closing handshake had started: never sent, yet counted (send() steps). */
  #droppedBytes = 0;
  /** Sends waiting behind a Blob that is being read, in order. Null when nothing waits. */
  #sendQueue: (Blob | Uint8Array | string)[] | null = null;
  #queuedBytes = 0;
  #pendingClose: PendingClose | null = null;
  #handlers: Map<string, HandlerSlot> | null = null;
  #lastError: Error | null = null;
  /** The connection was failed by this side for a reason the core does not know (a Blob could not be read). */
  #failed = false;
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
    return this.#protocol;
  }
  /** The extensions selected by the server ("" until open, or when none was). */
  get extensions(): string {
    return this.#extensions;
  }
  get binaryType(): BinaryType {
    return this.#binaryType;
  }
  set binaryType(value: BinaryType) {
    // WebIDL enumeration attribute: the value is converted to a string, and one that is not a BinaryType value
    // is ignored (no exception). "nodebuffer" is this library's extension.
    const v = `${value}`;
    if (v === "blob" || v === "arraybuffer" || v === "nodebuffer") this.#binaryType = v;
  }

  /**
   * The number of bytes of application data (UTF-8 text and binary payloads) queued by send() and not yet
   * transmitted to the network, without framing overhead. Data passed to send() after the closing handshake
   * started is counted too and never leaves the count.
   */
  get bufferedAmount(): number {
    const t = this.transport;
    return this.#droppedBytes + this.#queuedBytes + (t !== null ? t.payloadBuffered : 0);
  }

  // ---- event handler IDL attributes (HTML §8.1.8.1) ----

  get onopen(): EventHandlerValue {
    return this.#getHandler("open");
  }
  set onopen(v: EventHandlerValue) {
    this.#setHandler("open", v);
  }
  get onmessage(): EventHandlerValue {
    return this.#getHandler("message");
  }
  set onmessage(v: EventHandlerValue) {
    this.#setHandler("message", v);
  }
  get onerror(): EventHandlerValue {
    return this.#getHandler("error");
  }
  set onerror(v: EventHandlerValue) {
    this.#setHandler("error", v);
  }
  get onclose(): EventHandlerValue {
    return this.#getHandler("close");
  }
  set onclose(v: EventHandlerValue) {
    this.#setHandler("close", v);
  }

  #getHandler(type: string): EventHandlerValue {
    const slot = this.#handlers?.get(type);
    return slot === undefined ? null : slot.value;
  }

  #setHandler(type: string, value: EventHandlerValue): void {
    // [LegacyTreatNonObjectAsNull]: a value that is not an object (a string, a number...) becomes null; any object
    // is kept (a non-callable one is then simply not called).
    const v = (typeof value === "object" && value !== null) || typeof value === "function" ? value : null;
    if (this.#handlers === null) this.#handlers = new Map();
    let slot = this.#handlers.get(type);
    if (slot === undefined) {
      slot = { value: null, listener: null };
      this.#handlers.set(type, slot);
    }
    if (v === null) {
      // "Deactivate an event handler": set its value to null and remove its listener from the list; a later
      // non-null value therefore registers again, at the end of the list.
      if (slot.listener !== null) this.removeEventListener(type, slot.listener);
      slot.listener = null;
      slot.value = null;
      return;
    }
    slot.value = v;
    if (slot.listener === null) {
      // "Activate an event handler": the listener is added once, when the handler first becomes non-null;
      // replacing the value later keeps that place relative to addEventListener() listeners.
      const s = slot;
      const target = this;
      slot.listener = function eventHandlerListener(ev: Event): void {
        const fn = s.value;
        if (typeof fn !== "function") return;
        // The event handler processing algorithm: call with this = the event's currentTarget; a return value
        // of false cancels the event.
        const r = (fn as (this: WebSocketBase, ev: Event) => unknown).call(target, ev);
        if (r === false) ev.preventDefault();
      };
      this.addEventListener(type, slot.listener);
    }
  }

  // ---- protected hooks for the client and server subclasses ----

  /** @internal */ protected setUrl(url: string): void {
    this.#url = url;
    this.#origin = originOf(url);
  }

  /**
   * @internal "When the WebSocket connection is established": 1. set ready state to OPEN; 2. extensions;
   * 3. protocol. The caller fires `open` (step 4).
   */
  protected attach(transport: SocketTransport, protocol: string, extensions: string): void {
    this.transport = transport;
    this.#readyState = ReadyState.OPEN;
    this.#extensions = extensions;
    this.#protocol = protocol;
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
    // WebIDL: send((BufferSource or Blob or USVString) data) — the argument is required; other values convert to
    // a string; SharedArrayBuffer (and views on one) are not BufferSource and throw a TypeError.
    if (arguments.length === 0) throw new TypeError("WebSocket.send: 1 argument required, but only 0 present");
    let bytes: Uint8Array | null = null;
    let text: string | null = null;
    let blob: Blob | null = null;
    if (typeof data === "string") text = data;
    else if (ArrayBuffer.isView(data)) {
      const buffer = data.buffer;
      if (!(buffer instanceof ArrayBuffer) && isSharedArrayBuffer(buffer)) {
        throw new TypeError("WebSocket.send: a view on a SharedArrayBuffer is not allowed");
      }
      bytes = data instanceof Uint8Array ? data : new Uint8Array(buffer, data.byteOffset, data.byteLength);
    } else if (isArrayBuffer(data)) bytes = new Uint8Array(data);
    else if (data instanceof Blob) blob = data;
    else if (isSharedArrayBuffer(data)) throw new TypeError("WebSocket.send: a SharedArrayBuffer is not allowed");
    else text = `${data as unknown as string}`;

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
      this.#droppedBytes += size;
      return;
    }
    const queue = this.#sendQueue;
    if (queue !== null || blob !== null) {
      // A Blob is read asynchronously; this message and every later one wait behind it, in order. The bytes are
      // copied now: send() takes the data as it is at the time of the call.
      const item = blob ?? text ?? Buffer.from(bytes!);
      this.#queuedBytes += size;
      if (queue !== null) queue.push(item);
      else {
        this.#sendQueue = [item];
        void this.#drainSendQueue();
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

  async #drainSendQueue(): Promise<void> {
    const queue = this.#sendQueue!;
    while (queue.length > 0) {
      const item = queue[0]!;
      let payload: Uint8Array | string;
      if (item instanceof Blob) {
        try {
          payload = new Uint8Array(await item.arrayBuffer());
        } catch (err) {
          // The Blob could not be read: the data cannot be sent, so the connection is failed (closed abnormally).
          this.#lastError = err as Error;
          this.#failed = true;
          this.#sendQueue = null;
          this.#queuedBytes = 0;
          this.#pendingClose = null;
          this.transport?.terminate();
          return;
        }
      } else {
        payload = item;
      }
      queue.shift();
      const size = typeof payload === "string" ? Buffer.byteLength(payload) : payload.byteLength;
      this.#queuedBytes -= size;
      const transport = this.transport;
      if (transport === null || !transport.conn.canSend) {
        // The connection closed while the Blob was read: the data is not sent, and stays counted.
        this.#droppedBytes += size;
        continue;
      }
      transport.sendMessage(payload, typeof payload !== "string");
      transport.notePayload(size);
    }
    this.#sendQueue = null;
    const pending = this.#pendingClose;
    if (pending !== null) {
      this.#pendingClose = null;
      this.transport?.close(pending.code, pending.reason ?? EMPTY);
    }
  }

  /** The close(code, reason) method steps. */
  close(code?: number, reason?: string): void {
    // WebIDL: optional [Clamp] unsigned short code, optional USVString reason.
    let c: number | undefined;
    if (code !== undefined) c = clampUint16(code);
    // 1. If code is present, but is neither an integer equal to 1000 nor an integer in the range 3000 to 4999,
    //    inclusive, throw an "InvalidAccessError" DOMException.
    if (c !== undefined && c !== 1000 && !(c >= 3000 && c <= 4999)) {
      throw new DOMException(
        `Failed to execute 'close' on 'WebSocket': The close code must be either 1000, or between 3000 and 4999. ${c} is neither.`,
        "InvalidAccessError",
      );
    }
    // 2. If reason is present: let reasonBytes be the result of UTF-8 encoding reason; if reasonBytes is longer
    //    than 123 bytes, throw a "SyntaxError" DOMException.
    let reasonBytes: Buffer | undefined;
    if (reason !== undefined) {
      reasonBytes = Buffer.from(`${reason}`, "utf8");
      if (reasonBytes.length > MAX_CLOSE_REASON_BYTES) {
        throw new DOMException(
          `Failed to execute 'close' on 'WebSocket': The close reason must not be greater than ${MAX_CLOSE_REASON_BYTES} UTF-8 bytes.`,
          "SyntaxError",
        );
      }
    }
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
    if (this.#sendQueue !== null) {
      // Messages accepted by send() before close() are sent first: the close frame waits for queued Blobs.
      this.#pendingClose = { code, reason };
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
  onMessage(data: Buffer, isBinary: boolean): void {
    // 1. If ready state is not OPEN, then return.
    if (this.#readyState !== ReadyState.OPEN) return;
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
    this.dispatchEvent(createMessageEvent(value, this.#origin));
  }

  /** The same steps for a text message (type text), whose data the core has already decoded to a string. */
  onTextMessage(text: string): void {
    // 1. If ready state is not OPEN, then return.
    if (this.#readyState !== ReadyState.OPEN) return;
    // 2-4. dataForEvent is the text; fire an event named message, using MessageEvent, with the origin.
    this.dispatchEvent(createMessageEvent(text, this.#origin));
  }

  onPing(data: Buffer): void {
    this.dispatchEvent(new PingPongEvent("ping", data));
  }

  onPong(data: Buffer): void {
    this.dispatchEvent(new PingPongEvent("pong", data));
  }

  /** "When the WebSocket closing handshake is started": set ready state to CLOSING. */
  onCloseFrame(_code: number, _reason: string): void {
    if (this.#readyState === ReadyState.OPEN) this.#readyState = ReadyState.CLOSING;
  }

  /** The connection was failed (a close frame with the error's code was sent, so the handshake started). */
  onError(err: Error): void {
    if (this.#lastError === null) this.#lastError = err;
    if (this.#readyState === ReadyState.OPEN) this.#readyState = ReadyState.CLOSING;
  }

  /** "When the WebSocket connection is closed, possibly cleanly". */
  onClosed(code: number, reason: string, wasClean: boolean): void {
    // 1. Change the ready state to CLOSED.
    this.#readyState = ReadyState.CLOSED;
    // 2. If the user agent was required to fail the WebSocket connection, fire an event named error. It is
    //    required to on a protocol violation by the peer (RFC 6455 §7.1.7; the core then records the error) or
    //    when a Blob to send cannot be read. A connection merely lost (TCP closed or reset without a close frame)
    //    is closed abnormally (1006, wasClean false) but not failed: no error event, as in Chromium.
    const t = this.transport;
    if (this.#failed || (t !== null && t.conn.error !== null)) {
      this.dispatchEvent(createErrorEvent(this.#lastError ?? new Error("WebSocket connection failed")));
    }
    // 3. Fire an event named close, using CloseEvent, with wasClean, code and reason.
    this.dispatchEvent(new CloseEvent("close", { wasClean, code, reason }));
  }

  onDrain(): void {}

  /** @internal "When the WebSocket connection is established", step 4: fire an event named open. */
  protected fireOpen(): void {
    this.dispatchEvent(new Event("open"));
  }

  /**
   * @internal The connection could not be established (refused, handshake failure, close() while connecting):
   * ready state CLOSED, then error, then close with code 1006 and wasClean false.
   */
  protected failConnecting(err: Error): void {
    this.#readyState = ReadyState.CLOSED;
    if (this.#lastError === null) this.#lastError = err;
    this.dispatchEvent(createErrorEvent(err));
    this.dispatchEvent(new CloseEvent("close", { wasClean: false, code: 1006, reason: "" }));
  }
}

/**
 * @internal WebIDL constants: { [[Writable]]: false, [[Enumerable]]: true, [[Configurable]]: false }, own
 * properties of the interface object and of the interface prototype object. Each concrete class calls this.
 */
export function defineReadyStateConstants(ctor: Function): void {
  for (const target of [ctor, ctor.prototype]) {
    Object.defineProperties(target, {
      CONNECTING: { value: ReadyState.CONNECTING, writable: false, enumerable: true, configurable: false },
      OPEN: { value: ReadyState.OPEN, writable: false, enumerable: true, configurable: false },
      CLOSING: { value: ReadyState.CLOSING, writable: false, enumerable: true, configurable: false },
      CLOSED: { value: ReadyState.CLOSED, writable: false, enumerable: true, configurable: false },
    });
  }
}
defineReadyStateConstants(WebSocketBase);

// WebIDL operation lengths (required arguments only) and the class string: "[object WebSocket]".
Object.defineProperty(WebSocketBase.prototype.close, "length", { value: 0 });
Object.defineProperty(WebSocketBase.prototype, Symbol.toStringTag, { value: "WebSocket", configurable: true });

/** WebIDL [Clamp] unsigned short: NaN → 0, clamp to [0, 65535], round half to even. */
function clampUint16(value: unknown): number {
  let x = Number(value);
  if (Number.isNaN(x)) return 0;
  x = Math.min(Math.max(x, 0), 65535);
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

function controlBytes(data: string | ArrayBufferView | ArrayBufferLike): Uint8Array {
  if (typeof data === "string") return Buffer.from(data);
  if (ArrayBuffer.isView(data)) {
    return data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  return new Uint8Array(data as ArrayBuffer);
}

function toArrayBuffer(buf: Buffer): ArrayBuffer {
  // A Buffer that spans a whole ArrayBuffer owns it (no other message shares it): hand it over without a copy.
  if (buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength) return buf.buffer as ArrayBuffer;
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "";
  }
}
