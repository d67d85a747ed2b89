/** `wshub serve`: run a WebSocket server in one of three modes: chat (the chat app), echo, broadcast. */
import { readFileSync } from "node:fs";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "../api/server.js";
import { SessionManager, type SessionOrSocket } from "../api/resume/session-manager.js";
import { Hub, type Adapter } from "../hub/index.js";
import { runWorkers } from "./workers.js";
import { startChatApp, listen, type ChatApp, type ServerLimitOptions } from "../chat/chat-app.js";
import { parseArgs, parsePort, parsePositiveInt, UsageError } from "./args.js";
import { startTrace, traceFormat, type TraceFormat } from "./trace.js";

export const SERVE_HELP = `Usage: wshub serve [options]

Runs a WebSocket server until SIGINT or SIGTERM (then every client gets 1001 Going Away and the exit code is 0).

Options:
  --mode MODE           echo (default): every message is sent back to its sender, at any path
                        broadcast: every message is sent to all connected clients, the sender included
                        chat: the chat application: the page at /, the chat protocol at /chat, /healthz
  --host HOST           interface to listen on (default 127.0.0.1; env WSHUB_HOST)
  --port PORT           port to listen on, 0 for any free port (default 8080; env WSHUB_PORT)
  --path PATH           only accept WebSocket upgrades at PATH (default: any path; /chat in chat mode)
  --tls-cert FILE       PEM certificate: serve wss:// (and https:// in chat mode); needs --tls-key
  --tls-key FILE        PEM private key for --tls-cert
  --max-payload BYTES   largest message accepted (default 16777216; 65536 in chat mode)
  --deflate             accept permessage-deflate compression (RFC 7692) when clients offer it (the default)
  --no-deflate          never compress
  --redis URL           join a cluster over Redis (redis://HOST:PORT): in broadcast mode every message from any
                        client of any node goes to every client of every node; in chat mode one chat spans the
                        nodes (env WSHUB_REDIS_URL). Without it: one process, no Redis.
  --resume              resumable sessions (docs/resume-protocol.md) in broadcast and chat modes: clients that
                        offer wshub.resume.v1 (ReconnectingWebSocket, /wshub-client.js) get every message once
                        across reconnects; others get plain WebSocket. Sessions live in this process's memory
                        (a resume must reach the same process)
  --protocol LIST       echo and broadcast: subprotocols to select when a client offers them, comma-separated
  --trace[=json]        print every connection's protocol to stderr: TCP, handshake, frames, close (docs/trace.md)
  --max-connections N   refuse upgrades (503) while N connections are held (default: no limit)
  --max-connections-per-ip N
                        refuse upgrades (429) while N connections are held from one address (IPv6: one /64)
                        (default: no limit; leave it off behind a reverse proxy)
  --max-pending-handshakes N
                        at most N connections still in their opening handshake; a new one drops the oldest
                        (default 1024)
  --rate-limit MSGS_PER_S
                        messages (and pings) per second per connection, burst one second's worth; over it the
                        connection is closed with 1008 "rate limit" (default: no limit)
  --rate-limit-bytes BYTES_PER_S
                        bytes received per second per connection, burst one second's worth (default: no limit)
                        (with --workers every process applies these limits to its own connections)
  --workers N           run N processes on this host behind the one port, as one cluster (needs --redis)
  -h, --help            show this help

Examples:
  wshub serve --mode chat --port 8080       then open http://127.0.0.1:8080/
  wshub serve --mode echo --port 9000       then: wshub connect ws://127.0.0.1:9000/
`;

