/**
 * RFC 6455 §5.2 incremental frame parser: bytes in, complete (unmasked) frames out.
 * An explicit state machine over a queue of chunks; accepts any chunking and returns when input runs short.
 * It checks everything that can be checked from frame headers: reserved bits and opcodes, control-frame rules,
 * masking by role and fragmentation order (frame-rules.ts), lengths and the message size limit.
 */
import { CloseCode, Opcode } from "./constants.js";
import { ProtocolError } from "./errors.js";
import { applyMask, applyMaskTo, maskBytes } from "./mask.js";
import type { FrameParserOptions, FrameSink } from "./frame-sink.js";
import { checkFrameHeader } from "./frame-rules.js";

export const enum ParserState {
  GetInfo = 0,
  GetLength16 = 1,
  GetLength64 = 2,
  GetMask = 3,
  GetData = 4,
  Failed = 5,
}

const EMPTY = Buffer.alloc(0);

/**
 * A frame whose payload spans reads gets its payload buffer at once, and each read's bytes are unmasked into it as
 * they come (then released), when the payload is at most this long. Longer ones get it once a quarter of the payload
 * has arrived: a peer that announces a long frame and sends little cannot make this end reserve much more than it
 * sent.
 */
const EAGER_PAYLOAD = 1024 * 1024;

export class FrameParser {
  state: ParserState = ParserState.GetInfo;
  private readonly sink: FrameSink;
  private readonly isServer: boolean;
  maxPayload: number;
  allowRsv1: boolean;

  // The queue is chunks[head..]: a head index instead of Array#shift(), which is O(n) on long arrays and made
  // a payload trickling in as many tiny chunks cost quadratic time.
  private chunks: Buffer[] = [];
  private head = 0; // index of the first unread chunk
  private offset = 0; // read offset into chunks[head]
  private buffered = 0; // bytes available across chunks, from offset

  private fin = false;
  private rsv1 = false;
  private opcode = 0;
  private masked = false;
  private payloadLength = 0;
  /** The current frame's masking key; made at the first masked frame (an idle connection never needs one). */
  private maskKey: Buffer | null = null;

  /** The current frame's payload while its bytes arrive over several reads (see EAGER_PAYLOAD), and how much is in. */
  private dest: Buffer | null = null;
  private destFilled = 0;
  /** The view of dest handed out by readTarget(), or null. */
  private target: Buffer | null = null;
  /** The chunk of the pushTransient() call under way, or null. */
  private transientChunk: Buffer | null = null;

  /** Opcode of the fragmented message in progress (0 if none), its RSV1 and its length so far. */
  private fragmentOpcode = 0;
  private fragmentRsv1 = false;
  private messageLength = 0;

  private paused = false;
  private running = false;
  /** The sink takes whole small messages as chunk bounds (FrameSink.onMessageBytes). */
  private readonly direct: boolean;

  constructor(sink: FrameSink, options: FrameParserOptions) {
    this.sink = sink;
    this.direct = typeof sink.onMessageBytes === "function";
    this.isServer = options.isServer;
    this.maxPayload = options.maxPayload;
    this.allowRsv1 = options.allowRsv1;
  }

  /** Bytes received but not yet parsed into frames (a partial payload already in its own buffer excluded). */
  get bufferedAmount(): number {
    return this.buffered;
  }

  /** A fragmented message is open (its first frame was seen, its last not yet). */
  get inMessage(): boolean {
    return this.fragmentOpcode !== 0;
  }

  /**
   * Feeds bytes. Frames are delivered to the sink synchronously. Throws ProtocolError when the peer broke
   * the protocol; the parser is then Failed and ignores further input.
   */
  push(chunk: Buffer): void {
    if (this.state === ParserState.Failed) return;
    if (chunk.length === 0) return;
    this.target = null;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (!this.paused && !this.running) this.run();
  }

