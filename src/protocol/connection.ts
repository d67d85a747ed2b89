/**
 * The per-connection state machine of RFC 6455, sans-I/O.
 * Drive it one way: `receiveData(chunk)`; it calls the handler for what happened (messages, pings, closes)
 * and for the bytes to write. It never touches a socket or a clock: it tells the driver when to close the
 * transport, and the driver owns timers. What it reports to the driver is ConnectionHandler
 * (connection-handler.ts); messages spanning several frames are assembled in message-assembly.ts.
 */
import { CloseCode, MAX_CONTROL_PAYLOAD, Opcode, ReadyState } from "./constants.js";
import { ProtocolError, internalError } from "./errors.js";
import { checkTextPart, completeTextFrame } from "./text-parts.js";
import { applyMaskTo } from "./mask.js";
import { encodeFrame, encodeTextInto, frameHeaderLength, maskKeyPool, nextMaskKey, writeFrameHeader } from "./frame.js";
import { FrameParser } from "./frame-parser.js";
import type { FrameSink } from "./frame-sink.js";
import { parseClosePayload, serializeClosePayload } from "./close.js";
import { decodeAscii, decodeUtf8, isAsciiRange, isValidUtf8 } from "./utf8.js";
import { PROTOCOL_DEFAULTS, type ProtocolOptions } from "./options.js";
import type { ConnectionHandler, ConnectionOptions, MessageInflater } from "./connection-handler.js";
import { InputState, appendFragment, clearAssembly, copyRange, takeMessage } from "./message-assembly.js";

const EMPTY = Buffer.alloc(0);

/**
 * The options object of a connection: connections with the same values share one (frozen) object instead of each
 * keeping its own.
 */
let lastOptions: Readonly<ProtocolOptions> = PROTOCOL_DEFAULTS;
function sharedOptions(maxPayload: number, autoPong: boolean): ProtocolOptions {
  const last = lastOptions;
  if (last.maxPayload === maxPayload && last.autoPong === autoPong) return last;
  return (lastOptions = Object.freeze({ maxPayload, autoPong }));
}

/** How the connection closed or failed: made when the closing handshake starts or the connection fails. */
class CloseState {
  initiator: "local" | "remote" | null = null;
  code: number = CloseCode.Abnormal;
  reason = "";
  error: ProtocolError | null = null;
}

/** The parser of every connection whose input stopped before any byte arrived: stopped, it ignores all input. */
const STOPPED_PARSER = new FrameParser({ onFrame() {} }, { isServer: true, maxPayload: 0, allowRsv1: false });
STOPPED_PARSER.stop();

export class Connection implements FrameSink {
  readonly isServer: boolean;
  readonly options: ProtocolOptions;
  private readonly handler: ConnectionHandler;
  /**
   * The frame parser, made when the first bytes arrive (an idle connection never needs one, nor its queue); a
   * stopped one (STOPPED_PARSER when none was made) once input is no longer processed.
   */
  private parser: FrameParser | null = null;
  private inflater: MessageInflater | null;

  /** OPEN until a close frame is sent or received, CLOSED when both are or the connection failed. */
  readyState: ReadyState = ReadyState.OPEN;
  /** A close frame was sent / received. */
  closeSent = false;
  closeReceived = false;
  /** Closing state (see CloseState): null until the closing handshake starts or the connection fails. */
  private closing: CloseState | null = null;
  /** Message assembly and inflation state (see InputState): null until a fragmented or compressed message. */
  private input: InputState | null = null;
  private readonly decodeText: boolean;

  /** Who started the closing handshake: "local", "remote", or null while open. */
  get closeInitiator(): "local" | "remote" | null {
    const c = this.closing;
    return c !== null ? c.initiator : null;
  }
  /** Code and reason of the close frame received (1005 and "" if none), or of the failure (1006 and "" before). */
  get closeCode(): number {
    const c = this.closing;
    return c !== null ? c.code : CloseCode.Abnormal;
  }
  get closeReason(): string {
    const c = this.closing;
    return c !== null ? c.reason : "";
  }
  /** The error that failed the connection, if any. */
  get error(): ProtocolError | null {
    const c = this.closing;
    return c !== null ? c.error : null;
  }

