/**
 * The WebSocket interface of the WHATWG HTML standard (§9.3), shared by the Node client and by server-side
 * connections. It meets the protocol only through SocketTransport.
 */
import { Blob } from "node:buffer";
import { ReadyState, MAX_CLOSE_REASON_BYTES } from "../protocol/constants.js";
import { SocketTransport, type TransportListener } from "../node/socket-transport.js";
import { CloseEvent, ErrorEvent, PingPongEvent } from "./events.js";

export type BinaryType = "blob" | "arraybuffer" | "nodebuffer";
export type SendData = string | ArrayBufferLike | ArrayBufferView | Blob;

type Handler = ((this: WebSocketBase, ev: any) => any) | null;

interface HandlerSlot {
  value: Handler;
  listener: ((ev: Event) => void) | null;
}

export class WebSocketBase extends EventTarget implements TransportListener {
  static readonly CONNECTING = ReadyState.CONNECTING;
  static readonly OPEN = ReadyState.OPEN;
  static readonly CLOSING = ReadyState.CLOSING;
  static readonly CLOSED = ReadyState.CLOSED;

  #url = "";
  #origin = "";
  #readyState: ReadyState = ReadyState.CONNECTING;
  #protocol = "";
  #extensions = "";
  #binaryType: BinaryType = "blob";
  /** Bytes of data passed to send() after the closing handshake started (HTML §9.3.4: they still count). */
  #droppedBytes = 0;
  /** Blob sends waiting to be read, in order; later sends wait behind them. */
  #sendQueue: SendData[] | null = null;
  #queuedBytes = 0;
  #handlers = new Map<string, HandlerSlot>();
  /** @internal */ protected transport: SocketTransport | null = null;

  // ---- attributes ----
  get url(): string {
    return this.#url;
  }
  get readyState(): ReadyState {
    return this.#readyState;
  }
  get protocol(): string {
    return this.#protocol;
  }
  get extensions(): string {
    return this.#extensions;
  }
  get binaryType(): BinaryType {
    return this.#binaryType;
  }
  set binaryType(value: BinaryType) {
    // HTML: setting binaryType to a value that is not a BinaryType enum value is ignored (WebIDL enum).
    if (value === "blob" || value === "arraybuffer" || value === "nodebuffer") this.#binaryType = value;
  }
  /** Bytes accepted by send() and not yet handed to the network. */
  get bufferedAmount(): number {
    return this.#droppedBytes + this.#queuedBytes + (this.transport !== null ? this.transport.bufferedAmount : 0);
  }

  get CONNECTING(): 0 {
    return ReadyState.CONNECTING;
  }
  get OPEN(): 1 {
    return ReadyState.OPEN;
  }
  get CLOSING(): 2 {
    return ReadyState.CLOSING;
  }
  get CLOSED(): 3 {
    return ReadyState.CLOSED;
  }

  // ---- event handler attributes (HTML §8.1.8.1) ----
  get onopen(): Handler {
    return this.#getHandler("open");
  }
  set onopen(v: Handler) {
    this.#setHandler("open", v);
  }
  get onmessage(): Handler {
    return this.#getHandler("message");
  }
  set onmessage(v: Handler) {
    this.#setHandler("message", v);
  }
  get onerror(): Handler {
    return this.#getHandler("error");
  }
  set onerror(v: Handler) {
    this.#setHandler("error", v);
  }
  get onclose(): Handler {
    return this.#getHandler("close");
  }
  set onclose(v: Handler) {
    this.#setHandler("close", v);
  }

