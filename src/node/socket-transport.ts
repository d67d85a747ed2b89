/**
 * The Node I/O driver for one WebSocket connection: binds a net/tls socket to the sans-I/O Connection.
 * It owns the socket, the write batching (one writev per socket per event-loop turn) and the closing timer.
 */
import type { Socket } from "node:net";
import { Connection } from "../protocol/connection.js";
import type { ConnectionHandler, MessageInflater } from "../protocol/connection-handler.js";
import { CloseCode, ReadyState } from "../protocol/constants.js";
import type { ProtocolError } from "../protocol/errors.js";
import type { PerMessageDeflate } from "./deflate.js";
import { DeflateSendQueue } from "./deflate-sender.js";
import { readNextInto, readsIntoSharedBuffer, takeHeldReads } from "./shared-read.js";
import { tapFor, type TraceTap } from "./diagnostics.js";
import { RateBucket, type RateLimit } from "./rate-limit.js";

/** What the transport reports upward (to the WebSocket API object). */
export interface TransportListener {
  /** A complete message; text arrives here only when the listener has no onTextMessage. */
  onMessage(data: Buffer, isBinary: boolean): void;
  /** Optional: every text message, validated and decoded (the core then decodes small ASCII ones with no copy). */
  onTextMessage?(text: string): void;
  onPing(data: Buffer): void;
  onPong(data: Buffer): void;
  /** The peer's close frame arrived (the closing handshake has started or completed). */
  onCloseFrame(code: number, reason: string): void;
  /** The connection failed (protocol error, socket error or timeout). Followed by onClosed. */
  onError(err: Error): void;
  /** The socket is closed. `code` is the peer's close code, or 1006 when no close frame was received. */
  onClosed(code: number, reason: string, wasClean: boolean): void;
  /** Optional: starts the closing handshake as the application's close() would (used by the rate limit). */
  closeInternal?(code: number, reason: Buffer): void;
}

export interface TransportOptions {
  isServer: boolean;
  maxPayload: number;
  autoPong: boolean;
  /** Milliseconds to wait for the peer to finish the closing handshake / close TCP before destroying the socket. */
  closeTimeout: number;
  inflater?: MessageInflater | null;
  /** The permessage-deflate codec when the extension was negotiated: inflates RSV1 messages, compresses sends. */
  deflate?: PerMessageDeflate | null;
  /** The server's messageRate, or null/absent: no limit, and no bucket per connection. */
  rateLimit?: RateLimit | null;
}

/**
 * Payload accounting of the data messages written and not yet known to be transmitted (see notePayload): made by
 * the first data message, or the first one never transmitted (an idle connection never needs it).
 */
class PayloadLedger {
  /** Pairs (wire offset where a message ends, its payload size) in [head, tail); storage is reused. */
  marks: number[] = [];
  head = 0;
  tail = 0;
  /** Payload of the messages accepted after the socket ended or closed: never transmitted, it stays counted. */
  unsent = 0;
}

/** What only closing or failing connections need: made on first use. */
class TransportRare {
  closeTimer: NodeJS.Timeout | null = null;
  socketError: Error | null = null;
}

export class SocketTransport implements ConnectionHandler {
  readonly socket: Socket;
  readonly conn: Connection;
  private readonly listener: TransportListener;
  private readonly closeTimeout: number;
  private corked = false;
  private closed = false;
  private ended = false;
  /** Close timer and socket error (see TransportRare): null until the closing timer is armed or an error comes. */
  private rare: TransportRare | null = null;
  /** Ordered compressing send queue when permessage-deflate is in use; send through sendMessage(). */
  readonly deflate: DeflateSendQueue | null = null;
  /**
   * The diagnostics tap (node/diagnostics.ts) when a wshub channel had a subscriber as this connection opened;
   * null otherwise, and then the read path is the untraced one and writes pay one null check.
   */
  readonly tap: TraceTap | null;
  /** The connection's rate buckets (messageRate), or null when the server has no rate limit. */
  readonly rate: RateBucket | null;

