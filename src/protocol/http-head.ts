/**
 * HTTP/1.1 message heads (RFC 7230 §3), without I/O: the request head a server reads and the response head a
 * client reads (both through one header-line scanner, scanField), header maps as Node's IncomingMessage builds
 * them, and the serialization of header lines and of the error response that refuses an upgrade. The WebSocket
 * rules on top of these heads are in handshake.ts.
 */
import { HandshakeError } from "./errors.js";

const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** RFC 7230 §3.2.6 token. */
export function isToken(s: string): boolean {
  return TOKEN_RE.test(s);
}


/** Headers as Node's IncomingMessage gives them: lower-case names, repeated values joined by ", ". */
export type HeaderMap = Record<string, string | string[] | undefined>;

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

/** Appends `name: value` lines for `headers`; refuses a name or value holding CR or LF (header injection). */
export function writeHeaders(lines: string[], headers: Record<string, string | string[]> | undefined): void {
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

export interface ResponseHead {
  statusCode: number;
  statusText: string;
  /** Lower-case names; repeated headers joined by ", ". */
  headers: Record<string, string>;
  /** Bytes of the head, including the blank line; the rest of the buffer belongs to the WebSocket stream. */
  length: number;
}

function invalidResponse(message: string): HandshakeError {
  return new HandshakeError(message, 0, "WS_ERR_INVALID_RESPONSE");
}

function responseTooLarge(maxSize: number): HandshakeError {
  return new HandshakeError(`response head larger than ${maxSize} bytes`, 0, "WS_ERR_RESPONSE_TOO_LARGE");
}

/**
 * Parses an HTTP/1.1 response head from `buf`. Returns null if the blank line has not arrived yet;
 * throws HandshakeError if it is malformed or longer than `maxSize` bytes.
 */
export function parseResponseHead(buf: Buffer, maxSize = 16 * 1024): ResponseHead | null {
  const end = buf.indexOf("\r\n\r\n");
  if (end === -1) {
    if (buf.length > maxSize) throw responseTooLarge(maxSize);
    return null;
  }
  if (end + 4 > maxSize) throw responseTooLarge(maxSize);
  const text = buf.toString("latin1", 0, end);
  const firstEnd = text.indexOf("\r\n");
  const statusLine = firstEnd === -1 ? text : text.slice(0, firstEnd);
  const m = /^HTTP\/(\d)\.(\d) (\d{3})(?: (.*))?$/.exec(statusLine);
  if (!m) throw invalidResponse(`malformed status line: ${JSON.stringify(statusLine.slice(0, 80))}`);
  const headers: Record<string, string> = {};
  for (let pos = firstEnd; pos !== -1; ) {
    pos = scanField(text, pos, invalidResponse);
    const name = lowerCaseName(text, fieldNameStart, fieldNameEnd);
    const value = text.slice(fieldValueStart, fieldValueEnd);
    // Own fields only: a field named like an Object.prototype member ("constructor") starts a value of its own.
    const prev = Object.hasOwn(headers, name) ? headers[name] : undefined;
    headers[name] = prev === undefined ? value : `${prev}, ${value}`;
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

function malformedRequest(message: string): HandshakeError {
  return new HandshakeError(message, 400, "WS_ERR_MALFORMED_REQUEST");
}

function tooLarge(maxSize: number): HandshakeError {
  return new HandshakeError(`request head larger than ${maxSize} bytes`, 431, "WS_ERR_REQUEST_TOO_LARGE");
}

/** A request with more header fields than allowed: 431 (RFC 6585 §5). */
export function tooManyHeaders(maxCount: number): HandshakeError {
  return new HandshakeError(`more than ${maxCount} header fields`, 431, "WS_ERR_TOO_MANY_HEADERS");
}

/** Adds one header field to a Node-style header map (lower-case name, repeated values combined like Node). */
export function addHeader(headers: HeaderMap, name: string, value: string): void {
  // Own fields only, as Node's IncomingMessage: a field named "constructor" or "tostring" is not combined with an
  // Object.prototype member ("__proto__" is then dropped, as Node drops it: assigning a string to it does nothing).
  const prev = Object.hasOwn(headers, name) ? headers[name] : undefined;
  if (prev === undefined) headers[name] = name === "set-cookie" ? [value] : value;
  else if (name === "set-cookie") (prev as string[]).push(value);
  else if (name === "cookie") headers[name] = `${prev}; ${value}`;
  else if (!SINGLE_VALUED.has(name)) headers[name] = `${prev}, ${value}`;
}

/**
 * Bounds found by scanField() for the line it last checked: the name is text[fieldNameStart, fieldNameEnd), the
 * value text[fieldValueStart, fieldValueEnd). Module state rather than a result object per line: the scan is
 * synchronous and calls nothing that could scan another head meanwhile.
 */
let fieldNameStart = 0;
let fieldNameEnd = 0;
let fieldValueStart = 0;
let fieldValueEnd = 0;

/**
 * The one header-line scanner, for request and response heads alike. Checks the header line that follows the
 * CRLF at `pos` in a head's text, records its bounds (see fieldNameStart) and returns the position of the CRLF
 * that ends it, or -1 when it is the last line. Throws `malformed(message)` when the line is malformed. The checks
 * scan the head's text in place: a handshake reads several header lines, and this spares regular expression runs
 * and a string per line.
 */
function scanField(text: string, pos: number, malformed: (message: string) => HandshakeError): number {
  const start = pos + 2;
  const next = text.indexOf("\r\n", start);
  const end = next === -1 ? text.length : next;
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
  fieldNameStart = start;
  fieldNameEnd = colon;
  fieldValueStart = from;
  fieldValueEnd = to;
  return next;
}

/**
 * Calls `field(name, value)` for each header line of a head's text (as in RequestHead.text), names as sent.
 * Throws HandshakeError (400) on a malformed line.
 */
export function forEachHeaderLine(text: string, field: (name: string, value: string) => void): void {
  for (let pos = text.indexOf("\r\n"); pos !== -1; ) {
    pos = scanField(text, pos, malformedRequest);
    field(text.slice(fieldNameStart, fieldNameEnd), text.slice(fieldValueStart, fieldValueEnd));
  }
}

/**
 * The header fields of a head's text (as in RequestHead.text) as Node's IncomingMessage gives them: lower-case
 * names, repeated values combined (see addHeader). Throws HandshakeError (400) on a malformed line, and 431 on
 * more than `maxCount` fields.
 */
export function parseHeaderFields(text: string, maxCount = Infinity): HeaderMap {
  const headers: HeaderMap = {};
  let count = 0;
  for (let pos = text.indexOf("\r\n"); pos !== -1; ) {
    if (++count > maxCount) throw tooManyHeaders(maxCount);
    pos = scanField(text, pos, malformedRequest);
    addHeader(headers, lowerCaseName(text, fieldNameStart, fieldNameEnd), text.slice(fieldValueStart, fieldValueEnd));
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
 * 431 when the head is (or is becoming) longer than `maxSize` bytes or holds more than `maxCount` header fields,
 * 400 when it is malformed.
 */
export function parseRequestHead(buf: Buffer, maxSize = 16 * 1024, maxCount = Infinity): RequestHead | null {
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
    throw malformedRequest(`malformed request line: ${JSON.stringify(text.slice(0, Math.min(lineEnd, 80)))}`);
  }
  const headers = parseHeaderFields(text, maxCount);
  // The usual method and version as shared literals rather than new strings kept by every connection.
  const method = methodEnd === 3 && text.startsWith("GET") ? "GET" : text.slice(0, methodEnd);
  const httpVersion = text.startsWith("1.1", v) ? "1.1" : text.slice(v, v + 3);
  return { method, url: text.slice(methodEnd + 1, targetEnd), httpVersion, headers, text, length: end + 4 };
}
