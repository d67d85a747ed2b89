/**
 * The binary encoding of what crosses Redis between nodes. One layout for every kind, big-endian:
 *
 *   offset  size  field
 *   0       1     version (1)
 *   1       1     kind (WireKind)
 *   2       1     flags: bit 0 = the payload is binary (else UTF-8 text)
 *   3       2     code: the close code (Disconnect), the answer (Reply), else 0
 *   5       6     seq: the origin's counter (a message id is "<origin>:<seq>"; a Reply carries the request's seq)
 *   11      1     origin length O, then O bytes: the origin node id (UTF-8)
 *   .       1     target length T, then T bytes: the connection id an operation is for (empty for fan-out)
 *   .       2     text length X, then X bytes: the room (Room, Join, Leave) or the close reason (Disconnect)
 *   .       4     except count E, then E × (1 byte length, bytes): connection ids to skip
 *   .       rest  payload bytes (Room, All, Send)
 *
 * The payload goes last so the receiver uses it in place (a view of the received buffer, never copied again).
 */

export const WIRE_VERSION = 1;

export enum WireKind {
  /** To every node's connections (channel <prefix>:all). */
  All = 1,
  /** To the members of a room on every node (channel <prefix>:room:<room>). */
  Room = 2,
  /** The rest go on the addressed node's own channel (<prefix>:node:<id>). */
  Send = 3,
  Join = 4,
  Leave = 5,
  Disconnect = 6,
  /** The answer to Send / Join / Leave / Disconnect, on the asking node's channel. */
  Reply = 7,
}

/** Everything an encoded message holds; strings are "" when the kind has no use for them. */
export interface WireFields {
  kind: WireKind;
  binary: boolean;
  code: number;
  seq: number;
  origin: string;
  target: string;
  text: string;
  except: ReadonlySet<string> | null;
  payload: Uint8Array | null;
}

const FIXED = 11;
/** seq wraps at 2^48 (≈ 9 years at a million messages a second). */
export const MAX_SEQ = 2 ** 48;

/** Encodes one message into a new buffer of exactly its size (the payload is copied once, here). */
export function encodeWire(f: WireFields): Buffer {
  const originLen = Buffer.byteLength(f.origin);
  const targetLen = Buffer.byteLength(f.target);
  const textLen = Buffer.byteLength(f.text);
  if (originLen > 255) throw new RangeError("a node id is at most 255 bytes");
  if (targetLen > 255) throw new RangeError("a connection id is at most 255 bytes");
  if (textLen > 0xffff) throw new RangeError("a room name or close reason is at most 65535 bytes");
  let exceptLen = 0;
  let exceptCount = 0;
  if (f.except !== null) {
    for (const id of f.except) {
      const n = Buffer.byteLength(id);
      if (n > 255) throw new RangeError("a connection id is at most 255 bytes");
      exceptLen += 1 + n;
      exceptCount++;
    }
  }
  const payloadLen = f.payload === null ? 0 : f.payload.byteLength;
  const buf = Buffer.allocUnsafe(FIXED + 1 + originLen + 1 + targetLen + 2 + textLen + 4 + exceptLen + payloadLen);
  buf[0] = WIRE_VERSION;
  buf[1] = f.kind;
  buf[2] = f.binary ? 1 : 0;
  buf.writeUInt16BE(f.code, 3);
  buf.writeUIntBE(f.seq, 5, 6);
  let o = FIXED;
  buf[o++] = originLen;
  o += buf.write(f.origin, o, "utf8");
  buf[o++] = targetLen;
  o += buf.write(f.target, o, "utf8");
  buf.writeUInt16BE(textLen, o);
  o += 2;
  o += buf.write(f.text, o, "utf8");
  buf.writeUInt32BE(exceptCount, o);
  o += 4;
  if (f.except !== null) {
    for (const id of f.except) {
      const at = o++;
      const n = buf.write(id, o, "utf8");
      buf[at] = n;
      o += n;
    }
  }
  if (f.payload !== null) buf.set(f.payload, o);
  return buf;
}

/** Thrown for a buffer that is not a message of this version (another program on our channels, or a newer node). */
export class WireError extends Error {
  readonly code = "WSHUB_ERR_CLUSTER_WIRE";
}

/**
 * A decoder that refills one reusable object per message (no per-message allocation for the fixed fields).
 * The origin is compared in place: isFrom(nodeId) needs no string.
 */
export class WireReader {
  kind: WireKind = WireKind.All;
  binary = false;
  code = 0;
  seq = 0;
  target = "";
  text = "";
  except: Set<string> | null = null;
  payload: Uint8Array = new Uint8Array(0);
  #buf: Buffer = Buffer.alloc(0);
  #originStart = 0;
  #originEnd = 0;

  /** Reads `buf`; throws WireError if it is not a well-formed message. */
  read(buf: Buffer): this {
    if (buf.length < FIXED + 1 + 1 + 2 + 4) throw new WireError(`cluster message too short (${buf.length} bytes)`);
    if (buf[0] !== WIRE_VERSION) throw new WireError(`cluster message version ${buf[0]} (this node speaks ${WIRE_VERSION})`);
    const kind = buf[1];
    if (kind < WireKind.All || kind > WireKind.Reply) throw new WireError(`unknown cluster message kind ${kind}`);
    this.#buf = buf;
    this.kind = kind as WireKind;
    this.binary = (buf[2] & 1) === 1;
    this.code = buf.readUInt16BE(3);
    this.seq = buf.readUIntBE(5, 6);
    let o = FIXED;
    const originLen = buf[o++];
    this.#need(o, originLen + 1);
    this.#originStart = o;
    this.#originEnd = o += originLen;
    const targetLen = buf[o++];
    this.#need(o, targetLen);
    this.target = targetLen === 0 ? "" : buf.toString("utf8", o, (o += targetLen));
    this.#need(o, 2);
    const textLen = buf.readUInt16BE(o);
    o += 2;
    this.#need(o, textLen);
    this.text = textLen === 0 ? "" : buf.toString("utf8", o, (o += textLen));
    this.#need(o, 4);
    const exceptCount = buf.readUInt32BE(o);
    o += 4;
    this.except = null;
    if (exceptCount > 0) {
      const except = new Set<string>();
      for (let i = 0; i < exceptCount; i++) {
        this.#need(o, 1);
        const n = buf[o++];
        this.#need(o, n);
        except.add(buf.toString("utf8", o, (o += n)));
      }
      this.except = except;
    }
    this.payload = buf.subarray(o);
    return this;
  }

  /** Whether the message was sent by node `id` (given as its UTF-8 bytes). */
  isFrom(id: Buffer): boolean {
    return this.#originEnd - this.#originStart === id.length && id.compare(this.#buf, this.#originStart, this.#originEnd) === 0;
  }

  get origin(): string {
    return this.#buf.toString("utf8", this.#originStart, this.#originEnd);
  }

  /** The cluster-wide message id: "<origin>:<seq>". */
  get id(): string {
    return `${this.origin}:${this.seq}`;
  }

  #need(at: number, n: number): void {
    if (at + n > this.#buf.length) throw new WireError("cluster message truncated");
  }
}

/** SendResult values as sent in a Reply's code. */
export const SEND_RESULTS = ["sent", "backpressure", "closed", "unknown", "remote"] as const;
