/** A server-side connection: the same WebSocket interface as the client, plus its UUID and the upgrade request. */
import type { IncomingMessage } from "node:http";
import { SocketTransport } from "../node/socket-transport.js";
import type { UpgradeRequest } from "../node/upgrade-listener.js";
import { WebSocketBase, defineReadyStateConstants } from "./websocket-base.js";

/**
 * The upgrade request a connection came from: Node's IncomingMessage when the server is attached to an
 * http/https server or driven through handleUpgrade(), an UpgradeRequest (the same fields, no stream) on a
 * standalone server.
 */
export type ServerRequest = IncomingMessage | UpgradeRequest;

export class ServerWebSocket<T = unknown> extends WebSocketBase {
  /** The connection's UUID (random, version 4: RFC 4122 §4.4), unique in the pool. */
  readonly id: string;
  /** The HTTP upgrade request this connection came from. */
  readonly request: ServerRequest;
  /** Per-connection user data, set during the upgrade (for example by the authenticate hook). */
  data: T;
  /** The server's `clients` set while this connection is in it (client tracking): left on close. */
  #clients: Set<ServerWebSocket<T>> | null = null;

  /** @internal Created by WebSocketServer. */
  constructor(id: string, request: ServerRequest, url: string, data: T) {
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

  /** @internal Adds this connection to a server's `clients`; it leaves the set when it closes, before 'close' fires. */
  track(clients: Set<ServerWebSocket<T>>): void {
    this.#clients = clients;
    clients.add(this);
  }

  override onClosed(code: number, reason: string, wasClean: boolean): void {
    const clients = this.#clients;
    if (clients !== null) {
      this.#clients = null;
      clients.delete(this);
    }
    super.onClosed(code, reason, wasClean);
  }

  /** Node extra: the transport (socket and protocol core), for the hub and advanced uses. */
  get _transport(): SocketTransport | null {
    return this.transport;
  }
}

defineReadyStateConstants(ServerWebSocket);
