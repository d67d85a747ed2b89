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
import { CloseEvent, PingPongEvent, createErrorEvent, type WebSocketErrorEvent } from "./events.js";

/** The WebIDL BinaryType enum, plus "nodebuffer" (Node extension: binary messages arrive as a Buffer, no copy). */
export type BinaryType = "blob" | "arraybuffer" | "nodebuffer";
/** What send() takes: WebIDL (BufferSource or Blob or USVString). */
export type SendData = string | ArrayBufferLike | ArrayBufferView | Blob;

/** An event handler IDL attribute value ([LegacyTreatNonObjectAsNull] EventHandler). */
export type EventHandlerValue = ((this: WebSocketBase, ev: Event) => unknown) | object | null;

/** The events a WebSocket fires, by type (ping and pong: Node extras, listeners only). */
export interface WebSocketEventMap {
  open: Event;
  message: MessageEvent;
  error: WebSocketErrorEvent;
  close: CloseEvent;
  ping: PingPongEvent;
  pong: PingPongEvent;
}

/** The value of an event handler attribute (onopen, onmessage, onerror, onclose): a function of its event, or null. */
export type WebSocketEventHandler<E extends Event> = ((this: WebSocketBase, ev: E) => unknown) | null;

/**
 * What few connections ever need (a send after the closing handshake started, queued Blobs, a failure, listener
 * state), kept out of every connection's object until one does.
 */
interface RareState {
  /** Bytes passed to send() once the closing handshake had started: never sent, yet counted (send() steps). */
  droppedBytes: number;
  /** Bytes of the sends waiting behind a Blob. */
  queuedBytes: number;
  pendingClose: PendingClose | null;
  lastError: Error | null;
  /** The connection was failed by this side for a reason the core does not know (a Blob could not be read). */
  failed: boolean;
  /** Once listener state exists: the listener registered for each active event handler, by Handler index. */
  handlerListeners: (((ev: Event) => void) | null)[] | null;
  /** The subprotocol and extensions selected by the server; "" when none (the values while no RareState exists). */
  protocol: string;
  extensions: string;
  /** Sends waiting behind a Blob that is being read, in order. Null when nothing waits. */
  sendQueue: (Blob | Uint8Array | string)[] | null;
  /** The onopen event handler's value (a server connection, open from the start, seldom has one). */
  onopen: EventHandlerValue;
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
  const NO_PORTS: readonly unknown[] = Object.freeze([]);
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

/** The event handler IDL attributes of WebSocket, in the order of the fields that hold them. */
const HANDLER_TYPES = ["open", "message", "error", "close"] as const;
const enum Handler {
  Open = 0,
  Message = 1,
  Error = 2,
  Close = 3,
}

/**
 * Node's EventTarget constructor gives every instance its listener state up front: two Maps and two more fields
 * (symbol-keyed own properties), about 300 bytes, and every addEventListener() adds a list head and a Listener.
 * A server connection usually has only event handlers (onmessage, onerror) and no listener at all, so
 * WebSocketBase starts without that state: its instances are EventTargets (EventTarget.prototype is in their
 * chain, and the constructor chain carries the static brand Node's methods check) whose state is created, by the
 * real EventTarget constructor, the first time anything reads or writes it: addEventListener(),
 * removeEventListener(), dispatchEvent() or any Node helper (events.getEventListeners(), setMaxListeners()).
 * Until then the event handlers are kept in fields and called directly (#fire), exactly as the one listener each
 * of them would be (HTML §8.1.8.1: the handler's listener is the first of its list when no other exists).
 * The symbols are found on a fresh EventTarget and Event (checked below, once); on a runtime where they cannot be,
 * WebSocketBase extends EventTarget as usual and always dispatches through it.
 */
const eventTargetSymbols: readonly symbol[] = Object.getOwnPropertySymbols(new EventTarget());
const eventSymbols = (() => {
  const byName = new Map<string | undefined, symbol>();
  for (const sym of Object.getOwnPropertySymbols(new Event("probe"))) byName.set(sym.description, sym);
  return { target: byName.get("kTarget"), dispatching: byName.get("kIsBeingDispatched") };
})();
const kTarget = eventSymbols.target;
const kDispatching = eventSymbols.dispatching;

/** An EventTarget constructor that creates no listener state (see above); its prototype is EventTarget.prototype. */
const LazyEventTarget = function LazyEventTarget(): void {} as unknown as typeof EventTarget;
Object.setPrototypeOf(LazyEventTarget, EventTarget);
LazyEventTarget.prototype = EventTarget.prototype;

const lazyTargets = (() => {
  if (eventTargetSymbols.length === 0 || kTarget === undefined || kDispatching === undefined) return false;
  // The state must be all there is: a target whose symbols were copied from a fresh EventTarget works.
  try {
    const probe = new LazyEventTarget() as unknown as Record<symbol, unknown>;
    const fresh = new EventTarget() as unknown as Record<symbol, unknown>;
    for (const sym of eventTargetSymbols) probe[sym] = fresh[sym];
    let seen: unknown = null;
    (probe as unknown as EventTarget).addEventListener("probe", (ev) => (seen = ev.target));
    const ev = new Event("probe");
    (probe as unknown as EventTarget).dispatchEvent(ev);
    return probe instanceof EventTarget && seen === probe && ev.target === probe;
  } catch {
    return false;
  }
})();

/** Errors thrown by a listener are reported as Node's EventTarget reports them: rethrown on the next tick. */
function rethrow(err: unknown): never {
  throw err;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === "object" && v !== null && typeof (v as PromiseLike<unknown>).then === "function";
}

// (It implements TransportListener structurally: those methods are internal, so the public .d.ts does not name it.)
export class WebSocketBase extends (lazyTargets ? LazyEventTarget : EventTarget) {
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
  /** The event handlers' values (null, a function, or another object, which is then not called). */
  #onmessage: EventHandlerValue = null;
  #onerror: EventHandlerValue = null;
  #onclose: EventHandlerValue = null;
  /** Whether this target's listener state exists (always when lazyTargets is false). */
  #listening = !lazyTargets;
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
    const rare = this.#rare;
    return (rare !== null ? rare.droppedBytes + rare.queuedBytes : 0) + (t !== null ? t.payloadBuffered : 0);
  }

