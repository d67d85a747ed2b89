/**
 * Type checks of ws's options at construction (wshub's rule: a bad option is a TypeError or RangeError naming
 * it; ws itself checks few). Only the types and ranges of the options ws documents are checked: unknown keys are
 * left alone, as ws passes client options through to http.request() and tls.connect(). `null` counts as absent,
 * as in ws's defaults. The helpers and messages are wshub's (protocol/checks.ts).
 */
import { Server as NetServer } from "node:net";
import { checkBoolean, checkFunction, checkInteger, checkMilliseconds, checkOptionsObject, checkString, show } from "../protocol/checks.js";

const MAX_INT32 = 2 ** 31 - 1;

type Check = (where: string, name: string, v: unknown) => void;

const bool: Check = checkBoolean;
const fn: Check = checkFunction;
const ms: Check = (where, name, v) => checkMilliseconds(where, name, v, 0);
const payload: Check = (where, name, v) => checkInteger(where, name, v, 0, Number.MAX_SAFE_INTEGER, true);
const count: Check = (where, name, v) => checkInteger(where, name, v, 0, MAX_INT32);
const str: Check = (where, name, v) => checkString(where, name, v, "a string");

const COMMON: Record<string, Check> = {
  allowSynchronousEvents: bool,
  autoPong: bool,
  closeTimeout: ms,
  maxPayload: payload,
  skipUTF8Validation: bool,
  perMessageDeflate: (where, _name, v) => checkDeflate(where, v),
};

const SERVER: Record<string, Check> = {
  ...COMMON,
  port: (where, name, v) => checkInteger(where, name, v, 0, 65535),
  host: str,
  backlog: count,
  server: (where, name, v) => {
    if (!(v instanceof NetServer)) throw new TypeError(`${where}: option ${name} must be an http.Server or https.Server, got ${show(v)}`);
  },
  noServer: bool,
  path: str,
  verifyClient: fn,
  handleProtocols: fn,
  clientTracking: bool,
};

const CLIENT: Record<string, Check> = {
  ...COMMON,
  handshakeTimeout: ms,
  followRedirects: bool,
  maxRedirects: count,
  origin: str,
  headers: (where, _name, v) => void checkOptionsObject(where, v, "option headers"),
  finishRequest: fn,
  createConnection: fn,
};

const DEFLATE: Record<string, Check> = {
  serverNoContextTakeover: bool,
  clientNoContextTakeover: bool,
  threshold: count,
  concurrencyLimit: (where, name, v) => checkInteger(where, name, v, 1, MAX_INT32),
  zlibDeflateOptions: (where, _name, v) => void checkOptionsObject(where, v, "option perMessageDeflate.zlibDeflateOptions"),
  zlibInflateOptions: (where, _name, v) => void checkOptionsObject(where, v, "option perMessageDeflate.zlibInflateOptions"),
};

function run(where: string, o: Record<string, unknown>, checks: Record<string, Check>, prefix = ""): void {
  for (const [name, check] of Object.entries(checks)) {
    const v = o[name];
    if (v !== undefined && v !== null) check(where, prefix + name, v);
  }
}

/** perMessageDeflate: a boolean or an object (window bits are checked where they are resolved). */
function checkDeflate(where: string, v: unknown): void {
  if (typeof v === "boolean") return;
  run(where, checkOptionsObject(where, v, "option perMessageDeflate"), DEFLATE, "perMessageDeflate.");
}

export function checkServerOptions(options: unknown): void {
  run("WebSocketServer", checkOptionsObject("WebSocketServer", options), SERVER);
}

export function checkClientOptions(options: unknown): void {
  run("WebSocket", checkOptionsObject("WebSocket", options), CLIENT);
}
