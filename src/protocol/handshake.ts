/**
 * RFC 6455 §4: the opening handshake, computed and checked without I/O.
 * Server: validateUpgradeRequest() → buildUpgradeResponse() / buildErrorResponse().
 * Client: generateKey() → buildUpgradeRequest() → parseResponseHead() → validateUpgradeResponse().
 */
import * as crypto from "node:crypto";
import { WEBSOCKET_GUID, WEBSOCKET_VERSION } from "./constants.js";
import { HandshakeError } from "./errors.js";

const { createHash, randomBytes } = crypto;
/** crypto.hash() (Node 20.12+, 21.7+): a one-shot digest without a Hash object, about 3× faster for a key. */
const oneShotHash = (crypto as unknown as { hash?: (algorithm: string, data: string, encoding: "base64") => string }).hash;

/** RFC 6455 §4.2.2: Sec-WebSocket-Accept = base64(SHA-1(key + GUID)). */
export function computeAccept(key: string): string {
  if (oneShotHash !== undefined) return oneShotHash("sha1", key + WEBSOCKET_GUID, "base64");
  return createHash("sha1").update(key + WEBSOCKET_GUID).digest("base64");
}

/** RFC 6455 §4.1: a nonce of 16 random bytes, base64-encoded. */
export function generateKey(): string {
  return randomBytes(16).toString("base64");
}

const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** RFC 7230 §3.2.6 token. */
export function isToken(s: string): boolean {
  return TOKEN_RE.test(s);
}

const KEY_RE = /^[+/0-9A-Za-z]{22}==$/;

/** Headers as Node's IncomingMessage gives them: lower-case names, repeated values joined by ", ". */
export type HeaderMap = Record<string, string | string[] | undefined>;

export interface UpgradeRequestInfo {
  method: string;
  /** "1.1", "1.0", "2.0"... */
  httpVersion: string;
  headers: HeaderMap;
}

export interface ValidatedUpgrade {
  /** The Sec-WebSocket-Key. */
  key: string;
  /** Subprotocols offered, in order of preference. */
  protocols: string[];
  /** The raw Sec-WebSocket-Extensions header, if any. */
  extensions: string | undefined;
  /** The Origin header, if any. */
  origin: string | undefined;
}

/** Whether a comma-separated header list holds `token` (compared ASCII case-insensitively; `token` lower-case). */
function hasToken(value: string | undefined, token: string): boolean {
  if (value === undefined) return false;
  // The usual single-token value, without splitting.
  if (value.length === token.length && value.toLowerCase() === token) return true;
  return splitList(value).some((t) => t.toLowerCase() === token);
}

function header(headers: HeaderMap, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(", ") : v;
}

/** Splits a comma-separated header list into trimmed, non-empty items. */
export function splitList(value: string | undefined): string[] {
  if (value === undefined) return [];
  const out: string[] = [];
  for (const part of value.split(",")) {
    const t = part.trim();
    if (t !== "") out.push(t);
  }
  return out;
}

function bad(message: string, code: string): HandshakeError {
  return new HandshakeError(message, 400, code);
}

