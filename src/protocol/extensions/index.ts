/** Extension negotiation (RFC 6455 §9, RFC 7692): the header grammar and permessage-deflate parameters. */
export {
  parseExtensions,
  formatExtension,
  isExtensionToken,
  type ExtensionElement,
  type ExtensionParam,
} from "./header.js";
export {
  PERMESSAGE_DEFLATE,
  MIN_WINDOW_BITS,
  MAX_WINDOW_BITS,
  negotiateServer,
  buildClientOffer,
  validateServerAnswer,
  type DeflateParams,
  type DeflateAgreement,
  type DeclinedOffer,
  type ServerDeflateNegotiation,
  type ClientDeflateNegotiation,
} from "./permessage-deflate.js";