  constructor(socket: Socket, listener: TransportListener, options: TransportOptions, head?: Buffer) {
    this.socket = socket;
    this.listener = listener;
    this.closeTimeout = options.closeTimeout;
    const tap = (this.tap = tapFor(socket, options.isServer ? "server" : "client"));
    const inflater = options.inflater ?? options.deflate ?? null;
    this.rate = options.rateLimit ? new RateBucket(options.rateLimit, Date.now()) : null;
    this.conn = new Connection(this, {
      isServer: options.isServer,
      maxPayload: options.maxPayload,
      autoPong: options.autoPong,
      inflater: tap !== null && inflater !== null ? tap.wrapInflater(inflater) : inflater,
      decodeText: typeof listener.onTextMessage === "function",
    });
    if (options.deflate) {
      this.deflate = new DeflateSendQueue(this.conn, options.deflate, (bytes) => this.onWrite(bytes));
      this.deflate.onNoteWritten = (size) => this.notePayload(size);
    }
    socket.setNoDelay(true);
    socket.setTimeout(0);
    // Shared listener functions that find this transport through the socket: no closures kept per connection.
    (socket as BoundSocket)[kTransport] = this;
    // A socket of the standalone server reads into the shared buffer (node/shared-read.ts): its bytes come to
    // onSharedRead, valid only during the call; any other socket emits 'data' with buffers of their own.
    // What it received between its request head and now (asynchronous authentication) follows `head`.
    if (readsIntoSharedBuffer(socket)) {
      const held = takeHeldReads(socket, tap !== null ? onSharedReadTraced : onSharedRead);
      if (held !== null) head = head !== undefined && head.length > 0 ? Buffer.concat([head, held]) : held;
    } else {
      socket.on("data", tap !== null ? onSocketDataTraced : onSocketData);
    }
    socket.on("end", onSocketEnd);
    socket.on("close", onSocketClose);
    socket.on("error", onSocketError);
    // No 'drain' listener: bufferedAmount is computed when read, and the Hub waits for 'drain' itself when it must.
    if (head !== undefined && head.length > 0) {
      // Bytes that arrived with the handshake belong to the WebSocket stream; deliver them after the caller
      // has attached its handlers.
      process.nextTick(() => {
        if (this.closed) return;
        if (tap !== null) tap.in.push(head);
        this.conn.receiveData(head);
      });
    }
  }

  /** Bytes handed to the socket and not yet written to the kernel. */
  get bufferedAmount(): number {
    return this.socket.writableLength + (this.deflate !== null ? this.deflate.pendingBytes : 0);
  }

  // ---- Payload accounting for the WHATWG bufferedAmount: application bytes accepted by send() and not yet
  // transmitted, without framing. Each data message records where its frame ends in the stream of bytes this
  // transport wrote; once the socket has written past that point, its payload no longer counts.
  private wireWritten = 0;
  /** Payload bytes of the messages in the ledger that the socket has not yet written out. */
  private payloadPending = 0;
  /** The marks of those messages (see PayloadLedger): made by the first data message. */
  private ledger: PayloadLedger | null = null;

  /** Records that a data message of `size` payload bytes was just written through conn.send/sendText. */
  notePayload(size: number): void {
    if (size === 0) return;
    if (this.closed || this.ended) {
      // Never transmitted: it stays counted.
      (this.ledger ??= new PayloadLedger()).unsent += size;
      return;
    }
    // A message waiting in the deflate queue is noted when its frame is written (onNoteWritten calls back here).
    if (this.deflate !== null && this.deflate.holdNote(size)) return;
    const ledger = (this.ledger ??= new PayloadLedger());
    const marks = ledger.marks;
    const tail = ledger.tail;
    marks[tail] = this.wireWritten;
    marks[tail + 1] = size;
    ledger.tail = tail + 2;
    this.payloadPending += size;
  }

  /** Payload bytes of the messages noted by notePayload() that the socket has not yet written out. */
  get payloadBuffered(): number {
    if (this.payloadPending !== 0) this.releasePayload();
    const held = this.deflate !== null ? this.deflate.heldNotes : 0;
    const ledger = this.ledger;
    return this.payloadPending + (ledger !== null ? ledger.unsent : 0) + held;
  }