/** Checks a client's opening handshake (RFC 6455 §4.2.1). Throws HandshakeError with the HTTP status to answer. */
export function validateUpgradeRequest(req: UpgradeRequestInfo): ValidatedUpgrade {
  // 1. An HTTP/1.1 or higher GET request.
  if (req.method !== "GET") throw bad(`method must be GET, got ${req.method}`, "WS_ERR_INVALID_METHOD");
  if (req.httpVersion !== "1.1") {
    const [major, minor] = req.httpVersion.split(".").map((x) => Number(x));
    if (!(major! > 1 || (major === 1 && minor! >= 1))) {
      throw bad(`HTTP/1.1 or later is required, got HTTP/${req.httpVersion}`, "WS_ERR_INVALID_HTTP_VERSION");
    }
  }
  // 2. A Host header field.
  if (!header(req.headers, "host")) throw bad("missing Host header", "WS_ERR_MISSING_HOST");
  // 3. An Upgrade header field containing the keyword "websocket" (ASCII case-insensitive).
  if (!hasToken(header(req.headers, "upgrade"), "websocket")) {
    throw bad("Upgrade header must contain the token 'websocket'", "WS_ERR_INVALID_UPGRADE_HEADER");
  }
  // 4. A Connection header field that includes the token "Upgrade" (ASCII case-insensitive).
  if (!hasToken(header(req.headers, "connection"), "upgrade")) {
    throw bad("Connection header must contain the token 'Upgrade'", "WS_ERR_INVALID_CONNECTION_HEADER");
  }
  // 6. Sec-WebSocket-Version 13; otherwise 426 with the versions supported (§4.4).
  const version = header(req.headers, "sec-websocket-version");
  if (version === undefined || version.trim() !== String(WEBSOCKET_VERSION)) {
    throw new HandshakeError(
      version === undefined ? "missing Sec-WebSocket-Version header" : `unsupported Sec-WebSocket-Version ${version.trim()}: only 13 is supported`,
      426,
      "WS_ERR_UNSUPPORTED_VERSION",
      { "Sec-WebSocket-Version": String(WEBSOCKET_VERSION) },
    );
  }
  // 5. A Sec-WebSocket-Key header field: base64 of 16 bytes.
  const key = header(req.headers, "sec-websocket-key")?.trim();
  if (key === undefined || key === "") throw bad("missing Sec-WebSocket-Key header", "WS_ERR_MISSING_KEY");
  if (!KEY_RE.test(key)) throw bad("Sec-WebSocket-Key must be base64 of 16 bytes", "WS_ERR_INVALID_KEY");
  // 8. Sec-WebSocket-Protocol: a list of subprotocol tokens, no duplicates.
  const protocolHeader = header(req.headers, "sec-websocket-protocol");
  const protocols: string[] = [];
  if (protocolHeader !== undefined) {
    for (const p of protocolHeader.split(",")) {
      const t = p.trim();
      if (!isToken(t)) throw bad(`invalid subprotocol '${t}' in Sec-WebSocket-Protocol`, "WS_ERR_INVALID_PROTOCOL");
      if (protocols.includes(t)) throw bad(`duplicate subprotocol '${t}' in Sec-WebSocket-Protocol`, "WS_ERR_INVALID_PROTOCOL");
      protocols.push(t);
    }
  }
  return {
    key,
    protocols,
    extensions: header(req.headers, "sec-websocket-extensions"),
    origin: header(req.headers, "origin"),
  };
}

export interface UpgradeResponseOptions {
  key: string;
  protocol?: string | undefined;
  extensions?: string | undefined;
  /** Extra headers to add (name → value). */
  headers?: Record<string, string | string[]> | undefined;
}

function writeHeaders(lines: string[], headers: Record<string, string | string[]> | undefined): void {
  if (!headers) return;
  for (const name of Object.keys(headers)) {
    const value = headers[name]!;
    if (/[\r\n]/.test(name) || (Array.isArray(value) ? value.some((v) => /[\r\n]/.test(v)) : /[\r\n]/.test(value))) {
      throw new TypeError(`header ${JSON.stringify(name)} contains CR or LF`);
    }
    if (Array.isArray(value)) for (const v of value) lines.push(`${name}: ${v}`);
    else lines.push(`${name}: ${value}`);
  }
}

const UPGRADE_RESPONSE_PREFIX = Buffer.from(
  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ",
  "latin1",
);

/**
 * The same 101 response as buildUpgradeResponse(), as one Buffer ready for a single socket write: a fixed
 * prefix copied, then the accept value and the optional lines.
 */
export function encodeUpgradeResponse(opts: UpgradeResponseOptions): Buffer {
  const accept = computeAccept(opts.key);
  let tail = "";
  if (opts.protocol) tail += `\r\nSec-WebSocket-Protocol: ${opts.protocol}`;
  if (opts.extensions) tail += `\r\nSec-WebSocket-Extensions: ${opts.extensions}`;
  if (opts.headers) {
    const lines: string[] = [];
    writeHeaders(lines, opts.headers);
    for (const line of lines) tail += `\r\n${line}`;
  }
  tail += "\r\n\r\n";
  const prefix = UPGRADE_RESPONSE_PREFIX.length;
  const out = Buffer.allocUnsafe(prefix + accept.length + Buffer.byteLength(tail));
  UPGRADE_RESPONSE_PREFIX.copy(out, 0);
  out.write(accept, prefix, "latin1");
  out.write(tail, prefix + accept.length, "utf8");
  return out;
}

const UPGRADE_RESPONSE_PREFIX_TEXT = UPGRADE_RESPONSE_PREFIX.toString("latin1");

/**
 * The same 101 response as buildUpgradeResponse() without extra headers, as one string of ASCII (the accept value
 * is base64; a subprotocol is a token, RFC 6455 §4.2.2; the extensions answer is the server's own): written with
 * `socket.write(text, "latin1")`, Node encodes it straight into the write request, with no Buffer in between.
 */
