/** A server-side connection: the same WebSocket interface as the client, plus its UUID and the upgrade request. */
import type { IncomingMessage } from "node:http";
import { SocketTransport } from "../node/socket-transport.js";
import { WebSocketBase, defineReadyStateConstants } from "./websocket-base.js";

export class ServerWebSocket<T = unknown> extends WebSocketBase {
  /** The connection's UUID (crypto.randomUUID()), unique in the pool. */
  readonly id: string;
  /** The HTTP upgrade request this connection came from. */
  readonly request: IncomingMessage;
  /** Per-connection user data, set during the upgrade (for example by the authenticate hook). */
  data: T;

  /** @internal Created by WebSocketServer. */
  constructor(id: string, request: IncomingMessage, url: string, data: T) {
    super();
    this.id = id;
    this.request = request;
    this.data = data;
    this.setUrl(url);
    this.setDefaultBinaryType("nodebuffer");
  }

  /** @internal */
  open(transport: SocketTransport, protocol: string, extensions: string): void {
    this.attach(transport, protocol, extensions);
  }

  /** Node extra: the transport (socket and protocol core), for the hub and advanced uses. */
  get _transport(): SocketTransport | null {
    return this.transport;
  }
}

defineReadyStateConstants(ServerWebSocket);
