/** A server-side connection: the same WebSocket interface as the client, plus its UUID and the upgrade request. */
import type { IncomingMessage } from "node:http";
import { randomFillSync } from "node:crypto";
import { SocketTransport } from "../node/socket-transport.js";
import { SharedDeflateMessage } from "../node/deflate-shared.js";
import type { UpgradeRequest } from "../node/upgrade-listener.js";
import { MAX_CLOSE_REASON_BYTES, ReadyState } from "../protocol/constants.js";
import type { HubConnection } from "../hub/connection.js";
import type { OutgoingMessage } from "../hub/message.js";
import { WebSocketBase } from "./websocket-base.js";
import { defineReadyStateConstants } from "./webidl.js";
import { checkCloseReason, checkWireCloseCode } from "../protocol/close.js";

/**
 * The upgrade request a connection came from: Node's IncomingMessage when the server is attached to an
 * http/https server or driven through handleUpgrade(), an UpgradeRequest (the same fields, no stream) on a
 * standalone server.
 */
export type ServerRequest = IncomingMessage | UpgradeRequest;

export class ServerWebSocket<T = unknown> extends WebSocketBase implements HubConnection {
  /** The connection's UUID, made when first read (a connection nobody asks about never needs one). */
  #id: string | null = null;
  /** The HTTP upgrade request this connection came from. */
  readonly request: ServerRequest;
  /** Per-connection user data, set during the upgrade (for example by the authenticate hook). */
  data: T;
  /** The server's `clients` set while this connection is in it (client tracking): left on close. */
  #clients: Set<ServerWebSocket<T>> | null = null;

  /** Where exceptions of this connection's handlers and listeners go (the server's `error` event, or stderr). */
  #report: ErrorReporter;

  /** @internal Created by WebSocketServer. */
  constructor(request: ServerRequest, url: string, data: T, report: ErrorReporter = reportToStderr) {
    super();
    this.request = request;
    this.data = data;
    this.#report = report;
    this.setUrl(url);
    this.setDefaultBinaryType("nodebuffer");
  }

  /** The connection's UUID (random, version 4: RFC 4122 §4.4), unique in the pool. */
  get id(): string {
    return (this.#id ??= newConnectionId());
  }

  /** @internal */
  open(transport: SocketTransport, protocol: string, extensions: string): void {
    this.attach(transport, protocol, extensions);
  }

  /** @internal Adds this connection to a server's `clients`; it leaves the set when it closes, before 'close' fires. */
  track(clients: Set<ServerWebSocket<T>>): void {
    this.#clients = clients;
    clients.add(this);
  }

  /**
   * close(code, reason): a server may send any code RFC 6455 §7.4 allows on the wire (1000-1003, 1007-1014,
   * 3000-4999), not only the browser's 1000 and 3000-4999: 1001 "going away", 1008 "policy violation", 1011
   * "internal error", 1013 "try again later"... Any other code (1004-1006, 1015, < 1000, 1016-2999, > 4999)
   * throws a RangeError; so does a reason of more than 123 UTF-8 bytes.
   */
  override close(code?: number, reason?: string): void {
    const c = checkWireCloseCode("ServerWebSocket.close", code);
    const r = checkCloseReason("ServerWebSocket.close", reason);
    this.closeInternal(c, r);
  }

  /**
   * Listeners of a server-side connection cannot crash the server: what one throws, or the promise it returns
   * rejects with, goes to the server's `error` event (or stderr when it has no listener).
   */
  override addEventListener(type: string, listener: Listener | null, options?: Parameters<EventTarget["addEventListener"]>[2]): void {
    super.addEventListener(type, listener === null || listener === undefined ? (listener as unknown as Listener) : containedListener(listener), options);
  }

  override removeEventListener(type: string, listener: Listener | null, options?: Parameters<EventTarget["removeEventListener"]>[2]): void {
    super.removeEventListener(type, listener === null || listener === undefined ? (listener as unknown as Listener) : (wrappers.get(listener) ?? listener), options);
  }

  /** @internal Where exceptions of this connection's handlers go (see reportHandlerError). */
  reportError(err: unknown): void {
    this.#report(err);
  }

  /** @internal */
  override onClosed(code: number, reason: string, wasClean: boolean): void {
    const clients = this.#clients;
    if (clients !== null) {
      this.#clients = null;
      clients.delete(this);
    }
    super.onClosed(code, reason, wasClean);
  }

  // ---- HubConnection: what a Hub uses ----

  /** Bytes handed to the socket (or its compression queue) and not yet written to the kernel. */
  get pendingBytes(): number {
    const t = this.transport;
    return t === null ? 0 : t.bufferedAmount;
  }

  /** Wire bytes read from the socket. */
  get bytesRead(): number {
    const t = this.transport;
    return t === null ? 0 : t.socket.bytesRead;
  }

  /** Wire bytes written to the socket. */
  get bytesWritten(): number {
    const t = this.transport;
    return t === null ? 0 : t.socket.bytesWritten;
  }

  /**
   * Writes a message framed once for many connections through the transport's per-turn batching; the buffers are
   * shared, never copied. With permessage-deflate the message is compressed once for every peer that can share the
   * compressed frame (server_no_context_takeover, RFC 7692 §7.1.1.1) and by this peer's own codec otherwise; under
   * the threshold it goes as the plain shared frame (RSV1 clear, valid per RFC 7692 §6). The send queue keeps it in
   * order behind messages still being compressed.
   */
  sendPrepared(message: OutgoingMessage): boolean {
    const t = this.transport;
    if (t === null || !t.conn.canSend || t.socket.destroyed || this.readyState !== ReadyState.OPEN) return false;
    if (t.deflate !== null) {
      if (t.tap !== null) t.tap.noteOutgoing(message.payload.length);
      const shared = (message.deflate ??= new SharedDeflateMessage(message.payload, message.binary)) as SharedDeflateMessage;
      return shared.sendTo(t.deflate, message);
    }
    const frame = message.frame;
    if (Array.isArray(frame)) {
      t.onWrite(frame[0]);
      t.onWrite(frame[1]);
    } else {
      t.onWrite(frame);
    }
    return true;
  }

  /** Sends a keepalive ping with an empty payload (RFC 6455 §5.5.2); false if the connection cannot send. */
  keepalive(): boolean {
    const t = this.transport;
    return t !== null && t.conn.ping();
  }

  /**
   * Resolves true once the socket has drained (written what was waiting, down to below its highWaterMark), at once
   * if little is waiting now; false if the connection closes first.
   */
  drained(): Promise<boolean> {
    const t = this.transport;
    if (t === null || this.readyState !== ReadyState.OPEN) return Promise.resolve(false);
    // With permessage-deflate, messages still being compressed have not reached the socket yet: wait for them.
    const q = t.deflate;
    if (q !== null && !q.idle) return new Promise<boolean>((resolve) => q.whenIdle(() => resolve(t.conn.canSend ? this.drained() : false)));
    const socket = t.socket;
    // Node emits "drain" only after a write found the buffer at or over its highWaterMark.
    if (socket.writableLength === 0 || !socket.writableNeedDrain) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const done = (ok: boolean): void => {
        socket.off("drain", onDrain);
        socket.off("close", onClose);
        resolve(ok);
      };
      const onDrain = (): void => done(true);
      const onClose = (): void => done(false);
      socket.on("drain", onDrain);
      socket.on("close", onClose);
    });
  }

  /** @internal The transport (socket and protocol core). */
  get _transport(): SocketTransport | null {
    return this.transport;
  }
}

