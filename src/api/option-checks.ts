/**
 * Checks of the options of WebSocketServer, WebSocket (client) and perMessageDeflate, run at construction: a wrong
 * type is a TypeError, a value out of range a RangeError, each naming the option, the value and what is allowed
 * (docs/api.md "Option checks"). Option names of the `ws` library get an error naming the wshub equivalent.
 */
import { Server as NetServer } from "node:net";
import { MAX_WINDOW_BITS, MIN_WINDOW_BITS } from "../protocol/extensions/permessage-deflate.js";
import { isToken } from "../protocol/http-head.js";
import {
  checkBoolean,
  checkFunction,
  checkInteger,
  checkKnownKeys,
  checkMilliseconds,
  checkOneOf,
  checkOptionsObject,
  checkString,
  show,
} from "../protocol/checks.js";

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const MAX_INT32 = 2 ** 31 - 1;

/** Options of `ws` that mean something else, or nothing, here: what to use instead. */
const WS_SERVER_EQUIVALENTS: Readonly<Record<string, string>> = {
  verifyClient: "use authenticate(info) => boolean | { accept, status, reason, headers } (may be async)",
  skipUTF8Validation: "not supported: text messages are always validated (RFC 6455 §8.1)",
  WebSocket: "not supported: connections are ServerWebSocket instances",
  allowSynchronousEvents: "not needed: events are dispatched synchronously",
  zlibDeflateOptions: "use perMessageDeflate: { level, memLevel }",
  zlibInflateOptions: "not supported: inflation is bounded by maxPayload",
  maxPayloadLength: "use maxPayload",
};

const WS_CLIENT_EQUIVALENTS: Readonly<Record<string, string>> = {
  ...WS_SERVER_EQUIVALENTS,
  followRedirects: "not supported: a redirect fails the connection, as in browsers",
  maxRedirects: "not supported: redirects are not followed",
  protocolVersion: "not supported: only version 13 (RFC 6455) exists",
  agent: "not supported: each WebSocket dials its own connection",
  createConnection: "not supported",
  finishRequest: "use headers",
  generateMask: "not supported: masks come from crypto.randomFillSync",
  timeout: "use handshakeTimeout",
  localAddress: "not supported",
};

const DEFLATE_EQUIVALENTS: Readonly<Record<string, string>> = {
  zlibDeflateOptions: "use level and memLevel",
  zlibInflateOptions: "not supported: inflation is bounded by maxPayload",
};

const SERVER_KEYS = [
  "port", "host", "backlog", "server", "path", "noServer", "maxPayload", "handshakeTimeout", "closeTimeout",
  "maxHeaderSize", "autoPong", "clientTracking", "handleProtocols", "authenticate", "perMessageDeflate",
  "maxConnections", "maxConnectionsPerIp", "maxPendingHandshakes", "maxHeadersCount", "messageRate",
] as const;

const MESSAGE_RATE_KEYS = ["messagesPerSecond", "bytesPerSecond", "burst"] as const;

const CLIENT_KEYS = [
  "perMessageDeflate", "headers", "origin", "handshakeTimeout", "closeTimeout", "maxPayload", "maxResponseHeaderSize",
  "autoPong", "binaryType", "tls", "ca", "rejectUnauthorized", "servername",
] as const;

const DEFLATE_KEYS = [
  "serverNoContextTakeover", "clientNoContextTakeover", "serverMaxWindowBits", "clientMaxWindowBits", "threshold",
  "level", "memLevel", "concurrencyLimit",
] as const;

function maxPayload(where: string, v: unknown): void {
  checkInteger(where, "maxPayload", v, 1, MAX_SAFE, true);
}

