/**
 * The interfaces between the sans-I/O Connection (connection.ts) and its driver: what the connection reports
 * (ConnectionHandler), how compressed messages are inflated (MessageInflater), and the connection's options.
 */
import type { ProtocolError } from "./errors.js";
import type { ProtocolOptions } from "./options.js";

/** What the connection reports to its driver. Every method is called synchronously from the core. */
export interface ConnectionHandler {
  /** Bytes to write to the transport, in order. The core never reuses a buffer it handed out. */
  onWrite(data: Uint8Array): void;
  /** A complete message. Text messages are already validated as UTF-8 (and go to onTextMessage with `decodeText`). */
  onMessage(data: Buffer, isBinary: boolean): void;
  /**
   * A complete text message, validated and decoded. Called instead of onMessage for every text message when the
   * connection was created with `decodeText: true` (then this method is required).
   */
  onTextMessage?(text: string): void;
  /** A ping arrived (already answered with a pong when autoPong is on). */
  onPing(data: Buffer): void;
  /** A pong arrived (solicited or not). */
  onPong(data: Buffer): void;
  /** The peer's close frame arrived; code is 1005 when it carried none. Called once. */
  onCloseFrame(code: number, reason: string): void;
  /**
   * Close the transport now: the closing handshake is complete, or the connection was failed.
   * RFC 6455 §7.1.1: the server closes TCP first; a client should wait for the server's close (with a timeout).
   */
  onCloseTransport(): void;
  /** The peer broke the protocol; a close frame with `err.closeCode` was sent and onCloseTransport follows. */
  onProtocolError(err: ProtocolError): void;
  /**
   * Optional: the peer's close frame arrived and this end must answer it. Call `echo` once the messages this end
   * already accepted for sending are written (RFC 6455 §5.5.1: an endpoint may delay its close frame until its
   * current message is sent). Without this method the close frame is echoed at once.
   */
  onCloseEcho?(echo: () => void): void;
}

/**
 * Inflates compressed (RSV1) messages for an extension such as permessage-deflate.
 * `inflate` is called for every frame of a compressed message in order, and must call `done` exactly once,
 * synchronously or later, with the decompressed bytes of that frame (checked against `maxPayload` by the inflater).
 */
export interface MessageInflater {
  inflate(payload: Buffer, fin: boolean, done: (err: ProtocolError | null, data: Buffer[] | null) => void): void;
}

export interface ConnectionOptions extends Partial<ProtocolOptions> {
  /** Is this end the server? Decides masking in both directions. */
  isServer: boolean;
  /** Inflater for RSV1 messages; RSV1 is a protocol error when absent. */
  inflater?: MessageInflater | null;
  /**
   * Deliver text messages as strings through handler.onTextMessage instead of Buffers through onMessage. Default
   * false. The core can then decode small ASCII messages straight from the received chunk, with no Buffer view.
   */
  decodeText?: boolean;
}