defineReadyStateConstants(ServerWebSocket);
Object.defineProperty(ServerWebSocket.prototype.close, "length", { value: 0 });

/** Receives an exception of application code (a handler, a listener, a hook). */
export type ErrorReporter = (err: unknown) => void;

/** Reports an exception of application code to stderr (the process goes on). */
export function reportToStderr(err: unknown): void {
  const text = err instanceof Error ? (err.stack ?? String(err)) : String(err);
  process.stderr.write(`wshub: an application callback failed: ${text}\n`);
}

/** What addEventListener() takes: a function or an object with handleEvent(). */
type Listener = Parameters<EventTarget["addEventListener"]>[1];

/** The wrapper of each listener (one per listener, so adding it twice or removing it finds the same one). */
const wrappers = new WeakMap<object, (this: ServerWebSocket, ev: Event) => void>();

function containedListener(listener: Listener): (this: ServerWebSocket, ev: Event) => void {
  let w = wrappers.get(listener);
  if (w === undefined) {
    w = function containedListener(this: ServerWebSocket, ev: Event): void {
      let r: unknown;
      try {
        r = typeof listener === "function" ? listener.call(this, ev) : (listener as { handleEvent(ev: Event): unknown }).handleEvent(ev);
      } catch (err) {
        this.reportError(err);
        return;
      }
      if (typeof r === "object" && r !== null && typeof (r as PromiseLike<unknown>).then === "function") {
        (r as PromiseLike<unknown>).then(undefined, (err: unknown) => this.reportError(err));
      }
    };
    wrappers.set(listener, w);
  }
  return w;
}

// Connection ids: random (version 4) UUIDs, RFC 4122 §4.4. crypto.randomUUID() builds its result by string
// concatenation, a tree of ~14 string objects (~450 bytes) kept per connection; this writes the 36 characters
// into a buffer and decodes them once, one flat string.
const ID_BATCH = 256;
const idEntropy = Buffer.allocUnsafe(16 * ID_BATCH);
let idNext = ID_BATCH;
const idText = Buffer.allocUnsafe(36);
const HEX = Buffer.from("0123456789abcdef", "latin1");

function newConnectionId(): string {
  if (idNext === ID_BATCH) {
    randomFillSync(idEntropy);
    idNext = 0;
  }
  const at = 16 * idNext++;
  let out = 0;
  for (let i = 0; i < 16; i++) {
    let b = idEntropy[at + i]!;
    if (i === 6) b = (b & 0x0f) | 0x40; // version 4
    else if (i === 8) b = (b & 0x3f) | 0x80; // variant 10xx
    if (i === 4 || i === 6 || i === 8 || i === 10) idText[out++] = 0x2d;
    idText[out++] = HEX[b >> 4]!;
    idText[out++] = HEX[b & 15]!;
  }
  return idText.toString("latin1");
}
