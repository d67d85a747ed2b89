/**
 * ReconnectingWebSocket: the client side of `wshub.resume.v1` (docs/resume-protocol.md) over any WHATWG WebSocket.
 * This file imports nothing (its compiled form is the browser script the chat server serves at /wshub-client.js):
 * it takes the WebSocket constructor as an option, and uses only what browsers and Node share (EventTarget,
 * Event, MessageEvent, TextEncoder, timers). src/api/reconnecting-websocket.ts gives it Node's WebSocket.
 */

const RESUME_PROTOCOL = "wshub.resume.v1";
/** Close codes after which the client reconnects (docs/resume-protocol.md "Closing"); any other ends it. */
const RECONNECT_CODES = [1001, 1005, 1006, 1011, 1012, 1013, 1014, 1015, 4408];

/** What the client needs of a WebSocket (the WHATWG interface). */
export interface WebSocketLike {
  readonly readyState: number;
  readonly protocol: string;
  binaryType: string;
  onopen: ((ev: any) => any) | null;
  onmessage: ((ev: any) => any) | null;
  onclose: ((ev: any) => any) | null;
  onerror: ((ev: any) => any) | null;
  send(data: string | ArrayBufferView | ArrayBuffer): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string, protocols?: string[], options?: any) => WebSocketLike;

export interface ReconnectingWebSocketOptions {
  /** The WebSocket class to dial with. Default: `globalThis.WebSocket` (the Node export passes wshub's). */
  WebSocket?: WebSocketConstructor;
  /** A third argument for the WebSocket constructor (wshub's WebSocketOptions in Node). Default none. */
  webSocketOptions?: unknown;
  /** Backoff: the first delay's upper bound, in ms; each attempt doubles it, up to maxDelay ("full jitter"). Default 100. */
  minDelay?: number;
  /** Backoff: the largest upper bound, in ms. Default 5000. */
  maxDelay?: number;
  /** Messages kept until the server acknowledges them (sent or not yet); send() throws beyond. Default 1000. */
  maxQueuedMessages?: number;
  /** The same in bytes (UTF-8 for text). Default 16 MiB. */
  maxQueuedBytes?: number;
  /** Milliseconds after a message before it is acknowledged (batched). Default 25. */
  ackDelay?: number;
  /** Messages after which an acknowledgement goes at once. Default 64. */
  ackEvery?: number;
  /** A [0, 1) random source for the backoff (tests). Default Math.random. */
  random?: () => number;
}

export const RECONNECTING_DEFAULTS = Object.freeze({
  minDelay: 100,
  maxDelay: 5000,
  maxQueuedMessages: 1000,
  maxQueuedBytes: 16 * 1024 * 1024,
  ackDelay: 25,
  ackEvery: 64,
});

interface Outgoing {
  seq: number;
  readonly data: string | Uint8Array;
  readonly bytes: number;
  /** Written to some connection (it may have been handled even if no acknowledgement came). */
  written: boolean;
}

type Handler = ((ev: any) => any) | null;
const HANDLED = ["open", "message", "close", "error", "resumed", "gap"] as const;

