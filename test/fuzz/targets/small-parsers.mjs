// Fuzz targets "extensions" (RFC 6455 §9.1 Sec-WebSocket-Extensions, src/protocol/extensions/), "close" (RFC 6455
// §5.5.1 close payloads, src/protocol/close.ts) and "chat" (the chat JSON protocol, src/chat/protocol.ts).
import fc from "fast-check";
import {
  ProtocolError,
  HandshakeError,
  parseClosePayload,
  serializeClosePayload,
  isValidWireCloseCode,
  parseExtensions,
  formatExtension,
  negotiateServer,
  validateServerAnswer,
} from "../../../dist/protocol/index.js";
import { CHAT_LIMITS, ChatError, parseClientMessage } from "../../../dist/chat/protocol.js";

function failWith(name, input, message) {
  const err = new Error(`${name}: ${message} input ${JSON.stringify(typeof input === "string" ? input.slice(0, 300) : Buffer.from(input).toString("hex").slice(0, 300))}`);
  err.input = typeof input === "string" ? Buffer.from(input, "utf8") : Buffer.from(input);
  throw err;
}

// ---- extensions ----
// Properties: parseExtensions never throws; an element without error has a token name and token parameters, and
// formatted again it parses to itself; generated lists parse to exactly what was generated; negotiateServer() never
// throws and its answer is one validateServerAnswer() accepts; validateServerAnswer() throws only HandshakeError.

const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const token = fc.string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: 10 });
const ows = fc.constantFrom("", " ", "\t", "  ");
const DEFLATE_PARAMS = ["server_no_context_takeover", "client_no_context_takeover", "server_max_window_bits", "client_max_window_bits"];
const param = fc.record({
  name: fc.oneof(token, fc.constantFrom(...DEFLATE_PARAMS)),
  value: fc.option(fc.oneof(token, fc.constantFrom("8", "9", "10", "15", "16", "08")), { nil: null }),
  quoted: fc.boolean(),
  sp: fc.tuple(ows, ows),
});
const element = fc.record({ name: fc.oneof(token, fc.constant("permessage-deflate")), params: fc.array(param, { maxLength: 4 }) });
const extValid = fc.array(element, { minLength: 1, maxLength: 3 }).map((els) => ({
  els,
  text: els
    .map((e) => e.name + e.params.map((p) => `${p.sp[0]};${p.sp[1]}${p.name}${p.value === null ? "" : "=" + (p.quoted ? `"${p.value.replace(/./g, (ch) => (ch === "5" ? "\\5" : ch))}"` : p.value)}`).join(""))
    .join(", "),
}));
const EXT_EDGE = [",", ";", "=", '"', "\\", " ", "\t", "\x00", "é", "permessage-deflate", "client_max_window_bits", "=15"];
const extArbitrary = fc.oneof(
  extValid,
  fc.tuple(extValid, fc.array(fc.tuple(fc.nat(), fc.constantFrom(...EXT_EDGE), fc.boolean()), { minLength: 1, maxLength: 4 })).map(([v, ms]) => {
    let s = v.text;
    for (const [at, edge, del] of ms) {
      const i = at % (s.length + 1);
      s = del ? s.slice(0, i) + s.slice(i + 1) : s.slice(0, i) + edge + s.slice(i);
    }
    return { els: null, text: s };
  }),
  fc.string({ maxLength: 40 }).map((text) => ({ els: null, text })),
);

const SERVER_POLICIES = [
  { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 15, clientMaxWindowBits: 15 },
  { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 10, clientMaxWindowBits: 9 },
];

