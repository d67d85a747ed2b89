/**
 * SessionManager: resumable sessions (docs/resume-protocol.md) on a WebSocketServer. It selects the subprotocol
 * `wshub.resume.v1`, reads each such connection's hello, and starts, resumes or refuses a session. It is a
 * connection source for a Hub: `new Hub(new SessionManager(wss))` registers every session once, under its session
 * id, for as long as it lives, and every plain connection (a client that did not offer the subprotocol) as before.
 */
import { EventEmitter } from "node:events";
import { createHash, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { RESUME_PROTOCOL, ResumeCloseCode, dataHeader, parseHello, type WelcomeGap } from "../../protocol/resume-wire.js";
import { ReadyState } from "../../protocol/constants.js";
import { realClock, type HubClock } from "../../hub/clock.js";
import type { ConnectionSource } from "../../hub/connection.js";
import { OutgoingMessage } from "../../hub/message.js";
import type { ServerRequest, WebSocketServer } from "../server.js";
import type { ServerWebSocket } from "../server-websocket.js";
import { ResumableSession, type ResumeFrame, type SessionHost } from "./session.js";
import { SessionLog } from "./session-log.js";

export interface SessionOptions {
  /** Milliseconds a session outlives a lost connection. Default 120000 (2 minutes). */
  window?: number;
  /** Unacknowledged messages kept per session; the oldest are dropped beyond (a resume then reports a gap). Default 10000. */
  maxMessages?: number;
  /**
   * Payload bytes of unacknowledged messages kept per session (the same), and the most bytes a session's connection
   * may have waiting in its socket before it is cut (the client then resumes). Default 8 MiB.
   */
  maxBytes?: number;
  /** Milliseconds a `wshub.resume.v1` connection has to send its hello before it is closed with 4408. Default 10000. */
  helloTimeout?: number;
  /** Time source and timers of the windows and the hello timeout. Default `realClock`. */
  clock?: HubClock;
}

export const SESSION_DEFAULTS = Object.freeze({
  window: 120_000,
  maxMessages: 10_000,
  maxBytes: 8 * 1024 * 1024,
  helloTimeout: 10_000,
});

/** Why a hello was refused (the `refused` event). */
export interface SessionRefusal {
  readonly reason: "wrong token";
  readonly session: string;
  readonly remoteAddress: string | undefined;
}

/** A connection as the hub sees it through a SessionManager: a session, or a plain connection. */
export type SessionOrSocket<T> = ResumableSession<T> | ServerWebSocket<T>;

export interface SessionManagerEvents<T> {
  /** A new session (after its welcome), or a plain connection: register it (a Hub does). */
  connection: [conn: SessionOrSocket<T>, req: ServerRequest];
  /** A session got a new connection: it resumed (the hub sees no event: it is the same connection to it). */
  resume: [session: ResumableSession<T>];
  /** A session lost its connection without a closing handshake: it waits `window` ms for a resume. */
  detach: [session: ResumableSession<T>];
  /** A hello was refused (a wrong token); logged on stderr when nobody listens. */
  refused: [refusal: SessionRefusal];
  /** An application listener of a session threw. Logged on stderr when nobody listens. */
  error: [err: Error];
}

export class SessionManager<T = unknown> extends EventEmitter<SessionManagerEvents<T>> implements ConnectionSource<SessionOrSocket<T>> {
  readonly options: Readonly<Required<SessionOptions>>;
  readonly #server: WebSocketServer<T>;
  readonly #sessions = new Map<string, ResumableSession<T>>();
  /** The last position given to a message (positions are shared by every session a message reaches). */
  #pos = 0;
  readonly #host: SessionHost;

  constructor(server: WebSocketServer<T>, options: SessionOptions = {}) {
    super();
    this.options = resolveSessionOptions(options);
    this.#server = server;
    const o = this.options;
    this.#host = {
      window: o.window,
      maxBytes: o.maxBytes,
      resumeFrame: (m) => this.#resumeFrame(m),
      setTimer: (cb, ms) => o.clock.setTimeout(cb, ms),
      clearTimer: (h) => o.clock.clearTimeout(h),
      ended: (s) => {
        if (this.#sessions.get(s.id) === s) this.#sessions.delete(s.id);
      },
      detached: (s) => this.emit("detach", s as ResumableSession<T>),
      listenerError: (err) => this.#report(err),
    };
    server.acceptProtocol(RESUME_PROTOCOL);
    server.on("connection", this.#onConnection);
  }

  /** Sessions alive now (with or without a connection). */
  get size(): number {
    return this.#sessions.size;
  }

  get(id: string): ResumableSession<T> | undefined {
    return this.#sessions.get(id);
  }

  /** Every session alive, and every open plain connection of the server. */
  get clients(): Iterable<SessionOrSocket<T>> {
    const server = this.#server;
    const sessions = this.#sessions;
    return (function* () {
      for (const ws of server.clients) if (ws.protocol !== RESUME_PROTOCOL) yield ws;
      yield* sessions.values();
    })();
  }

  /** Stops taking connections from the server (sessions alive stay). */
  detachServer(): void {
    this.#server.off("connection", this.#onConnection);
  }

  readonly #onConnection = (ws: ServerWebSocket<T>, req: ServerRequest): void => {
    if (ws.protocol !== RESUME_PROTOCOL) {
      this.emit("connection", ws, req);
      return;
    }
    ws.binaryType = "nodebuffer";
    const clock = this.options.clock;
    const onClose = (): void => {
      clock.clearTimeout(timer);
      ws.removeEventListener("message", onHello);
    };
    const onHello = (ev: Event): void => {
      clock.clearTimeout(timer);
      ws.removeEventListener("message", onHello);
      ws.removeEventListener("close", onClose);
      this.#hello(ws, req, (ev as MessageEvent).data);
    };
    const timer = clock.setTimeout(() => {
      ws.removeEventListener("message", onHello);
      ws.removeEventListener("close", onClose);
      if (ws.readyState === ReadyState.OPEN) ws.close(ResumeCloseCode.HelloTimeout, "no hello");
    }, this.options.helloTimeout);
    ws.addEventListener("message", onHello);
    ws.addEventListener("close", onClose);
  };

  #hello(ws: ServerWebSocket<T>, req: ServerRequest, data: unknown): void {
    if (ws.readyState !== ReadyState.OPEN) return;
    const hello = typeof data === "string" ? parseHello(data) : null;
    if (hello === null) {
      ws.close(ResumeCloseCode.ProtocolError, "expected a hello");
      return;
    }
    if (hello.session !== null) {
      const session = this.#sessions.get(hello.session);
      if (session !== undefined) {
        if (!tokenMatches(hello.token, session.tokenHash)) {
          // Never resume with a token that is not the session's own; say so, and keep the session as it is.
          const refusal: SessionRefusal = { reason: "wrong token", session: hello.session, remoteAddress: ws._transport?.socket.remoteAddress };
          if (this.listenerCount("refused") > 0) this.emit("refused", refusal);
          else console.warn(`wshub: resume of session ${refusal.session} refused (${refusal.reason}) from ${refusal.remoteAddress ?? "?"}`);
          ws.close(ResumeCloseCode.Refused, "session refused");
          return;
        }
        session.attach(ws, "", hello.pos, true, null);
        this.emit("resume", session);
        return;
      }
    }
    // A new session; for a hello that named one this server does not know, with the gap said.
    const gap: WelcomeGap | null = hello.session !== null ? { reason: "expired", after: hello.pos } : null;
    const token = randomBytes(32).toString("base64url");
    const o = this.options;
    const session = new ResumableSession<T>(this.#host, randomUUID(), digest(token), ws.data, new SessionLog(o.maxMessages, o.maxBytes));
    this.#sessions.set(session.id, session);
    session.attach(ws, token, 0, false, gap);
    this.emit("connection", session, req);
  }

  #resumeFrame(message: OutgoingMessage): ResumeFrame {
    const r = message.resume as ResumeFrame | null;
    if (r !== null && r.owner === this) return r;
    const pos = ++this.#pos;
    const header = dataHeader(pos);
    // One copy per message (not per recipient): the header and the payload, framed and compressed once.
    const payload = Buffer.allocUnsafe(header.length + message.payload.length);
    header.copy(payload, 0);
    payload.set(message.payload, header.length);
    const frame: ResumeFrame = { owner: this, pos, wrapped: new OutgoingMessage(payload, message.binary) };
    message.resume = frame;
    return frame;
  }

  /** A session listener threw: the "error" event, or stderr without a listener (or if that listener throws too). */
  #report(err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    let told = false;
    if (this.listenerCount("error") > 0) {
      try {
        told = this.emit("error", error);
      } catch {
        told = false;
      }
    }
    if (!told) console.error(`wshub session listener error: ${error.stack ?? error.message}`);
  }
}

function digest(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

/** Constant time whatever the token: both sides are 32-byte digests. */
function tokenMatches(token: string, hash: Buffer): boolean {
  return timingSafeEqual(digest(token), hash);
}

export function resolveSessionOptions(options: SessionOptions): Readonly<Required<SessionOptions>> {
  const o = {
    window: options.window ?? SESSION_DEFAULTS.window,
    maxMessages: options.maxMessages ?? SESSION_DEFAULTS.maxMessages,
    maxBytes: options.maxBytes ?? SESSION_DEFAULTS.maxBytes,
    helloTimeout: options.helloTimeout ?? SESSION_DEFAULTS.helloTimeout,
    clock: options.clock ?? realClock,
  };
  for (const k of ["window", "maxMessages", "maxBytes", "helloTimeout"] as const) {
    const v = o[k];
    if (typeof v !== "number" || !(v > 0) || !Number.isFinite(v)) throw new RangeError(`sessions: ${k} must be a finite number > 0, got ${String(v)}`);
  }
  for (const fn of ["now", "setTimeout", "clearTimeout"] as const) {
    if (typeof o.clock?.[fn] !== "function") throw new TypeError(`sessions: clock must have a ${fn}() method`);
  }
  return Object.freeze(o);
}

