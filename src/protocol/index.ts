/** The sans-I/O protocol core: no sockets, no timers. */
export * from "./constants.js";
export * from "./errors.js";
export { applyMask, applyMaskTo, applyMaskPlain, maskImplementation } from "./mask.js";
export { Utf8Validator, isValidUtf8 } from "./utf8.js";
export { isValidWireCloseCode, parseClosePayload, serializeClosePayload, type ClosePayload } from "./close.js";
export { encodeFrame, encodeFrameBuffer, frameHeaderLength, writeFrameHeader, type EncodeOptions } from "./frame.js";
export { FrameParser, ParserState, type FrameSink, type FrameParserOptions } from "./frame-parser.js";
export {
  computeAccept,
  generateKey,
  isToken,
  splitList,
  validateUpgradeRequest,
  buildUpgradeResponse,
  buildErrorResponse,
  buildUpgradeRequest,
  parseResponseHead,
  parseRequestHead,
  encodeUpgradeResponse,
  validateUpgradeResponse,
  type HeaderMap,
  type UpgradeRequestInfo,
  type ValidatedUpgrade,
  type ResponseHead,
  type RequestHead,
  type ValidatedResponse,
} from "./handshake.js";
export { Connection, type ConnectionHandler, type ConnectionOptions, type MessageInflater } from "./connection.js";
export { PROTOCOL_DEFAULTS, type ProtocolOptions } from "./options.js";
export * from "./extensions/index.js";