  private releasePayload(): void {
    // The socket writes in order: the bytes still queued are the last `writableLength` bytes written.
    const flushedTo = this.wireWritten - Math.min(this.socket.writableLength, this.wireWritten);
    const ledger = this.ledger!;
    const marks = ledger.marks;
    const tail = ledger.tail;
    let i = ledger.head;
    let pending = this.payloadPending;
    while (i < tail && marks[i]! <= flushedTo) {
      pending -= marks[i + 1]!;
      i += 2;
    }
    this.payloadPending = pending;
    if (i === tail) {
      ledger.head = 0;
      ledger.tail = 0;
    } else if (i > 4096 && i * 2 > tail) {
      marks.copyWithin(0, i, tail);
      ledger.head = 0;
      ledger.tail = tail - i;
    } else {
      ledger.head = i;
    }
  }

  get readyState(): ReadyState {
    return this.closed ? ReadyState.CLOSED : this.conn.readyState;
  }

  // ---- ConnectionHandler ----

  onWrite(data: Uint8Array): void {
    const socket = this.socket;
    if (socket.destroyed || this.ended) return;
    if (!this.corked) this.cork();
    this.wireWritten += data.length;
    if (this.tap !== null) this.tap.out.push(data);
    socket.write(data);
    // A large write takes its batch out at the end of this tick (the flush of a second one finds nothing left).
    if (data.length >= WRITE_AT_ONCE) process.nextTick(flushOne, this);
  }

  /**
   * Holds this socket's writes until the end of the current event-loop turn (the check phase, setImmediate): all
   * the frames a turn produces for it leave in one writev, and the writes of all connections leave together,
   * after every read of the turn has been handled. Writing each socket right after its own read (nextTick)
   * spread the writes over the turn: on loopback, each one then woke the peer's sleeping process on its own,
   * and those wake-ups cost the sender more than the writes (echo of 64 KiB messages: about 1.4× the rate;
   * bench/notes.md).
   */
  private cork(): void {
    this.corked = true;
    this.socket.cork();
    const n = pendingFlush.push(this);
    if (n === 1) setImmediate(flushPending);
    // A turn can handle tens of thousands of reads (libuv polls again while epoll returns full batches): past
    // FLUSH_LIMIT batches, they are written as soon as the current callback returns, which bounds how long a
    // reply waits and how much is held.
    else if (n % FLUSH_LIMIT === 0) process.nextTick(flushPending);
  }

  /** Writes everything batched in this turn now. */
  flush(): void {
    if (this.corked) {
      this.corked = false;
      this.socket.uncork();
      if (this.payloadPending !== 0) this.releasePayload();
    }
  }

  onMessage(data: Buffer, isBinary: boolean): void {
    if (this.rate !== null && !this.takeRate(0)) return;
    this.listener.onMessage(data, isBinary);
  }

  onTextMessage(text: string): void {
    if (this.rate !== null && !this.takeRate(0)) return;
    this.listener.onTextMessage!(text);
  }

  onPing(data: Buffer): void {
    if (this.rate !== null && !this.takeRate(0)) return;
    this.listener.onPing(data);
  }

  /**
   * Counts a message (bytes 0) or a read of `bytes` against the rate limit; false when the connection is over it. The first time,
   * the closing handshake starts with 1008 "rate limit". From then on its messages and pings are dropped, and
   * reading goes on (so that the peer's close frame is seen) for RATE_LIMIT_GRACE more bytes, what may have been
   * in flight; a peer that sends more goes on flooding after the close: the socket stops being read (TCP flow
   * control holds the peer; nothing is parsed) until the peer closes or closeTimeout destroys it.
   */
  /** @internal */ takeRate(bytes: number): boolean {
    const rate = this.rate!;
    if (rate.over) {
      if (bytes > 0 && (rate.bytes -= bytes) < 0) this.socket.pause();
      return false;
    }
    if (bytes > 0 ? rate.takeRead(bytes) : rate.takeMessage()) return true;
    rate.markOver(RATE_LIMIT_GRACE);
    const l = this.listener;
    if (typeof l.closeInternal === "function") l.closeInternal(CloseCode.PolicyViolation, RATE_LIMIT_REASON);
    else this.close(CloseCode.PolicyViolation, RATE_LIMIT_REASON);
    return false;
  }

