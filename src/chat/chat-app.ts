/**
 * The chat application: one HTTP (or HTTPS) server that answers `/` and the page's assets from public/,
 * `/healthz` with 200, and upgrades `/chat` to WebSocket connections speaking the chat protocol.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocketServerOptions } from "../api/server.js";
import { Hub, type HubOptions } from "../hub/index.js";
import { SessionManager, type SessionOptions } from "../api/resume/session-manager.js";
import { readFileSync } from "node:fs";
import { ChatServer, chatAuthenticate, type ChatConnection, type ChatUser } from "./chat-server.js";
import { StaticFiles } from "./static-files.js";
import type { ChatLimits } from "./protocol.js";

export interface ChatAppOptions {
  /** Interface to listen on. Default "127.0.0.1". */
  host?: string;
  /** Port to listen on, 0 for any free port. Default 8080. */
  port?: number;
  /** Path of the WebSocket endpoint. Default "/chat". */
  path?: string;
  /** PEM certificate and key: serve https and wss instead of http and ws. Default none. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Directory of the page's files. Default: public/ of this package. */
  publicDir?: string;
  /** Largest WebSocket message accepted; beyond it the connection fails with 1009. Default 65536. */
  maxPayload?: number;
  /** Chat protocol limits (see CHAT_LIMITS). */
  limits?: Partial<ChatLimits>;
  /** Refuse browser upgrades from other origins (see ChatAuthOptions). Default true. */
  checkOrigin?: boolean;
  /** permessage-deflate (RFC 7692): false turns it off. Default: the server's default (on, no context takeover). */
  perMessageDeflate?: boolean;
  /** Options for the hub (heartbeat, slow consumers...). Default: the hub's defaults. */
  hub?: HubOptions;
  /**
   * Resumable sessions (docs/resume-protocol.md): `true` or SessionOptions. Clients that offer `wshub.resume.v1`
   * (the /wshub-client.js script) keep their user, rooms and messages across reconnects. Default false.
   */
  resume?: boolean | SessionOptions;
  /** Abuse limits of the WebSocket server (maxConnections, messageRate...; see WebSocketServerOptions). Default: its defaults. */
  serverLimits?: ServerLimitOptions;
}

/** The WebSocketServer options that bound what clients may hold and send. */
export type ServerLimitOptions = Pick<WebSocketServerOptions, "maxConnections" | "maxConnectionsPerIp" | "maxPendingHandshakes" | "maxHeadersCount" | "messageRate">;

export const CHAT_APP_DEFAULTS = Object.freeze({
  host: "127.0.0.1",
  port: 8080,
  path: "/chat",
  maxPayload: 64 * 1024,
});

export interface ChatApp {
  readonly server: HttpServer | HttpsServer;
  readonly wss: WebSocketServer<ChatUser>;
  readonly hub: Hub<ChatConnection>;
  readonly chat: ChatServer;
  /** The sessions, with `resume`; null otherwise. */
  readonly sessions: SessionManager<ChatUser> | null;
  /** The page's address, e.g. http://127.0.0.1:8080/ */
  readonly url: string;
  /** The WebSocket endpoint, e.g. ws://127.0.0.1:8080/chat */
  readonly wsUrl: string;
  /** Sends Going Away (1001) to every client, waits for them up to `timeout` ms, and stops listening. */
  close(options?: { code?: number; reason?: string; timeout?: number }): Promise<void>;
}

