// A reference reading of RFC 6455 §5 frame streams for the fuzz targets, written from the RFC and independent of
// src/protocol/frame-rules.ts: where each frame lies, what it carries, and which rule the first bad frame breaks
// (with the byte count at which a parser can first know it). Not a test file.

/** The rules a frame header can break, by stable code, with the close code RFC 6455 §7.4.1 gives them. */
export const RULES = {
  WS_ERR_UNEXPECTED_RSV_2_3: 1002, // §5.2: RSV2/RSV3 set without an extension that defines them
  WS_ERR_UNEXPECTED_RSV_1: 1002, // §5.2 / RFC 7692 §6: RSV1 without permessage-deflate, on a control or continuation frame
  WS_ERR_INVALID_OPCODE: 1002, // §5.2: reserved opcodes 0x3-0x7, 0xB-0xF
  WS_ERR_EXPECTED_FIN: 1002, // §5.5: control frames MUST NOT be fragmented
  WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH: 1002, // §5.5: control payload at most 125 bytes
  WS_ERR_INVALID_CONTINUATION: 1002, // §5.4: continuation with no message in progress
  WS_ERR_EXPECTED_CONTINUATION: 1002, // §5.4: a new data frame inside a fragmented message
  WS_ERR_EXPECTED_MASK: 1002, // §5.1: a server MUST fail on an unmasked frame
  WS_ERR_UNEXPECTED_MASK: 1002, // §5.1: a client MUST fail on a masked frame
  WS_ERR_INVALID_64BIT_LENGTH: 1002, // §5.2: the most significant bit of the 64-bit length MUST be 0
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: 1009, // §7.4.1: a message too big to process (maxPayload)
};

/** Every rule the frame with first octets b0, b1 breaks, given the fragmentation state (0: no message open). */
function headerViolations(b0, b1, fragmentOpcode, allowRsv1, isServer) {
  const out = [];
  const fin = (b0 & 0x80) !== 0;
  const rsv1 = (b0 & 0x40) !== 0;
  const opcode = b0 & 0x0f;
  const masked = (b1 & 0x80) !== 0;
  const len7 = b1 & 0x7f;
  if (b0 & 0x30) out.push("WS_ERR_UNEXPECTED_RSV_2_3");
  if ((opcode >= 3 && opcode <= 7) || opcode >= 0xb) out.push("WS_ERR_INVALID_OPCODE");
  if (opcode >= 8) {
    if (!fin) out.push("WS_ERR_EXPECTED_FIN");
    if (len7 > 125) out.push("WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH");
    if (rsv1) out.push("WS_ERR_UNEXPECTED_RSV_1");
  } else if (opcode === 0) {
    if (fragmentOpcode === 0) out.push("WS_ERR_INVALID_CONTINUATION");
    if (rsv1) out.push("WS_ERR_UNEXPECTED_RSV_1");
  } else if (opcode <= 2) {
    if (fragmentOpcode !== 0) out.push("WS_ERR_EXPECTED_CONTINUATION");
    if (rsv1 && !allowRsv1) out.push("WS_ERR_UNEXPECTED_RSV_1");
  }
  if (isServer && !masked) out.push("WS_ERR_EXPECTED_MASK");
  if (!isServer && masked) out.push("WS_ERR_UNEXPECTED_MASK");
  return out;
}

/**
 * Walks `buf` as a frame stream received by a server (`isServer`) or a client. Returns the complete frames before
 * the first bad one ({ opcode, fin, rsv1 (the message's), masked, key, payload (unmasked), start, end, form }),
 * `consumed` (bytes of those frames), and `error`: null, or { codes: the rules broken, closeCode, at: how many
 * bytes of input it takes to know }.
 */
export function referenceFrames(buf, { isServer, allowRsv1, maxPayload }) {
  const frames = [];
  let p = 0;
  let fragmentOpcode = 0;
  let fragmentRsv1 = false;
  let messageLength = 0;
  const fail = (codes, at) => ({ frames, consumed: p, error: { codes, closeCode: RULES[codes[0]], at } });
  for (;;) {
    if (buf.length - p < 2) break;
    const b0 = buf[p];
    const b1 = buf[p + 1];
    const bad = headerViolations(b0, b1, fragmentOpcode, allowRsv1, isServer);
    if (bad.length > 0) return fail(bad, p + 2);
    const opcode = b0 & 0x0f;
    let q = p + 2;
    let len = b1 & 0x7f;
    let form = 7;
    if (len === 126) {
      if (buf.length - q < 2) break;
      len = buf.readUInt16BE(q);
      q += 2;
      form = 16;
    } else if (len === 127) {
      if (buf.length - q < 8) break;
      const big = buf.readBigUInt64BE(q);
      q += 8;
      form = 64;
      if (big >> 63n) return fail(["WS_ERR_INVALID_64BIT_LENGTH"], q);
      len = big > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(big);
    }
    if (opcode < 8) {
      const total = (opcode === 0 ? messageLength : 0) + len;
      if (total > maxPayload) return fail(["WS_ERR_UNSUPPORTED_MESSAGE_LENGTH"], q);
    }
    const masked = (b1 & 0x80) !== 0;
    let key = null;
    if (masked) {
      if (buf.length - q < 4) break;
      key = Buffer.from(buf.subarray(q, q + 4));
      q += 4;
    }
    if (buf.length - q < len) break;
    const payload = Buffer.from(buf.subarray(q, q + len));
    if (key) for (let i = 0; i < len; i++) payload[i] ^= key[i & 3];
    const fin = (b0 & 0x80) !== 0;
    let rsv1 = (b0 & 0x40) !== 0;
    if (opcode < 8) {
      if (opcode === 0) rsv1 = fragmentRsv1;
      const messageOpcode = opcode === 0 ? fragmentOpcode : opcode;
      if (fin) {
        fragmentOpcode = 0;
        fragmentRsv1 = false;
        messageLength = 0;
      } else {
        fragmentOpcode = messageOpcode;
        fragmentRsv1 = rsv1;
        messageLength += len;
      }
    }
    frames.push({ opcode, fin, rsv1, masked, key, payload, start: p, end: q + len, form });
    p = q + len;
  }
  return { frames, consumed: p, error: null };
}
