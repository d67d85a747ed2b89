export { WebSocket, WEBSOCKET_DEFAULTS, type WebSocketOptions } from "./websocket.js";
export { WebSocketBase, type BinaryType, type SendData, type EventHandlerValue, type WebSocketEventHandler } from "./websocket-base.js";
export { ServerWebSocket, type ServerRequest } from "./server-websocket.js";
export { UpgradeRequest } from "../node/upgrade-listener.js";
export { WebSocketServer, SERVER_DEFAULTS, type WebSocketServerOptions, type AuthDecision, type UpgradeInfo } from "./server.js";
export { CloseEvent, PingPongEvent, createErrorEvent, type CloseEventInit, type WebSocketErrorEvent } from "./events.js";
export { ReconnectingWebSocket, RECONNECTING_DEFAULTS, type ReconnectingWebSocketOptions, type NodeReconnectingWebSocketOptions } from "./reconnecting-websocket.js";
export { SessionManager, SESSION_DEFAULTS, type SessionOptions, type SessionManagerEvents, type SessionRefusal, type SessionOrSocket } from "./resume/session-manager.js";
export { ResumableSession, type SessionMessageEvent, type SessionCloseEvent } from "./resume/session.js";
