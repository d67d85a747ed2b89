/**
 * node:diagnostics_channel channels: what a connection does on the wire, for tracers (`wshub connect --trace`,
 * `wshub serve --trace`) and monitoring. Message shapes are documented in docs/api.md ("Diagnostics channels").
 *
 * Cost when nobody subscribes: a connection checks `hasSubscribers` once, when it opens (handshake and transport);
 * untraced, it keeps no tap and its read and write paths are the ones it has without this module. A connection
 * opened while a channel had a subscriber is traced for its whole life (its frames are decoded by a FrameTap);
 * each message is still published only while its channel has subscribers.
 */
import { channel } from "node:diagnostics_channel";
import { createHash } from "node:crypto";
import type { Socket } from "node:net";
import { Opcode, WEBSOCKET_GUID } from "../protocol/constants.js";
import { FrameTap, type TappedFrame } from "../protocol/frame-tap.js";
import { parseExtensions } from "../protocol/extensions/header.js";
import type { MessageInflater } from "../protocol/connection-handler.js";

export const connectionChannel = channel("wshub:connection");
export const handshakeChannel = channel("wshub:handshake");
export const frameChannel = channel("wshub:frame");
export const messageChannel = channel("wshub:message");
export const closeChannel = channel("wshub:close");

export type Side = "client" | "server";

/** Whether any wshub channel has a subscriber: a connection opening now is traced. */
export function tracing(): boolean {
  return frameChannel.hasSubscribers || handshakeChannel.hasSubscribers || connectionChannel.hasSubscribers || closeChannel.hasSubscribers || messageChannel.hasSubscribers;
}

const OPCODE_NAMES: Record<number, string> = { 0: "continuation", 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong" };

/** The name of an opcode (RFC 6455 §5.2), "reserved" for the others. */
export function opcodeName(opcode: number): string {
  return OPCODE_NAMES[opcode] ?? "reserved";
}

let lastId = 0;
const ids = new WeakMap<Socket, number>();

/** The trace id of a socket (numbered from 1 in this process), made on first use. */
export function traceId(socket: Socket): number {
  let id = ids.get(socket);
  if (id === undefined) ids.set(socket, (id = ++lastId));
  return id;
}

/** Publishes `wshub:connection` "open" for a connected socket. */
export function publishOpen(socket: Socket, side: Side): void {
  if (!connectionChannel.hasSubscribers) return;
  connectionChannel.publish({
    type: "open",
    id: traceId(socket),
    side,
    localAddress: socket.localAddress ?? "",
    localPort: socket.localPort ?? 0,
    remoteAddress: socket.remoteAddress ?? "",
    remotePort: socket.remotePort ?? 0,
  });
}

/** Publishes an HTTP head (`wshub:handshake` "request" or "response") from its text. */
export function publishHead(socket: Socket, side: Side, type: "request" | "response", text: string): void {
  if (!handshakeChannel.hasSubscribers) return;
  const lines = text.split("\r\n");
  const headers: [string, string][] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === "") break;
    const colon = line.indexOf(":");
    headers.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
  }
  handshakeChannel.publish({ type, id: traceId(socket), side, startLine: lines[0]!, headers });
}

/**
 * Publishes the Sec-WebSocket-Accept check spelled out (RFC 6455 §4.2.2 step 5.4, §4.1 step 4 of the client's
 * checks), then the negotiated subprotocol and extensions (`wshub:handshake` "accept" and "negotiated").
 */
export function publishAccept(socket: Socket, side: Side, key: string, received: string, protocol: string, extensions: string): void {
  if (!handshakeChannel.hasSubscribers) return;
  const id = traceId(socket);
  const keyWithGuid = key + WEBSOCKET_GUID;
  const digest = createHash("sha1").update(keyWithGuid).digest();
  const expected = digest.toString("base64");
  handshakeChannel.publish({ type: "accept", id, side, key, guid: WEBSOCKET_GUID, keyWithGuid, sha1: digest.toString("hex"), expected, received, matches: expected === received });
  let parsed: { name: string; params: Record<string, string | true> }[] = [];
  try {
    parsed = parseExtensions(extensions).map((e) => ({ name: e.name, params: Object.fromEntries(e.params.map((p) => [p.name, p.value ?? true])) }));
  } catch {
    // (Reported as the header's text only: the handshake fails on it anyway.)
  }
  handshakeChannel.publish({ type: "negotiated", id, side, protocol, extensions: parsed, extensionsHeader: extensions });
}

/**
 * The tap of one traced connection: decodes the bytes it reads and writes (FrameTap) and publishes frames,
 * compressed messages, the closing handshake and the TCP close.
 */
export class TraceTap {
  readonly id: number;
  readonly side: Side;
  readonly in: FrameTap;
  readonly out: FrameTap;
  /** Uncompressed lengths of the data messages handed to the compressing send queue, in order. */
  readonly #outLengths: number[] = [];
  /** Opcodes of the compressed messages received whose inflation is pending, in order. */
  readonly #inOpcodes: number[] = [];
  #inWire = 0;
  #inLength = 0;
  #finFirst: "local" | "remote" | null = null;
  #localFin = false;
  #remoteFin = false;
  #error: (Error & { code?: string }) | null = null;

