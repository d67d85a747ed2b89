/**
 * permessage-deflate negotiation (RFC 7692 §5 and §7.1), sans-I/O: server-side offer selection and response,
 * client-side offer and validation of the server's answer. Compression itself lives in src/node/deflate.ts.
 */
import { HandshakeError } from "../errors.js";
import { formatExtension, parseExtensions, type ExtensionParam } from "./header.js";

export const PERMESSAGE_DEFLATE = "permessage-deflate";

/** Smallest and largest LZ77 window, as base-2 logarithms (RFC 7692 §7.1.2). */
export const MIN_WINDOW_BITS = 8;
export const MAX_WINDOW_BITS = 15;

/** The parameters in effect once negotiated: what each side compresses with. */
export interface DeflateParams {
  /** The server resets its compression context after each message. */
  serverNoContextTakeover: boolean;
  /** The client resets its compression context after each message. */
  clientNoContextTakeover: boolean;
  /** Largest window the server compresses with (the client inflates with at least this). */
  serverMaxWindowBits: number;
  /** Largest window the client compresses with (the server inflates with at least this). */
  clientMaxWindowBits: number;
}

/** Server policy: what the server asks for and accepts. */
export interface ServerDeflateNegotiation {
  /** Always answer server_no_context_takeover (the server keeps no compression context between messages). */
  serverNoContextTakeover: boolean;
  /** Always answer client_no_context_takeover (the server keeps no decompression context between messages). */
  clientNoContextTakeover: boolean;
  /** Largest window the server compresses with, 8..15. */
  serverMaxWindowBits: number;
  /** Largest window asked of the client, 8..15; applies only when the client offers client_max_window_bits. */
  clientMaxWindowBits: number;
}

/** Client policy: what the client offers. */
export interface ClientDeflateNegotiation {
  /** Ask the server to reset its compression context after each message (server_no_context_takeover). */
  serverNoContextTakeover: boolean;
  /** Declare that the client resets its compression context after each message (client_no_context_takeover). */
  clientNoContextTakeover: boolean;
  /** Ask the server to compress with at most this window (server_max_window_bits=N), or null to not ask. */
  serverMaxWindowBits: number | null;
  /**
   * client_max_window_bits: `true` offers the parameter without a value (the server may then limit the client's
   * window), a number offers it with that value (the client compresses with at most that window), null omits it.
   */
  clientMaxWindowBits: number | true | null;
}

/** The permessage-deflate parameters of one offer or answer, as written (null: absent; true: no value). */
interface DeflateParamSet {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number | null;
  clientMaxWindowBits: number | true | null;
}

// RFC 7692 §7.1.2.1: "This parameter has a decimal integer value without leading zeroes between 8 to 15,
// inclusive, indicating the base-2 logarithm of the LZ77 sliding window size".
const WINDOW_BITS_RE = /^(?:8|9|1[0-5])$/;

/**
 * Reads the parameters of one element. Returns an error message for what RFC 7692 §5.1 (server) and §5.2 (client)
 * make the receiver decline/fail: a parameter not defined for this direction, an invalid value, or
 * "multiple extension parameters with the same name".
 */
function readParams(params: readonly ExtensionParam[], isResponse: boolean): DeflateParamSet | string {
  const set: DeflateParamSet = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: null,
    clientMaxWindowBits: null,
  };
  const seen = new Set<string>();
  for (const p of params) {
    if (seen.has(p.name)) return `parameter ${p.name} is repeated`;
    seen.add(p.name);
    switch (p.name) {
      case "server_no_context_takeover":
      case "client_no_context_takeover":
        // RFC 7692 §7.1.1.1/§7.1.1.2: "This extension parameter has no value."
        if (p.value !== null) return `parameter ${p.name} must not have a value`;
        if (p.name === "server_no_context_takeover") set.serverNoContextTakeover = true;
        else set.clientNoContextTakeover = true;
        break;
      case "server_max_window_bits":
        if (p.value === null || !WINDOW_BITS_RE.test(p.value)) {
          return `parameter server_max_window_bits must be an integer from 8 to 15, got ${p.value === null ? "no value" : JSON.stringify(p.value)}`;
        }
        set.serverMaxWindowBits = Number(p.value);
        break;
      case "client_max_window_bits":
        if (p.value === null) {
          // RFC 7692 §7.1.2.2: in an offer, the parameter "may have no value"; a response must give one.
          if (isResponse) return "parameter client_max_window_bits must have a value in a response";
          set.clientMaxWindowBits = true;
        } else {
          if (!WINDOW_BITS_RE.test(p.value)) {
            return `parameter client_max_window_bits must be an integer from 8 to 15, got ${JSON.stringify(p.value)}`;
          }
          set.clientMaxWindowBits = Number(p.value);
        }
        break;
      default:
        return `unknown parameter ${p.name}`;
    }
  }
  return set;
}