function checkExtensions(c) {
  const name = "extensions";
  const fail = (m) => failWith(name, c.text, m);
  let els;
  try {
    els = parseExtensions(c.text);
  } catch (err) {
    fail(`parseExtensions threw ${err?.name}: ${err?.message}`);
  }
  for (const el of els) {
    if (el.error !== null) continue;
    if (!/^[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(el.name)) fail(`element name ${JSON.stringify(el.name)} is not a lower-case token`);
    for (const p of el.params) {
      if (!/^[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(p.name) || (p.value !== null && !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(p.value))) fail(`parameter ${JSON.stringify(p)} is not made of tokens`);
    }
    const again = parseExtensions(formatExtension(el.name, el.params));
    if (JSON.stringify(again) !== JSON.stringify([el])) fail(`element ${JSON.stringify(el)} does not parse to itself once formatted`);
  }
  if (c.els !== null) {
    const want = c.els.map((e) => ({ name: e.name.toLowerCase(), params: e.params.map((p) => ({ name: p.name.toLowerCase(), value: p.value })), error: null }));
    if (JSON.stringify(els) !== JSON.stringify(want)) fail(`parsed ${JSON.stringify(els)}, generated ${JSON.stringify(want)}`);
  }
  for (const policy of SERVER_POLICIES) {
    let agreement;
    try {
      agreement = negotiateServer(c.text, policy);
    } catch (err) {
      fail(`negotiateServer threw ${err?.name}: ${err?.message}`);
    }
    if (agreement !== null) {
      // The server's answer is one a client that offered the most permissive parameters accepts.
      const client = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: null, clientMaxWindowBits: true };
      try {
        validateServerAnswer(agreement.response, client);
      } catch (err) {
        fail(`the server's answer ${JSON.stringify(agreement.response)} fails the client: ${err?.message}`);
      }
    }
  }
  try {
    validateServerAnswer(c.text, { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: null, clientMaxWindowBits: true });
  } catch (err) {
    if (!(err instanceof HandshakeError) || err.code !== "WS_ERR_INVALID_EXTENSION") fail(`validateServerAnswer threw ${err?.name} ${err?.code}`);
  }
  return els.some((e) => e.error !== null) ? "element error" : "parsed";
}

export const extensions = {
  name: "extensions",
  corpusExt: "txt",
  arbitrary: extArbitrary,
  check: checkExtensions,
  casesFromCorpus: (bytes) => [{ els: null, text: bytes.toString("utf8") }],
};

// ---- close ----
// Properties: parseClosePayload either returns a code valid on the wire and a reason that serialize back to the
// very payload (or 1005 for an empty one), or throws a ProtocolError for the rule broken: 1002 for a 1-byte
// payload or a code not allowed on the wire (RFC 6455 §7.4), 1007 for a reason that is not UTF-8 (§5.5.1).

const STRICT = new TextDecoder("utf-8", { fatal: true });
const CODES = [0, 999, 1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1011, 1012, 1014, 1015, 1016, 2999, 3000, 4999, 5000, 65535];
const closeArbitrary = fc.oneof(
  fc.uint8Array({ maxLength: 125 }),
  fc.tuple(fc.oneof(fc.constantFrom(...CODES), fc.nat(65535)), fc.oneof(fc.string({ maxLength: 40 }).map((s) => Buffer.from(s)), fc.uint8Array({ maxLength: 20 }))).map(([code, reason]) => {
    const b = Buffer.alloc(2 + Math.min(reason.length, 123));
    b.writeUInt16BE(code, 0);
    Buffer.from(reason).copy(b, 2, 0, 123);
    return b;
  }),
).map((u) => ({ bytes: Buffer.from(u) }));

function checkClose(c) {
  const b = c.bytes;
  const fail = (m) => failWith("close", b, m);
  let expected = null;
  if (b.length === 1) expected = ["WS_ERR_INVALID_CLOSE_PAYLOAD", 1002];
  else if (b.length >= 2 && !isValidCode(b.readUInt16BE(0))) expected = ["WS_ERR_INVALID_CLOSE_CODE", 1002];
  else if (b.length >= 2 && !utf8ok(b.subarray(2))) expected = ["WS_ERR_INVALID_UTF8", 1007];
  let r;
  try {
    r = parseClosePayload(b);
  } catch (err) {
    if (!(err instanceof ProtocolError)) fail(`threw ${err?.name}: ${err?.message}`);
    if (expected === null || err.code !== expected[0] || err.closeCode !== expected[1]) fail(`threw ${err.code} ${err.closeCode}, expected ${expected ?? "no error"}`);
    return err.code;
  }
  if (expected !== null) fail(`accepted, expected ${expected[0]}`);
  if (b.length === 0) {
    if (r.code !== 1005 || r.reason !== "") fail("an empty payload is not 1005");
  } else {
    if (!isValidWireCloseCode(r.code)) fail(`accepted code ${r.code}`);
    if (!serializeClosePayload(r.code, r.reason).equals(b)) fail("does not serialize back to the payload");
  }
  return "parsed";
}

/** RFC 6455 §7.4.1/§7.4.2 and the IANA registry: the codes an endpoint may receive. */
function isValidCode(code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}
function utf8ok(bytes) {
  try {
    STRICT.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

export const close = { name: "close", corpusExt: "bin", arbitrary: closeArbitrary, check: checkClose, casesFromCorpus: (bytes) => [{ bytes }] };

// ---- chat ----
// Properties: parseClientMessage returns a message of a known type whose fields meet the documented limits, which
// serialized again parses to itself, or throws a ChatError with a documented code (never another exception); a
// message past maxMessageBytes is refused as too-long before it is parsed.

const CHAT_CODES = new Set(["bad-json", "too-long", "unknown-type", "bad-field"]);
const SMALL_LIMITS = { ...CHAT_LIMITS, maxMessageBytes: 200, maxTextLength: 50, maxNickLength: 8, maxRoomLength: 8 };
const anyValue = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.constant(null), fc.boolean(), fc.constant([]), fc.constant({}));
const uuid = fc.uuid();
const chatObject = fc.record(
  {
    type: fc.oneof(fc.constantFrom("message", "private", "nick", "join", "leave", "who"), fc.string({ maxLength: 8 }), fc.integer()),
    text: fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: "grapheme", maxLength: 8 }), anyValue),
    room: fc.oneof(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,9}$/), anyValue),
    to: fc.oneof(uuid, uuid.map((u) => u.toUpperCase()), anyValue),
    nick: fc.oneof(fc.string({ unit: "grapheme", maxLength: 12 }), fc.string({ maxLength: 12 }), anyValue),
  },
  { requiredKeys: [] },
);
const chatArbitrary = fc
  .tuple(
    fc.oneof(
      { weight: 4, arbitrary: chatObject.map((o) => JSON.stringify(o)) },
      { weight: 1, arbitrary: fc.json({ maxDepth: 3 }) },
      { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
      { weight: 1, arbitrary: chatObject.chain((o) => fc.tuple(fc.nat(), fc.nat(3)).map(([at, n]) => { const s = JSON.stringify(o); const i = at % (s.length + 1); return s.slice(0, i) + s.slice(i + n); })) },
    ),
    fc.boolean(),
  )
  .map(([data, small]) => ({ data, limits: small ? SMALL_LIMITS : CHAT_LIMITS }));

function checkChat(c) {
  const fail = (m) => failWith("chat", c.data, m);
  const L = c.limits;
  let m;
  try {
    m = parseClientMessage(c.data, L);
  } catch (err) {
    if (!(err instanceof ChatError) || !CHAT_CODES.has(err.code)) fail(`threw ${err?.name} ${err?.code}: ${err?.message}`);
    if (Buffer.byteLength(c.data) > L.maxMessageBytes && err.code !== "too-long") fail(`an oversized message gave ${err.code}`);
    return err.code;
  }
  if (Buffer.byteLength(c.data) > L.maxMessageBytes) fail("an oversized message was accepted");
  const room = (r) => typeof r === "string" && r.length >= 1 && r.length <= L.maxRoomLength && /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(r);
  const text = (t) => typeof t === "string" && t.trim() !== "" && t.length <= L.maxTextLength;
  const ok =
    (m.type === "message" && text(m.text) && (m.room === undefined || room(m.room))) ||
    (m.type === "private" && text(m.text) && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(m.to)) ||
    (m.type === "nick" && typeof m.nick === "string" && m.nick === m.nick.trim() && m.nick !== "" && [...m.nick].length <= L.maxNickLength && !/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(m.nick)) ||
    ((m.type === "join" || m.type === "leave") && room(m.room)) ||
    (m.type === "who" && Object.keys(m).length === 1);
  if (!ok) fail(`accepted a message that breaks the protocol: ${JSON.stringify(m)}`);
  const again = parseClientMessage(JSON.stringify(m), L);
  if (JSON.stringify(again) !== JSON.stringify(m)) fail(`does not parse to itself once serialized: ${JSON.stringify(m)}`);
  return m.type;
}

export const chat = {
  name: "chat",
  corpusExt: "txt",
  arbitrary: chatArbitrary,
  check: checkChat,
  casesFromCorpus: (bytes) => [CHAT_LIMITS, SMALL_LIMITS].map((limits) => ({ data: bytes.toString("utf8"), limits })),
};