  constructor(socket: Socket, side: Side) {
    this.id = traceId(socket);
    this.side = side;
    this.in = new FrameTap((f) => this.#frame("in", f));
    this.out = new FrameTap((f) => this.#frame("out", f));
    socket.on("error", (err) => void (this.#error ??= err));
  }

  #frame(direction: "in" | "out", f: TappedFrame): void {
    if (frameChannel.hasSubscribers) this.#publishFrame(direction, f);
    if (direction === "out" && f.fin && f.opcode < 8 && this.#outLengths.length > 0) {
      const length = this.#outLengths.shift()!;
      // (A single-frame message: its frame's length is the compressed size.)
      if (f.compressed) this.#publishMessage("out", f.messageOpcode, f.length, length);
    }
    if (direction === "in" && f.fin && f.compressed && f.opcode < 8) this.#inOpcodes.push(f.messageOpcode);
  }

  #publishFrame(direction: "in" | "out", f: TappedFrame): void {
    const msg: Record<string, unknown> = {
      id: this.id,
      side: this.side,
      direction,
      fin: f.fin,
      rsv1: f.rsv1,
      rsv2: f.rsv2,
      rsv3: f.rsv3,
      opcode: f.opcode,
      opcodeName: opcodeName(f.opcode),
      messageOpcode: f.messageOpcode,
      masked: f.masked,
      maskKey: f.maskKey !== null ? f.maskKey.toString("hex") : null,
      length: f.length,
      lengthForm: f.lengthForm,
      compressed: f.compressed,
      payload: f.payload,
    };
    if (f.opcode === Opcode.Close) {
      msg["closeCode"] = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : null;
      msg["closeReason"] = f.payload.length > 2 ? f.payload.subarray(2).toString("utf8") : "";
    }
    frameChannel.publish(msg);
  }

  #publishMessage(direction: "in" | "out", opcode: number, wireLength: number, length: number): void {
    if (!messageChannel.hasSubscribers) return;
    messageChannel.publish({ id: this.id, side: this.side, direction, opcode, opcodeName: opcodeName(opcode), compressedLength: wireLength, length });
  }

  /** A data message of `length` bytes goes to the compressing send queue. */
  noteOutgoing(length: number): void {
    this.#outLengths.push(length);
  }

  /** Wraps the inflater: a compressed message received is published with its sizes once inflated. */
  wrapInflater(inner: MessageInflater): MessageInflater {
    return {
      inflate: (payload, fin, done) => {
        this.#inWire += payload.length;
        inner.inflate(payload, fin, (err, data) => {
          if (data !== null) for (const c of data) this.#inLength += c.length;
          if (err === null && fin) {
            this.#publishMessage("in", this.#inOpcodes.shift() ?? 0, this.#inWire, this.#inLength);
            this.#inWire = this.#inLength = 0;
          }
          done(err, data);
        });
      },
    };
  }

  /** The peer's FIN arrived / this end sent its FIN. */
  remoteEnded(): void {
    this.#remoteFin = true;
    this.#finFirst ??= "remote";
  }
  localEnded(): void {
    this.#localFin = true;
    this.#finFirst ??= "local";
  }

  /** The socket closed: the closing handshake's outcome (`wshub:close`), then the TCP close (`wshub:connection`). */
  closed(initiator: "local" | "remote" | null, code: number, reason: string, wasClean: boolean): void {
    if (closeChannel.hasSubscribers) closeChannel.publish({ id: this.id, side: this.side, initiator, code, reason, wasClean });
    if (!connectionChannel.hasSubscribers) return;
    const err = this.#error;
    const errCode = err?.code ?? null;
    connectionChannel.publish({
      type: "close",
      id: this.id,
      side: this.side,
      finFirst: this.#finFirst,
      localFin: this.#localFin,
      remoteFin: this.#remoteFin,
      reset: errCode === "ECONNRESET" || errCode === "EPIPE",
      error: err !== null ? (errCode ?? err.message) : null,
    });
  }
}

/** The tap of a connection opening now, or null when nobody subscribes. */
export function tapFor(socket: Socket, side: Side): TraceTap | null {
  return tracing() ? new TraceTap(socket, side) : null;
}

/** The parts of an upgrade request a trace shows (Node's IncomingMessage and the standalone UpgradeRequest). */
interface TracedRequest {
  method?: string | undefined;
  url?: string | undefined;
  httpVersion: string;
  rawHeaders: string[];
}

/** Server side: publishes the TCP open, the request, the 101 response and the Accept check of one upgrade. */
export function traceUpgrade(socket: Socket, req: TracedRequest, key: string, response: string, protocol: string, extensions: string): void {
  publishOpen(socket, "server");
  if (handshakeChannel.hasSubscribers) {
    const raw = req.rawHeaders;
    const headers: [string, string][] = [];
    for (let i = 0; i + 1 < raw.length; i += 2) headers.push([raw[i]!, raw[i + 1]!]);
    handshakeChannel.publish({ type: "request", id: traceId(socket), side: "server", startLine: `${req.method ?? ""} ${req.url ?? ""} HTTP/${req.httpVersion}`, headers });
  }
  publishHead(socket, "server", "response", response);
  const accept = /\r\nSec-WebSocket-Accept: ([^\r]*)/i.exec(response);
  publishAccept(socket, "server", key, accept !== null ? accept[1]! : "", protocol, extensions);
}
