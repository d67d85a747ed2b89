/** `wshub serve`: run a WebSocket server (echo now; chat and broadcast modes build on the hub). */
import { WebSocketServer } from "../api/server.js";
import { parseArgs, parsePort, parsePositiveInt, UsageError } from "./args.js";

export const SERVE_HELP = `Usage: wshub serve [options]

Runs a WebSocket server until SIGINT or SIGTERM.

Options:
  --mode MODE           echo (default): every message is sent back to its sender, at any path
  --host HOST           interface to listen on (default 127.0.0.1; env WSHUB_HOST)
  --port PORT           port to listen on, 0 for any free port (default 8080; env WSHUB_PORT)
  --max-payload BYTES   largest message accepted (default 16777216)
  -h, --help            show this help
`;

const SPEC = {
  mode: { type: "string" },
  host: { type: "string" },
  port: { type: "string" },
  "max-payload": { type: "string" },
  help: { type: "boolean" },
} as const;

export async function serve(argv: string[], out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const { flags, positionals } = parseArgs(argv, SPEC);
  if (flags["help"]) {
    out.write(SERVE_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
  const mode = (flags["mode"] as string | undefined) ?? "echo";
  if (mode !== "echo") throw new UsageError(`unknown --mode ${JSON.stringify(mode)} (expected echo)`);
  const host = (flags["host"] as string | undefined) ?? process.env["WSHUB_HOST"] ?? "127.0.0.1";
  const port = parsePort((flags["port"] as string | undefined) ?? process.env["WSHUB_PORT"] ?? "8080");
  const maxPayload = flags["max-payload"] !== undefined ? parsePositiveInt(flags["max-payload"] as string, "--max-payload") : undefined;

  const wss = new WebSocketServer({ port, host, ...(maxPayload !== undefined ? { maxPayload } : {}) });
  await new Promise<void>((resolve, reject) => {
    wss.once("listening", resolve);
    wss.once("error", reject);
  }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "EADDRINUSE") throw new UsageError(`port ${port} on ${host} is already in use`);
    if (err.code === "EADDRNOTAVAIL" || err.code === "ENOTFOUND") throw new UsageError(`cannot listen on host ${host}`);
    throw err;
  });
  wss.on("connection", (ws) => {
    ws.onmessage = (ev: MessageEvent) => ws.send(ev.data);
  });
  out.write(`wshub ${mode} server listening on ${wss.url}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      wss.close({ timeout: 2000 }).then(resolve, resolve);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  return 0;
}
