/** The sans-I/O protocol core: no sockets, no timers. */
export * from "./constants.js";
export * from "./errors.js";
export { applyMask, applyMaskTo, applyMaskPlain, maskImplementation } from "./mask.js";
export { Utf8Validator, isValidUtf8 } from "./utf8.js";
export { isValidWireCloseCode, parseClosePayload, serializeClosePayload, type ClosePayload } from "./close.js";
export { encodeFrame, encodeFrameBuffer, frameHeaderLength, writeFrameHeader, type EncodeOptions } from "./frame.js";
export { FrameParser, ParserState } from "./frame-parser.js";
export type { FrameSink, FrameParserOptions } from "./frame-sink.js";
export {
  computeAccept,
  generateKey,
  validateUpgradeRequest,
  buildUpgradeResponse,
  buildUpgradeRequest,
  encodeUpgradeResponse,
  validateUpgradeResponse,
  type UpgradeRequestInfo,
  type ValidatedUpgrade,
  type ValidatedResponse,
} from "./handshake.js";
export {
  isToken,
  splitList,
  buildErrorResponse,
  parseResponseHead,
  parseRequestHead,
  type HeaderMap,
  type ResponseHead,
  type RequestHead,
} from "./http-head.js";
export { Connection } from "./connection.js";
export type { ConnectionHandler, ConnectionOptions, MessageInflater } from "./connection-handler.js";
export { PROTOCOL_DEFAULTS, type ProtocolOptions } from "./options.js";
export * from "./extensions/index.js";
export * from "./resume-wire.js";
