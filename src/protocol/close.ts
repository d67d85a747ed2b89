/** RFC 6455 §5.5.1 and §7.4: close frame payloads and the rules for status codes. */
import { CloseCode, MAX_CLOSE_REASON_BYTES } from "./constants.js";
import { ProtocolError } from "./errors.js";
import { isValidUtf8 } from "./utf8.js";
import { checkMilliseconds, checkOptionsObject, show } from "./checks.js";

/**
 * May this code appear in a close frame on the wire?
 * RFC 6455 §7.4.1/§7.4.2: 0–999 are not used; 1004, 1005, 1006 and 1015 MUST NOT be sent;
 * 1016–2999 are reserved for future RFCs; 3000–4999 are for libraries and applications.
 * 1012–1014 are registered by IANA after the RFC and accepted.
 */
export function isValidWireCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1003) ||
    (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999)
  );
}

export interface ClosePayload {
  /** The status code, or 1005 (NoStatus) when the frame had no body. */
  code: number;
  /** The UTF-8 reason, possibly empty. */
  reason: string;
}

/** Parses and checks a received close frame's payload (already unmasked). */
export function parseClosePayload(payload: Uint8Array): ClosePayload {
  if (payload.length === 0) return { code: CloseCode.NoStatus, reason: "" };
  // RFC 6455 §5.5.1: if there is a body, the first two bytes MUST be a 2-byte unsigned integer.
  if (payload.length === 1) {
    throw new ProtocolError("close frame payload of 1 byte: a status code needs 2", CloseCode.ProtocolError, "WS_ERR_INVALID_CLOSE_PAYLOAD");
  }
  const code = (payload[0]! << 8) | payload[1]!;
  if (!isValidWireCloseCode(code)) {
    throw new ProtocolError(`invalid close code ${code}`, CloseCode.ProtocolError, "WS_ERR_INVALID_CLOSE_CODE");
  }
  const reasonBytes = payload.subarray(2);
  // RFC 6455 §5.5.1: the body after the code is UTF-8 encoded data.
  if (!isValidUtf8(reasonBytes)) {
    throw new ProtocolError("close reason is not valid UTF-8", CloseCode.InvalidPayload, "WS_ERR_INVALID_UTF8");
  }
  return { code, reason: Buffer.from(reasonBytes.buffer, reasonBytes.byteOffset, reasonBytes.length).toString("utf8") };
}

/** Builds a close frame payload. `code` undefined gives an empty body (no reason allowed then). */
export function serializeClosePayload(code?: number, reason: string | Uint8Array = ""): Buffer {
  if (code === undefined) return Buffer.alloc(0);
  // RFC 6455 §7.4: no API sends a code that may not appear on the wire (1004-1006, 1015, <1000, 1016-2999, >4999).
  if (!isValidWireCloseCode(code)) throw new RangeError(`close code ${code} may not be sent; ${WIRE_CODES_TEXT}`);
  const reasonBuf = typeof reason === "string" ? Buffer.from(reason, "utf8") : Buffer.from(reason);
  if (reasonBuf.length > MAX_CLOSE_REASON_BYTES) {
    throw new RangeError(`close reason is ${reasonBuf.length} bytes; at most ${MAX_CLOSE_REASON_BYTES} are allowed`);
  }
  const out = Buffer.allocUnsafe(2 + reasonBuf.length);
  out.writeUInt16BE(code, 0);
  reasonBuf.copy(out, 2);
  return out;
}

/** The codes a server-side API accepts, in words (docs/api.md "Close codes"). */
export const WIRE_CODES_TEXT = "allowed: 1000-1003, 1007-1014, 3000-4999 (RFC 6455 §7.4)";

/**
 * A close code given to a server-side API (ServerWebSocket.close, wss.close, hub.close): any code RFC 6455 §7.4
 * allows on the wire. `undefined` passes (no code). RangeError for anything else (a non-number too).
 */
export function checkWireCloseCode(where: string, code: unknown): number | undefined {
  if (code === undefined) return undefined;
  if (typeof code !== "number") throw new RangeError(`${where}: close code must be an integer, got ${show(code)}; ${WIRE_CODES_TEXT}`);
  if (!Number.isInteger(code) || !isValidWireCloseCode(code)) throw new RangeError(`${where}: close code ${show(code)} may not be sent; ${WIRE_CODES_TEXT}`);
  return code;
}

/** A close reason: a string of at most 123 UTF-8 bytes (RFC 6455 §5.5: 125 bytes with the code). */
export function checkCloseReason(where: string, reason: unknown): Buffer | undefined {
  if (reason === undefined) return undefined;
  if (typeof reason !== "string") throw new TypeError(`${where}: close reason must be a string, got ${show(reason)}`);
  const bytes = Buffer.from(reason, "utf8");
  if (bytes.length > MAX_CLOSE_REASON_BYTES) {
    throw new RangeError(`${where}: close reason is ${bytes.length} bytes of UTF-8; at most ${MAX_CLOSE_REASON_BYTES} are allowed`);
  }
  return bytes;
}

/** Checks the options of a graceful shutdown ({ code, reason, timeout }) of wss.close() and hub.close(). */
export function checkCloseOptions(options: unknown, where = "close"): { code?: number; reason?: string; timeout?: number } {
  const o = checkOptionsObject(where, options);
  for (const key of Object.keys(o)) {
    if (key !== "code" && key !== "reason" && key !== "timeout" && o[key] !== undefined) {
      throw new TypeError(`${where}: unknown option ${JSON.stringify(key)}; the options are code, reason, timeout`);
    }
  }
  checkWireCloseCode(where, o["code"]);
  checkCloseReason(where, o["reason"]);
  if (o["timeout"] !== undefined) checkMilliseconds(where, "timeout", o["timeout"], 0);
  return o as { code?: number; reason?: string; timeout?: number };
}
