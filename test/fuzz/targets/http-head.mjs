// Fuzz targets "request-head" and "response-head": the HTTP/1.1 head parsers of src/protocol/http-head.ts
// (RFC 7230 §3). Properties:
// - generated heads (tokens, targets, header values with any latin1 text) parse to exactly what was generated;
// - any input parses, waits for more (null) or throws a HandshakeError with its documented status and code
//   (request: 400 WS_ERR_MALFORMED_REQUEST / 431 WS_ERR_REQUEST_TOO_LARGE; response: WS_ERR_INVALID_RESPONSE /
//   WS_ERR_RESPONSE_TOO_LARGE), never another exception;
// - a parsed head is well formed, and serialized again it parses to the same head;
// - memory: the parser never waits for more once the input passes the head size limit, and a prefix of a head
//   never throws anything but 431 (too large).
import fc from "fast-check";
import { HandshakeError, parseRequestHead, parseResponseHead } from "../../../dist/protocol/index.js";

const MAX_SIZES = [64, 256, 16 * 1024];
const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const token = fc.string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: 12 });
/** field-content: HTAB, SP, VCHAR, obs-text (latin1 0x80-0xff). */
const fieldText = fc.string({ unit: fc.oneof(fc.constantFrom("\t", " "), fc.integer({ min: 0x21, max: 0xff }).filter((c) => c !== 0x7f).map((c) => String.fromCharCode(c))), maxLength: 24 });
const field = fc.tuple(token, fieldText);
const EDGE = ["\r", "\n", "\r\n", "\r\n\r\n", ":", " ", "\t", "\x00", "\x7f", "\xa0", "HTTP/1.1", "GET "];

const mutation = fc.record({ at: fc.nat(), op: fc.nat(3), edge: fc.constantFrom(...EDGE), byte: fc.nat(255) });
function mutate(buf, ms) {
  let s = buf.toString("latin1");
  for (const m of ms) {
    const at = s.length === 0 ? 0 : m.at % (s.length + 1);
    if (m.op === 0) s = s.slice(0, at) + m.edge + s.slice(at);
    else if (m.op === 1) s = s.slice(0, at) + s.slice(at + 1 + (m.byte & 3));
    else if (m.op === 2) s = s.slice(0, at) + String.fromCharCode(m.byte) + s.slice(at + 1);
    else s = s.slice(0, at);
  }
  return Buffer.from(s, "latin1");
}

const latin1 = (s) => Buffer.from(s, "latin1");

function withMutations(valid) {
  return fc.oneof(
    valid,
    fc.tuple(valid, fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([c, ms]) => ({ ...c, bytes: mutate(c.bytes, ms), gen: null })),
    fc.tuple(fc.uint8Array({ maxLength: 80 }), fc.constantFrom(...MAX_SIZES)).map(([u, maxSize]) => ({ bytes: Buffer.from(u), maxSize, gen: null })),
  );
}

function fail(name, c, message) {
  const err = new Error(`${name}: ${message} [maxSize ${c.maxSize}] input ${JSON.stringify(c.bytes.toString("latin1").slice(0, 300))}`);
  err.input = c.bytes;
  throw err;
}

/** Runs `parse`; returns { head } or { error }, failing on anything but a HandshakeError with an allowed code. */
function attempt(name, c, parse, bytes, allowed) {
  try {
    return { head: parse(bytes, c.maxSize) };
  } catch (err) {
    if (!(err instanceof HandshakeError)) fail(name, c, `threw ${err?.name}: ${err?.message}`);
    if (allowed[err.code] !== err.status) fail(name, c, `threw ${err.code} with status ${err.status}`);
    return { error: err };
  }
}

/** The head's end (the blank line included) after `from`, or -1. */
const headEnd = (bytes, from) => {
  const i = bytes.indexOf("\r\n\r\n", from, "latin1");
  return i === -1 ? -1 : i + 4;
};

