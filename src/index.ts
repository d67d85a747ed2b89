/** wshub: the public API. */
export * from "./api/index.js";
export { ProtocolError, HandshakeError } from "./protocol/errors.js";
export { CloseCode, Opcode, ReadyState, WEBSOCKET_GUID, WEBSOCKET_VERSION } from "./protocol/constants.js";
export { computeAccept } from "./protocol/handshake.js";
