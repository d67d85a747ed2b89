/**
 * The wire format of the `wshub.resume.v1` subprotocol (docs/resume-protocol.md), sans-I/O: parsing and building the
 * messages. Every message starts with an ASCII type letter; `D` messages carry a number, a space and the payload.
 */

/** The subprotocol name (Sec-WebSocket-Protocol). */
export const RESUME_PROTOCOL = "wshub.resume.v1";

/** Close codes of the resume protocol (RFC 6455 §7.4.2: 4000–4999 are for applications). */
export const ResumeCloseCode = Object.freeze({
  /** A malformed or unexpected resume message. */
  ProtocolError: 4400,
  /** A hello with a wrong token for a session the server knows. */
  Refused: 4403,
  /** No hello within helloTimeout. */
  HelloTimeout: 4408,
});

/** Type letters, as char codes. */
export const enum ResumeType {
  Hello = 0x48, // H
  Welcome = 0x57, // W
  Data = 0x44, // D
  Ack = 0x41, // A
}

/** The largest number the protocol carries (2^53 − 1): 16 digits at most. */
const MAX_DIGITS = 16;

/**
 * Reads the decimal number of `s` from `start` to `end` (exclusive): no sign, no leading zero (except "0" itself),
 * at most 2^53 − 1. Returns -1 if it is not one.
 */
export function parseDecimal(s: string, start: number, end: number): number {
  const n = end - start;
  if (n < 1 || n > MAX_DIGITS || (n > 1 && s.charCodeAt(start) === 0x30)) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return Number.isSafeInteger(v) ? v : -1;
}

/** The same for bytes. */
export function parseDecimalBytes(b: Uint8Array, start: number, end: number): number {
  const n = end - start;
  if (n < 1 || n > MAX_DIGITS || (n > 1 && b[start] === 0x30)) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const c = b[i]! - 0x30;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return Number.isSafeInteger(v) ? v : -1;
}

/** A parsed `D` message: its number and where its payload starts. */
export interface DataHeader {
  readonly num: number;
  readonly payloadStart: number;
}

/** Parses the header of a text `D` message (`D<n> payload`); null if malformed. */
export function parseTextData(s: string): DataHeader | null {
  if (s.charCodeAt(0) !== ResumeType.Data) return null;
  const sp = s.indexOf(" ", 1);
  if (sp === -1 || sp > MAX_DIGITS + 1) return null;
  const num = parseDecimal(s, 1, sp);
  return num < 0 ? null : { num, payloadStart: sp + 1 };
}

/** Parses the header of a binary `D` message; null if malformed. */
export function parseBinaryData(b: Uint8Array): DataHeader | null {
  if (b.length < 3 || b[0] !== ResumeType.Data) return null;
  const end = Math.min(b.length, MAX_DIGITS + 2);
  let sp = 1;
  while (sp < end && b[sp] !== 0x20) sp++;
  if (sp === end) return null;
  const num = parseDecimalBytes(b, 1, sp);
  return num < 0 ? null : { num, payloadStart: sp + 1 };
}

/** Parses `A<n>`; -1 if malformed. */
export function parseAck(s: string): number {
  return s.charCodeAt(0) === ResumeType.Ack ? parseDecimal(s, 1, s.length) : -1;
}

/** Parses the JSON object of an `H` or `W` message; null if it is not one. */
export function parseJsonBody(s: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(s.slice(1));
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The header `D<n> ` of a data message, as ASCII bytes. */
export function dataHeader(num: number): Buffer {
  return Buffer.from(`D${num} `, "latin1");
}

/** What a hello asks: a new session, or to resume one. */
export type Hello = { readonly session: null } | { readonly session: string; readonly token: string; readonly pos: number };

/** Parses a hello (`H{...}`); null if malformed. */
export function parseHello(s: string): Hello | null {
  if (s.charCodeAt(0) !== ResumeType.Hello) return null;
  const o = parseJsonBody(s);
  if (o === null) return null;
  if (o["session"] === undefined || o["session"] === null) return { session: null };
  const { session, token, pos } = o;
  if (typeof session !== "string" || session.length === 0 || session.length > 64) return null;
  if (typeof token !== "string" || token.length > 128) return null;
  if (typeof pos !== "number" || !Number.isSafeInteger(pos) || pos < 0) return null;
  return { session, token, pos };
}

/** A welcome's gap: why messages were lost, and after which position. */
export interface WelcomeGap {
  readonly reason: "expired" | "trimmed";
  readonly after: number;
}

export interface Welcome {
  readonly session: string;
  readonly token: string;
  readonly window: number;
  readonly resumed: boolean;
  readonly seq: number;
  readonly gap: WelcomeGap | null;
}

export function encodeWelcome(w: Welcome): string {
  return "W" + JSON.stringify(w);
}
