/** The data types ws accepts for send/ping/pong, and the conversions of received messages (ws: buffer-util.js). */

/** What send(), ping() and pong() take, as @types/ws's BufferLike (numbers are sent as their decimal text). */
export type SendData =
  | string
  | ArrayBuffer
  | SharedArrayBuffer
  | ArrayBufferView
  | Blob
  | readonly unknown[]
  | { valueOf(): ArrayBuffer | SharedArrayBuffer | Uint8Array | readonly number[] | string }
  | { [Symbol.toPrimitive](hint: string): string };

/**
 * A Buffer over `data`, without copying when it already is bytes. An array of Buffers (a message received with
 * binaryType "fragments") is joined; other values go through Buffer.from() as in ws.
 */
export function toBuffer(data: Exclude<SendData, Blob>): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (typeof data === "string") return Buffer.from(data, "utf8");
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (Array.isArray(data) && data.length > 0 && data.every((x) => Buffer.isBuffer(x))) return Buffer.concat(data as Buffer[]);
  return Buffer.from(data as unknown as string);
}

export function isBlob(value: unknown): value is Blob {
  return typeof Blob !== "undefined" && value instanceof Blob;
}

/** The message as an ArrayBuffer: the Buffer's own when it spans all of it, else a copy of its bytes. */
export function toArrayBuffer(buf: Buffer): ArrayBuffer {
  if (buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength && buf.buffer instanceof ArrayBuffer) return buf.buffer;
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}