  onPong(data: Buffer): void {
    this.listener.onPong(data);
  }

  onCloseFrame(code: number, reason: string): void {
    this.listener.onCloseFrame(code, reason);
  }

  onCloseEcho(echo: () => void): void {
    // Messages still being compressed were accepted before the peer's close arrived: they go out first.
    if (this.deflate !== null && !this.deflate.idle) this.deflate.closeWhenIdle(echo);
    else echo();
  }

  onProtocolError(err: ProtocolError): void {
    this.listener.onError(err);
  }

  onCloseTransport(): void {
    if (this.conn.isServer || this.conn.error !== null) {
      // RFC 6455 §7.1.1: the server closes the TCP connection first; a failed connection is closed at once.
      this.endSocket();
    }
    // A client waits for the server to close TCP, up to the closing timeout.
    this.armCloseTimer();
  }

  // ---- Operations ----

  /** Starts the closing handshake; the socket is destroyed if it has not closed within closeTimeout. */
  close(code?: number, reason?: string | Uint8Array): void {
    if (this.closed) return;
    if (this.deflate !== null && !this.deflate.idle) {
      // Messages still being compressed go first: the close frame must be the last frame sent.
      this.deflate.closeWhenIdle(() => {
        if (this.closed) return;
        this.conn.close(code, reason);
        this.armCloseTimer();
      });
      return;
    }
    this.conn.close(code, reason);
    this.armCloseTimer();
  }

  /**
   * Sends one message, compressed when permessage-deflate is in use and the message reaches the threshold.
   * Messages leave in call order. Returns false when data can no longer be sent (a close frame was sent).
   * `textBytes`: the UTF-8 length of a string `data`, when the caller has it (saves measuring it twice).
   */
  sendMessage(data: Uint8Array | string, isBinary: boolean, textBytes?: number): boolean {
    if (this.deflate !== null) {
      if (this.tap !== null) this.tap.noteOutgoing(typeof data === "string" ? Buffer.byteLength(data) : data.length);
      return this.deflate.send(data, isBinary);
    }
    if (typeof data === "string") return this.conn.sendText(data, textBytes);
    return this.conn.send(data, isBinary);
  }

  /** Sends a complete prepared frame (e.g. from compressMessageOnce()), in order with sendMessage(). */
  sendPreparedFrame(frame: Uint8Array): boolean {
    if (this.deflate !== null) return this.deflate.sendPrepared(frame);
    if (!this.conn.canSend) return false;
    this.onWrite(frame);
    return true;
  }

  /** Fails the connection locally with the given error (sends its close code). */
  fail(err: ProtocolError): void {
    if (this.closed) return;
    this.conn.fail(err);
  }

  /** Destroys the socket at once, without a closing handshake. */
  terminate(): void {
    if (this.closed) return;
    this.socket.destroy();
  }

  private endSocket(): void {
    if (this.ended) return;
    this.ended = true;
    this.flush();
    this.tap?.localEnded();
    this.socket.end();
  }

  private armCloseTimer(): void {
    if (this.closed) return;
    const rare = (this.rare ??= new TransportRare());
    if (rare.closeTimer !== null) return;
    const timer = (rare.closeTimer = setTimeout(() => {
      rare.closeTimer = null;
      this.socket.destroy();
    }, this.closeTimeout));
    timer.unref?.();
  }

  /** @internal */ onSocketEnd(): void {
    this.tap?.remoteEnded();
    // The peer closed its side of TCP. Frames it sent before its FIN still count: while an inflation holds the
    // parser, wait for it (and the frames buffered behind it). Then this side is done too.
    if (this.conn.isInflating) {
      this.conn.whenInputIdle(() => this.onSocketEnd());
      return;
    }
    this.conn.transportClosed();
    this.endSocket();
  }

  /** @internal */ onSocketError(err: Error): void {
    const rare = (this.rare ??= new TransportRare());
    if (rare.socketError === null) rare.socketError = err;
  }

