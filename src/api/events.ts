/**
 * Event classes of the WebSocket API. Node 20 has Event and MessageEvent but no CloseEvent, so this module
 * provides one (WHATWG WebSockets: "The CloseEvent interface").
 */

/** CloseEventInit: { wasClean = false, code = 0, reason = "" } and EventInit's members (no DOM lib needed). */
export interface CloseEventInit {
  bubbles?: boolean;
  cancelable?: boolean;
  composed?: boolean;
  wasClean?: boolean;
  code?: number;
  reason?: string;
}

/** `[Exposed=*] interface CloseEvent : Event` with the read-only attributes wasClean, code and reason. */
export class CloseEvent extends Event {
  #wasClean: boolean;
  #code: number;
  #reason: string;

  constructor(type: string, init: CloseEventInit = {}) {
    super(type, init);
    // Dictionary members, converted as WebIDL does: boolean, unsigned short (modulo 2^16), USVString.
    this.#wasClean = Boolean(init.wasClean ?? false);
    this.#code = init.code === undefined ? 0 : Number(init.code) & 0xffff;
    this.#reason = init.reason === undefined ? "" : toUSVString(`${init.reason}`);
  }

  /** Whether the connection closed cleanly (the closing handshake completed). */
  get wasClean(): boolean {
    return this.#wasClean;
  }
  /** The close code sent by the server (1005 when its close frame had none, 1006 when none arrived). */
  get code(): number {
    return this.#code;
  }
  /** The close reason sent by the server ("" when none). */
  get reason(): string {
    return this.#reason;
  }
}

Object.defineProperty(CloseEvent.prototype, Symbol.toStringTag, { value: "CloseEvent", configurable: true });

/** Node extra: a ping or pong arrived; `data` is its payload. Browsers never see these events. */
export class PingPongEvent extends Event {
  readonly data: Buffer;
  constructor(type: "ping" | "pong", data: Buffer) {
    super(type);
    this.data = data;
  }
}

/** The `error` event of a WebSocket: an Event, with the Error behind it as a Node extra (may be absent). */
export type WebSocketErrorEvent = Event & { readonly error?: Error };

/**
 * Creates the `error` event. As in browsers it is a plain `Event` (constructor Event, no message); the cause is
 * attached as a non-enumerable, read-only `error` property, which browsers do not have.
 */
export function createErrorEvent(error: Error): WebSocketErrorEvent {
  const ev = new Event("error");
  Object.defineProperty(ev, "error", { value: error, enumerable: false, writable: false, configurable: true });
  return ev as WebSocketErrorEvent;
}

function toUSVString(s: string): string {
  // WebIDL USVString: lone surrogates become U+FFFD.
  return Buffer.from(s, "utf8").toString("utf8");
}

const MessageEventCtor: typeof MessageEvent = globalThis.MessageEvent;
export { MessageEventCtor as MessageEvent };
