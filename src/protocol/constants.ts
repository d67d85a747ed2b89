/** RFC 6455 constants: opcodes, close codes, the handshake GUID and hard maxima. */

/** RFC 6455 §1.3: the GUID concatenated to Sec-WebSocket-Key to form Sec-WebSocket-Accept. */
export const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** RFC 6455 §5.2 opcodes. */
export const Opcode = {
  Continuation: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa,
} as const;
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

/** RFC 6455 §7.4.1 status codes (and the IANA registry entries after it). */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  UnsupportedData: 1003,
  /** Reserved: never sent on the wire; reported when a close frame had no code. */
  NoStatus: 1005,
  /** Reserved: never sent on the wire; reported when the connection closed without a close frame. */
  Abnormal: 1006,
  InvalidPayload: 1007,
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  MandatoryExtension: 1010,
  InternalError: 1011,
  ServiceRestart: 1012,
  TryAgainLater: 1013,
  BadGateway: 1014,
  /** Reserved: never sent on the wire; reported on a TLS failure. */
  TlsHandshake: 1015,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** RFC 6455 §5.5: all control frames MUST have a payload length of 125 bytes or less. */
export const MAX_CONTROL_PAYLOAD = 125;
/** A close reason leaves room for the 2-byte code within the 125-byte control payload. */
export const MAX_CLOSE_REASON_BYTES = 123;

/** Ready states shared by the core and the WHATWG API. */
export const ReadyState = {
  CONNECTING: 0,
  OPEN: 1,
  CLOSING: 2,
  CLOSED: 3,
} as const;
export type ReadyState = (typeof ReadyState)[keyof typeof ReadyState];

/** The only version of the protocol defined by RFC 6455 §4.1. */
export const WEBSOCKET_VERSION = 13;