/** What a server answers: the parameters in effect and the Sec-WebSocket-Extensions response value. */
export interface DeflateAgreement {
  params: DeflateParams;
  /** Value for the Sec-WebSocket-Extensions response header. */
  response: string;
}

/** Why each offer was declined (for logs and tests); the index is the offer's position in the list. */
export interface DeclinedOffer {
  index: number;
  reason: string;
}

/**
 * Server side (RFC 7692 §5.1): picks the first acceptable permessage-deflate offer of a Sec-WebSocket-Extensions
 * request header and builds the answer. Returns null when no offer is acceptable (the connection then goes on
 * without compression). `declined`, when given, collects why offers were declined.
 */
export function negotiateServer(
  header: string | undefined,
  policy: ServerDeflateNegotiation,
  declined?: DeclinedOffer[],
): DeflateAgreement | null {
  if (header === undefined) return null;
  const elements = parseExtensions(header);
  for (let i = 0; i < elements.length; i++) {
    const el = elements[i]!;
    if (el.name !== PERMESSAGE_DEFLATE) {
      // Other extensions (and unnamed broken elements) are not supported: declined without a word.
      if (el.error !== null) declined?.push({ index: i, reason: el.error });
      continue;
    }
    if (el.error !== null) {
      declined?.push({ index: i, reason: el.error });
      continue;
    }
    const offer = readParams(el.params, false);
    if (typeof offer === "string") {
      // RFC 7692 §5.1: "A server MUST decline an extension negotiation offer for this extension if any of the
      // following conditions are met: [...] an extension parameter not defined for use in an offer, [...] an
      // extension parameter with an invalid value, [...] multiple extension parameters with the same name".
      declined?.push({ index: i, reason: offer });
      continue;
    }
    const result = acceptOffer(offer, policy);
    if (typeof result === "string") {
      declined?.push({ index: i, reason: result });
      continue;
    }
    // RFC 7692 §5: the server accepts at most one offer, and "the first acceptable one wins" is the client's
    // order of preference (RFC 6455 §9.1).
    return result;
  }
  return null;
}

function acceptOffer(offer: DeflateParamSet, policy: ServerDeflateNegotiation): DeflateAgreement | string {
  const out: ExtensionParam[] = [];
  // RFC 7692 §7.1.1.1: a server accepting an offer with server_no_context_takeover "MUST include the
  // server_no_context_takeover extension parameter in the response"; it MAY include it even if not offered.
  const serverNoContextTakeover = offer.serverNoContextTakeover || policy.serverNoContextTakeover;
  if (serverNoContextTakeover) out.push({ name: "server_no_context_takeover", value: null });
  // RFC 7692 §7.1.1.2: a server MAY include client_no_context_takeover even if not offered. When the client
  // offered it, it is echoed so that the client's promise is binding for both ends.
  const clientNoContextTakeover = offer.clientNoContextTakeover || policy.clientNoContextTakeover;
  if (clientNoContextTakeover) out.push({ name: "client_no_context_takeover", value: null });

  // RFC 7692 §7.1.2.1: "A server accepts an extension negotiation offer with this parameter by including the
  // server_max_window_bits extension parameter in the extension negotiation response to send back to the
  // client with the same or smaller value as the offer." A server MAY include it even if not offered.
  let serverBits = policy.serverMaxWindowBits;
  if (offer.serverMaxWindowBits !== null) {
    serverBits = Math.min(serverBits, offer.serverMaxWindowBits);
    out.push({ name: "server_max_window_bits", value: String(serverBits) });
  } else if (serverBits < MAX_WINDOW_BITS) {
    out.push({ name: "server_max_window_bits", value: String(serverBits) });
  }

  // RFC 7692 §7.1.2.2: "If a received extension negotiation offer doesn't have the client_max_window_bits
  // extension parameter, the corresponding extension negotiation response to the offer MUST NOT include the
  // client_max_window_bits extension parameter." With a value, the response value must be equal or smaller.
  let clientBits = MAX_WINDOW_BITS;
  if (offer.clientMaxWindowBits !== null) {
    const limit = offer.clientMaxWindowBits === true ? MAX_WINDOW_BITS : offer.clientMaxWindowBits;
    clientBits = Math.min(limit, policy.clientMaxWindowBits);
    if (clientBits < limit) out.push({ name: "client_max_window_bits", value: String(clientBits) });
  }
  return {
    params: { serverNoContextTakeover, clientNoContextTakeover, serverMaxWindowBits: serverBits, clientMaxWindowBits: clientBits },
    response: formatExtension(PERMESSAGE_DEFLATE, out),
  };
}