  /** The onopen event handler's value (kept in RareState). */
  #onopen(): EventHandlerValue {
    const rare = this.#rare;
    return rare !== null ? rare.onopen : null;
  }

  #rareState(): RareState {
    return (this.#rare ??= {
      droppedBytes: 0,
      queuedBytes: 0,
      pendingClose: null,
      lastError: null,
      failed: false,
      handlerListeners: null,
      protocol: "",
      extensions: "",
      sendQueue: null,
      onopen: null,
    });
  }

  // ---- event handler IDL attributes (HTML §8.1.8.1) ----

  get onopen(): WebSocketEventHandler<Event> {
    return this.#onopen() as WebSocketEventHandler<Event>;
  }
  set onopen(v: WebSocketEventHandler<Event>) {
    const value = this.#setHandler(Handler.Open, v);
    if (value !== null || this.#rare !== null) this.#rareState().onopen = value;
  }
  get onmessage(): WebSocketEventHandler<MessageEvent> {
    return this.#onmessage as WebSocketEventHandler<MessageEvent>;
  }
  set onmessage(v: WebSocketEventHandler<MessageEvent>) {
    this.#onmessage = this.#setHandler(Handler.Message, v);
  }
  get onerror(): WebSocketEventHandler<WebSocketErrorEvent> {
    return this.#onerror as WebSocketEventHandler<WebSocketErrorEvent>;
  }
  set onerror(v: WebSocketEventHandler<WebSocketErrorEvent>) {
    this.#onerror = this.#setHandler(Handler.Error, v);
  }
  get onclose(): WebSocketEventHandler<CloseEvent> {
    return this.#onclose as WebSocketEventHandler<CloseEvent>;
  }
  set onclose(v: WebSocketEventHandler<CloseEvent>) {
    this.#onclose = this.#setHandler(Handler.Close, v);
  }

  #handler(index: Handler): EventHandlerValue {
    return index === Handler.Open ? this.#onopen() : index === Handler.Message ? this.#onmessage : index === Handler.Error ? this.#onerror : this.#onclose;
  }

  /** Registers or removes the handler's listener for a new value; returns the value to store. */
  #setHandler(index: Handler, value: EventHandlerValue): EventHandlerValue {
    // [LegacyTreatNonObjectAsNull]: a value that is not an object (a string, a number...) becomes null; any object
    // is kept (a non-callable one is then simply not called).
    const v = (typeof value === "object" && value !== null) || typeof value === "function" ? value : null;
    // Without listener state, only the value is kept: #fire calls it, and #materialize registers its listener.
    if (!this.#listening) return v;
    const rare = this.#rareState();
    const listeners = (rare.handlerListeners ??= [null, null, null, null]);
    const type = HANDLER_TYPES[index];
    const current = listeners[index]!;
    if (v === null) {
      // "Deactivate an event handler": set its value to null and remove its listener from the list; a later
      // non-null value therefore registers again, at the end of the list.
      if (current !== null) this.removeEventListener(type, current);
      listeners[index] = null;
    } else if (current === null) {
      // "Activate an event handler": the listener is added once, when the handler first becomes non-null;
      // replacing the value later keeps that place relative to addEventListener() listeners.
      listeners[index] = this.#handlerListener(index);
      this.addEventListener(type, listeners[index]!);
    }
    return v;
  }

  /** The listener of an event handler (HTML "the event handler processing algorithm"). */
  #handlerListener(index: Handler): (ev: Event) => void {
    const target = this;
    return function eventHandlerListener(ev: Event): void {
      const fn = target.#handler(index);
      if (typeof fn !== "function") return;
      // Called with this = the event's currentTarget; a return value of false cancels the event.
      let r: unknown;
      try {
        r = (fn as (this: WebSocketBase, ev: Event) => unknown).call(target, ev);
      } catch (err) {
        target.reportError(err);
        return;
      }
      if (r === false) ev.preventDefault();
      else if (isThenable(r)) r.then(undefined, (err: unknown) => target.reportError(err));
    };
  }

  /**
   * Creates the EventTarget state (first use of a listener method or of Node's EventTarget internals): the
   * fields a fresh EventTarget has, then the listeners of the handlers already set, which come first in their
   * lists since no listener existed before.
   */
  #materialize(): void {
    if (this.#listening) return;
    this.#listening = true;
    const fresh = new EventTarget() as unknown as Record<symbol, unknown>;
    for (const sym of eventTargetSymbols) {
      if (!Object.prototype.hasOwnProperty.call(this, sym)) {
        Object.defineProperty(this, sym, { value: fresh[sym], writable: true, enumerable: true, configurable: true });
      }
    }
    for (let i = Handler.Open; i <= Handler.Close; i++) {
      if (this.#handler(i) !== null) this.#setHandler(i, this.#handler(i));
    }
  }

  static {
    if (lazyTargets) {
      // The EventTarget state, created on first access (see LazyEventTarget).
      for (const sym of eventTargetSymbols) {
        Object.defineProperty(WebSocketBase.prototype, sym, {
          configurable: true,
          enumerable: false,
          get(this: unknown) {
            if (!(this instanceof WebSocketBase) || !(#listening in this) || this.#listening) return undefined;
            this.#materialize();
            return (this as unknown as Record<symbol, unknown>)[sym];
          },
          set(this: unknown, value: unknown) {
            if (this instanceof WebSocketBase && #listening in this) this.#materialize();
            Object.defineProperty(this, sym, { value, writable: true, enumerable: true, configurable: true });
          },
        });
      }
    }
  }

  /**
   * Dispatches an event this object fires itself. With listener state this is dispatchEvent(). Without it the
   * only possible receiver is the event handler `handler`, called as Node's EventTarget would call its
   * listener: target and currentTarget set, this = the WebSocket, false cancels, a throw is reported (not
   * propagated) on the next tick.
   */
  #fire(ev: Event, handler: EventHandlerValue): void {
    if (this.#listening) {
      this.dispatchEvent(ev);
      return;
    }
    const slots = ev as unknown as Record<symbol, unknown>;
    slots[kTarget!] = this;
    if (typeof handler !== "function") return;
    slots[kDispatching!] = true;
    try {
      const r = (handler as (this: WebSocketBase, ev: Event) => unknown).call(this, ev);
      if (r === false) ev.preventDefault();
      else if (isThenable(r)) r.then(undefined, (err: unknown) => this.reportError(err));
    } catch (err) {
      this.reportError(err);
    }
    slots[kDispatching!] = false;
  }

  /**
   * @internal How an exception thrown (or a promise rejected) by an event handler is reported. Here as Node's
   * EventTarget reports a listener's: thrown again on the next tick (an uncaught exception). A server-side
   * connection reports it to its server instead (ServerWebSocket).
   */
  protected reportError(err: unknown): void {
    process.nextTick(rethrow, err);
  }

  /** Whether an event of this type, fired now, could reach anything (false: it need not be created). */
  #wants(handler: EventHandlerValue): boolean {
    return this.#listening || handler !== null;
  }

  // ---- protected hooks for the client and server subclasses ----

  /** @internal */
  protected setUrl(url: string): void {
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
      this.#rareState().droppedBytes += size;
      return;
    }
    const rare = this.#rare;
    const queue = rare !== null ? rare.sendQueue : null;
    if (queue !== null || blob !== null) {
      // A Blob is read asynchronously; this message and every later one wait behind it, in order. The bytes are
      // copied now: send() takes the data as it is at the time of the call.
      const item = blob ?? text ?? Buffer.from(bytes!);
      this.#rareState().queuedBytes += size;
      if (queue !== null) queue.push(item);
      else {
        this.#rareState().sendQueue = [item];
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
    const queue = this.#rare!.sendQueue!;
    while (queue.length > 0) {
      const item = queue[0]!;
      let payload: Uint8Array | string;
      if (item instanceof Blob) {
        try {
          payload = new Uint8Array(await item.arrayBuffer());
        } catch (err) {
          // The Blob could not be read: the data cannot be sent, so the connection is failed (closed abnormally).
          const rare = this.#rareState();
          rare.lastError = err as Error;
          rare.failed = true;
          rare.sendQueue = null;
          rare.queuedBytes = 0;
          rare.pendingClose = null;
          this.transport?.terminate();
          return;
        }
      } else {
        payload = item;
      }
      queue.shift();
      const size = typeof payload === "string" ? Buffer.byteLength(payload) : payload.byteLength;
      const rare = this.#rareState();
      rare.queuedBytes -= size;
      const transport = this.transport;
      if (transport === null || !transport.conn.canSend) {
        // The connection closed while the Blob was read: the data is not sent, and stays counted.
        rare.droppedBytes += size;
        continue;
      }
      transport.sendMessage(payload, typeof payload !== "string");
      transport.notePayload(size);
    }
    const rare = this.#rare!;
    rare.sendQueue = null;
    const pending = rare.pendingClose;
    if (pending !== null) {
      rare.pendingClose = null;
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
    const rare = this.#rare;
    if (rare !== null && rare.sendQueue !== null) {
      // Messages accepted by send() before close() are sent first: the close frame waits for queued Blobs.
      rare.pendingClose = { code, reason };
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
    const handler = this.#onmessage;
    if (!this.#wants(handler)) return;
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
    this.#fire(createMessageEvent(value, (this.#origin ??= originOf(this.#url))), handler);
  }

  /** The same steps for a text message (type text), whose data the core has already decoded to a string. */
  /** @internal */
  onTextMessage(text: string): void {
    // 1. If ready state is not OPEN, then return.
    if (this.#readyState !== ReadyState.OPEN) return;
    const handler = this.#onmessage;
    if (!this.#wants(handler)) return;
    // 2-4. dataForEvent is the text; fire an event named message, using MessageEvent, with the origin.
    this.#fire(createMessageEvent(text, (this.#origin ??= originOf(this.#url))), handler);
  }

  /** @internal */
  onPing(data: Buffer): void {
    // No event handler attribute exists for ping and pong: only listeners can receive them.
    if (this.#listening) this.dispatchEvent(new PingPongEvent("ping", data));
  }

  /** @internal */
  onPong(data: Buffer): void {
    if (this.#listening) this.dispatchEvent(new PingPongEvent("pong", data));
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
    if (((rare !== null && rare.failed) || (t !== null && t.conn.error !== null)) && this.#wants(this.#onerror)) {
      this.#fire(createErrorEvent(rare?.lastError ?? new Error("WebSocket connection failed")), this.#onerror);
    }
    // 3. Fire an event named close, using CloseEvent, with wasClean, code and reason.
    if (this.#wants(this.#onclose)) this.#fire(new CloseEvent("close", { wasClean, code, reason }), this.#onclose);
  }

  /** @internal "When the WebSocket connection is established", step 4: fire an event named open. */
  protected fireOpen(): void {
    const onopen = this.#onopen();
    if (this.#wants(onopen)) this.#fire(new Event("open"), onopen);
  }

  /**
   * @internal The connection could not be established (refused, handshake failure, close() while connecting):
   * ready state CLOSED, then error, then close with code 1006 and wasClean false.
   */
  protected failConnecting(err: Error): void {
    this.#readyState = ReadyState.CLOSED;
    const rare = this.#rareState();
    if (rare.lastError === null) rare.lastError = err;
    if (this.#wants(this.#onerror)) this.#fire(createErrorEvent(err), this.#onerror);
    if (this.#wants(this.#onclose)) this.#fire(new CloseEvent("close", { wasClean: false, code: 1006, reason: "" }), this.#onclose);
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

// The last url whose origin was computed, and that origin: a server's connections usually share one url (one
// string, see WebSocketServer), so they share one origin string, computed once.
let lastOriginUrl = "";
let lastOrigin = "";

function originOf(url: string): string {
  if (url === lastOriginUrl && url !== "") return lastOrigin;
  let origin: string;
  try {
    origin = new URL(url).origin;
  } catch {
    origin = "";
  }
  lastOriginUrl = url;
  lastOrigin = origin;
  return origin;
}