/** Starts the chat application and resolves once it listens (rejects with the listen error, e.g. EADDRINUSE). */
export async function startChatApp(options: ChatAppOptions = {}): Promise<ChatApp> {
  const host = options.host ?? CHAT_APP_DEFAULTS.host;
  const port = options.port ?? CHAT_APP_DEFAULTS.port;
  const path = options.path ?? CHAT_APP_DEFAULTS.path;
  // The page learns the endpoint's path from a meta tag in index.html.
  const files = new StaticFiles(options.publicDir, undefined, (file, body) =>
    file === "/index.html" ? Buffer.from(body.toString("utf8").replace(/(<meta name="wshub-chat-path" content=")[^"]*(")/, `$1${escapeHtml(path)}$2`)) : body,
  );
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const q = req.url?.indexOf("?") ?? -1;
    const pathname = q === -1 ? req.url ?? "/" : req.url!.slice(0, q);
    if (pathname === "/healthz") {
      // Cut off from the cluster (Redis down): this node still serves its own clients, but says so.
      const stats = hub.stats();
      const degraded = stats.clusterConnected === 0;
      const body =
        JSON.stringify({ status: degraded ? "degraded" : "ok", connections: hub.size, node: hub.nodeId, cluster: hub.adapter.clustered ? { connected: !degraded, outages: stats.clusterOutages, notCrossed: stats.clusterNotCrossed } : undefined }) + "\n";
      res.writeHead(degraded ? 503 : 200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body), "Cache-Control": "no-store" });
      res.end(req.method === "HEAD" ? undefined : body);
      return;
    }
    if (pathname === path) {
      // RFC 6455 §4.2.2: a server that receives a non-upgrade request at the endpoint answers 426 with the version.
      const body = "this is a WebSocket endpoint: connect with a WebSocket client\n";
      res.writeHead(426, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": Buffer.byteLength(body), Upgrade: "websocket", "Sec-WebSocket-Version": "13" });
      res.end(body);
      return;
    }
    if (pathname === CLIENT_SCRIPT_PATH) {
      // The ReconnectingWebSocket as a browser ES module: `import { ReconnectingWebSocket } from "/wshub-client.js"`.
      const body = clientScript();
      res.writeHead(200, { "Content-Type": "text/javascript; charset=utf-8", "Content-Length": body.length, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff" });
      res.end(req.method === "HEAD" ? undefined : body);
      return;
    }
    if (files.handle(req, res)) return;
    const body = "not found\n";
    res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": Buffer.byteLength(body) });
    res.end(req.method === "HEAD" ? undefined : body);
  };
  const server = options.tls !== undefined ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, onRequest) : createHttpServer(onRequest);
  const wss = new WebSocketServer<ChatUser>({
    server,
    path,
    maxPayload: options.maxPayload ?? CHAT_APP_DEFAULTS.maxPayload,
    ...(options.perMessageDeflate !== undefined ? { perMessageDeflate: options.perMessageDeflate } : {}),
    authenticate: chatAuthenticate({ checkOrigin: options.checkOrigin, limits: options.limits }),
    ...options.serverLimits,
  });
  const resume = options.resume ?? false;
  const sessions = resume === false ? null : new SessionManager<ChatUser>(wss, resume === true ? {} : resume);
  const hub = new Hub<ChatConnection>(sessions ?? wss, options.hub);
  const chat = new ChatServer(sessions ?? wss, hub, { limits: options.limits });

  await listen(server, port, host);
  const a = server.address() as AddressInfo;
  const h = a.family === "IPv6" ? `[${a.address}]` : a.address;
  const secure = options.tls !== undefined;
  let closing: Promise<void> | null = null;
  return {
    server,
    wss,
    hub,
    chat,
    sessions,
    url: `${secure ? "https" : "http"}://${h}:${a.port}/`,
    wsUrl: `${secure ? "wss" : "ws"}://${h}:${a.port}${path}`,
    close(closeOptions = {}) {
      closing ??= (async () => {
        chat.detach();
        await hub.close({ code: closeOptions.code ?? 1001, reason: closeOptions.reason ?? "server shutting down", timeout: closeOptions.timeout ?? 2000 });
        await wss.close({ timeout: 0 });
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}

/** Listens and resolves, or rejects with the server's error (EADDRINUSE, EACCES, EADDRNOTAVAIL...). */
export function listen(server: HttpServer | HttpsServer, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => {
      server.off("listening", onListening);
      reject(err);
    };
    const onListening = () => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(port, host);
  });
}

/** Where the chat server serves the browser client of wshub.resume.v1. */
export const CLIENT_SCRIPT_PATH = "/wshub-client.js";
let clientScriptBody: Buffer | null = null;

/** The compiled src/api/reconnecting-core.ts: an ES module that imports nothing. Read once. */
function clientScript(): Buffer {
  if (clientScriptBody === null) {
    const text = readFileSync(new URL("../api/reconnecting-core.js", import.meta.url), "utf8").replace(/\n\/\/# sourceMappingURL=.*\s*$/, "\n");
    clientScriptBody = Buffer.from(text, "utf8");
  }
  return clientScriptBody;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
