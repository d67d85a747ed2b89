/** ReconnectingWebSocket for Node: the client of reconnecting-core.ts, dialing with wshub's WebSocket. */
import { ReconnectingWebSocket as Core, type ReconnectingWebSocketOptions } from "./reconnecting-core.js";
import { WebSocket, type WebSocketOptions } from "./websocket.js";

export { RECONNECTING_DEFAULTS, type ReconnectingWebSocketOptions } from "./reconnecting-core.js";

export interface NodeReconnectingWebSocketOptions extends ReconnectingWebSocketOptions {
  /** Options of each WebSocket it dials (TLS, headers, permessage-deflate...). Default none. */
  webSocketOptions?: WebSocketOptions;
}

export class ReconnectingWebSocket extends Core {
  constructor(url: string | URL | readonly (string | URL)[], protocols?: string | readonly string[], options: NodeReconnectingWebSocketOptions = {}) {
    super(url, protocols, { WebSocket: WebSocket as unknown as ReconnectingWebSocketOptions["WebSocket"], ...options });
  }
}