export function upgradeResponseText(key: string, protocol: string, extensions: string): string {
  let text = UPGRADE_RESPONSE_PREFIX_TEXT + computeAccept(key);
  if (protocol !== "") text += `\r\nSec-WebSocket-Protocol: ${protocol}`;
  if (extensions !== "") text += `\r\nSec-WebSocket-Extensions: ${extensions}`;
  return text + "\r\n\r\n";
}

/** The server's 101 Switching Protocols response (RFC 6455 §4.2.2 step 5). */
export function buildUpgradeResponse(opts: UpgradeResponseOptions): string {
  const lines = [
    "HTTP/1.1 101 Switching Protocols",
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Accept: ${computeAccept(opts.key)}`,
  ];
  if (opts.protocol) lines.push(`Sec-WebSocket-Protocol: ${opts.protocol}`);
  if (opts.extensions) lines.push(`Sec-WebSocket-Extensions: ${opts.extensions}`);
  writeHeaders(lines, opts.headers);
  return lines.join("\r\n") + "\r\n\r\n";
}

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  426: "Upgrade Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** A plain-text HTTP error response that refuses the upgrade; the body is the one-line reason. */
export function buildErrorResponse(status: number, reason: string, headers?: Record<string, string | string[]>): string {
  const body = reason.replace(/[\r\n]+/g, " ") + "\n";
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Error"}`,
    "Connection: close",
    "Content-Type: text/plain; charset=utf-8",
    `Content-Length: ${Buffer.byteLength(body)}`,
  ];
  writeHeaders(lines, headers);
  return lines.join("\r\n") + "\r\n\r\n" + body;
}

export interface UpgradeRequestOptions {
  /** Host header value (host[:port]). */
  host: string;
  /** Request target: path and query. */
  path: string;
  key: string;
  protocols?: readonly string[];
  /** Sec-WebSocket-Extensions offer, if any. */
  extensions?: string | undefined;
  origin?: string | undefined;
  headers?: Record<string, string | string[]> | undefined;
}

/** The client's opening handshake (RFC 6455 §4.1). */
export function buildUpgradeRequest(opts: UpgradeRequestOptions): string {
  const lines = [
    `GET ${opts.path} HTTP/1.1`,
    `Host: ${opts.host}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Key: ${opts.key}`,
    `Sec-WebSocket-Version: ${WEBSOCKET_VERSION}`,
  ];
  if (opts.protocols && opts.protocols.length > 0) lines.push(`Sec-WebSocket-Protocol: ${opts.protocols.join(", ")}`);
  if (opts.extensions) lines.push(`Sec-WebSocket-Extensions: ${opts.extensions}`);
  if (opts.origin) lines.push(`Origin: ${opts.origin}`);
  writeHeaders(lines, opts.headers);
  return lines.join("\r\n") + "\r\n\r\n";
}

export interface ResponseHead {
  statusCode: number;
  statusText: string;
  /** Lower-case names; repeated headers joined by ", ". */
  headers: Record<string, string>;
  /** Bytes of the head, including the blank line; the rest of the buffer belongs to the WebSocket stream. */
  length: number;
}

/**
 * Parses an HTTP/1.1 response head from `buf`. Returns null if the blank line has not arrived yet;
 * throws HandshakeError if it is malformed or longer than `maxSize` bytes.
 */
export function parseResponseHead(buf: Buffer, maxSize = 16 * 1024): ResponseHead | null {
  const end = buf.indexOf("\r\n\r\n");
  if (end === -1) {
    if (buf.length > maxSize) throw new HandshakeError(`response head larger than ${maxSize} bytes`, 0, "WS_ERR_RESPONSE_TOO_LARGE");
    return null;
  }
  if (end + 4 > maxSize) throw new HandshakeError(`response head larger than ${maxSize} bytes`, 0, "WS_ERR_RESPONSE_TOO_LARGE");
  const text = buf.toString("latin1", 0, end);
  const lines = text.split("\r\n");
  const m = /^HTTP\/(\d)\.(\d) (\d{3})(?: (.*))?$/.exec(lines[0]!);
  if (!m) throw new HandshakeError(`malformed status line: ${JSON.stringify(lines[0]!.slice(0, 80))}`, 0, "WS_ERR_INVALID_RESPONSE");
  const headers: Record<string, string> = {};
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(":");
    if (colon <= 0 || !isToken(line.slice(0, colon))) {
      throw new HandshakeError(`malformed header line: ${JSON.stringify(line.slice(0, 80))}`, 0, "WS_ERR_INVALID_RESPONSE");
    }
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return { statusCode: Number(m[3]), statusText: m[4] ?? "", headers, length: end + 4 };
}

