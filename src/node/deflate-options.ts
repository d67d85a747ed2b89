/**
 * The `perMessageDeflate` option of WebSocketServer and WebSocket (RFC 7692): its fields, their defaults, and
 * their resolution into the negotiation policy (protocol/extensions/permessage-deflate.ts) and the codec settings
 * (PerMessageDeflate, deflate.ts).
 */
import { constants as zc } from "node:zlib";
import {
  MAX_WINDOW_BITS,
  MIN_WINDOW_BITS,
  type ClientDeflateNegotiation,
  type ServerDeflateNegotiation,
} from "../protocol/extensions/permessage-deflate.js";
import { DEFAULT_ZLIB_CONCURRENCY } from "./deflate-limiter.js";

/**
 * Options of `perMessageDeflate` on WebSocketServer and WebSocket. Every field is optional; `true` means all
 * defaults, `false` disables the extension.
 */
export interface PerMessageDeflateOptions {
  /**
   * Server: always reset the server's compression context after each message (answer server_no_context_takeover).
   * Client: ask the server to. Default: true on the server (no compression memory kept per connection, and a
   * broadcast can be compressed once for all peers), false on the client.
   */
  serverNoContextTakeover?: boolean;
  /**
   * Server: ask the client to reset its context after each message (answer client_no_context_takeover), so no
   * decompression memory is kept per connection. Client: declare that it does so. Default: true on the server,
   * false on the client.
   */
  clientNoContextTakeover?: boolean;
  /** Server: largest window the server compresses with. Client: ask the server for at most this. 8..15. Default 15 (server) / not asked (client). */
  serverMaxWindowBits?: number;
  /**
   * Server: largest window asked of the client, used when the client offers client_max_window_bits. Default 15.
   * Client: `true` offers client_max_window_bits without a value (as browsers do), a number offers that value,
   * `false` leaves the parameter out. Default true.
   */
  clientMaxWindowBits?: number | boolean;
  /** Messages smaller than this many bytes are sent uncompressed. Default 1024. Set 0 to compress everything. */
  threshold?: number;
  /** zlib compression level, 0..9. Default 6 (zlib's default). */
  level?: number;
  /** zlib memLevel for compression, 1..9 (memory per context: 2^(memLevel+9) bytes plus the window). Default 8. */
  memLevel?: number;
  /**
   * zlib operations in flight per process, shared by every endpoint configured with the same number; more wait
   * in a queue. Default 10.
   */
  concurrencyLimit?: number;
}

/** Codec settings (not negotiated). */
export interface DeflateCodecOptions {
  threshold: number;
  level: number;
  memLevel: number;
  concurrencyLimit: number;
}

export const DEFLATE_CODEC_DEFAULTS: Readonly<DeflateCodecOptions> = Object.freeze({
  threshold: 1024,
  level: zc.Z_DEFAULT_COMPRESSION,
  memLevel: 8,
  concurrencyLimit: DEFAULT_ZLIB_CONCURRENCY,
});

export const SERVER_DEFLATE_DEFAULTS: Readonly<ServerDeflateNegotiation> = Object.freeze({
  serverNoContextTakeover: true,
  clientNoContextTakeover: true,
  serverMaxWindowBits: MAX_WINDOW_BITS,
  clientMaxWindowBits: MAX_WINDOW_BITS,
});

export const CLIENT_DEFLATE_DEFAULTS: Readonly<ClientDeflateNegotiation> = Object.freeze({
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: null,
  clientMaxWindowBits: true,
});

function windowBits(name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < MIN_WINDOW_BITS || v > MAX_WINDOW_BITS) {
    throw new RangeError(`perMessageDeflate.${name} must be an integer from 8 to 15, got ${String(v)}`);
  }
  return v;
}

/** Resolves the codec settings of a perMessageDeflate option. */
export function resolveCodecOptions(o: PerMessageDeflateOptions): DeflateCodecOptions {
  const threshold = o.threshold ?? DEFLATE_CODEC_DEFAULTS.threshold;
  if (!(threshold >= 0)) throw new RangeError(`perMessageDeflate.threshold must be 0 or more, got ${threshold}`);
  return {
    threshold,
    level: o.level ?? DEFLATE_CODEC_DEFAULTS.level,
    memLevel: o.memLevel ?? DEFLATE_CODEC_DEFAULTS.memLevel,
    concurrencyLimit: o.concurrencyLimit ?? DEFLATE_CODEC_DEFAULTS.concurrencyLimit,
  };
}

/** Server policy from the `perMessageDeflate` option (null when disabled). */
export function resolveServerDeflate(opt: boolean | PerMessageDeflateOptions | undefined, enabledByDefault: boolean) {
  if (opt === false || (opt === undefined && !enabledByDefault)) return null;
  const o = opt === true || opt === undefined ? {} : opt;
  const policy: ServerDeflateNegotiation = {
    serverNoContextTakeover: o.serverNoContextTakeover ?? SERVER_DEFLATE_DEFAULTS.serverNoContextTakeover,
    clientNoContextTakeover: o.clientNoContextTakeover ?? SERVER_DEFLATE_DEFAULTS.clientNoContextTakeover,
    serverMaxWindowBits: windowBits("serverMaxWindowBits", o.serverMaxWindowBits ?? SERVER_DEFLATE_DEFAULTS.serverMaxWindowBits),
    clientMaxWindowBits: windowBits(
      "clientMaxWindowBits",
      typeof o.clientMaxWindowBits === "number" ? o.clientMaxWindowBits : SERVER_DEFLATE_DEFAULTS.clientMaxWindowBits,
    ),
  };
  return { policy, codec: resolveCodecOptions(o) };
}

/** Client policy from the `perMessageDeflate` option (null when disabled). */
export function resolveClientDeflate(opt: boolean | PerMessageDeflateOptions | undefined, enabledByDefault: boolean) {
  if (opt === false || (opt === undefined && !enabledByDefault)) return null;
  const o = opt === true || opt === undefined ? {} : opt;
  const cmwb = o.clientMaxWindowBits ?? CLIENT_DEFLATE_DEFAULTS.clientMaxWindowBits;
  const policy: ClientDeflateNegotiation = {
    serverNoContextTakeover: o.serverNoContextTakeover ?? CLIENT_DEFLATE_DEFAULTS.serverNoContextTakeover,
    clientNoContextTakeover: o.clientNoContextTakeover ?? CLIENT_DEFLATE_DEFAULTS.clientNoContextTakeover,
    serverMaxWindowBits: o.serverMaxWindowBits === undefined ? null : windowBits("serverMaxWindowBits", o.serverMaxWindowBits),
    clientMaxWindowBits: cmwb === true ? true : cmwb === false ? null : windowBits("clientMaxWindowBits", cmwb),
  };
  return { policy, codec: resolveCodecOptions(o) };
}
