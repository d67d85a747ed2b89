/** Event classes of the WebSocket API. Node 20 has Event and MessageEvent but no CloseEvent. */

export interface CloseEventInit extends EventInit {
  wasClean?: boolean;
  code?: number;
  reason?: string;
}

/** WHATWG HTML §9.3.4 CloseEvent. */
export class CloseEvent extends Event {
  readonly wasClean: boolean;
  readonly code: number;
  readonly reason: string;
  constructor(type: string, init: CloseEventInit = {}) {
    super(type, init);
    this.wasClean = init.wasClean ?? false;
    this.code = init.code ?? 0;
    this.reason = init.reason ?? "";
  }
}

/** Node extra: a ping or pong arrived; `data` is its payload. */
export class PingPongEvent extends Event {
  readonly data: Buffer;
  constructor(type: "ping" | "pong", data: Buffer) {
    super(type);
    this.data = data;
  }
}

/** An `error` event that also carries the Error behind it (browsers give none; Node users want it). */
export class ErrorEvent extends Event {
  readonly error: Error;
  readonly message: string;
  constructor(error: Error) {
    super("error");
    this.error = error;
    this.message = error.message;
  }
}

const MessageEventCtor: typeof MessageEvent = globalThis.MessageEvent;
export { MessageEventCtor as MessageEvent };
