/**
 * `--trace` of `wshub connect` and `wshub serve`: subscribes to the library's diagnostics channels
 * (node/diagnostics.ts, docs/api.md "Diagnostics channels") and prints one line per event: the TCP connection, the
 * opening handshake with the Sec-WebSocket-Accept check spelled out, every frame in both directions, compressed
 * messages' sizes, the closing handshake and the TCP close. `text` is for reading, `json` one object per line.
 */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { isUtf8 } from "node:buffer";
import { UsageError } from "./args.js";

export type TraceFormat = "text" | "json";

/** The value of --trace (true for the bare flag) as a format; a UsageError for anything else. */
export function traceFormat(value: string | boolean | undefined): TraceFormat | null {
  if (value === undefined || value === false) return null;
  if (value === true || value === "text") return "text";
  if (value === "json") return "json";
  throw new UsageError(`--trace takes "text" or "json" (--trace=json), got ${JSON.stringify(value)}`);
}

type Msg = Record<string, any>;

/** How many payload bytes a frame line shows. */
const SHOW_BYTES = 32;

const CHANNELS = ["wshub:connection", "wshub:handshake", "wshub:frame", "wshub:message", "wshub:close"] as const;

/** Starts tracing to `out`; returns the function that stops it. Connections opened from now on are traced. */
export function startTrace(format: TraceFormat, out: NodeJS.WritableStream): () => void {
  const handlers = CHANNELS.map((name) => {
    const handler = (message: unknown) => {
      const m = message as Msg;
      const line = format === "json" ? jsonLine(name, m) : `${timestamp()} ${m["side"] === "server" ? "s" : "c"}${m["id"]} ${textLine(name, m)}`;
      out.write(`${line}\n`);
    };
    subscribe(name, handler);
    return [name, handler] as const;
  });
  return () => {
    for (const [name, handler] of handlers) unsubscribe(name, handler);
  };
}

function timestamp(d = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

function jsonLine(channel: string, m: Msg): string {
  const o: Msg = { time: new Date().toISOString(), channel, ...m };
  if (Buffer.isBuffer(o["payload"])) o["payload"] = (o["payload"] as Buffer).toString("hex");
  return JSON.stringify(o);
}

/** "> " for what this end sent, "< " for what it received. */
function arrow(m: Msg, sentByClient: boolean): string {
  return (m["side"] === "client") === sentByClient ? ">" : "<";
}

function peer(m: Msg, who: "local" | "remote" | null): string {
  if (who === null) return "nobody";
  const local = m["side"] as string;
  const remote = local === "client" ? "server" : "client";
  return `${who === "local" ? local : remote} (${who})`;
}

function textLine(channel: string, m: Msg): string {
  switch (channel) {
    case "wshub:connection":
      if (m["type"] === "open") return `tcp open: local ${m["localAddress"]}:${m["localPort"]}, remote ${m["remoteAddress"]}:${m["remotePort"]}`;
      return `tcp close: FIN first from ${peer(m, m["finFirst"])}; FIN sent ${m["localFin"] ? "yes" : "no"}, FIN received ${m["remoteFin"] ? "yes" : "no"}; ${m["reset"] ? "reset (RST)" : "no reset"}${m["error"] !== null ? `; error ${m["error"]}` : ""}`;
    case "wshub:handshake":
      return handshakeLine(m);
    case "wshub:frame":
      return frameLine(m);
    case "wshub:message": {
      const sizes = m["direction"] === "in" ? `${m["compressedLength"]} bytes compressed, ${m["length"]} bytes inflated` : `${m["length"]} bytes, ${m["compressedLength"]} bytes compressed`;
      return `${m["direction"] === "in" ? "<" : ">"} message ${m["opcodeName"]} (permessage-deflate): ${sizes}`;
    }
    case "wshub:close":
      return `closing handshake: started by ${peer(m, m["initiator"])}; code ${m["code"]}${m["reason"] ? ` "${m["reason"]}"` : ""}; ${m["wasClean"] ? "clean (both close frames exchanged)" : "not clean"}`;
  }
  return JSON.stringify(m);
}

function handshakeLine(m: Msg): string {
  switch (m["type"]) {
    case "request":
    case "response": {
      const headers = (m["headers"] as [string, string][]).map(([n, v]) => `${n}: ${v}`).join(" | ");
      return `${arrow(m, m["type"] === "request")} http ${m["type"]}: ${m["startLine"]} | ${headers}`;
    }
    case "accept":
      return `accept check: key ${m["key"]}; key+GUID ${m["keyWithGuid"]}; SHA-1 ${m["sha1"]}; base64 ${m["expected"]}; Sec-WebSocket-Accept ${m["received"] || "(none)"}: ${m["matches"] ? "matches" : "DOES NOT MATCH"}`;
    case "negotiated": {
      const ext = (m["extensions"] as { name: string; params: Record<string, string | true> }[]).map((e) => {
        const params = Object.entries(e.params).map(([k, v]) => (v === true ? k : `${k}=${v}`));
        return params.length > 0 ? `${e.name} (${params.join(", ")})` : e.name;
      });
      return `negotiated: subprotocol ${m["protocol"] || "(none)"}; extensions ${ext.length > 0 ? ext.join(", ") : "(none)"}`;
    }
  }
  return JSON.stringify(m);
}

function frameLine(m: Msg): string {
  const bit = (b: unknown) => (b ? 1 : 0);
  const payload = m["payload"] as Buffer;
  let s = `${m["direction"] === "in" ? "<" : ">"} frame FIN=${bit(m["fin"])} RSV1=${bit(m["rsv1"])} RSV2=${bit(m["rsv2"])} RSV3=${bit(m["rsv3"])} opcode=${m["opcode"]} (${m["opcodeName"]})`;
  s += ` MASK=${bit(m["masked"])}${m["maskKey"] !== null ? ` key=${m["maskKey"]}` : ""} length=${m["length"]} (${m["lengthForm"]}-bit)`;
  if (m["opcode"] === 8) {
    return `${s} close ${m["closeCode"] ?? "(no code)"}${m["closeReason"] ? ` "${m["closeReason"]}"` : ""}`;
  }
  if (m["length"] === 0) return s;
  const textual = m["opcode"] === 9 || m["opcode"] === 10 || (m["messageOpcode"] === 1 && !m["compressed"]);
  return `${s}${m["compressed"] ? " compressed" : ""} payload ${showPayload(payload, m["length"] as number, textual)}`;
}

/** The start of a payload: quoted text when it is text (UTF-8), else hex; "…" when cut. */
function showPayload(payload: Buffer, length: number, textual: boolean): string {
  const head = payload.subarray(0, SHOW_BYTES);
  const more = length > head.length ? "…" : "";
  // (A cut can split a UTF-8 sequence: such text is shown as hex.)
  if (textual && isUtf8(head)) return `${JSON.stringify(head.toString("utf8"))}${more}`;
  return `hex ${head.toString("hex")}${more}`;
}
