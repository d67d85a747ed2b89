/** The contract between the frame parser (frame-parser.ts) and what receives its output (the Connection). */

/**
 * Receives the parser's output. Payloads are unmasked and the sink may keep them: they are views of chunks given to
 * push(), or buffers of their own. Only onMessageBytes can see a chunk the sink must not keep (see `transient`).
 */
export interface FrameSink {
  /**
   * A complete frame. `messageOpcode` is the opcode of the message a continuation belongs to (Text or Binary)
   * and equals `opcode` otherwise. `rsv1` is the first frame's RSV1 for every frame of a message.
   */
  onFrame(opcode: number, messageOpcode: number, fin: boolean, rsv1: boolean, payload: Buffer): void;
  /**
   * Optional fast path for the most common frame: a whole message in one frame (FIN set, RSV1-3 clear, Text or
   * Binary, no fragmented message open, a 7-bit length) whose header and payload sit in one received chunk. Its
   * payload, already unmasked, is `chunk[start, end)`; the sink may keep a view of it, as with onFrame. Receiving
   * the bounds instead of a view spares one Buffer object per message (a text message can be decoded straight
   * from the chunk). When absent, onFrame receives these frames too. `transient`: the chunk came through
   * pushTransient() and is valid only during this call; the sink copies what it keeps.
   */
  onMessageBytes?(isText: boolean, chunk: Buffer, start: number, end: number, transient: boolean): void;
  /**
   * Optional: part of an uncompressed text frame's payload arrived before the rest, as `payload[start, end)`
   * (unmasked; `payload` becomes the frame's payload). Parts come in order and follow each other; the frame itself
   * comes to onFrame as usual once complete. Lets the sink check UTF-8 as bytes arrive (RFC 6455 §8.1); may throw
   * ProtocolError like push().
   */
  onTextPart?(payload: Buffer, start: number, end: number): void;
}

export interface FrameParserOptions {
  /** true: this end is the server, so frames from the peer MUST be masked (RFC 6455 §5.1). */
  isServer: boolean;
  /** Largest message accepted, summed over its fragments. */
  maxPayload: number;
  /** RSV1 is allowed on the first frame of a data message (an extension such as permessage-deflate uses it). */
  allowRsv1: boolean;
}