  private closeState(): CloseState {
    return (this.closing ??= new CloseState());
  }

  private inputState(): InputState {
    return (this.input ??= new InputState());
  }

  constructor(handler: ConnectionHandler, options: ConnectionOptions) {
    this.handler = handler;
    this.isServer = options.isServer;
    this.options = sharedOptions(options.maxPayload ?? PROTOCOL_DEFAULTS.maxPayload, options.autoPong ?? PROTOCOL_DEFAULTS.autoPong);
    this.inflater = options.inflater ?? null;
    this.decodeText = options.decodeText === true;
    if (this.decodeText && typeof handler.onTextMessage !== "function") {
      throw new TypeError("decodeText needs a handler with onTextMessage()");
    }
  }

  private createParser(): FrameParser {
    return (this.parser = new FrameParser(this, {
      isServer: this.isServer,
      maxPayload: this.options.maxPayload,
      allowRsv1: this.inflater !== null,
    }));
  }

  /** Input is no longer processed: the parser ignores further bytes and drops what it holds. */
  private stopParser(): void {
    if (this.parser === null) this.parser = STOPPED_PARSER;
    else if (this.parser !== STOPPED_PARSER) this.parser.stop();
  }

  /** Sets the inflater once an extension is negotiated. */
  setInflater(inflater: MessageInflater | null): void {
    this.inflater = inflater;
    if (this.parser !== null && this.parser !== STOPPED_PARSER) this.parser.allowRsv1 = inflater !== null;
  }

  /** Feeds bytes received from the transport. */
  receiveData(chunk: Buffer): void {
    try {
      (this.parser ?? this.createParser()).push(chunk);
    } catch (err) {
      this.handleError(err);
    }
  }

  /**
   * Feeds bytes that are valid only during this call (the transport reuses the memory: a shared read buffer).
   * Everything kept from them, messages included, is copied (FrameParser.pushTransient).
   */
  receiveTransient(chunk: Buffer): void {
    try {
      (this.parser ?? this.createParser()).pushTransient(chunk);
    } catch (err) {
      this.handleError(err);
    }
  }

  /**
   * Where the next received bytes can be read directly (the rest of a long payload's buffer), or null; see
   * FrameParser.readTarget. Report bytes read there with receivedInto(); anything else goes through receiveData()
   * or receiveTransient().
   */
  readTarget(min: number): Buffer | null {
    // (A stopped parser has no payload buffer, so it offers none.)
    const p = this.parser;
    return p !== null ? p.readTarget(min) : null;
  }

  /** Whether `buf` is the view readTarget() returned last. */
  isReadTarget(buf: Buffer): boolean {
    const p = this.parser;
    return p !== null && p.isReadTarget(buf);
  }

  /** `n` bytes were read into the view readTarget() returned. */
  receivedInto(n: number): void {
    try {
      this.parser!.receivedInto(n);
    } catch (err) {
      this.handleError(err);
    }
  }

  /** Bytes received and not yet parsed. */
  get receiveBuffered(): number {
    return this.parser !== null ? this.parser.bufferedAmount : 0;
  }

  /** FrameSink: called by the parser for every complete frame. */
  onFrame(opcode: number, messageOpcode: number, fin: boolean, rsv1: boolean, payload: Buffer): void {
    if (this.closeReceived) return; // RFC 6455 §5.5.1: nothing is processed after a close frame.
    switch (opcode) {
      case Opcode.Ping:
        // RFC 6455 §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in response, unless
        // it already received a Close frame" (frames after a received close never get here). A pong is a control
        // frame, so it is still sent after this end sent its close (§5.5.1 forbids only data frames then).
        // §5.5.3: the pong carries the same application data as the ping.
        if (this.options.autoPong) this.sendFrame(Opcode.Pong, payload, true, false);
        this.handler.onPing(payload);
        return;
      case Opcode.Pong:
        this.handler.onPong(payload);
        return;
      case Opcode.Close:
        this.receiveClose(payload);
        return;
    }
    if (rsv1) {
      this.inflateFrame(messageOpcode, fin, payload);
      return;
    }
    this.dataFrame(messageOpcode, fin, payload);
  }

