export { WebSocket, WEBSOCKET_DEFAULTS, type WebSocketOptions } from "./websocket.js";
export { WebSocketBase, type BinaryType, type SendData, type EventHandlerValue, type WebSocketEventHandler } from "./websocket-base.js";
export { ServerWebSocket, type ServerRequest } from "./server-websocket.js";
export { UpgradeRequest } from "../node/upgrade-listener.js";
export { WebSocketServer, SERVER_DEFAULTS, type WebSocketServerOptions, type AuthDecision, type UpgradeInfo } from "./server.js";
export { CloseEvent, PingPongEvent, createErrorEvent, type CloseEventInit, type WebSocketErrorEvent } from "./events.js";
