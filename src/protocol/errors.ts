/**
 * Error types. Blame is in the type:
 * - ProtocolError: the peer broke the protocol; carries the close code to fail the connection with.
 * - HandshakeError: an opening handshake failed; carries the HTTP status (server side) or what was wrong (client side).
 * Caller misuse is reported with DOMException (InvalidStateError, SyntaxError, InvalidAccessError) by the API layer.
 */

export class ProtocolError extends Error {
  override readonly name = "ProtocolError";
  /** The close code the connection is failed with (1002, 1007, 1009, ...). */
  readonly closeCode: number;
  /** A stable string code, e.g. `WS_ERR_UNEXPECTED_RSV_2_3`; see docs/api.md. */
  readonly code: string;
  constructor(message: string, closeCode: number, code: string) {
    super(message);
    this.closeCode = closeCode;
    this.code = code;
  }
}

export class HandshakeError extends Error {
  override readonly name = "HandshakeError";
  /** HTTP status that the server answers with (400, 403, 426, ...) or, on the client, the status received (0 if none). */
  readonly status: number;
  /** A stable string code, e.g. `WS_ERR_INVALID_KEY`. */
  readonly code: string;
  /** Server side: extra response headers to send (e.g. Sec-WebSocket-Version on 426). Client side: the headers received. */
  readonly headers: Record<string, string>;
  /**
   * Client side, when the server refused the upgrade: `status` is its status code, `headers` its response headers
   * (lower-case names) and `body` the start of its response body (at most 4 KiB). Undefined otherwise.
   */
  body: Buffer | undefined = undefined;
  constructor(message: string, status: number, code: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

/**
 * An unexpected error on one connection (a bug, or application code that threw inside the core's call): that
 * connection fails with 1011 (RFC 6455 §7.4.1: "a condition that prevented it from fulfilling the request"); the
 * cause is kept as `cause`.
 */
export function internalError(cause: unknown): ProtocolError {
  const e = new ProtocolError("internal error", 1011, "WS_ERR_INTERNAL");
  Object.defineProperty(e, "cause", { value: cause, writable: true, configurable: true });
  return e;
}