  #getHandler(type: string): Handler {
    return this.#handlers.get(type)?.value ?? null;
  }

  #setHandler(type: string, value: Handler): void {
    // Non-callable objects are treated as null (WebIDL EventHandler is a nullable callback).
    const v = typeof value === "function" ? value : null;
    let slot = this.#handlers.get(type);
    if (slot === undefined) {
      slot = { value: null, listener: null };
      this.#handlers.set(type, slot);
    }
    if (v === null) {
      // Setting null removes the event listener; a later handler is added at the end of the list.
      if (slot.listener !== null) this.removeEventListener(type, slot.listener);
      slot.listener = null;
      slot.value = null;
      return;
    }
    slot.value = v;
    if (slot.listener === null) {
      // The listener is registered once, where the handler was first set; replacing the handler keeps its place.
      const s = slot;
      slot.listener = (ev: Event) => {
        const fn = s.value;
        if (fn !== null) {
          const r = fn.call(this, ev);
          // HTML "the event handler processing algorithm": a false return value cancels the event.
          if (r === false) ev.preventDefault();
        }
      };
      this.addEventListener(type, slot.listener);
    }
  }

  // ---- protected hooks for the client and server subclasses ----

  /** @internal */ protected setUrl(url: string): void {
    this.#url = url;
    this.#origin = originOf(url);
  }

  /** @internal Binds an open transport and moves to OPEN (without firing the open event). */
  protected attach(transport: SocketTransport, protocol: string, extensions: string): void {
    this.transport = transport;
    this.#protocol = protocol;
    this.#extensions = extensions;
    this.#readyState = ReadyState.OPEN;
  }

  /** @internal */ protected setReadyState(state: ReadyState): void {
    this.#readyState = state;
  }

  /** @internal */ protected setDefaultBinaryType(type: BinaryType): void {
    this.#binaryType = type;
  }

  // ---- methods ----

  /** HTML §9.3.4 send(data). */
  send(data: SendData): void {
    // 1. If this's ready state is CONNECTING, throw an "InvalidStateError" DOMException.
    if (this.#readyState === ReadyState.CONNECTING) {
      throw new DOMException("WebSocket is still CONNECTING", "InvalidStateError");
    }
    const size = byteSize(data);
    // 2. If the closing handshake has started (CLOSING or CLOSED), data is not sent, but bufferedAmount
    //    increases by its size.
    const transport = this.transport;
    if (this.#readyState !== ReadyState.OPEN || transport === null || !transport.conn.canSend) {
      this.#droppedBytes += size;
      return;
    }
    if (this.#sendQueue !== null) {
      // A Blob ahead of this message is still being read: keep the order.
      this.#sendQueue.push(data);
      this.#queuedBytes += size;
      return;
    }
    if (data instanceof Blob) {
      this.#sendQueue = [data];
      this.#queuedBytes += size;
      this.#drainSendQueue();
      return;
    }
    this.#sendNow(transport, data);
  }

  #sendNow(transport: SocketTransport, data: Exclude<SendData, Blob>): void {
    if (typeof data === "string") transport.conn.sendText(data);
    else transport.conn.send(toBytes(data), true);
  }

  async #drainSendQueue(): Promise<void> {
    const queue = this.#sendQueue!;
    while (queue.length > 0) {
      const item = queue[0]!;
      let bytes: Exclude<SendData, Blob>;
      if (item instanceof Blob) {
        try {
          bytes = new Uint8Array(await item.arrayBuffer());
        } catch (err) {
          this.#sendQueue = null;
          this.#queuedBytes = 0;
          this.transport?.terminate();
          return;
        }
      } else {
        bytes = item;
      }
      queue.shift();
      this.#queuedBytes -= byteSize(item);
      const transport = this.transport;
      if (transport === null || !transport.conn.canSend) {
        this.#droppedBytes += byteSize(item);
        continue;
      }
      this.#sendNow(transport, bytes);
    }
    this.#sendQueue = null;
  }

  /** HTML §9.3.4 close(code, reason). */
  close(code?: number, reason?: string): void {
    // 1. If code is present, but is neither 1000 nor in the range 3000 to 4999, throw "InvalidAccessError".
    if (code !== undefined) {
      code = Number(code) & 0xffff;
      if (code !== 1000 && !(code >= 3000 && code <= 4999)) {
        throw new DOMException(`close code must be 1000 or in 3000-4999, got ${code}`, "InvalidAccessError");
      }
    }
    // 2. If reason is present: its UTF-8 encoding longer than 123 bytes throws "SyntaxError".
    let reasonBytes: Buffer | undefined;
    if (reason !== undefined) {
      reasonBytes = Buffer.from(String(reason), "utf8");
      if (reasonBytes.length > MAX_CLOSE_REASON_BYTES) {
        throw new DOMException(`close reason must be ${MAX_CLOSE_REASON_BYTES} bytes or less`, "SyntaxError");
      }
    }
    this.closeInternal(code, reasonBytes);
  }

  /** @internal Shared by close() and server shutdown (which may use 1001 etc.). */
  closeInternal(code: number | undefined, reason: Buffer | undefined): void {
    const state = this.#readyState;
    // 3. If this's ready state is CLOSING or CLOSED, do nothing.
    if (state === ReadyState.CLOSING || state === ReadyState.CLOSED) return;
    // 4. If the connection is not yet established, fail the WebSocket connection and set state to CLOSING.
    if (state === ReadyState.CONNECTING) {
      this.#readyState = ReadyState.CLOSING;
      this.abortConnecting();
      return;
    }
    // 5-6. Start the WebSocket closing handshake; with no code and a reason, the code is 1000.
    if (code === undefined && reason !== undefined && reason.length > 0) code = 1000;
    this.#readyState = ReadyState.CLOSING;
    this.transport!.close(code, reason ?? "");
  }

  /** @internal Client: abort the pending connection. */
  protected abortConnecting(): void {}

  /** Node extra: sends a ping (payload at most 125 bytes). */
  ping(data: string | ArrayBufferView | ArrayBufferLike = Buffer.alloc(0)): void {
    if (this.#readyState === ReadyState.CONNECTING) throw new DOMException("WebSocket is still CONNECTING", "InvalidStateError");
    this.transport?.conn.ping(typeof data === "string" ? Buffer.from(data) : toBytes(data));
  }

  /** Node extra: sends an unsolicited pong (a one-way heartbeat). */
  pong(data: string | ArrayBufferView | ArrayBufferLike = Buffer.alloc(0)): void {
    if (this.#readyState === ReadyState.CONNECTING) throw new DOMException("WebSocket is still CONNECTING", "InvalidStateError");
    this.transport?.conn.pong(typeof data === "string" ? Buffer.from(data) : toBytes(data));
  }

  /** Node extra: destroys the connection at once, without a closing handshake (close code 1006). */
  terminate(): void {
    if (this.transport !== null) this.transport.terminate();
    else if (this.#readyState === ReadyState.CONNECTING) {
      this.#readyState = ReadyState.CLOSING;
      this.abortConnecting();
    }
  }

  // ---- TransportListener ----

  onMessage(data: Buffer, isBinary: boolean): void {
    // HTML §9.3.5: if ready state is not OPEN, then return.
    if (this.#readyState !== ReadyState.OPEN) return;
    let value: unknown;
    if (!isBinary) value = data.toString("utf8");
    else if (this.#binaryType === "nodebuffer") value = data;
    else if (this.#binaryType === "arraybuffer") value = toArrayBuffer(data);
    else value = new Blob([data]);
    this.dispatchEvent(new MessageEvent("message", { data: value, origin: this.#origin }));
  }

  onPing(data: Buffer): void {
    this.dispatchEvent(new PingPongEvent("ping", data));
  }

  onPong(data: Buffer): void {
    this.dispatchEvent(new PingPongEvent("pong", data));
  }

  onCloseFrame(_code: number, _reason: string): void {
    // HTML §9.3.5: when the closing handshake is started, set ready state to CLOSING.
    if (this.#readyState === ReadyState.OPEN) this.#readyState = ReadyState.CLOSING;
  }

  onError(err: Error): void {
    this.#lastError = err;
  }

  #lastError: Error | null = null;

  onClosed(code: number, reason: string, wasClean: boolean): void {
    this.#readyState = ReadyState.CLOSED;
    // HTML §9.3.5: when the connection was failed or closed uncleanly, fire error first.
    if (!wasClean) this.dispatchEvent(new ErrorEvent(this.#lastError ?? new Error("WebSocket connection closed abnormally")));
    this.dispatchEvent(new CloseEvent("close", { wasClean, code, reason }));
  }

  onDrain(): void {}

  /** @internal Fire `open` (after attach). */
  protected fireOpen(): void {
    this.dispatchEvent(new Event("open"));
  }

  /** @internal Handshake failure while CONNECTING: error, then close 1006. */
  protected failConnecting(err: Error): void {
    this.#readyState = ReadyState.CLOSED;
    this.#lastError = err;
    this.dispatchEvent(new ErrorEvent(err));
    this.dispatchEvent(new CloseEvent("close", { wasClean: false, code: 1006, reason: "" }));
  }
}

function byteSize(data: SendData): number {
  if (typeof data === "string") return Buffer.byteLength(data);
  if (data instanceof Blob) return data.size;
  return (data as ArrayBufferView | ArrayBuffer).byteLength;
}

function toBytes(data: ArrayBufferLike | ArrayBufferView): Uint8Array {
  if (ArrayBuffer.isView(data)) {
    return data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  return new Uint8Array(data as ArrayBuffer);
}

function toArrayBuffer(buf: Buffer): ArrayBuffer {
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
