export { WebSocket, WEBSOCKET_DEFAULTS, type WebSocketOptions } from "./websocket.js";
export { WebSocketBase, type BinaryType, type SendData } from "./websocket-base.js";
export { ServerWebSocket } from "./server-websocket.js";
export { WebSocketServer, SERVER_DEFAULTS, type WebSocketServerOptions, type AuthDecision, type UpgradeInfo } from "./server.js";
export { CloseEvent, ErrorEvent, PingPongEvent, type CloseEventInit } from "./events.js";