  /**
   * Feeds bytes that are valid only during this call: the caller reuses `chunk`'s memory afterwards (a shared read
   * buffer). Frames are parsed from it in place (it is unmasked in place too); what the sink receives and what the
   * parser keeps for later (a partial frame) are copies of their own, so nothing refers to `chunk` once this returns.
   * Throws like push().
   */
  pushTransient(chunk: Buffer): void {
    if (this.state === ParserState.Failed || chunk.length === 0) return;
    if (this.paused || this.running) {
      this.push(Buffer.from(chunk));
      return;
    }
    this.target = null;
    this.transientChunk = chunk;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    try {
      this.run();
    } finally {
      this.transientChunk = null;
      // What is left of the chunk (a partial frame header, or input that arrived while the sink paused) is kept as
      // a copy. Chunks are consumed in order, so it can only be the last one in the queue.
      const chunks = this.chunks;
      const last = chunks.length - 1;
      if (last >= this.head && chunks[last] === chunk) {
        if (last === this.head) {
          chunks[last] = Buffer.from(chunk.subarray(this.offset));
          this.offset = 0;
        } else {
          chunks[last] = Buffer.from(chunk);
        }
      }
    }
  }

  /**
   * Where the next received bytes can go directly: the unfilled rest of the current frame's payload buffer, when a
   * payload of at least `min` more bytes is awaited and nothing else is buffered; null otherwise. Bytes written
   * there (still masked, at most its length) are then reported with receivedInto(); any other input goes through
   * push() or pushTransient() as usual, and the view is no longer valid.
   */
  readTarget(min: number): Buffer | null {
    const dest = this.dest;
    if (dest === null || this.buffered !== 0 || this.paused || this.running || this.state !== ParserState.GetData) return null;
    if (this.payloadLength - this.destFilled < min) return null;
    return (this.target = dest.subarray(this.destFilled));
  }

  /** Whether `buf` is the view readTarget() returned last (and still valid). */
  isReadTarget(buf: Buffer): boolean {
    return buf === this.target;
  }

  /** `n` bytes were written at the start of the view readTarget() returned: unmask them, go on. Throws like push(). */
  receivedInto(n: number): void {
    const dest = this.dest!;
    const at = this.destFilled;
    this.target = null;
    // RFC 6455 §5.3: octet i of the payload is XORed with octet i mod 4 of the key; `at` continues the count.
    if (this.masked) {
      const piece = dest.subarray(at, at + n);
      applyMaskTo(piece, this.maskKey!, 0, piece, 0, n, at & 3);
    }
    this.destFilled = at + n;
    if (this.destFilled < this.payloadLength) this.textPart(at);
    if (!this.paused && !this.running) this.run();
  }

  /** Stops delivering frames until resume() (used while an asynchronous step, such as inflation, is under way). */
  pause(): void {
    this.paused = true;
  }