function commonChecks(name, c, parse, allowed, tooLarge, skip) {
  const r = attempt(name, c, parse, c.bytes, allowed);
  const begin = skip(c.bytes);
  const end = headEnd(c.bytes, begin);
  // Memory: null only while the input is within the limit; 431 exactly when the head is (or must be) too long.
  const over = end === -1 ? c.bytes.length > c.maxSize : end > c.maxSize;
  if (r.head === null && (end !== -1 || over)) fail(name, c, "waits for more input past the blank line or the size limit");
  if (r.error?.code === tooLarge && !over) fail(name, c, "too large, but the head is within the limit");
  if (over && r.error?.code !== tooLarge) fail(name, c, `a head over the limit gave ${r.error?.code ?? "a result"}`);
  if (r.head) {
    if (r.head.length !== end) fail(name, c, `length ${r.head.length}, the blank line ends at ${end}`);
    // Every prefix that lacks the blank line waits for more, or is too large.
    for (const k of [end - 1, end - 2, Math.floor(end / 2), begin + 1]) {
      if (k < 0 || k >= end) continue;
      const p = attempt(name, c, parse, c.bytes.subarray(0, k), allowed);
      if (!(p.head === null || (p.error?.code === tooLarge && k > c.maxSize))) fail(name, c, `the ${k}-byte prefix gave ${p.error?.code ?? "a result"}`);
    }
  }
  return r;
}

const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
/** A parsed value is trimmed and holds no control character but HTAB. */
const goodValue = (v) => v === v.trim() && !/[\x00-\x08\x0a-\x1f\x7f]/.test(v);

// ---- request heads ----

const REQUEST_ALLOWED = { WS_ERR_MALFORMED_REQUEST: 400, WS_ERR_REQUEST_TOO_LARGE: 431 };
const requestValid = fc
  .record({
    crlfs: fc.nat(2),
    method: fc.oneof(fc.constant("GET"), token),
    url: fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 30 }).map((s) => "/" + s),
    version: fc.constantFrom("1.1", "1.0", "2.0", "0.9"),
    fields: fc.array(field, { maxLength: 6 }),
    body: fc.uint8Array({ maxLength: 8 }),
    maxSize: fc.constantFrom(...MAX_SIZES),
  })
  .map((g) => {
    const head = "\r\n".repeat(g.crlfs) + `${g.method} ${g.url} HTTP/${g.version}\r\n` + g.fields.map(([n, v]) => `${n}:${v}\r\n`).join("") + "\r\n";
    return { bytes: Buffer.concat([latin1(head), Buffer.from(g.body)]), maxSize: g.maxSize, gen: g };
  });

function skipCrlfs(bytes) {
  let b = 0;
  while (b + 1 < bytes.length && bytes[b] === 0x0d && bytes[b + 1] === 0x0a) b += 2;
  return b;
}

function headerPairs(text) {
  return text.split("\r\n").slice(1).map((line) => {
    const i = line.indexOf(":");
    return [line.slice(0, i), line.slice(i + 1).trim()];
  });
}

function checkRequest(c) {
  const name = "request-head";
  const r = commonChecks(name, c, parseRequestHead, REQUEST_ALLOWED, "WS_ERR_REQUEST_TOO_LARGE", skipCrlfs);
  const h = r.head;
  if (c.gen !== null && r.error?.code === "WS_ERR_MALFORMED_REQUEST") fail(name, c, `a well-formed head refused: ${r.error.message}`);
  if (!h) return r.error?.code ?? "incomplete";
  if (!FIELD_NAME.test(h.method.toLowerCase()) || /[\x00-\x20\x7f]/.test(h.url) || h.url === "" || !/^\d\.\d$/.test(h.httpVersion)) fail(name, c, "a malformed request line was accepted");
  const pairs = headerPairs(h.text);
  for (const [n, v] of pairs) if (!FIELD_NAME.test(n.toLowerCase()) || !goodValue(v)) fail(name, c, `malformed field ${JSON.stringify(n)} accepted`);
  if (c.gen !== null) {
    const g = c.gen;
    if (h.method !== g.method || h.url !== g.url || h.httpVersion !== g.version) fail(name, c, "request line differs from the one generated");
    const want = g.fields.map(([n, v]) => [n, v.trim()]);
    if (JSON.stringify(pairs) !== JSON.stringify(want)) fail(name, c, "header fields differ from those generated");
    for (const [n] of want) if (!(n.toLowerCase() in h.headers)) fail(name, c, `header ${n} missing from the map`);
  }
  // Serialized again, it parses to the same head.
  const again = latin1(`${h.method} ${h.url} HTTP/${h.httpVersion}\r\n` + pairs.map(([n, v]) => `${n}: ${v}\r\n`).join("") + "\r\n");
  const h2 = parseRequestHead(again, again.length);
  if (!h2 || h2.method !== h.method || h2.url !== h.url || JSON.stringify(h2.headers) !== JSON.stringify(h.headers)) fail(name, c, "does not parse the same once serialized again");
  return "parsed";
}