export interface RequestHead {
  method: string;
  /** The request target as sent (origin-form: path and query). */
  url: string;
  /** "1.1", "1.0"... */
  httpVersion: string;
  /** Lower-case names; repeated values combined the way Node's IncomingMessage combines them. */
  headers: HeaderMap;
  /** The head as latin1 text, request line included, without the blank line that ends it. */
  text: string;
  /** Bytes of the head, including the blank line; the rest of the buffer belongs to the WebSocket stream. */
  length: number;
}

// Node's IncomingMessage keeps only the first of these when repeated; set-cookie becomes an array and cookie
// values are joined with "; ". Everything else is joined with ", " (RFC 7230 §3.2.2).
const SINGLE_VALUED = new Set([
  "age", "authorization", "content-length", "content-type", "etag", "expires", "from", "host", "if-modified-since",
  "if-unmodified-since", "last-modified", "location", "max-forwards", "proxy-authorization", "referer",
  "retry-after", "server", "user-agent",
]);

function malformed(message: string): HandshakeError {
  return new HandshakeError(message, 400, "WS_ERR_MALFORMED_REQUEST");
}

function tooLarge(maxSize: number): HandshakeError {
  return new HandshakeError(`request head larger than ${maxSize} bytes`, 431, "WS_ERR_REQUEST_TOO_LARGE");
}

/** Adds one header field to a Node-style header map (lower-case name, repeated values combined like Node). */
export function addHeader(headers: HeaderMap, name: string, value: string): void {
  const prev = headers[name];
  if (prev === undefined) headers[name] = name === "set-cookie" ? [value] : value;
  else if (name === "set-cookie") (prev as string[]).push(value);
  else if (name === "cookie") headers[name] = `${prev}; ${value}`;
  else if (!SINGLE_VALUED.has(name)) headers[name] = `${prev}, ${value}`;
}

/**
 * Bounds found by scanHeaderLine() for the line it last checked: the name is text[line start, fieldNameEnd), the
 * value text[fieldValueStart, fieldValueEnd). Module state rather than a result object per line: the scan is
 * synchronous and calls nothing that could scan another head meanwhile.
 */
let fieldNameEnd = 0;
let fieldValueStart = 0;
let fieldValueEnd = 0;

/**
 * Checks one header line, text[start, end), and records its bounds (see fieldNameEnd). Throws HandshakeError (400)
 * when it is malformed. The checks scan the head's text in place: a handshake reads several header lines, and this
 * spares regular expression runs and a string per line.
 */
function scanHeaderLine(text: string, start: number, end: number): void {
  const colon = text.indexOf(":", start);
  if (colon <= start || colon >= end) throw malformed(`malformed header line: ${JSON.stringify(text.slice(start, Math.min(end, start + 80)))}`);
  // RFC 7230 §3.2.4: no whitespace between the field-name and the colon; obs-fold is refused by a server (400).
  for (let i = start; i < colon; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128 || TOKEN_CHAR[c] === 0) {
      throw malformed(`malformed header name: ${JSON.stringify(text.slice(start, colon).slice(0, 80))}`);
    }
  }
  // The value without the whitespace String.prototype.trim() removes (of the characters a latin1 head can hold).
  let from = colon + 1;
  let to = end;
  while (from < to && isTrimmed(text.charCodeAt(from))) from++;
  while (to > from && isTrimmed(text.charCodeAt(to - 1))) to--;
  // RFC 7230 §3.2: field-value = *( field-content / obs-fold ); no control characters other than HTAB.
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) throw malformed(`control character in the value of header ${text.slice(start, colon)}`);
  }
  fieldNameEnd = colon;
  fieldValueStart = from;
  fieldValueEnd = to;
}

/**
 * Calls `field(name, value)` for each header line of a head's text (as in RequestHead.text), names as sent.
 * Throws HandshakeError (400) on a malformed line.
 */
export function forEachHeaderLine(text: string, field: (name: string, value: string) => void): void {
  let pos = text.indexOf("\r\n");
  while (pos !== -1) {
    const start = pos + 2;
    const next = text.indexOf("\r\n", start);
    scanHeaderLine(text, start, next === -1 ? text.length : next);
    field(text.slice(start, fieldNameEnd), text.slice(fieldValueStart, fieldValueEnd));
    pos = next;
  }
}

