/**
 * A resumable session (docs/resume-protocol.md): what the hub sees as one connection, under one id, for as long as
 * the session lives, while the WebSocket connections under it come and go. It records every message delivered to
 * it in its SessionLog, writes it to the current connection if there is one, replays what the client missed on a
 * resume, and numbers and deduplicates what the client sends.
 */
import { CloseCode, ReadyState } from "../../protocol/constants.js";
import { ResumeCloseCode, parseAck, parseBinaryData, parseTextData, encodeWelcome, type WelcomeGap } from "../../protocol/resume-wire.js";
import type { HubConnection } from "../../hub/connection.js";
import { OutgoingMessage, type HubData } from "../../hub/message.js";
import type { ServerWebSocket } from "../server-websocket.js";
import { SessionLog } from "./session-log.js";

/** What a session needs of its manager. */
export interface SessionHost {
  readonly window: number;
  readonly maxBytes: number;
  /** The message's position and its `D<pos> ` frame, shared by every session it reaches. */
  resumeFrame(message: OutgoingMessage): ResumeFrame;
  setTimer(callback: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  /** The session ended: forget it. */
  ended(session: ResumableSession<any>): void;
  detached(session: ResumableSession<any>): void;
  /** An application listener threw. */
  listenerError(err: unknown): void;
}

/** Kept on an OutgoingMessage (its `resume` field) by the first session it reaches. */
export interface ResumeFrame {
  readonly owner: object;
  readonly pos: number;
  readonly wrapped: OutgoingMessage;
}

type Listener = (ev: any) => void;

/** The event a session gives its "message" listeners (the hub reads target and data). */
export interface SessionMessageEvent<T = unknown> {
  readonly type: "message";
  readonly target: ResumableSession<T>;
  readonly data: string | Buffer;
}

/** The event a session gives its "close" listeners when it ends. */
export interface SessionCloseEvent<T = unknown> {
  readonly type: "close";
  readonly target: ResumableSession<T>;
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
}

export class ResumableSession<T = unknown> implements HubConnection {
  /** The session id: the hub's id for it, the same across reconnects. */
  readonly id: string;
  /** User data: the `data` of the session's first connection (set by the server's authenticate hook). */
  data: T;
  /** Client messages handled (their sequence numbers run 1..seqIn). */
  #seqIn = 0;
  #ackQueued = false;
  #socket: ServerWebSocket<T> | null = null;
  #closed = false;
  #timer: unknown = null;
  #bytesReadClosed = 0;
  #bytesWrittenClosed = 0;
  readonly #log: SessionLog;
  readonly #host: SessionHost;
  readonly #tokenHash: Buffer;
  readonly #listeners = { message: new Set<Listener>(), close: new Set<Listener>() };

  /** @internal Made by SessionManager. */
  constructor(host: SessionHost, id: string, tokenHash: Buffer, data: T, log: SessionLog) {
    this.#host = host;
    this.id = id;
    this.#tokenHash = tokenHash;
    this.data = data;
    this.#log = log;
  }

  /** @internal The SHA-256 digest of the session's token. */
  get tokenHash(): Buffer {
    return this.#tokenHash;
  }

  /** OPEN while the session lives (with or without a connection), CLOSED once it ended. */
  get readyState(): number {
    return this.#closed ? ReadyState.CLOSED : ReadyState.OPEN;
  }

  /** The connection the session is on now; null while the client is away. */
  get socket(): ServerWebSocket<T> | null {
    return this.#socket;
  }

  /** Whether a connection is attached now. */
  get connected(): boolean {
    return this.#socket !== null;
  }

  /** Messages kept for the client (delivered, not yet acknowledged), and their payload bytes. */
  get historyLength(): number {
    return this.#log.length;
  }
  get historyBytes(): number {
    return this.#log.bytes;
  }

  /**
   * Always 0: a session never refuses a message for a slow socket (the hub's slow-consumer "drop" would lose it
   * silently). It records every message; a connection with more than maxBytes waiting is terminated instead, and
   * the client resumes from what it acknowledged.
   */
  get pendingBytes(): number {
    return 0;
  }

  get bytesRead(): number {
    return this.#bytesReadClosed + (this.#socket?.bytesRead ?? 0);
  }

  get bytesWritten(): number {
    return this.#bytesWrittenClosed + (this.#socket?.bytesWritten ?? 0);
  }

  /** Sends one message to this session (recorded, with a position), like ws.send(). */
  send(data: HubData, binary?: boolean): boolean {
    return this.sendPrepared(OutgoingMessage.from(data, binary));
  }