  /** @internal */ onSocketClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.corked = false;
    this.deflate?.clear();
    const rare = this.rare;
    if (rare !== null && rare.closeTimer !== null) {
      clearTimeout(rare.closeTimer);
      rare.closeTimer = null;
    }
    const conn = this.conn;
    conn.transportClosed();
    const wasClean = conn.wasClean;
    if (!conn.closeReceived && conn.error === null) {
      // The transport went away before a close frame arrived: an abnormal closure.
      this.listener.onError(rare?.socketError ?? new Error("connection closed abnormally (no close frame received)"));
    }
    const code = conn.closeReceived ? conn.closeCode : CloseCode.Abnormal;
    const reason = conn.closeReceived ? conn.closeReason : "";
    this.tap?.closed(conn.closeInitiator, code, reason, wasClean);
    this.listener.onClosed(code, reason, wasClean);
  }
}

const kTransport = Symbol("wshub.transport");
type BoundSocket = Socket & { [kTransport]: SocketTransport };

const RATE_LIMIT_REASON = Buffer.from("rate limit");
/** Bytes read and parsed after a connection went over its rate: about what socket buffers hold in flight. */
const RATE_LIMIT_GRACE = 256 * 1024;

function onSocketData(this: BoundSocket, chunk: Buffer): void {
  const t = this[kTransport];
  if (t.rate !== null && !t.takeRate(chunk.length) && this.isPaused()) return;
  t.conn.receiveData(chunk);
}
function onSharedRead(this: Socket, nread: number, buffer: Buffer): void {
  const t = (this as BoundSocket)[kTransport];
  if (t.rate !== null && !t.takeRate(nread) && this.isPaused()) return;
  const conn = t.conn;
  if (conn.isReadTarget(buffer)) conn.receivedInto(nread);
  else conn.receiveTransient(buffer.subarray(0, nread));
  // The rest of a long payload is read straight into its buffer: no copy out of the shared buffer, and reads as
  // large as what is missing. (Last in the callback: see readNextInto.)
  const target = conn.readTarget(DIRECT_READ_MIN);
  if (target !== null) readNextInto(target);
}

function onSocketDataTraced(this: BoundSocket, chunk: Buffer): void {
  const t = this[kTransport];
  t.tap!.in.push(chunk);
  t.conn.receiveData(chunk);
}
function onSharedReadTraced(this: Socket, nread: number, buffer: Buffer): void {
  (this as BoundSocket)[kTransport].tap!.in.push(buffer.subarray(0, nread));
  onSharedRead.call(this, nread, buffer);
}

/** Least payload still awaited for the next read to go straight into the payload's buffer. */
const DIRECT_READ_MIN = 16 * 1024;
function onSocketEnd(this: BoundSocket): void {
  this[kTransport].onSocketEnd();
}
function onSocketClose(this: BoundSocket): void {
  this[kTransport].onSocketClose();
}
function onSocketError(this: BoundSocket, err: Error): void {
  this[kTransport].onSocketError(err);
}

/**
 * A batch holding a write of this many bytes is written at the end of the current tick rather than of the turn:
 * the copy into the kernel costs far more than the wake-up it could share, and the bytes are still in the CPU
 * cache right after they were produced (echo of 1 MiB messages was slower when held to the end of the turn).
 */
const WRITE_AT_ONCE = 256 * 1024;
function flushOne(t: SocketTransport): void {
  t.flush();
}
/** Pending batches that make the flush come at the end of the current callback rather than of the turn. */
const FLUSH_LIMIT = 1024;
/** The transports with corked writes, flushed together at the end of the event-loop turn. */
let pendingFlush: SocketTransport[] = [];
let spareFlush: SocketTransport[] = [];

function flushPending(): void {
  // Swapped first: a transport that writes again while this runs lands in a new batch.
  const list = pendingFlush;
  pendingFlush = spareFlush;
  spareFlush = list;
  let i = 0;
  try {
    for (; i < list.length; i++) list[i].flush();
  } finally {
    // Only after a throw: the rest of the batch goes to the next turn.
    for (let j = i + 1; j < list.length; j++) if (pendingFlush.push(list[j]) === 1) setImmediate(flushPending);
    list.length = 0;
  }
}