  /**
   * FrameSink fast path: a whole single-frame message at chunk[start, end) (see FrameSink.onMessageBytes). No
   * fragmented message is open, so the UTF-8 validator is at a boundary.
   */
  onMessageBytes(isText: boolean, chunk: Buffer, start: number, end: number, transient: boolean): void {
    if (this.closeReceived) return;
    if (isText && this.decodeText && isAsciiRange(chunk, start, end)) {
      // ASCII is valid UTF-8 (RFC 3629): decoded with no view and no separate validation pass.
      this.handler.onTextMessage!(decodeAscii(chunk, start, end));
      return;
    }
    // A transient chunk's memory is reused once the parser returns: the message gets a copy of its own.
    const payload = transient ? copyRange(chunk, start, end) : chunk.subarray(start, end);
    this.dataFrame(isText ? Opcode.Text : Opcode.Binary, true, payload);
  }

  /** Hands a complete message to the handler: text as a string with `decodeText`, otherwise as bytes. */
  private deliver(data: Buffer, isText: boolean): void {
    if (isText && this.decodeText) this.handler.onTextMessage!(decodeUtf8(data));
    else this.handler.onMessage(data, !isText);
  }

  /** FrameSink: part of a text frame arrived (its frame spans reads): validated at once (text-parts.ts). */
  onTextPart(payload: Buffer, start: number, end: number): void {
    if (!this.closeReceived) checkTextPart(this.inputState(), payload, start, end);
  }

  private dataFrame(messageOpcode: number, fin: boolean, payload: Buffer): void {
    const isText = messageOpcode === Opcode.Text;
    const input = this.input;
    if (isText && input !== null && input.textValidated !== 0) {
      const message = completeTextFrame(input, payload, fin);
      if (message !== null) this.deliver(message, true);
      return;
    }
    if (fin && (input === null || input.fragmentsLength === 0)) {
      // Single-frame message (the common case): no copy.
      if (isText) {
        // Earlier fragments of this message, if any, were empty: the validator is at a boundary.
        if (!isValidUtf8(payload)) {
          throw invalidUtf8();
        }
      }
      this.deliver(payload, isText);
      return;
    }
    const st = input ?? this.inputState();
    // RFC 6455 §8.1: fail fast: an invalid sequence in any fragment fails the connection at once.
    if (isText && !(fin ? st.utf8.end(payload) : st.utf8.push(payload))) {
      throw invalidUtf8();
    }
    appendFragment(st, payload);
    if (!fin) return;
    this.deliver(takeMessage(st), isText);
  }

  private inflateFrame(messageOpcode: number, fin: boolean, payload: Buffer): void {
    const inflater = this.inflater!;
    const st = this.inputState();
    this.parser!.pause();
    st.inflating = true;
    let sync = true;
    let syncResume = false;
    inflater.inflate(payload, fin, (err, data) => {
      st.inflating = false;
      // The connection failed while inflating: the result is dropped. (If only the transport closed, e.g. the
      // peer half-closed right after its last frame, the message did fully arrive and is still delivered.)
      if (this.error !== null) {
        this.notifyInputIdle();
        return;
      }
      try {
        if (err) throw err;
        const chunks = data!;
        const isText = messageOpcode === Opcode.Text;
        for (let i = 0; i < chunks.length; i++) {
          const c = chunks[i]!;
          if (isText && !st.utf8.push(c)) {
            throw invalidUtf8();
          }
          appendFragment(st, c);
        }
        if (fin) {
          if (isText && !st.utf8.end()) {
            throw invalidUtf8();
          }
          this.deliver(takeMessage(st), isText);
        }
      } catch (e) {
        this.handleError(e);
        this.notifyInputIdle();
        return;
      }
      if (sync) syncResume = true;
      else {
        this.resumeParser();
        this.notifyInputIdle();
      }
    });
    sync = false;
    if (syncResume) this.resumeParser();
  }