// ---- response heads ----

const RESPONSE_ALLOWED = { WS_ERR_INVALID_RESPONSE: 0, WS_ERR_RESPONSE_TOO_LARGE: 0 };
const responseValid = fc
  .record({
    version: fc.constantFrom("1.1", "1.0"),
    status: fc.integer({ min: 100, max: 999 }),
    reason: fc.option(fieldText, { nil: null }),
    fields: fc.array(field, { maxLength: 6 }),
    body: fc.uint8Array({ maxLength: 8 }),
    maxSize: fc.constantFrom(...MAX_SIZES),
  })
  .map((g) => {
    const head = `HTTP/${g.version} ${g.status}${g.reason === null ? "" : " " + g.reason}\r\n` + g.fields.map(([n, v]) => `${n}: ${v}\r\n`).join("") + "\r\n";
    return { bytes: Buffer.concat([latin1(head), Buffer.from(g.body)]), maxSize: g.maxSize, gen: g };
  });

function checkResponse(c) {
  const name = "response-head";
  const r = commonChecks(name, c, parseResponseHead, RESPONSE_ALLOWED, "WS_ERR_RESPONSE_TOO_LARGE", () => 0);
  const h = r.head;
  if (c.gen !== null && r.error?.code === "WS_ERR_INVALID_RESPONSE") fail(name, c, `a well-formed head refused: ${r.error.message}`);
  if (!h) return r.error?.code ?? "incomplete";
  // RFC 7230 §3.1.2: status-code = 3DIGIT (its meaning, 101 here, is checked by validateUpgradeResponse).
  if (!(h.statusCode >= 0 && h.statusCode <= 999) || /[\r\n]/.test(h.statusText)) fail(name, c, "a malformed status line was accepted");
  for (const [n, v] of Object.entries(h.headers)) if (!FIELD_NAME.test(n) || !/^[^\x00-\x08\x0a-\x1f\x7f]*$/.test(v)) fail(name, c, `malformed field ${JSON.stringify(n)} accepted`);
  if (c.gen !== null) {
    const g = c.gen;
    if (h.statusCode !== g.status || h.statusText !== (g.reason ?? "")) fail(name, c, "status line differs from the one generated");
    const want = {};
    for (const [n, v] of g.fields) {
      const k = n.toLowerCase();
      want[k] = Object.hasOwn(want, k) ? `${want[k]}, ${v.trim()}` : v.trim();
    }
    if (JSON.stringify(h.headers) !== JSON.stringify(want)) fail(name, c, "header fields differ from those generated");
  }
  // Serialized again (repeated fields already joined), it parses to the same head.
  const again = latin1(`HTTP/1.1 ${String(h.statusCode).padStart(3, "0")} ${h.statusText}\r\n` + Object.entries(h.headers).map(([n, v]) => `${n}: ${v}\r\n`).join("") + "\r\n");
  const h2 = parseResponseHead(again, again.length);
  // (A joined value may end in ", " when a repeated field was empty: that space goes once written on one line.)
  const trimmed = JSON.stringify(Object.fromEntries(Object.entries(h.headers).map(([n, v]) => [n, v.trim()])));
  if (!h2 || h2.statusCode !== h.statusCode || JSON.stringify(h2.headers) !== trimmed) fail(name, c, "does not parse the same once serialized again");
  return "parsed";
}

const fromCorpus = (bytes) => MAX_SIZES.map((maxSize) => ({ bytes, maxSize, gen: null }));

export const requestHead = { name: "request-head", corpusExt: "txt", arbitrary: withMutations(requestValid), check: checkRequest, casesFromCorpus: fromCorpus };
export const responseHead = { name: "response-head", corpusExt: "txt", arbitrary: withMutations(responseValid), check: checkResponse, casesFromCorpus: fromCorpus };
