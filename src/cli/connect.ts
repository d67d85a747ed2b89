/**
 * `wshub connect <url>`: a terminal WebSocket client. On a terminal it is interactive (typed lines are sent,
 * messages are printed with their direction and time, slash commands); with stdin from a pipe or file it sends
 * each line, prints the replies, closes with 1000 once stdin has ended and the replies have stopped, and exits
 * 0 on a clean close.
 */
import { readFileSync } from "node:fs";
import { createInterface, clearLine, cursorTo, moveCursor, type Interface } from "node:readline";
import { WebSocket, type WebSocketOptions } from "../api/websocket.js";
import type { CloseEvent, PingPongEvent } from "../api/events.js";
import { parseArgs, parseMilliseconds, UsageError } from "./args.js";
import { startTrace, traceFormat } from "./trace.js";

export const CONNECT_HELP = `Usage: wshub connect <url> [options]

Connects to a WebSocket server (ws:// or wss://; http:// and https:// are taken as ws:// and wss://).

On a terminal: type a line to send it. Received messages are printed as "HH:MM:SS.mmm < data",
sent ones as "HH:MM:SS.mmm > data". Commands:
  /ping [text]             send a ping (the pong is printed)
  /close [code] [reason]   start the closing handshake (code 1000 or 3000-4999; default 1000)
  /quit                    same as /close 1000
  /help                    list the commands
  //text                   send "/text" (a line starting with "/" that is not a command)

With stdin not a terminal (a pipe or a file): each line is sent as one text message, as it is read; the
same commands work. Once stdin ends, the client waits until no message has arrived for --wait milliseconds
(at most 10 s more), closes with 1000, waits for the server's close, and exits.

Options:
  --protocol LIST    subprotocols to offer, comma-separated
  --origin ORIGIN    send this Origin header (default none)
  --ca FILE          trust the CA certificate(s) in this PEM file for wss://
  --insecure         accept any server certificate for wss:// (self-signed; testing only)
  --timeout MS       milliseconds for connect and opening handshake (default 10000)
  --wait MS          after stdin ends, close once no message came for MS milliseconds (default 500)
  --no-deflate       do not offer permessage-deflate compression (offered by default, as browsers do)
  --raw              print only the received data, one message per line (no time, no direction)
  --trace[=json]     print the protocol to stderr, one line per event: TCP open/close, the opening handshake
                     with the Sec-WebSocket-Accept check, every frame both ways, the closing handshake
                     (--trace=json: one JSON object per line; docs/trace.md)
  -h, --help         show this help

Status lines (connected, closed, errors) go to stderr; messages go to stdout.
Exit codes: 0 clean close, 1 connection failed or closed abnormally, 2 usage error (bad flag or URL).
`;

const SPEC = {
  protocol: { type: "string" },
  origin: { type: "string" },
  ca: { type: "string" },
  insecure: { type: "boolean" },
  timeout: { type: "string" },
  wait: { type: "string" },
  raw: { type: "boolean" },
  trace: { type: "optional" },
  "no-deflate": { type: "boolean" },
  help: { type: "boolean" },
} as const;

/** The longest the piped mode waits for replies after stdin ended, whatever --wait says. */
const MAX_DRAIN_MS = 10_000;

export interface ConnectIO {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
}

function timestamp(d = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

function show(data: unknown): string {
  if (typeof data === "string") return data;
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer);
  const hex = buf.subarray(0, 64).toString("hex");
  return `<binary ${buf.length} bytes> ${hex}${buf.length > 64 ? "…" : ""}`;
}

