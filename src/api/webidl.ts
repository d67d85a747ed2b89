/**
 * WebIDL conversions and constants of the WebSocket interface (WHATWG WebSockets Standard, WebIDL §3.2): the
 * arguments of send(), close(), ping() and pong(), the binaryType enumeration, the readyState constants, and the
 * values handed to message events (ArrayBuffer, the url's origin).
 */
import { Blob } from "node:buffer";
import { isArrayBuffer, isSharedArrayBuffer } from "node:util/types";
import { MAX_CLOSE_REASON_BYTES, ReadyState } from "../protocol/constants.js";

/** The WebIDL BinaryType enum, plus "nodebuffer" (Node extension: binary messages arrive as a Buffer, no copy). */
export type BinaryType = "blob" | "arraybuffer" | "nodebuffer";
/** What send() takes: WebIDL (BufferSource or Blob or USVString). */
export type SendData = string | ArrayBufferLike | ArrayBufferView | Blob;

/**
 * WebIDL enumeration attribute: the value is converted to a string, and one that is not a BinaryType value is
 * ignored (null here; no exception). "nodebuffer" is this library's extension.
 */
export function toBinaryType(value: unknown): BinaryType | null {
  const v = `${value}`;
  return v === "blob" || v === "arraybuffer" || v === "nodebuffer" ? v : null;
}

/**
 * WebIDL: send((BufferSource or Blob or USVString) data). A string stays a string, a BufferSource becomes a
 * Uint8Array over the same memory (no copy), a Blob stays a Blob; other values convert to a string.
 * SharedArrayBuffer (and views on one) are not BufferSource and throw a TypeError.
 */
export function toSendData(data: SendData): string | Uint8Array | Blob {
  if (typeof data === "string") return data;
  if (ArrayBuffer.isView(data)) {
    const buffer = data.buffer;
    if (!(buffer instanceof ArrayBuffer) && isSharedArrayBuffer(buffer)) {
      throw new TypeError("WebSocket.send: a view on a SharedArrayBuffer is not allowed");
    }
    return data instanceof Uint8Array ? data : new Uint8Array(buffer, data.byteOffset, data.byteLength);
  }
  if (isArrayBuffer(data)) return new Uint8Array(data);
  if (data instanceof Blob) return data;
  if (isSharedArrayBuffer(data)) throw new TypeError("WebSocket.send: a SharedArrayBuffer is not allowed");
  return `${data as unknown as string}`;
}

/**
 * close(code, reason), WebIDL `optional [Clamp] unsigned short code` and step 1: a code that is neither 1000 nor in
 * 3000..4999 throws an "InvalidAccessError" DOMException. Returns the code, or undefined when absent.
 */
export function toCloseCode(code: number | undefined): number | undefined {
  if (code === undefined) return undefined;
  const c = clampUint16(code);
  if (c !== 1000 && !(c >= 3000 && c <= 4999)) {
    throw new DOMException(
      `Failed to execute 'close' on 'WebSocket': The close code must be either 1000, or between 3000 and 4999. ${c} is neither.`,
      "InvalidAccessError",
    );
  }
  return c;
}

/**
 * close(code, reason), WebIDL `optional USVString reason` and step 2: the UTF-8 encoding of the reason; longer than
 * 123 bytes throws a "SyntaxError" DOMException. Returns undefined when absent.
 */
export function toCloseReason(reason: string | undefined): Buffer | undefined {
  if (reason === undefined) return undefined;
  const reasonBytes = Buffer.from(`${reason}`, "utf8");
  if (reasonBytes.length > MAX_CLOSE_REASON_BYTES) {
    throw new DOMException(
      `Failed to execute 'close' on 'WebSocket': The close reason must not be greater than ${MAX_CLOSE_REASON_BYTES} UTF-8 bytes.`,
      "SyntaxError",
    );
  }
  return reasonBytes;
}

/** WebIDL [Clamp] unsigned short: NaN → 0, clamp to [0, 65535], round half to even. */
export function clampUint16(value: unknown): number {
  let x = Number(value);
  if (Number.isNaN(x)) return 0;
  x = Math.min(Math.max(x, 0), 65535);
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** The payload argument of ping() and pong() (Node extras) as bytes. */
export function controlBytes(data: string | ArrayBufferView | ArrayBufferLike): Uint8Array {
  if (typeof data === "string") return Buffer.from(data);
  if (ArrayBuffer.isView(data)) {
    return data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  return new Uint8Array(data as ArrayBuffer);
}

/** A received binary message as an ArrayBuffer (binaryType "arraybuffer"). */
export function toArrayBuffer(buf: Buffer): ArrayBuffer {
  // A Buffer that spans a whole ArrayBuffer owns it (no other message shares it): hand it over without a copy.
  if (buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength) return buf.buffer as ArrayBuffer;
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

// The last url whose origin was computed, and that origin: a server's connections usually share one url (one
// string, see WebSocketServer), so they share one origin string, computed once.
let lastOriginUrl = "";
let lastOrigin = "";

/** The serialization of `url`'s origin (the origin of a message event); "" when the url cannot be parsed. */
export function originOf(url: string): string {
  if (url === lastOriginUrl && url !== "") return lastOrigin;
  let origin: string;
  try {
    origin = new URL(url).origin;
  } catch {
    origin = "";
  }
  lastOriginUrl = url;
  lastOrigin = origin;
  return origin;
}

/**
 * @internal WebIDL constants: { [[Writable]]: false, [[Enumerable]]: true, [[Configurable]]: false }, own
 * properties of the interface object and of the interface prototype object. Each concrete class calls this.
 */
export function defineReadyStateConstants(ctor: Function): void {
  for (const target of [ctor, ctor.prototype]) {
    Object.defineProperties(target, {
      CONNECTING: { value: ReadyState.CONNECTING, writable: false, enumerable: true, configurable: false },
      OPEN: { value: ReadyState.OPEN, writable: false, enumerable: true, configurable: false },
      CLOSING: { value: ReadyState.CLOSING, writable: false, enumerable: true, configurable: false },
      CLOSED: { value: ReadyState.CLOSED, writable: false, enumerable: true, configurable: false },
    });
  }
}