/** Client side: the Sec-WebSocket-Extensions offer for a client policy (RFC 7692 §5). */
export function buildClientOffer(policy: ClientDeflateNegotiation): string {
  const params: ExtensionParam[] = [];
  if (policy.serverNoContextTakeover) params.push({ name: "server_no_context_takeover", value: null });
  if (policy.clientNoContextTakeover) params.push({ name: "client_no_context_takeover", value: null });
  if (policy.serverMaxWindowBits !== null) params.push({ name: "server_max_window_bits", value: String(policy.serverMaxWindowBits) });
  if (policy.clientMaxWindowBits !== null) {
    params.push({ name: "client_max_window_bits", value: policy.clientMaxWindowBits === true ? null : String(policy.clientMaxWindowBits) });
  }
  return formatExtension(PERMESSAGE_DEFLATE, params);
}

function answerError(message: string): HandshakeError {
  return new HandshakeError(`invalid permessage-deflate answer: ${message}`, 101, "WS_ERR_INVALID_EXTENSION");
}

/**
 * Client side (RFC 7692 §5.2): checks the server's Sec-WebSocket-Extensions answer against the offer built from
 * `policy` and returns the parameters in effect. Throws HandshakeError (code WS_ERR_INVALID_EXTENSION) for an
 * answer the client must fail the connection on.
 */
export function validateServerAnswer(header: string, policy: ClientDeflateNegotiation): DeflateParams {
  const elements = parseExtensions(header);
  if (elements.length === 0) throw answerError(`empty header ${JSON.stringify(header)}`);
  for (const el of elements) {
    if (el.error !== null) throw answerError(`malformed header ${JSON.stringify(header)}: ${el.error}`);
    // RFC 6455 §4.1: "The use of an extension not present in the client's handshake [...] MUST _Fail the
    // WebSocket Connection_."
    if (el.name !== PERMESSAGE_DEFLATE) throw answerError(`server accepted extension ${el.name}, which was not offered`);
  }
  // RFC 7692 §5.2: the client fails the connection when the response has more than one element for
  // permessage-deflate (only one offer was made).
  if (elements.length > 1) throw answerError("server accepted permessage-deflate more than once");
  const answer = readParams(elements[0]!.params, true);
  // RFC 7692 §5.2: the client MUST _Fail the WebSocket Connection_ if the response has an extension parameter
  // not defined for use in a response, with an invalid value, or repeated.
  if (typeof answer === "string") throw answerError(answer);

  // RFC 7692 §7.1.1.1: a server accepting an offer with server_no_context_takeover MUST include it.
  if (policy.serverNoContextTakeover && !answer.serverNoContextTakeover) {
    throw answerError("server did not accept server_no_context_takeover, which the client requires");
  }
  // RFC 7692 §7.1.2.1: server_max_window_bits in the response is "the same or smaller value as the offer";
  // a server accepting an offer with it includes it.
  let serverBits = MAX_WINDOW_BITS;
  if (answer.serverMaxWindowBits !== null) {
    if (policy.serverMaxWindowBits !== null && answer.serverMaxWindowBits > policy.serverMaxWindowBits) {
      throw answerError(`server_max_window_bits=${answer.serverMaxWindowBits} is larger than the ${policy.serverMaxWindowBits} offered`);
    }
    serverBits = answer.serverMaxWindowBits;
  } else if (policy.serverMaxWindowBits !== null) {
    throw answerError(`server did not accept server_max_window_bits=${policy.serverMaxWindowBits}, which the client requires`);
  }
  // RFC 7692 §7.1.2.2: the response MUST NOT include client_max_window_bits when the offer did not; with a value
  // offered, the answer is "equal to or smaller than the received value".
  let clientBits = typeof policy.clientMaxWindowBits === "number" ? policy.clientMaxWindowBits : MAX_WINDOW_BITS;
  if (answer.clientMaxWindowBits !== null) {
    if (policy.clientMaxWindowBits === null) throw answerError("server answered client_max_window_bits, which was not offered");
    const bits = answer.clientMaxWindowBits as number;
    if (typeof policy.clientMaxWindowBits === "number" && bits > policy.clientMaxWindowBits) {
      throw answerError(`client_max_window_bits=${bits} is larger than the ${policy.clientMaxWindowBits} offered`);
    }
    clientBits = bits;
  }
  return {
    serverNoContextTakeover: answer.serverNoContextTakeover,
    // RFC 7692 §7.1.1.2: the client that offered client_no_context_takeover keeps its promise either way.
    clientNoContextTakeover: answer.clientNoContextTakeover || policy.clientNoContextTakeover,
    serverMaxWindowBits: serverBits,
    clientMaxWindowBits: clientBits,
  };
}