const SPEC = {
  mode: { type: "string" },
  host: { type: "string" },
  port: { type: "string" },
  path: { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "max-payload": { type: "string" },
  deflate: { type: "boolean" },
  "no-deflate": { type: "boolean" },
  redis: { type: "string" },
  workers: { type: "string" },
  resume: { type: "boolean" },
  trace: { type: "optional" },
  protocol: { type: "string" },
  "max-connections": { type: "string" },
  "max-connections-per-ip": { type: "string" },
  "max-pending-handshakes": { type: "string" },
  "rate-limit": { type: "string" },
  "rate-limit-bytes": { type: "string" },
  help: { type: "boolean" },
} as const;

const MODES = ["echo", "broadcast", "chat"] as const;
type Mode = (typeof MODES)[number];

interface ServeConfig {
  mode: Mode;
  host: string;
  port: number;
  path: string | undefined;
  tls: { cert: Buffer; key: Buffer } | undefined;
  maxPayload: number | undefined;
  /** permessage-deflate on (the default) or off. */
  deflate: boolean;
  /** Redis URL of the cluster to join (--redis or WSHUB_REDIS_URL); undefined: one process, in memory. */
  redis: string | undefined;
  /** Processes to run behind the port (--workers); 1 without the flag. */
  workers: number;
  /** --resume: resumable sessions (broadcast and chat modes). */
  resume: boolean;
  /** --trace: the protocol of every connection to stderr, as text or JSON lines; null without the flag. */
  trace: TraceFormat | null;
  /** --protocol: subprotocols selected when offered (echo and broadcast modes). */
  protocols: string[];
  /** --max-connections, --max-connections-per-ip, --max-pending-handshakes, --rate-limit, --rate-limit-bytes. */
  limits: ServerLimitOptions;
}

/** Reads and checks the flags (and WSHUB_HOST / WSHUB_PORT); every problem is a UsageError. */
export function parseServeArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ServeConfig | "help" {
  const { flags, positionals } = parseArgs(argv, SPEC);
  if (flags["help"]) return "help";
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const mode = (flags["mode"] as string | undefined) ?? "echo";
  if (!(MODES as readonly string[]).includes(mode)) throw new UsageError(`unknown --mode ${JSON.stringify(mode)} (expected echo, broadcast or chat)`);
  const host = (flags["host"] as string | undefined) ?? (env["WSHUB_HOST"] || "127.0.0.1");
  const portFlag = flags["port"] !== undefined ? "--port" : "WSHUB_PORT";
  const port = parsePort((flags["port"] as string | undefined) ?? (env["WSHUB_PORT"] || "8080"), portFlag);
  const path = flags["path"] as string | undefined;
  if (path !== undefined && (!path.startsWith("/") || /[\s?#]/.test(path))) {
    throw new UsageError(`--path must start with "/" and hold no spaces, "?" or "#", got ${JSON.stringify(path)}`);
  }
  const maxPayload = flags["max-payload"] !== undefined ? parsePositiveInt(flags["max-payload"] as string, "--max-payload") : undefined;
  const certFile = flags["tls-cert"] as string | undefined;
  const keyFile = flags["tls-key"] as string | undefined;
  if ((certFile === undefined) !== (keyFile === undefined)) throw new UsageError("--tls-cert and --tls-key go together: give both or neither");
  let tls: ServeConfig["tls"];
  if (certFile !== undefined && keyFile !== undefined) tls = { cert: readPem(certFile, "--tls-cert"), key: readPem(keyFile, "--tls-key") };
  if (flags["deflate"] && flags["no-deflate"]) throw new UsageError("--deflate and --no-deflate contradict each other");
  const deflate = flags["no-deflate"] !== true;
  const redis = (flags["redis"] as string | undefined) ?? (env["WSHUB_REDIS_URL"] || undefined);
  if (redis !== undefined && !/^rediss?:\/\/[^\s]+$/.test(redis)) {
    throw new UsageError(`${flags["redis"] !== undefined ? "--redis" : "WSHUB_REDIS_URL"} must be a redis:// or rediss:// URL, got ${JSON.stringify(redis)}`);
  }
  const workers = flags["workers"] !== undefined ? parsePositiveInt(flags["workers"] as string, "--workers") : 1;
  if (workers > 1 && redis === undefined) throw new UsageError("--workers needs --redis (the processes share their hub over Redis)");
  if (workers > 256) throw new UsageError(`--workers must be at most 256, got ${workers}`);
  const resume = flags["resume"] === true;
  if (resume && mode === "echo") throw new UsageError("--resume works in broadcast and chat modes, not echo");
  // Sessions are kept in one process's memory; node:cluster would send a client's resume to any worker.
  if (resume && workers > 1) throw new UsageError("--resume cannot be used with --workers (sessions live in one process)");
  return { mode: mode as Mode, host, port, path, tls, maxPayload, deflate, redis, workers, resume, limits: parseLimits(flags), trace: traceFormat(flags["trace"]), protocols: ((flags["protocol"] as string | undefined) ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "") };
}

/** The abuse-limit flags as WebSocketServer options (only those given). */
function parseLimits(flags: Record<string, unknown>): ServerLimitOptions {
  const int = (flag: string): number | undefined => (flags[flag] !== undefined ? parsePositiveInt(flags[flag] as string, `--${flag}`) : undefined);
  const limits: ServerLimitOptions = {};
  const maxConnections = int("max-connections");
  if (maxConnections !== undefined) limits.maxConnections = maxConnections;
  const perIp = int("max-connections-per-ip");
  if (perIp !== undefined) limits.maxConnectionsPerIp = perIp;
  const pending = int("max-pending-handshakes");
  if (pending !== undefined) limits.maxPendingHandshakes = pending;
  const messagesPerSecond = int("rate-limit");
  const bytesPerSecond = int("rate-limit-bytes");
  // Burst: one second's worth of each (the bucket's default).
  if (messagesPerSecond !== undefined || bytesPerSecond !== undefined) {
    limits.messageRate = { ...(messagesPerSecond !== undefined ? { messagesPerSecond } : {}), ...(bytesPerSecond !== undefined ? { bytesPerSecond } : {}) };
  }
  return limits;
}

function readPem(file: string, flag: string): Buffer {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (err) {
    throw new UsageError(`cannot read ${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!data.includes("-----BEGIN ")) throw new UsageError(`${flag} ${file} is not a PEM file`);
  return data;
}

function listenError(err: NodeJS.ErrnoException, host: string, port: number): Error {
  if (err.code === "EADDRINUSE") return new UsageError(`port ${port} on ${host} is already in use`);
  if (err.code === "EACCES") return new UsageError(`no permission to listen on port ${port} on ${host}`);
  if (err.code === "EADDRNOTAVAIL" || err.code === "ENOTFOUND" || err.code === "EAI_AGAIN") return new UsageError(`cannot listen on host ${host}`);
  return err;
}

export async function serve(argv: string[], out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const config = parseServeArgs(argv);
  if (config === "help") {
    out.write(SERVE_HELP);
    return 0;
  }
  if (config.workers > 1) return runWorkers(config.workers, config.port, out);
  const { mode, host, port, path, tls, maxPayload, deflate } = config;
  if (config.trace !== null) startTrace(config.trace, process.stderr);
  // --redis: the hub's adapter; it starts even while Redis is unreachable, and joins the cluster when Redis comes.
  // The Redis client is loaded only then: a single process never needs it.
  const adapter: Adapter | undefined = config.redis !== undefined ? new (await import("../cluster/index.js")).RedisAdapter({ url: config.redis }) : undefined;
  const hubOptions = adapter !== undefined ? { adapter } : {};
  let stop: () => Promise<void>;

  if (mode === "chat") {
    let app: ChatApp;
    try {
      app = await startChatApp({ host, port, hub: hubOptions, resume: config.resume, serverLimits: config.limits, ...(path !== undefined ? { path } : {}), ...(tls ? { tls } : {}), ...(maxPayload !== undefined ? { maxPayload } : {}), perMessageDeflate: deflate });
    } catch (err) {
      throw listenError(err as NodeJS.ErrnoException, host, port);
    }
    if (adapter !== undefined) reportCluster(app.hub, out);
    out.write(`wshub chat server listening on ${app.url} (WebSocket endpoint ${app.wsUrl}${config.resume ? ", resumable sessions on" : ""})\n`);
    stop = () => app.close({ code: 1001, reason: "server shutting down", timeout: 2000 });
  } else {
    let wss: WebSocketServer;
    let httpsServer: HttpsServer | undefined;
    const common = { ...config.limits, ...(path !== undefined ? { path } : {}), ...(maxPayload !== undefined ? { maxPayload } : {}), perMessageDeflate: deflate };
    if (tls !== undefined) {
      httpsServer = createHttpsServer({ cert: tls.cert, key: tls.key }, (_req, res) => {
        const body = "this is a WebSocket server: connect with a WebSocket client\n";
        res.writeHead(426, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": Buffer.byteLength(body), Upgrade: "websocket", "Sec-WebSocket-Version": "13" });
        res.end(body);
      });
      wss = new WebSocketServer({ server: httpsServer, ...common });
      await listen(httpsServer, port, host).catch((err: NodeJS.ErrnoException) => {
        throw listenError(err, host, port);
      });
    } else {
      wss = new WebSocketServer({ port, host, ...common });
      await new Promise<void>((resolve, reject) => {
        wss.once("listening", resolve);
        wss.once("error", reject);
      }).catch((err: NodeJS.ErrnoException) => {
        throw listenError(err, host, port);
      });
    }
    for (const p of config.protocols) wss.acceptProtocol(p);
    let hub: Hub<SessionOrSocket<unknown>> | undefined;
    if (mode === "broadcast") {
      // Every message from any client goes to all connected clients (of every node), the sender included, framed once.
      const h = new Hub<SessionOrSocket<unknown>>(config.resume ? new SessionManager(wss) : wss, hubOptions);
      hub = h;
      h.on("message", (_ws, data, isBinary) => {
        h.broadcast(data as string | Buffer, { binary: isBinary });
      });
    } else {
      wss.on("connection", (ws) => {
        ws.onmessage = (ev: MessageEvent) => ws.send(ev.data);
      });
      // In a cluster an echo node still registers its connections, so the cluster's queries see them.
      if (adapter !== undefined) hub = new Hub<SessionOrSocket<unknown>>(wss, hubOptions);
    }
    const a = (httpsServer ?? wss).address() as AddressInfo;
    const h = a.family === "IPv6" ? `[${a.address}]` : a.address;
    if (hub !== undefined && adapter !== undefined) reportCluster(hub, out);
    out.write(`wshub ${mode} server listening on ${tls ? "wss" : "ws"}://${h}:${a.port}${path ?? "/"}${config.resume ? " (resumable sessions on)" : ""}\n`);
    stop = async () => {
      if (hub !== undefined) await hub.close({ code: 1001, timeout: 2000 });
      await wss.close({ timeout: 2000 });
      if (httpsServer !== undefined) {
        const s = httpsServer;
        await new Promise<void>((resolve) => {
          s.close(() => resolve());
          s.closeAllConnections();
        });
      }
    };
  }

  await new Promise<void>((resolve) => {
    const onSignal = () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      stop().then(resolve, resolve);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
  return 0;
}

/** Cluster state changes and adapter faults go to stderr, one line each; the node keeps serving its own clients. */
function reportCluster(hub: Hub<any>, out: NodeJS.WritableStream): void {
  out.write(`wshub node ${hub.nodeId} joining the cluster over Redis\n`);
  hub.on("clusterState", (connected) => {
    process.stderr.write(`wshub: node ${hub.nodeId} ${connected ? "connected to" : "cut off from"} the cluster\n`);
  });
  hub.on("error", (err) => {
    process.stderr.write(`wshub: cluster: ${err.message}\n`);
  });
}
