/**
 * RFC 6455 §4: the WebSocket rules of the opening handshake, computed and checked without I/O. The HTTP/1.1 heads
 * they apply to are parsed and serialized in http-head.ts.
 * Server: parseRequestHead() → validateUpgradeRequest() → upgradeResponseText() (or buildErrorResponse()).
 * Client: generateKey() → buildUpgradeRequest() → parseResponseHead() → validateUpgradeResponse().
 */
import * as crypto from "node:crypto";
import { WEBSOCKET_GUID, WEBSOCKET_VERSION } from "./constants.js";
import { HandshakeError } from "./errors.js";
import { isToken, splitList, writeHeaders, type HeaderMap, type ResponseHead } from "./http-head.js";

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

const KEY_RE = /^[+/0-9A-Za-z]{22}==$/;

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

function bad(message: string, code: string): HandshakeError {
  return new HandshakeError(message, 400, code);
}

/**
 * Checks a client's opening handshake (RFC 6455 §4.2.1). Throws HandshakeError with the HTTP status to answer.
 * The numbers below are those of the list in §4.2.1 (items 7, 9 and 10 are optional fields returned unchecked).
 * Item 6 (the version) is checked before item 5 (the key): a client speaking another version gets the 426 that
 * names the supported one (§4.4) rather than a 400 about a key its version may format differently.
 */
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

export interface UpgradeResponseOptions {
  key: string;
  protocol?: string | undefined;
  extensions?: string | undefined;
  /** Extra headers to add (name → value). */
  headers?: Record<string, string | string[]> | undefined;
}

const UPGRADE_RESPONSE_PREFIX = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ";

/**
 * The server's 101 Switching Protocols response (RFC 6455 §4.2.2 step 5): the one encoder of it, which
 * buildUpgradeResponse() and encodeUpgradeResponse() go through. `protocol` and `extensions` are "" when none was
 * selected. Without extra headers the text is ASCII (the accept value is base64; a subprotocol is a token,
 * RFC 6455 §4.2.2; the extensions answer is the server's own): written with `socket.write(text, "latin1")`,
 * Node encodes it straight into the write request, with no Buffer in between.
 */
export function upgradeResponseText(
  key: string,
  protocol: string,
  extensions: string,
  headers?: Record<string, string | string[]> | undefined,
): string {
  let text = UPGRADE_RESPONSE_PREFIX + computeAccept(key);
  if (protocol !== "") text += `\r\nSec-WebSocket-Protocol: ${protocol}`;
  if (extensions !== "") text += `\r\nSec-WebSocket-Extensions: ${extensions}`;
  if (headers !== undefined) {
    const lines: string[] = [];
    writeHeaders(lines, headers);
    for (const line of lines) text += `\r\n${line}`;
  }
  return text + "\r\n\r\n";
}

/** The 101 response for `opts`, as a string (see upgradeResponseText). */
export function buildUpgradeResponse(opts: UpgradeResponseOptions): string {
  return upgradeResponseText(opts.key, opts.protocol || "", opts.extensions || "", opts.headers);
}

/** The same 101 response as buildUpgradeResponse(), as one Buffer (UTF-8) ready for a single socket write. */
export function encodeUpgradeResponse(opts: UpgradeResponseOptions): Buffer {
  return Buffer.from(buildUpgradeResponse(opts), "utf8");
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
