/** wshub: the public API. */
export * from "./api/index.js";
export { ProtocolError, HandshakeError } from "./protocol/errors.js";
export { CloseCode, Opcode, ReadyState, WEBSOCKET_GUID, WEBSOCKET_VERSION } from "./protocol/constants.js";
export { computeAccept } from "./protocol/handshake.js";
export * from "./hub/index.js";
export { compressMessageOnce, type SharedCompressOptions } from "./node/deflate-shared.js";
export { PerMessageDeflate } from "./node/deflate.js";
export type { PerMessageDeflateOptions } from "./node/deflate-options.js";
export { RESUME_PROTOCOL, ResumeCloseCode } from "./protocol/resume-wire.js";