export async function connect(argv: string[], io: ConnectIO = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const { flags, positionals } = parseArgs(argv, SPEC);
  if (flags["help"]) {
    io.stdout.write(CONNECT_HELP);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError("connect needs a URL, e.g. wshub connect ws://127.0.0.1:8080/");
  if (positionals.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[1])}`);
  const url = positionals[0]!;
  const options: WebSocketOptions = { binaryType: "nodebuffer" };
  if (flags["origin"] !== undefined) options.origin = flags["origin"] as string;
  if (flags["timeout"] !== undefined) options.handshakeTimeout = parseMilliseconds(flags["timeout"] as string, "--timeout");
  if (flags["insecure"]) options.rejectUnauthorized = false;
  if (flags["no-deflate"]) options.perMessageDeflate = false;
  if (flags["ca"] !== undefined) {
    try {
      options.ca = readFileSync(flags["ca"] as string);
    } catch (err) {
      throw new UsageError(`cannot read --ca ${flags["ca"]}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  const wait = flags["wait"] !== undefined ? parseMilliseconds(flags["wait"] as string, "--wait") : 500;
  const raw = flags["raw"] === true;
  const protocols = flags["protocol"] !== undefined ? (flags["protocol"] as string).split(",").map((s) => s.trim()).filter((s) => s !== "") : undefined;

  const trace = traceFormat(flags["trace"]);
  // Before the WebSocket: a connection is traced when a channel has a subscriber as it opens.
  if (trace !== null) startTrace(trace, io.stderr);
  let ws: WebSocket;
  try {
    ws = new WebSocket(url, protocols, options);
  } catch (err) {
    // The constructor's SyntaxError: an unparsable URL, a scheme other than ws/wss/http/https, a fragment, a bad subprotocol.
    throw new UsageError(`bad URL or subprotocol: ${(err as Error).message}`);
  }
  const tty = io.stdin.isTTY === true;
  return tty ? interactive(ws, url, io, raw) : piped(ws, url, io, raw, wait);
}

/** Runs a slash command; returns false when the line is not a command (to be sent as it is). */
function command(ws: WebSocket, line: string, say: (s: string) => void): boolean {
  if (!line.startsWith("/") || line.startsWith("//")) return false;
  const [name, ...args] = line.slice(1).split(" ");
  switch (name) {
    case "ping": {
      const text = args.join(" ");
      if (Buffer.byteLength(text) > 125) {
        say("ping data must be at most 125 bytes (RFC 6455 §5.5)");
        return true;
      }
      ws.ping(text);
      say(`ping sent${text ? ` (${text})` : ""}`);
      return true;
    }
    case "close":
    case "quit": {
      const code = name === "quit" || args[0] === undefined ? 1000 : Number(args[0]);
      const reason = name === "quit" ? "" : args.slice(1).join(" ");
      try {
        ws.close(code, reason);
        say(`closing with ${code}${reason ? ` "${reason}"` : ""}`);
      } catch (err) {
        say(`cannot close: ${(err as Error).message}`);
      }
      return true;
    }
    case "help":
      say("commands: /ping [text], /close [code] [reason], /quit, /help; //text sends /text");
      return true;
    default:
      say(`unknown command /${name} (try /help; //text sends /text)`);
      return true;
  }
}

function pongText(ev: PingPongEvent): string {
  return `pong${ev.data.length > 0 ? ` (${ev.data.toString("utf8")})` : ""}`;
}

function outgoing(line: string): string {
  return line.startsWith("//") ? line.slice(1) : line;
}

function describeClose(ev: CloseEvent): string {
  return `closed: code ${ev.code}${ev.reason ? `, reason "${ev.reason}"` : ""}, ${ev.wasClean ? "clean" : "not clean"}`;
}

function waitOpen(ws: WebSocket, url: string, io: ConnectIO): Promise<boolean> {
  return new Promise((resolve) => {
    let opened = false;
    let err: Error | undefined;
    ws.addEventListener("open", () => {
      opened = true;
      io.stderr.write(`connected to ${ws.url}${ws.protocol ? ` (subprotocol ${ws.protocol})` : ""}\n`);
      resolve(true);
    }, { once: true });
    ws.addEventListener("error", (ev) => {
      err = (ev as unknown as { error?: Error }).error;
    });
    ws.addEventListener("close", () => {
      if (opened) return;
      io.stderr.write(`wshub: cannot connect to ${url}: ${err?.message ?? "connection failed"}\n`);
      resolve(false);
    }, { once: true });
  });
}

