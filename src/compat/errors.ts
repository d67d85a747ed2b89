/**
 * ws's error surface on top of wshub's: the messages, `code` strings and close status codes that ws documents
 * (ws.md, "Error codes") for protocol errors, and ws's HTTP answers to refused opening handshakes.
 * wshub's core reports a ProtocolError with its own wording; translate() turns it into the error ws would emit.
 */
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { ProtocolError } from "../protocol/errors.js";

/** The close status code ws keeps on its errors (a symbol in ws; a plain property here, see docs). */
export interface WsError extends Error {
  code: string;
  /** The close code sent to the peer. */
  statusCode?: number;
}

/** ws's message for each code, given wshub's ProtocolError (ws: lib/receiver.js createError()). */
function wsMessage(err: ProtocolError): { message: string; code: string; range: boolean; prefix: boolean } {
  const m = err.message;
  switch (err.code) {
    case "WS_ERR_UNEXPECTED_RSV_2_3":
      return { message: "RSV2 and RSV3 must be clear", code: err.code, range: true, prefix: true };
    case "WS_ERR_UNEXPECTED_RSV_1":
      return { message: "RSV1 must be clear", code: err.code, range: true, prefix: true };
    case "WS_ERR_INVALID_OPCODE": {
      const op = /0x([0-9a-f]+)/.exec(m);
      return { message: `invalid opcode ${op !== null ? parseInt(op[1]!, 16) : "?"}`, code: err.code, range: true, prefix: true };
    }
    // ws reports both fragmentation errors as an invalid opcode.
    case "WS_ERR_INVALID_CONTINUATION":
      return { message: "invalid opcode 0", code: "WS_ERR_INVALID_OPCODE", range: true, prefix: true };
    case "WS_ERR_EXPECTED_CONTINUATION":
      return { message: "invalid opcode (data frame inside a fragmented message)", code: "WS_ERR_INVALID_OPCODE", range: true, prefix: true };
    case "WS_ERR_EXPECTED_FIN":
      return { message: "FIN must be set", code: err.code, range: true, prefix: true };
    case "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH":
      return { message: "invalid payload length (control frame over 125 bytes)", code: err.code, range: true, prefix: true };
    case "WS_ERR_INVALID_CLOSE_PAYLOAD":
      return { message: "invalid payload length 1", code: "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH", range: true, prefix: true };
    case "WS_ERR_EXPECTED_MASK":
      return { message: "MASK must be set", code: err.code, range: true, prefix: true };
    case "WS_ERR_UNEXPECTED_MASK":
      return { message: "MASK must be clear", code: err.code, range: true, prefix: true };
    case "WS_ERR_INVALID_64BIT_LENGTH":
      return { message: "Unsupported WebSocket frame: payload length > 2^53 - 1", code: "WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH", range: true, prefix: false };
    case "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH":
      return { message: "Max payload size exceeded", code: err.code, range: true, prefix: false };
    case "WS_ERR_INVALID_CLOSE_CODE": {
      const c = /(\d+)/.exec(m);
      return { message: `invalid status code ${c !== null ? c[1] : "?"}`, code: err.code, range: true, prefix: true };
    }
    case "WS_ERR_INVALID_UTF8":
      return { message: "invalid UTF-8 sequence", code: err.code, range: false, prefix: true };
    default:
      // wshub-only codes (e.g. WS_ERR_INFLATE_FAILED) keep wshub's message.
      return { message: m, code: err.code, range: false, prefix: false };
  }
}

/** The error ws emits for a peer's protocol violation: RangeError or Error, `code`, and the close code sent. */
export function translate(err: ProtocolError): WsError {
  const w = wsMessage(err);
  const text = w.prefix ? `Invalid WebSocket frame: ${w.message}` : w.message;
  const out = (w.range ? new RangeError(text) : new Error(text)) as WsError;
  out.code = w.code;
  out.statusCode = err.closeCode;
  return out;
}

export function isProtocolError(err: unknown): err is ProtocolError {
  return err instanceof ProtocolError;
}

/**
 * Refuses an opening handshake as ws does (ws: websocket-server.js abortHandshake()): an HTTP response with
 * `Connection: close` and an HTML body (the message, or the status text), then the socket is destroyed once the
 * answer is written.
 */
export function abortHandshake(socket: Duplex, code: number, message?: string, headers?: Record<string, string | number>): void {
  const body = message || STATUS_CODES[code] || "";
  const all: Record<string, string | number> = {
    Connection: "close",
    "Content-Type": "text/html",
    "Content-Length": Buffer.byteLength(body),
    ...headers,
  };
  let head = `HTTP/1.1 ${code} ${STATUS_CODES[code] ?? ""}\r\n`;
  for (const name of Object.keys(all)) head += `${name}: ${all[name]}\r\n`;
  socket.once("finish", () => socket.destroy());
  socket.end(head + "\r\n" + body);
}

/** ws's message for data sent or a ping/pong after the connection left OPEN. */
export function notOpenError(readyState: number): Error {
  return new Error(`WebSocket is not open: readyState ${readyState} (${READY_STATES[readyState]})`);
}

export const READY_STATES = ["CONNECTING", "OPEN", "CLOSING", "CLOSED"] as const;
