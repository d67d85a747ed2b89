/**
 * Compress once, send to many: a broadcast to permessage-deflate peers that negotiated server_no_context_takeover
 * can share one compressed frame, because each of their messages starts from an empty window
 * (RFC 7692 §7.1.1.1). Check each peer with `PerMessageDeflate.acceptsSharedFrame(windowBits)` and fall back to
 * a per-peer send otherwise.
 */
import { createDeflateRaw } from "node:zlib";
import { Opcode } from "../protocol/constants.js";
import { encodeFrameBuffer } from "../protocol/frame.js";
import { MAX_WINDOW_BITS } from "../protocol/extensions/permessage-deflate.js";
import { DEFLATE_CODEC_DEFAULTS, deflateMessage } from "./deflate.js";
import { sharedZlibLimiter } from "./deflate-limiter.js";

export interface SharedCompressOptions {
  /** Binary (true) or text (false) message. Default: true for bytes, false for a string. */
  isBinary?: boolean;
  /** Window to compress with; a peer accepts the frame when its negotiated server window is at least this. Default 15. */
  windowBits?: number;
  /** zlib level. Default 6. */
  level?: number;
  /** zlib memLevel. Default 8. */
  memLevel?: number;
  /** The process-wide limiter pool to use. Default 10. */
  concurrencyLimit?: number;
}

/**
 * Compresses one message with a fresh zlib context and resolves with a complete server frame (FIN, RSV1,
 * unmasked) ready for `SocketTransport.sendPreparedFrame()` on every peer that accepts it.
 */
export function compressMessageOnce(data: Uint8Array | string, options: SharedCompressOptions = {}): Promise<Buffer> {
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  const isBinary = options.isBinary ?? typeof data !== "string";
  const limiter = sharedZlibLimiter(options.concurrencyLimit ?? DEFLATE_CODEC_DEFAULTS.concurrencyLimit);
  return new Promise((resolve, reject) => {
    limiter.run((release) => {
      const def = createDeflateRaw({
        windowBits: options.windowBits ?? MAX_WINDOW_BITS,
        level: options.level ?? DEFLATE_CODEC_DEFAULTS.level,
        memLevel: options.memLevel ?? DEFLATE_CODEC_DEFAULTS.memLevel,
      });
      deflateMessage(def, bytes, (err, payload) => {
        def.on("error", () => {});
        def.close();
        release();
        if (err !== null) reject(err);
        else resolve(encodeFrameBuffer(isBinary ? Opcode.Binary : Opcode.Text, payload!, { fin: true, rsv1: true, mask: false }));
      });
    });
  });
}