  /** Records the message in the history, and writes its shared `D<pos> ` frame to the connection, if any. */
  sendPrepared(message: OutgoingMessage): boolean {
    if (this.#closed) return false;
    const r = this.#host.resumeFrame(message);
    this.#log.push(r.pos, message);
    const s = this.#socket;
    if (s !== null) {
      if (s.pendingBytes > this.#host.maxBytes) s.terminate();
      else s.sendPrepared(r.wrapped);
    }
    return true;
  }

  keepalive(): boolean {
    return this.#socket !== null && this.#socket.keepalive();
  }

  /** Ends the session: closes its connection with `code` (default 1000) and forgets its history. */
  close(code: number = CloseCode.Normal, reason = ""): void {
    if (this.#closed) return;
    const s = this.#socket;
    if (s !== null) {
      this.#release(s);
      if (s.readyState === ReadyState.OPEN || s.readyState === ReadyState.CONNECTING) s.close(code, reason);
    }
    this.#end(code, reason, true);
  }

  /** Cuts the connection without a closing handshake; the session stays, waiting for a resume. */
  terminate(): void {
    this.#socket?.terminate();
  }

  drained(): Promise<boolean> {
    return this.#socket === null ? Promise.resolve(!this.#closed) : this.#socket.drained();
  }

  /** "message" and "close" listeners (a session's close event fires once, when it ends). */
  addEventListener(type: "message" | "close", listener: Listener, _options?: { once?: boolean }): void {
    this.#listeners[type]?.add(listener);
  }

  removeEventListener(type: "message" | "close", listener: Listener): void {
    this.#listeners[type]?.delete(listener);
  }

  /**
   * @internal Puts `ws` under the session: a welcome, the replay of what is after `pos`, then live delivery.
   * `token` is the session's token for a new session, "" for a resume (only its digest is kept).
   */
  attach(ws: ServerWebSocket<T>, token: string, pos: number, resumed: boolean, gap: WelcomeGap | null): void {
    if (this.#timer !== null) {
      this.#host.clearTimer(this.#timer);
      this.#timer = null;
    }
    const old = this.#socket;
    if (old !== null) {
      // A half-open connection the server has not noticed yet: the client has moved on.
      this.#release(old);
      old.terminate();
    }
    const log = this.#log;
    if (gap === null && log.trimmedUpTo > pos) gap = { reason: "trimmed", after: log.trimmedUpTo };
    log.ack(pos);
    this.#socket = ws;
    ws.addEventListener("message", this.#onMessage);
    ws.addEventListener("close", this.#onClose);
    ws.send(encodeWelcome({ session: this.id, token, window: this.#host.window, resumed, seq: this.#seqIn, gap }));
    // Replay and switch to live delivery in this one turn: nothing can be delivered in between.
    log.forEachAfter(pos, (_p, m) => ws.sendPrepared(this.#host.resumeFrame(m).wrapped));
  }

  readonly #onMessage = (ev: Event): void => {
    const ws = ev.target as unknown as ServerWebSocket<T>;
    if (ws !== this.#socket) return;
    const data = (ev as MessageEvent).data as string | Buffer;
    let num: number;
    let payload: string | Buffer;
    if (typeof data === "string") {
      if (data.charCodeAt(0) === 0x41) {
        const n = parseAck(data);
        if (n < 0) return this.#protocolError(ws, "malformed acknowledgement");
        this.#log.ack(n);
        return;
      }
      const h = parseTextData(data);
      if (h === null) return this.#protocolError(ws, "malformed message");
      num = h.num;
      payload = data.slice(h.payloadStart);
    } else {
      const h = parseBinaryData(data);
      if (h === null) return this.#protocolError(ws, "malformed message");
      num = h.num;
      payload = data.subarray(h.payloadStart);
    }
    if (num > this.#seqIn + 1) return this.#protocolError(ws, "sequence number skipped");
    if (num === this.#seqIn + 1) {
      this.#seqIn = num;
      this.#emit("message", { type: "message", target: this, data: payload });
    }
    // A duplicate (num <= seqIn) is acknowledged again and not handled.
    if (!this.#ackQueued) {
      this.#ackQueued = true;
      queueMicrotask(this.#sendAck);
    }
  };

  readonly #sendAck = (): void => {
    this.#ackQueued = false;
    const s = this.#socket;
    if (s !== null && s.readyState === ReadyState.OPEN) s.send(`A${this.#seqIn}`);
  };

  readonly #onClose = (ev: Event): void => {
    const ws = ev.target as unknown as ServerWebSocket<T>;
    if (ws !== this.#socket) return;
    this.#release(ws);
    const ce = ev as Event & { code?: number; reason?: string };
    const code = ce.code ?? CloseCode.Abnormal;
    if (code !== CloseCode.Abnormal) {
      // A closing handshake, whoever started it, ends the session (docs/resume-protocol.md "Closing").
      this.#end(code, ce.reason ?? "", true);
      return;
    }
    // Lost without a closing handshake: keep the session for `window` ms.
    this.#timer = this.#host.setTimer(this.#expire, this.#host.window);
    this.#host.detached(this);
  };

  readonly #expire = (): void => {
    this.#timer = null;
    if (this.#socket === null) this.#end(CloseCode.Abnormal, "", false);
  };

  #protocolError(ws: ServerWebSocket<T>, reason: string): void {
    ws.close(ResumeCloseCode.ProtocolError, reason);
  }

  /** Stops listening to a connection that leaves the session and counts its bytes. */
  #release(ws: ServerWebSocket<T>): void {
    ws.removeEventListener("message", this.#onMessage);
    ws.removeEventListener("close", this.#onClose);
    this.#bytesReadClosed += ws.bytesRead;
    this.#bytesWrittenClosed += ws.bytesWritten;
    this.#socket = null;
  }

  #end(code: number, reason: string, wasClean: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== null) {
      this.#host.clearTimer(this.#timer);
      this.#timer = null;
    }
    this.#log.clear();
    this.#host.ended(this);
    this.#emit("close", { type: "close", target: this, code, reason, wasClean });
  }

  #emit(type: "message" | "close", ev: object): void {
    for (const l of this.#listeners[type]) {
      try {
        l(ev);
      } catch (err) {
        this.#host.listenerError(err);
      }
    }
  }
}
