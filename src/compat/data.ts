/** The data types ws accepts for send/ping/pong, and the conversions of received messages (ws: buffer-util.js). */

export type SendData = string | Buffer | ArrayBuffer | ArrayBufferView | Blob | readonly number[];

/** A Buffer over `data` without copying when it already is bytes; a copy for an array of numbers. */
export function toBuffer(data: string | Buffer | ArrayBuffer | ArrayBufferView | readonly number[]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (typeof data === "string") return Buffer.from(data, "utf8");
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data as number[]);
}

export function isBlob(value: unknown): value is Blob {
  return typeof Blob !== "undefined" && value instanceof Blob;
}

/** The message as an ArrayBuffer: the Buffer's own when it spans all of it, else a copy of its bytes. */
export function toArrayBuffer(buf: Buffer): ArrayBuffer {
  if (buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength && buf.buffer instanceof ArrayBuffer) return buf.buffer;
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}