  /**
   * Calls `callback` once no inflation is under way, so every byte received so far has been processed (at once
   * when idle). The driver uses it on the peer's TCP FIN: frames sent before the FIN still count.
   */
  whenInputIdle(callback: () => void): void {
    const st = this.input;
    if (st === null || !st.inflating) {
      callback();
      return;
    }
    (st.idleWaiters ??= []).push(callback);
  }

  private notifyInputIdle(): void {
    const st = this.input;
    if (st === null || st.inflating || st.idleWaiters === null) return;
    const waiters = st.idleWaiters;
    st.idleWaiters = null;
    for (const w of waiters) w();
  }

  private resumeParser(): void {
    try {
      this.parser!.resume();
    } catch (err) {
      this.handleError(err);
    }
  }

  private receiveClose(payload: Buffer): void {
    const { code, reason } = parseClosePayload(payload);
    this.closeReceived = true;
    const cs = this.closeState();
    cs.code = code;
    cs.reason = reason;
    if (cs.initiator === null) cs.initiator = "remote";
    this.stopParser();
    if (this.closeSent) {
      this.readyState = ReadyState.CLOSED;
      this.handler.onCloseFrame(code, reason);
      this.handler.onCloseTransport();
      return;
    }
    // RFC 6455 §5.5.1: if an endpoint receives a Close frame and did not previously send one, it MUST send
    // a Close frame in response, typically echoing the status code it received. The reason is echoed too,
    // so that both ends report the same code and reason.
    this.readyState = ReadyState.CLOSING;
    const echoReason = payload.subarray(2);
    let reported = false;
    let echoed = false;
    const echo = () => {
      if (this.readyState === ReadyState.CLOSED) return;
      if (!this.closeSent) this.writeClose(code === CloseCode.NoStatus ? undefined : code, echoReason);
      this.readyState = ReadyState.CLOSED;
      echoed = true;
      // When the echo was delayed, the close frame was reported already: the transport can close now.
      if (reported) this.handler.onCloseTransport();
    };
    if (this.handler.onCloseEcho !== undefined) this.handler.onCloseEcho(echo);
    else echo();
    reported = true;
    this.handler.onCloseFrame(code, reason);
    if (echoed) this.handler.onCloseTransport();
  }

  private handleError(err: unknown): void {
    // An unexpected error (a bug, or a handler that threw) fails this connection alone with 1011 (internalError).
    this.fail(err instanceof ProtocolError ? err : internalError(err));
  }

  /**
   * RFC 6455 §7.1.7 "Fail the WebSocket Connection": send a close frame with the error's code (if none was
   * sent yet), stop processing input and close the transport.
   */
  fail(err: ProtocolError): void {
    if (this.error !== null || (this.readyState === ReadyState.CLOSED && this.closeReceived)) return;
    const cs = this.closeState();
    cs.error = err;
    this.stopParser();
    if (this.input !== null) clearAssembly(this.input);
    if (!this.closeSent) this.writeClose(err.closeCode, "");
    if (cs.initiator === null) cs.initiator = "local";
    cs.code = err.closeCode;
    cs.reason = err.message;
    this.readyState = ReadyState.CLOSED;
    this.handler.onProtocolError(err);
    this.handler.onCloseTransport();
  }

  /** Starts the closing handshake (RFC 6455 §7.1.2). Does nothing once a close frame was sent. */
  close(code?: number, reason: string | Uint8Array = ""): void {
    if (this.closeSent || this.readyState === ReadyState.CLOSED) return;
    this.closeState().initiator = "local";
    this.writeClose(code, reason);
    this.readyState = ReadyState.CLOSING;
  }