/**
 * The header fields of a head's text (as in RequestHead.text) as Node's IncomingMessage gives them: lower-case
 * names, repeated values combined (see addHeader). Throws HandshakeError (400) on a malformed line.
 */
export function parseHeaderFields(text: string): HeaderMap {
  const headers: HeaderMap = {};
  let pos = text.indexOf("\r\n");
  while (pos !== -1) {
    const start = pos + 2;
    const next = text.indexOf("\r\n", start);
    scanHeaderLine(text, start, next === -1 ? text.length : next);
    addHeader(headers, lowerCaseName(text, start, fieldNameEnd), text.slice(fieldValueStart, fieldValueEnd));
    pos = next;
  }
  return headers;
}

/** The lower-case names of the fields handshakes usually carry, indexed by length (see lowerCaseName). */
const COMMON_NAMES: string[][] = [];
for (const name of [
  "host", "upgrade", "connection", "origin", "sec-websocket-key", "sec-websocket-version", "sec-websocket-protocol",
  "sec-websocket-extensions", "user-agent", "cookie", "pragma", "cache-control", "accept-encoding", "accept-language",
  "authorization", "accept", "referer", "x-forwarded-for", "x-forwarded-proto", "x-real-ip",
]) {
  (COMMON_NAMES[name.length] ??= []).push(name);
}

/**
 * The field name text[start, end) (already checked to be a token) in lower case: for a common name the shared
 * literal, without building a string; otherwise a new string. A token's octets are ASCII letters, digits and
 * symbols, and OR-ing 0x20 maps exactly the letters onto lower case ("-", the only symbol in the common names, is
 * unchanged; no other token character maps onto a lower-case letter or "-").
 */
function lowerCaseName(text: string, start: number, end: number): string {
  const candidates = COMMON_NAMES[end - start];
  if (candidates !== undefined) {
    next: for (let k = 0; k < candidates.length; k++) {
      const name = candidates[k]!;
      for (let i = 0; i < name.length; i++) {
        if ((text.charCodeAt(start + i) | 0x20) !== name.charCodeAt(i)) continue next;
      }
      return name;
    }
  }
  return text.slice(start, end).toLowerCase();
}

/** RFC 7230 §3.2.6 tchar, by character code (below 128). */
const TOKEN_CHAR = (() => {
  const table = new Uint8Array(128);
  for (let c = 0; c < 128; c++) if (TOKEN_RE.test(String.fromCharCode(c))) table[c] = 1;
  return table;
})();