/** Checks the options of `new WebSocketServer(options)`. */
export function checkServerOptions(options: unknown): void {
  const where = "WebSocketServer";
  const o = checkOptionsObject(where, options);
  checkKnownKeys(where, o, SERVER_KEYS, WS_SERVER_EQUIVALENTS);
  if (o["port"] !== undefined) checkInteger(where, "port", o["port"], 0, 65535);
  if (o["host"] !== undefined) checkString(where, "host", o["host"], 'a host name or IP address (a non-empty string, e.g. "127.0.0.1")');
  if (o["backlog"] !== undefined) checkInteger(where, "backlog", o["backlog"], 0, MAX_INT32);
  if (o["server"] !== undefined && !(o["server"] instanceof NetServer)) {
    throw new TypeError(`${where}: option server must be an http.Server or https.Server, got ${show(o["server"])}`);
  }
  if (o["path"] !== undefined) {
    const p = o["path"];
    if (typeof p !== "string") throw new TypeError(`${where}: option path must be a string starting with "/", got ${show(p)}`);
    if (!p.startsWith("/") || /[\s?#]/.test(p)) throw new RangeError(`${where}: option path must start with "/" and hold no spaces, "?" or "#", got ${show(p)}`);
  }
  if (o["noServer"] !== undefined) checkBoolean(where, "noServer", o["noServer"]);
  if (o["maxPayload"] !== undefined) maxPayload(where, o["maxPayload"]);
  if (o["handshakeTimeout"] !== undefined) checkMilliseconds(where, "handshakeTimeout", o["handshakeTimeout"]);
  if (o["closeTimeout"] !== undefined) checkMilliseconds(where, "closeTimeout", o["closeTimeout"]);
  if (o["maxHeaderSize"] !== undefined) checkInteger(where, "maxHeaderSize", o["maxHeaderSize"], 256, MAX_INT32);
  if (o["autoPong"] !== undefined) checkBoolean(where, "autoPong", o["autoPong"]);
  if (o["clientTracking"] !== undefined) checkBoolean(where, "clientTracking", o["clientTracking"]);
  if (o["handleProtocols"] !== undefined) checkFunction(where, "handleProtocols", o["handleProtocols"]);
  if (o["authenticate"] !== undefined) checkFunction(where, "authenticate", o["authenticate"]);
  if (o["perMessageDeflate"] !== undefined) checkDeflateOptions(o["perMessageDeflate"], true);
  if (o["maxConnections"] !== undefined) checkInteger(where, "maxConnections", o["maxConnections"], 1, MAX_SAFE, true);
  if (o["maxConnectionsPerIp"] !== undefined) checkInteger(where, "maxConnectionsPerIp", o["maxConnectionsPerIp"], 1, MAX_SAFE, true);
  if (o["maxPendingHandshakes"] !== undefined) checkInteger(where, "maxPendingHandshakes", o["maxPendingHandshakes"], 1, MAX_SAFE, true);
  if (o["maxHeadersCount"] !== undefined) checkInteger(where, "maxHeadersCount", o["maxHeadersCount"], 1, MAX_SAFE, true);
  if (o["messageRate"] !== undefined) checkMessageRate(o["messageRate"]);
}

/** `messageRate`: { messagesPerSecond, bytesPerSecond } positive numbers or Infinity, burst a positive number of seconds. */
function checkMessageRate(v: unknown): void {
  const where = "WebSocketServer";
  const o = checkOptionsObject(where, v, "option messageRate");
  checkKnownKeys("messageRate", o, MESSAGE_RATE_KEYS);
  for (const name of ["messagesPerSecond", "bytesPerSecond"] as const) {
    const r = o[name];
    if (r === undefined) continue;
    if (typeof r !== "number") throw new TypeError(`${where}: option messageRate.${name} must be a positive number or Infinity, got ${show(r)}`);
    if (!(r > 0)) throw new RangeError(`${where}: option messageRate.${name} must be a positive number or Infinity, got ${show(r)}`);
  }
  const b = o["burst"];
  if (b !== undefined) {
    if (typeof b !== "number") throw new TypeError(`${where}: option messageRate.burst must be a positive number of seconds, got ${show(b)}`);
    if (!(b > 0) || b === Infinity) throw new RangeError(`${where}: option messageRate.burst must be a positive, finite number of seconds, got ${show(b)}`);
  }
}

/** Checks the options (third argument) of `new WebSocket(url, protocols, options)`. */
export function checkClientOptions(options: unknown): void {
  const where = "WebSocket";
  const o = checkOptionsObject(where, options);
  checkKnownKeys(where, o, CLIENT_KEYS, WS_CLIENT_EQUIVALENTS);
  if (o["perMessageDeflate"] !== undefined) checkDeflateOptions(o["perMessageDeflate"], false);
  if (o["headers"] !== undefined) checkHeaders(where, o["headers"]);
  if (o["origin"] !== undefined) {
    checkString(where, "origin", o["origin"], "a non-empty string");
    if (/[\r\n\0]/.test(o["origin"] as string)) throw new RangeError(`${where}: option origin must not hold CR, LF or NUL, got ${show(o["origin"])}`);
  }
  if (o["handshakeTimeout"] !== undefined) checkMilliseconds(where, "handshakeTimeout", o["handshakeTimeout"]);
  if (o["closeTimeout"] !== undefined) checkMilliseconds(where, "closeTimeout", o["closeTimeout"]);
  if (o["maxPayload"] !== undefined) maxPayload(where, o["maxPayload"]);
  if (o["maxResponseHeaderSize"] !== undefined) checkInteger(where, "maxResponseHeaderSize", o["maxResponseHeaderSize"], 256, MAX_INT32);
  if (o["autoPong"] !== undefined) checkBoolean(where, "autoPong", o["autoPong"]);
  if (o["binaryType"] !== undefined) checkOneOf(where, "binaryType", o["binaryType"], ["blob", "arraybuffer", "nodebuffer"]);
  if (o["tls"] !== undefined) checkOptionsObject(where, o["tls"], "option tls");
  if (o["rejectUnauthorized"] !== undefined) checkBoolean(where, "rejectUnauthorized", o["rejectUnauthorized"]);
  if (o["servername"] !== undefined) checkString(where, "servername", o["servername"]);
}

/** Extra request headers: token names, string (or string array) values without CR, LF or NUL. */
function checkHeaders(where: string, h: unknown): void {
  const headers = checkOptionsObject(where, h, "option headers");
  for (const [name, value] of Object.entries(headers)) {
    if (!isToken(name)) throw new RangeError(`${where}: option headers: ${JSON.stringify(name)} is not a valid header name`);
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) {
      if (typeof v !== "string") throw new TypeError(`${where}: option headers: the value of ${name} must be a string or an array of strings, got ${show(v)}`);
      if (/[\r\n\0]/.test(v)) throw new RangeError(`${where}: option headers: the value of ${name} must not hold CR, LF or NUL`);
    }
  }
}

/** Checks a `perMessageDeflate` option: a boolean, or an object of PerMessageDeflateOptions. */
export function checkDeflateOptions(v: unknown, isServer: boolean): void {
  if (typeof v === "boolean") return;
  const where = "perMessageDeflate";
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new TypeError(`${isServer ? "WebSocketServer" : "WebSocket"}: option perMessageDeflate must be true, false or an object, got ${show(v)}`);
  }
  const o = v as Record<string, unknown>;
  checkKnownKeys(where, o, DEFLATE_KEYS, DEFLATE_EQUIVALENTS);
  if (o["serverNoContextTakeover"] !== undefined) checkBoolean(where, "serverNoContextTakeover", o["serverNoContextTakeover"]);
  if (o["clientNoContextTakeover"] !== undefined) checkBoolean(where, "clientNoContextTakeover", o["clientNoContextTakeover"]);
  if (o["serverMaxWindowBits"] !== undefined) checkInteger(where, "serverMaxWindowBits", o["serverMaxWindowBits"], MIN_WINDOW_BITS, MAX_WINDOW_BITS);
  const cmwb = o["clientMaxWindowBits"];
  if (cmwb !== undefined && typeof cmwb !== "boolean") {
    if (typeof cmwb !== "number") throw new TypeError(`${where}: option clientMaxWindowBits must be true, false or an integer from ${MIN_WINDOW_BITS} to ${MAX_WINDOW_BITS}, got ${show(cmwb)}`);
    checkInteger(where, "clientMaxWindowBits", cmwb, MIN_WINDOW_BITS, MAX_WINDOW_BITS);
  }
  if (o["threshold"] !== undefined) checkInteger(where, "threshold", o["threshold"], 0, MAX_SAFE, true);
  // zlib: level -1 (its default, 6) to 9; memLevel 1 to 9.
  if (o["level"] !== undefined) checkInteger(where, "level", o["level"], -1, 9);
  if (o["memLevel"] !== undefined) checkInteger(where, "memLevel", o["memLevel"], 1, 9);
  if (o["concurrencyLimit"] !== undefined) checkInteger(where, "concurrencyLimit", o["concurrencyLimit"], 1, MAX_INT32);
}