  private writeClose(code: number | undefined, reason: string | Uint8Array): void {
    const payload = serializeClosePayload(code, reason);
    this.closeSent = true;
    this.sendFrame(Opcode.Close, payload, true, false);
  }

  /**
   * True while data frames may still be sent: no close frame sent. Between a received close frame and the echo
   * (see onCloseEcho) messages accepted earlier may still go out.
   */
  get canSend(): boolean {
    return !this.closeSent && this.readyState !== ReadyState.CLOSED;
  }

  /** Sends a whole message as one frame. Returns false (and sends nothing) once a close frame was sent. */
  send(data: Uint8Array, isBinary: boolean): boolean {
    if (!this.canSend) return false;
    this.sendFrame(isBinary ? Opcode.Binary : Opcode.Text, data, true, false);
    return true;
  }

  /** Sends a string as one text frame, encoding it straight into the frame buffer. */
  sendText(text: string, byteLength?: number): boolean {
    if (!this.canSend) return false;
    // `byteLength`, when the caller already knows it, must be Buffer.byteLength(text) (UTF-8).
    const len = byteLength ?? Buffer.byteLength(text);
    const masked = !this.isServer;
    const headerLen = frameHeaderLength(len, masked);
    const out = Buffer.allocUnsafe(headerLen + len);
    if (masked) {
      const keyOffset = nextMaskKey();
      writeFrameHeader(out, 0, Opcode.Text, len, true, false, maskKeyPool, keyOffset);
      encodeTextInto(out, text, headerLen, len);
      if (len > 0) {
        const body = out.subarray(headerLen);
        applyMaskTo(body, maskKeyPool, keyOffset, body, 0, len);
      }
    } else {
      writeFrameHeader(out, 0, Opcode.Text, len, true, false, null);
      encodeTextInto(out, text, headerLen, len);
    }
    this.handler.onWrite(out);
    return true;
  }

  /** Sends a ping (payload at most 125 bytes). */
  ping(data: Uint8Array = EMPTY): boolean {
    if (data.length > MAX_CONTROL_PAYLOAD) throw new RangeError("ping payload must be 125 bytes or less");
    if (!this.canSend) return false;
    this.sendFrame(Opcode.Ping, data, true, false);
    return true;
  }

  /** Sends a pong (payload at most 125 bytes); an unsolicited pong serves as a heartbeat (RFC 6455 §5.5.3). */
  pong(data: Uint8Array = EMPTY): boolean {
    if (data.length > MAX_CONTROL_PAYLOAD) throw new RangeError("pong payload must be 125 bytes or less");
    if (!this.canSend) return false;
    this.sendFrame(Opcode.Pong, data, true, false);
    return true;
  }

  /** Encodes and writes one frame, masked when this end is a client. */
  sendFrame(opcode: number, payload: Uint8Array, fin: boolean, rsv1: boolean): void {
    const r = encodeFrame(opcode, payload, { fin, rsv1, mask: !this.isServer });
    if (Array.isArray(r)) {
      this.handler.onWrite(r[0]);
      this.handler.onWrite(r[1]);
    } else {
      this.handler.onWrite(r);
    }
  }

  /** Marks the connection closed because the transport ended (abnormally unless the handshake completed). */
  transportClosed(): void {
    this.stopParser();
    this.readyState = ReadyState.CLOSED;
  }

  /** The closing handshake completed: both close frames were exchanged. */
  get wasClean(): boolean {
    return this.closeSent && this.closeReceived && this.error === null;
  }

  /** An inflation is in progress (the parser is paused). */
  get isInflating(): boolean {
    const st = this.input;
    return st !== null && st.inflating;
  }
}

/** RFC 6455 §8.1: a text message that is not valid UTF-8 fails the connection with 1007. */
function invalidUtf8(): ProtocolError {
  return new ProtocolError("text message is not valid UTF-8", CloseCode.InvalidPayload, "WS_ERR_INVALID_UTF8");
}
