/**
 * wshub/ws: a drop-in replacement for `ws` 8 on wshub's engine (docs/migrating-from-ws.md).
 * `import { WebSocket, WebSocketServer, createWebSocketStream } from "wshub/ws"`, or the default export shaped
 * like ws's module (the WebSocket class carrying .WebSocket, .WebSocketServer, .Server, .createWebSocketStream).
 * ws's Receiver and Sender classes are not provided: wshub's parser and sender are not streams.
 */
import { WebSocket } from "./websocket.js";
import { WebSocketServer } from "./server.js";
import { createWebSocketStream } from "./stream.js";

export { WebSocket, WebSocketServer, createWebSocketStream };
export type { BinaryType, SendOptions, WebSocketEvents } from "./websocket.js";
export type { WebSocketServerEvents } from "./server.js";
export type { ServerOptions, ClientOptions, PerMessageDeflateOptions, VerifyClientInfo, VerifyClientCallback } from "./options.js";
export type { WsError } from "./errors.js";
export { Event, MessageEvent, CloseEvent, ErrorEvent } from "./event-target.js";

/** The default export: ws's module shape (require("ws") is the WebSocket class with the rest as properties). */
type WsModule = typeof WebSocket & {
  WebSocket: typeof WebSocket;
  WebSocketServer: typeof WebSocketServer;
  Server: typeof WebSocketServer;
  createWebSocketStream: typeof createWebSocketStream;
};
const ws = WebSocket as WsModule;
Object.assign(ws, { WebSocket, WebSocketServer, Server: WebSocketServer, createWebSocketStream });
// The one default export of the package: ws users write `import WebSocket from "ws"`.
export default ws;
