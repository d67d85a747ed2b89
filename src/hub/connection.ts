/**
 * What the hub needs of a connection, and of the server that produces them. src/api/ implements both
 * (ServerWebSocket, WebSocketServer); tests can give the hub fakes. The hub never reaches past this interface.
 */
import type { OutgoingMessage } from "./message.js";

export interface HubConnection {
  /** Unique in the cluster (a UUID for ServerWebSocket). */
  readonly id: string;
  /** WHATWG readyState: 0 CONNECTING, 1 OPEN, 2 CLOSING, 3 CLOSED. The hub writes only to OPEN connections. */
  readonly readyState: number;
  /**
   * Bytes accepted for this connection and not yet written to the kernel: the socket's buffer and, with
   * permessage-deflate, messages still being compressed. This is what HubOptions.maxBufferedBytes limits.
   */
  readonly pendingBytes: number;
  /** Wire bytes read from and written to the socket so far (heartbeat and statistics). */
  readonly bytesRead: number;
  readonly bytesWritten: number;
  /**
   * Writes a message framed once for many connections (the frame's bytes are shared, never copied); compresses it
   * if the connection negotiated permessage-deflate. Returns false, writing nothing, if the connection cannot send.
   */
  sendPrepared(message: OutgoingMessage): boolean;
  /** Sends a keepalive ping (RFC 6455 §5.5.2); false if it could not be sent. */
  keepalive(): boolean;
  /** Starts the closing handshake with a code RFC 6455 §7.4 allows on the wire (1000–1003, 1007–1014, 3000–4999). */
  close(code?: number, reason?: string): void;
  /** Destroys the connection without a closing handshake (the close event reports 1006). */
  terminate(): void;
  /** Resolves true once the pending bytes have drained below the socket's high-water mark; false if it closes first. */
  drained(): Promise<boolean>;
  /** "message" events carry `data`; "close" events carry `code` and `reason`. The event's target is the connection. */
  addEventListener(type: "message" | "close", listener: (ev: Event) => void): void;
  removeEventListener(type: "message" | "close", listener: (ev: Event) => void): void;
}

/** A server whose connections a hub registers (WebSocketServer implements it). */
export interface ConnectionSource<C extends HubConnection> {
  /** The connections open now. */
  readonly clients: Iterable<C>;
  prependListener(event: "connection", listener: (ws: C) => void): unknown;
  off(event: "connection", listener: (ws: C) => void): unknown;
}