/** Whether String.prototype.trim() removes this character: ECMAScript WhiteSpace and LineTerminator. */
function isTrimmed(c: number): boolean {
  if (c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0xa0) return true;
  if (c < 0x1680) return false;
  return c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/**
 * Parses an HTTP/1.1 request head (RFC 7230 §3: request-line, header fields, CRLF) from the start of `buf`.
 * Returns null if the blank line has not arrived yet. Throws HandshakeError with the status to answer:
 * 431 when the head is (or is becoming) longer than `maxSize` bytes, 400 when it is malformed.
 */
export function parseRequestHead(buf: Buffer, maxSize = 16 * 1024): RequestHead | null {
  // RFC 7230 §3.5: a server SHOULD ignore at least one empty line (CRLF) received before the request-line.
  let begin = 0;
  while (begin + 1 < buf.length && buf[begin] === 0x0d && buf[begin + 1] === 0x0a) begin += 2;
  const end = buf.indexOf("\r\n\r\n", begin, "latin1");
  if (end === -1) {
    if (buf.length > maxSize) throw tooLarge(maxSize);
    return null;
  }
  if (end + 4 > maxSize) throw tooLarge(maxSize);
  const text = buf.toString("latin1", begin, end);
  let lineEnd = text.indexOf("\r\n");
  if (lineEnd === -1) lineEnd = text.length;
  // RFC 7230 §3.1.1: request-line = method SP request-target SP HTTP-version; method = token; HTTP-version =
  // "HTTP/" DIGIT "." DIGIT. The target (origin-form) holds no whitespace or control characters.
  let i = 0;
  while (i < lineEnd) {
    const c = text.charCodeAt(i);
    if (c >= 128 || TOKEN_CHAR[c] === 0) break;
    i++;
  }
  const methodEnd = i;
  let targetEnd = methodEnd + 1;
  if (methodEnd > 0 && text.charCodeAt(methodEnd) === 0x20) {
    while (targetEnd < lineEnd) {
      const c = text.charCodeAt(targetEnd);
      if (c <= 0x20 || c === 0x7f) break;
      targetEnd++;
    }
  }
  const v = targetEnd + 6; // the major version digit: after " HTTP/"
  if (
    methodEnd === 0 ||
    targetEnd === methodEnd + 1 ||
    lineEnd !== v + 3 ||
    text.charCodeAt(methodEnd) !== 0x20 ||
    !text.startsWith(" HTTP/", targetEnd) ||
    !isDigit(text.charCodeAt(v)) ||
    text.charCodeAt(v + 1) !== 0x2e ||
    !isDigit(text.charCodeAt(v + 2))
  ) {
    throw malformed(`malformed request line: ${JSON.stringify(text.slice(0, Math.min(lineEnd, 80)))}`);
  }
  const headers = parseHeaderFields(text);
  // The usual method and version as shared literals rather than new strings kept by every connection.
  const method = methodEnd === 3 && text.startsWith("GET") ? "GET" : text.slice(0, methodEnd);
  const httpVersion = text.startsWith("1.1", v) ? "1.1" : text.slice(v, v + 3);
  return { method, url: text.slice(methodEnd + 1, targetEnd), httpVersion, headers, text, length: end + 4 };
}

export interface ValidatedResponse {
  /** The subprotocol the server selected, or "". */
  protocol: string;
  /** The Sec-WebSocket-Extensions the server answered with, or "". */
  extensions: string;
}

/**
 * Checks the server's response (RFC 6455 §4.1, "the client MUST validate the server's response").
 * `acceptExtensions` decides whether an extensions answer is one the client offered; without it any is refused.
 */
export function validateUpgradeResponse(
  head: ResponseHead,
  key: string,
  offeredProtocols: readonly string[],
  acceptExtensions?: (value: string) => void,
): ValidatedResponse {
  const fail = (msg: string, code: string) => new HandshakeError(msg, head.statusCode, code);
  // 1. The status code MUST be 101.
  if (head.statusCode !== 101) {
    throw fail(`unexpected server response: ${head.statusCode}${head.statusText ? " " + head.statusText : ""}`, "WS_ERR_UNEXPECTED_RESPONSE");
  }
  // 2. Upgrade: websocket (case-insensitive).
  const upgrade = head.headers["upgrade"];
  if (upgrade === undefined || upgrade.trim().toLowerCase() !== "websocket") {
    throw fail(`invalid Upgrade header in response: ${JSON.stringify(upgrade ?? null)}`, "WS_ERR_INVALID_UPGRADE_HEADER");
  }
  // 3. Connection: Upgrade (case-insensitive token).
  if (!splitList(head.headers["connection"]).some((t) => t.toLowerCase() === "upgrade")) {
    throw fail(`invalid Connection header in response: ${JSON.stringify(head.headers["connection"] ?? null)}`, "WS_ERR_INVALID_CONNECTION_HEADER");
  }
  // 4. Sec-WebSocket-Accept must be base64(SHA-1(key + GUID)).
  const accept = head.headers["sec-websocket-accept"];
  if (accept === undefined) throw fail("missing Sec-WebSocket-Accept header", "WS_ERR_MISSING_ACCEPT");
  if (accept.trim() !== computeAccept(key)) throw fail("Sec-WebSocket-Accept does not match the key sent", "WS_ERR_INVALID_ACCEPT");
  // 5. Extensions not offered by the client MUST fail the connection.
  const ext = head.headers["sec-websocket-extensions"];
  if (ext !== undefined && ext.trim() !== "") {
    if (!acceptExtensions) throw fail(`server answered with extensions that were not offered: ${ext}`, "WS_ERR_INVALID_EXTENSION");
    acceptExtensions(ext);
  }
  // 6. A subprotocol not offered by the client MUST fail the connection.
  const protocol = head.headers["sec-websocket-protocol"];
  if (protocol !== undefined) {
    const p = protocol.trim();
    if (!offeredProtocols.includes(p)) throw fail(`server selected a subprotocol that was not offered: ${JSON.stringify(p)}`, "WS_ERR_INVALID_PROTOCOL");
    return { protocol: p, extensions: ext?.trim() ?? "" };
  }
  return { protocol: "", extensions: ext?.trim() ?? "" };
}