  /** Continues parsing buffered bytes after pause(). May throw ProtocolError like push(). */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (!this.running && this.state !== ParserState.Failed) this.run();
  }

  /** Marks the parser failed: all further input is ignored and buffers are released. */
  stop(): void {
    this.state = ParserState.Failed;
    this.dest = null;
    this.target = null;
    this.chunks = [];
    this.head = 0;
    this.buffered = 0;
    this.offset = 0;
  }

  private run(): void {
    this.running = true;
    try {
      this.loop();
    } catch (err) {
      this.stop();
      throw err;
    } finally {
      this.running = false;
    }
  }

  private loop(): void {
    for (;;) {
      if (this.paused) return;
      switch (this.state) {
        case ParserState.GetInfo:
          if (this.buffered < 2) return;
          if (this.direct && this.fragmentOpcode === 0 && this.smallMessages()) break;
          this.getInfo();
          break;
        case ParserState.GetLength16:
          if (this.buffered < 2) return;
          this.payloadLength = (this.readByte() << 8) | this.readByte();
          this.afterLength();
          break;
        case ParserState.GetLength64: {
          if (this.buffered < 8) return;
          const hi = ((this.readByte() << 24) | (this.readByte() << 16) | (this.readByte() << 8) | this.readByte()) >>> 0;
          const lo = ((this.readByte() << 24) | (this.readByte() << 16) | (this.readByte() << 8) | this.readByte()) >>> 0;
          // RFC 6455 §5.2: in the 64-bit form, the most significant bit MUST be 0.
          if (hi & 0x80000000) {
            throw new ProtocolError("64-bit payload length has its most significant bit set", CloseCode.ProtocolError, "WS_ERR_INVALID_64BIT_LENGTH");
          }
          // Past 2^53 lengths cannot be represented exactly; they are far beyond any maxPayload anyway.
          this.payloadLength = hi >= 0x200000 ? Number.MAX_SAFE_INTEGER : hi * 0x100000000 + lo;
          this.afterLength();
          break;
        }
        case ParserState.GetMask: {
          if (this.buffered < 4) return;
          const key = (this.maskKey ??= Buffer.alloc(4));
          key[0] = this.readByte();
          key[1] = this.readByte();
          key[2] = this.readByte();
          key[3] = this.readByte();
          this.state = ParserState.GetData;
          break;
        }
        case ParserState.GetData:
          if (this.dest === null) {
            if (this.buffered >= this.payloadLength) {
              this.getData(null);
              break;
            }
            // The payload spans reads: into its own buffer as it arrives, at once or from a quarter on.
            if (this.payloadLength > EAGER_PAYLOAD && this.buffered * 4 < this.payloadLength) return;
            this.dest = Buffer.allocUnsafe(this.payloadLength);
            this.destFilled = 0;
          }
          if (!this.fillDest()) return;
          this.getData(this.dest);
          break;
        default:
          return;
      }
    }
  }

  /**
   * The fast path for small single-frame messages that lie whole in the current chunk: one look at the two header
   * octets, then the payload goes to the sink as bounds within the chunk; repeated while the next frame qualifies.
   * Returns false, consuming nothing, when the first frame does not; getInfo() then parses it and applies every
   * check. Those checks pass for the frames taken here: FIN set and RSV1-3 clear (0x81 or 0x82), a data opcode with
   * no fragmented message open (RFC 6455 §5.4), the mask bit as the role requires (§5.1: a server MUST receive
   * masked frames, a client unmasked ones) and a length within maxPayload.
   */
  private smallMessages(): boolean {
    const chunk = this.chunks[this.head]!;
    const size = chunk.length;
    const isServer = this.isServer;
    const maxLen = this.maxPayload < 125 ? this.maxPayload : 125;
    let off = this.offset;
    let taken = false;
    for (;;) {
      if (size - off < 2) return taken;
      const b0 = chunk[off]!;
      if (b0 !== 0x81 && b0 !== 0x82) return taken;
      const b1 = chunk[off + 1]!;
      const len = b1 & 0x7f;
      if (len > maxLen) return taken;
      const masked = b1 >= 0x80;
      if (masked !== isServer) return taken;
      const start = masked ? off + 6 : off + 2;
      const end = start + len;
      if (end > size) return taken;
      this.buffered -= end - off;
      if (end === size) this.dropChunk();
      else this.offset = end;
      if (masked && len > 0) {
        // RFC 6455 §5.3: octet i of the payload is XORed with octet i mod 4 of the key (which precedes the
        // payload). Unmasked in place; at most 125 octets, where a byte loop beats setting up word views.
        maskBytes(chunk, start, chunk, start, len, chunk[off + 2]!, chunk[off + 3]!, chunk[off + 4]!, chunk[off + 5]!);
      }
      this.sink.onMessageBytes!(b0 === 0x81, chunk, start, end, chunk === this.transientChunk);
      taken = true;
      // The sink may have paused or stopped the parser; the chunk may be used up.
      if (end === size || this.paused || this.state !== ParserState.GetInfo) return true;
      off = end;
    }
  }

  private readByte(): number {
    const chunk = this.chunks[this.head]!;
    const b = chunk[this.offset++]!;
    this.buffered--;
    if (this.offset === chunk.length) this.dropChunk();
    return b;
  }

  /** Done with chunks[head]: move to the next one, releasing consumed slots now and then. */
  private dropChunk(): void {
    this.offset = 0;
    const chunks = this.chunks;
    chunks[this.head++] = EMPTY;
    if (this.head === chunks.length) {
      chunks.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= chunks.length) {
      this.chunks = chunks.slice(this.head);
      this.head = 0;
    }
  }

  /**
   * Takes `n` bytes off the queue: a view when they sit in one chunk, a copy otherwise. With a masking key the bytes
   * come back unmasked (RFC 6455 §5.3): a view in place, a copy piece by piece while copying (one pass, not two).
   */
  private take(n: number, mask: Buffer | null): Buffer {
    if (n === 0) return EMPTY;
    const first = this.chunks[this.head]!;
    const avail = first.length - this.offset;
    if (n <= avail && first !== this.transientChunk) {
      this.buffered -= n;
      const out = first.subarray(this.offset, this.offset + n);
      if (mask !== null) applyMask(out, mask);
      if (n === avail) {
        this.dropChunk();
      } else {
        this.offset += n;
      }
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    this.copyOut(n, mask, out, 0);
    return out;
  }

  /**
   * Moves `n` queued bytes into out[at, at + n), unmasking them with `mask` when given: the key index continues from
   * where the payload stopped, octet `at` of the payload using key octet at mod 4 (RFC 6455 §5.3).
   */
  private copyOut(n: number, mask: Buffer | null, out: Buffer, at: number): void {
    this.buffered -= n;
    const end = at + n;
    while (at < end) {
      const c = this.chunks[this.head]!;
      const start = this.offset;
      const take = Math.min(c.length - start, end - at);
      if (mask !== null) {
        applyMaskTo(c.subarray(start, start + take), mask, 0, out, at, take, at & 3);
      } else {
        c.copy(out, at, start, start + take);
      }
      at += take;
      if (start + take === c.length) {
        this.dropChunk();
      } else {
        this.offset = start + take;
      }
    }
  }

  /** Moves what has arrived of the current payload into its buffer (this.dest); true once it is complete. */
  private fillDest(): boolean {
    const n = Math.min(this.payloadLength - this.destFilled, this.buffered);
    if (n > 0) {
      const at = this.destFilled;
      this.copyOut(n, this.masked ? this.maskKey : null, this.dest!, at);
      this.destFilled = at + n;
      if (this.destFilled < this.payloadLength) this.textPart(at);
    }
    return this.destFilled === this.payloadLength;
  }

  /** dest[from, destFilled) arrived and the frame is not complete: hand it to onTextPart if this is plain text. */
  private textPart(from: number): void {
    const sink = this.sink;
    if (sink.onTextPart === undefined) return;
    const op = this.opcode;
    const text = op === Opcode.Text ? !this.rsv1 : op === Opcode.Continuation && this.fragmentOpcode === Opcode.Text && !this.fragmentRsv1;
    if (text) sink.onTextPart(this.dest!, from, this.destFilled);
  }

  private getInfo(): void {
    const b0 = this.readByte();
    const b1 = this.readByte();
    const opcode = b0 & 0x0f;
    this.fin = (b0 & 0x80) !== 0;
    this.rsv1 = (b0 & 0x40) !== 0;
    this.opcode = opcode;
    this.masked = (b1 & 0x80) !== 0;
    const len7 = b1 & 0x7f;

    checkFrameHeader(b0, b1, this.fragmentOpcode, this.allowRsv1, this.isServer);
    if (len7 === 126) this.state = ParserState.GetLength16;
    else if (len7 === 127) this.state = ParserState.GetLength64;
    else {
      this.payloadLength = len7;
      this.afterLength();
    }
  }

  private afterLength(): void {
    const opcode = this.opcode;
    if ((opcode & 0x08) === 0) {
      // Data frames count against maxPayload together with earlier fragments of the same message,
      // checked before any of this frame's payload is buffered.
      const total = (opcode === Opcode.Continuation ? this.messageLength : 0) + this.payloadLength;
      if (total > this.maxPayload) {
        throw new ProtocolError(
          `message of ${total > Number.MAX_SAFE_INTEGER - 1 ? "2^53 or more" : total} bytes exceeds maxPayload (${this.maxPayload})`,
          CloseCode.MessageTooBig,
          "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH",
        );
      }
      this.messageLength = total;
    }
    this.state = this.masked ? ParserState.GetMask : ParserState.GetData;
  }

  /** The current frame is complete: `filled` is its payload when it was collected in its own buffer (fillDest). */
  private getData(filled: Buffer | null): void {
    let payload: Buffer;
    if (filled !== null) {
      payload = filled;
      this.dest = null;
    } else {
      payload = this.take(this.payloadLength, this.masked ? this.maskKey : null);
    }
    const opcode = this.opcode;
    const fin = this.fin;
    this.state = ParserState.GetInfo;
    if ((opcode & 0x08) !== 0) {
      this.sink.onFrame(opcode, opcode, true, false, payload);
      return;
    }
    let messageOpcode: number;
    let rsv1: boolean;
    if (opcode === Opcode.Continuation) {
      messageOpcode = this.fragmentOpcode;
      rsv1 = this.fragmentRsv1;
    } else {
      messageOpcode = opcode;
      rsv1 = this.rsv1;
    }
    if (fin) {
      this.fragmentOpcode = 0;
      this.fragmentRsv1 = false;
      this.messageLength = 0;
    } else {
      this.fragmentOpcode = messageOpcode;
      this.fragmentRsv1 = rsv1;
    }
    this.sink.onFrame(opcode, messageOpcode, fin, rsv1, payload);
  }
}