export class ReconnectingWebSocket extends EventTarget {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readonly CONNECTING = 0;
  readonly OPEN = 1;
  readonly CLOSING = 2;
  readonly CLOSED = 3;
  /** "blob" (the default, as WebSocket), "arraybuffer", or in Node "nodebuffer". */
  binaryType: "blob" | "arraybuffer" | "nodebuffer" = "blob";
  onopen: Handler = null;
  onmessage: Handler = null;
  onclose: Handler = null;
  onerror: Handler = null;
  onresumed: Handler = null;
  ongap: Handler = null;
  readonly #urls: string[];
  readonly #protocols: string[];
  readonly #o: Required<Omit<ReconnectingWebSocketOptions, "webSocketOptions">> & { webSocketOptions: unknown };
  #next = 0;
  #url = "";
  #ws: WebSocketLike | null = null;
  #state = 0;
  /** The current connection is welcomed (resume) or open (plain): messages go out at once. */
  #live = false;
  #resume = false;
  #session: { id: string; token: string } | null = null;
  /** The position of the last server message dispatched. */
  #pos = 0;
  #unacked = 0;
  #ackTimer: ReturnType<typeof setTimeout> | null = null;
  #queue: Outgoing[] = [];
  #queueBytes = 0;
  #seq = 0;
  #attempt = 0;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(url: string | URL | readonly (string | URL)[], protocols?: string | readonly string[], options: ReconnectingWebSocketOptions = {}) {
    super();
    const list = Array.isArray(url) ? url : [url];
    if (list.length === 0) throw new SyntaxError("ReconnectingWebSocket: no URL given");
    this.#urls = list.map((u) => {
      const parsed = new URL(`${u}`);
      if (!/^(wss?|https?):$/.test(parsed.protocol)) throw new SyntaxError(`ReconnectingWebSocket: ${parsed.href} is not a ws:// or wss:// URL`);
      return parsed.href;
    });
    this.#protocols = protocols === undefined ? [] : typeof protocols === "string" ? [protocols] : [...protocols];
    const WS = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (typeof WS !== "function") throw new TypeError("ReconnectingWebSocket: no WebSocket class (pass options.WebSocket)");
    const d = RECONNECTING_DEFAULTS;
    this.#o = {
      WebSocket: WS,
      webSocketOptions: options.webSocketOptions,
      minDelay: positive("minDelay", options.minDelay ?? d.minDelay),
      maxDelay: positive("maxDelay", options.maxDelay ?? d.maxDelay),
      maxQueuedMessages: positive("maxQueuedMessages", options.maxQueuedMessages ?? d.maxQueuedMessages),
      maxQueuedBytes: positive("maxQueuedBytes", options.maxQueuedBytes ?? d.maxQueuedBytes),
      ackDelay: positive("ackDelay", options.ackDelay ?? d.ackDelay),
      ackEvery: positive("ackEvery", options.ackEvery ?? d.ackEvery),
      random: options.random ?? Math.random,
    };
    for (const type of HANDLED) {
      this.addEventListener(type, (ev) => {
        const h = (this as unknown as Record<string, Handler>)[`on${type}`];
        if (typeof h === "function") h.call(this, ev);
      });
    }
    this.#connect();
  }

  /** CONNECTING until the first connection is up; OPEN from then on, also while reconnecting; CLOSING; CLOSED. */
  get readyState(): number {
    return this.#state;
  }

  /** Whether a connection is up now (messages go out at once rather than wait in the queue). */
  get connected(): boolean {
    return this.#live;
  }

  /** The URL of the current (or last) connection. */
  get url(): string {
    return this.#url;
  }

  /** The subprotocol of the current connection ("wshub.resume.v1" when the server resumes). */
  get protocol(): string {
    return this.#ws?.protocol ?? "";
  }

  /** The session id (the server's id for this client), or "" before the first welcome. */
  get sessionId(): string {
    return this.#session?.id ?? "";
  }

  /** Bytes of the messages not yet acknowledged by the server (sent or waiting). */
  get bufferedAmount(): number {
    return this.#queueBytes;
  }

  /**
   * Sends a message, or queues it while disconnected; it is handled by the server exactly once, in order. Throws an
   * InvalidStateError once closing, a RangeError when maxQueuedMessages or maxQueuedBytes would be passed.
   */
  send(data: string | ArrayBuffer | ArrayBufferView): void {
    if (this.#state >= 2) throw new DOMException("ReconnectingWebSocket is closing or closed", "InvalidStateError");
    let payload: string | Uint8Array;
    let bytes: number;
    if (typeof data === "string") {
      payload = data;
      bytes = utf8Length(data);
    } else if (ArrayBuffer.isView(data)) {
      payload = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
      bytes = payload.length;
    } else if (data instanceof ArrayBuffer) {
      payload = new Uint8Array(data).slice();
      bytes = payload.length;
    } else {
      throw new TypeError("ReconnectingWebSocket.send() takes a string, an ArrayBuffer or an ArrayBufferView (a Blob cannot be queued synchronously)");
    }
    if (this.#queue.length + 1 > this.#o.maxQueuedMessages || this.#queueBytes + bytes > this.#o.maxQueuedBytes) {
      throw new RangeError(
        `ReconnectingWebSocket: send queue full: ${this.#queue.length} messages, ${this.#queueBytes} bytes not yet acknowledged ` +
          `(limits: maxQueuedMessages ${this.#o.maxQueuedMessages}, maxQueuedBytes ${this.#o.maxQueuedBytes})`,
      );
    }
    const m: Outgoing = { seq: ++this.#seq, data: payload, bytes, written: false };
    if (this.#live && !this.#resume) {
      // A server without sessions: no acknowledgements, nothing to keep.
      this.#ws!.send(payload);
      return;
    }
    this.#queue.push(m);
    this.#queueBytes += bytes;
    if (this.#live) this.#write(m);
  }

  /** Closes for good: the server ends the session. Queued messages not yet acknowledged are dropped. */
  close(code?: number, reason?: string): void {
    if (this.#state >= 2) return;
    this.#state = 2;
    this.#clearTimers();
    const ws = this.#ws;
    if (ws !== null && ws.readyState <= 1) {
      ws.close(code ?? 1000, reason);
      return;
    }
    this.#ws = null;
    setTimeout(() => this.#finish(code ?? 1000, reason ?? "", true), 0);
  }

  #connect(): void {
    this.#retryTimer = null;
    const url = this.#urls[this.#next++ % this.#urls.length]!;
    this.#url = url;
    let ws: WebSocketLike;
    try {
      ws = new this.#o.WebSocket(url, [RESUME_PROTOCOL, ...this.#protocols.filter((p) => p !== RESUME_PROTOCOL)], this.#o.webSocketOptions);
    } catch (err) {
      this.#fire(Object.assign(new Event("error"), { error: err }));
      this.#retry();
      return;
    }
    ws.binaryType = "arraybuffer";
    this.#ws = ws;
    ws.onopen = () => {
      if (ws !== this.#ws) return;
      this.#resume = ws.protocol === RESUME_PROTOCOL;
      if (this.#resume) {
        const s = this.#session;
        ws.send("H" + JSON.stringify(s === null ? {} : { session: s.id, token: s.token, pos: this.#pos }));
      } else {
        // No sessions on this server: reconnect and queue, no guarantee. Queued messages go out now.
        this.#live = true;
        for (const m of this.#queue) ws.send(m.data);
        this.#queue = [];
        this.#queueBytes = 0;
        this.#up(false, null);
      }
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (ws === this.#ws) this.#onWire(ws, ev.data);
    };
    ws.onerror = () => {};
    ws.onclose = (ev: { code: number; reason: string; wasClean: boolean }) => {
      if (ws !== this.#ws) return;
      this.#ws = null;
      this.#live = false;
      if (this.#ackTimer !== null) clearTimeout(this.#ackTimer);
      this.#ackTimer = null;
      if (this.#state < 2 && RECONNECT_CODES.includes(ev.code)) this.#retry();
      else this.#finish(ev.code, ev.reason, ev.wasClean);
    };
  }

  #retry(): void {
    // Full jitter: a delay drawn uniformly from [0, min(maxDelay, minDelay * 2^attempt)).
    const cap = Math.min(this.#o.maxDelay, this.#o.minDelay * 2 ** Math.min(this.#attempt++, 30));
    this.#retryTimer = setTimeout(() => this.#connect(), this.#o.random() * cap);
  }

  #onWire(ws: WebSocketLike, data: unknown): void {
    if (!this.#resume) {
      this.#dispatch(data);
      return;
    }
    if (typeof data === "string") {
      const c = data.charCodeAt(0);
      if (c === 0x44 /* D */ && this.#live) {
        const sp = data.indexOf(" ");
        const pos = sp > 1 ? Number(data.slice(1, sp)) : NaN;
        if (Number.isSafeInteger(pos)) return this.#deliver(ws, pos, data.slice(sp + 1));
      } else if (c === 0x41 /* A */) {
        const n = Number(data.slice(1));
        if (Number.isSafeInteger(n)) return this.#acked(n);
      } else if (c === 0x57 /* W */ && !this.#live) {
        try {
          return this.#welcome(ws, JSON.parse(data.slice(1)));
        } catch {
          // Malformed welcome: a protocol error below.
        }
      }
    } else if (this.#live) {
      const b = new Uint8Array(data as ArrayBuffer);
      let sp = 1;
      while (sp < b.length && sp < 18 && b[sp] !== 0x20) sp++;
      let pos = b[0] === 0x44 && sp > 1 && sp < b.length ? 0 : NaN;
      for (let i = 1; i < sp && pos === pos; i++) pos = b[i]! >= 0x30 && b[i]! <= 0x39 ? pos * 10 + b[i]! - 0x30 : NaN;
      if (Number.isSafeInteger(pos)) return this.#deliver(ws, pos, b.subarray(sp + 1));
    }
    ws.close(4400, "resume protocol error");
  }

  #welcome(ws: WebSocketLike, w: { session: string; token: string; resumed: boolean; seq: number; gap: { reason: string; after: number } | null }): void {
    let uncertain = 0;
    if (w.resumed) {
      this.#acked(w.seq);
    } else {
      // A new session. Messages written to the lost one may or may not have been handled: not sent again.
      const keep = this.#queue.filter((m) => !m.written);
      uncertain = this.#queue.length - keep.length;
      this.#queue = keep;
      this.#queueBytes = 0;
      this.#seq = 0;
      for (const m of keep) {
        m.seq = ++this.#seq;
        this.#queueBytes += m.bytes;
      }
      this.#pos = 0;
      this.#session = { id: w.session, token: w.token };
    }
    this.#live = true;
    this.#attempt = 0;
    for (const m of this.#queue) this.#write(m);
    const gap = w.gap === null || w.gap === undefined ? null : { reason: w.gap.reason, after: w.gap.after, uncertain };
    this.#up(w.resumed, gap);
    void ws;
  }

  /** A connection is up: "open" the first time, then "resumed" or "gap". */
  #up(resumed: boolean, gap: { reason: string; after: number; uncertain: number } | null): void {
    if (this.#state === 0) {
      this.#state = 1;
      this.#fire(new Event("open"));
      return;
    }
    if (gap !== null) this.#fire(Object.assign(new Event("gap"), gap));
    if (resumed || gap === null) this.#fire(new Event("resumed"));
  }

  #deliver(ws: WebSocketLike, pos: number, payload: string | Uint8Array): void {
    if (pos <= this.#pos) return; // already dispatched: a duplicate
    this.#pos = pos;
    this.#dispatch(payload);
    if (++this.#unacked >= this.#o.ackEvery) this.#sendAck(ws);
    else if (this.#ackTimer === null) this.#ackTimer = setTimeout(() => this.#sendAck(ws), this.#o.ackDelay);
  }

  #sendAck(ws: WebSocketLike): void {
    if (this.#ackTimer !== null) clearTimeout(this.#ackTimer);
    this.#ackTimer = null;
    this.#unacked = 0;
    if (ws === this.#ws && ws.readyState === 1) ws.send("A" + this.#pos);
  }

  #acked(seq: number): void {
    const q = this.#queue;
    let i = 0;
    while (i < q.length && q[i]!.seq <= seq) this.#queueBytes -= q[i++]!.bytes;
    if (i > 0) this.#queue = q.slice(i);
  }

  #write(m: Outgoing): void {
    const ws = this.#ws!;
    m.written = true;
    if (typeof m.data === "string") {
      ws.send("D" + m.seq + " " + m.data);
    } else {
      const head = `D${m.seq} `;
      const out = new Uint8Array(head.length + m.data.length);
      for (let i = 0; i < head.length; i++) out[i] = head.charCodeAt(i);
      out.set(m.data, head.length);
      ws.send(out);
    }
  }

  #dispatch(data: unknown): void {
    let value = data;
    if (typeof data !== "string") {
      const u8 = data instanceof Uint8Array ? data : new Uint8Array(data as ArrayBuffer);
      const NodeBuffer = (globalThis as { Buffer?: { from(b: ArrayBuffer, o: number, l: number): unknown } }).Buffer;
      if (this.binaryType === "nodebuffer" && NodeBuffer !== undefined) value = NodeBuffer.from(u8.buffer as ArrayBuffer, u8.byteOffset, u8.byteLength);
      else if (this.binaryType === "arraybuffer") value = u8.slice().buffer;
      else value = new Blob([u8 as unknown as ArrayBuffer]);
    }
    this.#fire(new MessageEvent("message", { data: value, origin: new URL(this.#url).origin }));
  }

  #finish(code: number, reason: string, wasClean: boolean): void {
    if (this.#state === 3) return;
    this.#state = 3;
    this.#live = false;
    this.#clearTimers();
    this.#queue = [];
    this.#queueBytes = 0;
    const CE = (globalThis as { CloseEvent?: new (type: string, init: object) => Event }).CloseEvent;
    this.#fire(CE !== undefined ? new CE("close", { code, reason, wasClean }) : Object.assign(new Event("close"), { code, reason, wasClean }));
  }

  #clearTimers(): void {
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    if (this.#ackTimer !== null) clearTimeout(this.#ackTimer);
    this.#retryTimer = null;
    this.#ackTimer = null;
  }

  #fire(ev: Event): void {
    this.dispatchEvent(ev);
  }
}

function positive(name: string, v: number): number {
  if (typeof v !== "number" || !(v > 0)) throw new RangeError(`ReconnectingWebSocket: ${name} must be a number > 0, got ${String(v)}`);
  return v;
}

/** Bytes of a string in UTF-8, without encoding it. */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}