async function piped(ws: WebSocket, url: string, io: ConnectIO, raw: boolean, wait: number): Promise<number> {
  const closed = new Promise<CloseEvent>((resolve) => ws.addEventListener("close", (ev) => resolve(ev as CloseEvent), { once: true }));
  const out = (dir: string, data: unknown) => io.stdout.write(raw ? `${show(data)}\n` : `${timestamp()} ${dir} ${show(data)}\n`);
  let lastMessage = Date.now();
  ws.addEventListener("message", (ev) => {
    lastMessage = Date.now();
    out("<", (ev as MessageEvent).data);
  });
  ws.addEventListener("pong", (ev) => {
    lastMessage = Date.now();
    if (!raw) io.stdout.write(`${timestamp()} < ${pongText(ev as PingPongEvent)}\n`);
  });
  if (!(await waitOpen(ws, url, io))) return 1;

  const rl = createInterface({ input: io.stdin, crlfDelay: Infinity, terminal: false });
  const lines = (async () => {
    for await (const line of rl) {
      if (ws.readyState !== 1) break;
      if (command(ws, line, (s) => io.stderr.write(`${s}\n`))) continue;
      const data = outgoing(line);
      ws.send(data);
      if (!raw) out(">", data);
    }
  })();

  // Ends when the connection closes, or when stdin ended and the replies went quiet: then close with 1000.
  const drained = lines.then(async () => {
    const endedAt = Date.now();
    lastMessage = Math.max(lastMessage, endedAt);
    while (ws.readyState === 1) {
      const idle = Date.now() - lastMessage;
      if (idle >= wait || Date.now() - endedAt >= MAX_DRAIN_MS) break;
      await new Promise((r) => setTimeout(r, Math.min(wait - idle, 100)));
    }
    if (ws.readyState === 1) ws.close(1000);
  });
  const ev = await closed;
  // Stop reading stdin (a pipe that never ends must not keep the process alive).
  rl.close();
  io.stdin.pause();
  await drained;
  io.stderr.write(`${describeClose(ev)}\n`);
  return ev.wasClean ? 0 : 1;
}

async function interactive(ws: WebSocket, url: string, io: ConnectIO, raw: boolean): Promise<number> {
  const closed = new Promise<CloseEvent>((resolve) => ws.addEventListener("close", (ev) => resolve(ev as CloseEvent), { once: true }));
  let rl: Interface | null = null;
  const stdout = io.stdout;
  // Prints above the prompt, keeping what the user is typing.
  const print = (text: string, stream: NodeJS.WritableStream = stdout) => {
    if (rl !== null && stdout.isTTY) {
      clearLine(stdout, 0);
      cursorTo(stdout, 0);
    }
    stream.write(`${text}\n`);
    if (rl !== null && stdout.isTTY) rl.prompt(true);
  };
  ws.addEventListener("message", (ev) => print(raw ? show((ev as MessageEvent).data) : `${timestamp()} < ${show((ev as MessageEvent).data)}`));
  ws.addEventListener("pong", (ev) => print(`${timestamp()} < ${pongText(ev as PingPongEvent)}`));
  if (!(await waitOpen(ws, url, io))) return 1;
  stderrHint(io);
  // With stdout redirected (stdin still a terminal), no prompt or cursor moves go into the output.
  const onTerminal = stdout.isTTY === true;
  rl = createInterface({ input: io.stdin, output: stdout, prompt: "> ", terminal: onTerminal });
  if (onTerminal) rl.prompt();
  rl.on("line", (line) => {
    if (stdout.isTTY) {
      // Replace the echoed "> line" with the timestamped one.
      moveCursor(stdout, 0, -1);
      clearLine(stdout, 0);
      cursorTo(stdout, 0);
    }
    if (line === "") {
      if (onTerminal) rl!.prompt();
      return;
    }
    if (command(ws, line, (s) => print(s, io.stderr))) return;
    const data = outgoing(line);
    if (ws.readyState !== 1) {
      print("not open: the message was not sent", io.stderr);
      return;
    }
    ws.send(data);
    print(raw ? data : `${timestamp()} > ${data}`);
  });
  // Ctrl-D or Ctrl-C: close politely (a second Ctrl-C quits at once).
  let interrupted = false;
  const closeNow = () => {
    if (ws.readyState === 1) ws.close(1000);
    else if (interrupted) process.exit(130);
    interrupted = true;
  };
  rl.on("close", closeNow);
  rl.on("SIGINT", closeNow);
  const ev = await closed;
  const r = rl;
  rl = null;
  r.removeListener("close", closeNow);
  r.close();
  if (stdout.isTTY) {
    clearLine(stdout, 0);
    cursorTo(stdout, 0);
  }
  io.stderr.write(`${describeClose(ev)}\n`);
  return ev.wasClean ? 0 : 1;
}

function stderrHint(io: ConnectIO): void {
  io.stderr.write("type a message and press Enter; /help lists the commands; Ctrl-D closes\n");
}
