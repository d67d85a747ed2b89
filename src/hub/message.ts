/** A message on its way to many connections: its payload, and its frame, encoded once and shared. */
import { Opcode } from "../protocol/constants.js";
import { encodeFrame } from "../protocol/frame.js";

/** What the hub accepts as message data: a string is sent as text, anything else as binary. */
export type HubData = string | Uint8Array | ArrayBuffer | ArrayBufferView;

export class OutgoingMessage {
  /** The message payload (UTF-8 for text). */
  readonly payload: Uint8Array;
  readonly binary: boolean;
  /**
   * The message as sent to permessage-deflate peers (compressed once, shared), made and kept here by the first
   * connection that needs it (src/api/ knows its type; the hub only carries it).
   */
  deflate: object | null = null;
  /**
   * With resumable sessions: the message's position and its `D<pos> ` frame (docs/resume-protocol.md), made and kept
   * here by the first session that records it (src/api/ knows its type; the hub only carries it).
   */
  resume: object | null = null;
  #frame: Buffer | [Buffer, Uint8Array] | null = null;

  constructor(payload: Uint8Array, binary: boolean) {
    this.payload = payload;
    this.binary = binary;
  }

  static from(data: HubData, binary?: boolean): OutgoingMessage {
    if (typeof data === "string") return new OutgoingMessage(Buffer.from(data, "utf8"), binary ?? false);
    return new OutgoingMessage(toUint8Array(data), binary ?? true);
  }

  /**
   * The server-to-client frame (RFC 6455 §5.1: a server MUST NOT mask frames it sends), built on first use and
   * shared by every recipient. Large payloads stay as [header, payload] so the payload is never copied.
   */
  get frame(): Buffer | [Buffer, Uint8Array] {
    if (this.#frame === null) this.#frame = encodeFrame(this.binary ? Opcode.Binary : Opcode.Text, this.payload);
    return this.#frame;
  }

  /** Bytes the frame takes on the wire. */
  get frameLength(): number {
    const f = this.frame;
    return Array.isArray(f) ? f[0].length + f[1].length : f.length;
  }
}

function toUint8Array(data: Uint8Array | ArrayBuffer | ArrayBufferView): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer || Object.prototype.toString.call(data) === "[object SharedArrayBuffer]") {
    return new Uint8Array(data as ArrayBuffer);
  }
  throw new TypeError("message data must be a string, an ArrayBuffer or an ArrayBufferView");
}
