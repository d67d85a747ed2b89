/**
 * The rules RFC 6455 (§5.1, §5.2, §5.4, §5.5) and RFC 7692 (§6) set on the first two octets of a frame header,
 * given the parser's state: reserved bits and opcodes, control frames, fragmentation order and masking by role.
 * Each violation is a ProtocolError with close code 1002 and its stable code.
 */
import { CloseCode, MAX_CONTROL_PAYLOAD, Opcode } from "./constants.js";
import { ProtocolError } from "./errors.js";

/**
 * Checks a frame header's first octets `b0` and `b1`. `fragmentOpcode` is the opcode of the fragmented message in
 * progress (0 if none), `allowRsv1` whether an extension gave RSV1 a meaning, `isServer` whether this end is the
 * server. Throws ProtocolError on the first rule the frame breaks.
 */
export function checkFrameHeader(b0: number, b1: number, fragmentOpcode: number, allowRsv1: boolean, isServer: boolean): void {
  const opcode = b0 & 0x0f;
  const fin = (b0 & 0x80) !== 0;
  const rsv1 = (b0 & 0x40) !== 0;
  const masked = (b1 & 0x80) !== 0;
  const len7 = b1 & 0x7f;

  // RFC 6455 §5.2: RSV1-3 MUST be 0 unless an extension is negotiated that defines meanings for them.
  if ((b0 & 0x30) !== 0) {
    throw new ProtocolError("RSV2 and RSV3 must be clear", CloseCode.ProtocolError, "WS_ERR_UNEXPECTED_RSV_2_3");
  }
  const isControl = (opcode & 0x08) !== 0;
  if (isControl) {
    // RFC 6455 §5.2: opcodes 0xB-0xF are reserved for further control frames.
    if (opcode > Opcode.Pong) {
      throw new ProtocolError(`reserved opcode 0x${opcode.toString(16)}`, CloseCode.ProtocolError, "WS_ERR_INVALID_OPCODE");
    }
    // RFC 6455 §5.5: control frames MUST NOT be fragmented.
    if (!fin) {
      throw new ProtocolError("control frame with FIN clear: control frames must not be fragmented", CloseCode.ProtocolError, "WS_ERR_EXPECTED_FIN");
    }
    // RFC 6455 §5.5: all control frames MUST have a payload length of 125 bytes or less.
    if (len7 > MAX_CONTROL_PAYLOAD) {
      throw new ProtocolError("control frame payload longer than 125 bytes", CloseCode.ProtocolError, "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH");
    }
    // RFC 7692 §6: permessage-deflate defines RSV1 for data messages only.
    if (rsv1) {
      throw new ProtocolError("RSV1 must be clear on control frames", CloseCode.ProtocolError, "WS_ERR_UNEXPECTED_RSV_1");
    }
  } else if (opcode === Opcode.Continuation) {
    // RFC 6455 §5.4: a continuation frame belongs to a fragmented message that must be in progress.
    if (fragmentOpcode === 0) {
      throw new ProtocolError("continuation frame with no message in progress", CloseCode.ProtocolError, "WS_ERR_INVALID_CONTINUATION");
    }
    // RFC 7692 §6.1: RSV1 is set on the first frame of a message only.
    if (rsv1) {
      throw new ProtocolError("RSV1 must be clear on continuation frames", CloseCode.ProtocolError, "WS_ERR_UNEXPECTED_RSV_1");
    }
  } else if (opcode === Opcode.Text || opcode === Opcode.Binary) {
    // RFC 6455 §5.4: fragments of one message MUST NOT be interleaved with another data message.
    if (fragmentOpcode !== 0) {
      throw new ProtocolError("new data frame while a fragmented message is in progress", CloseCode.ProtocolError, "WS_ERR_EXPECTED_CONTINUATION");
    }
    if (rsv1 && !allowRsv1) {
      throw new ProtocolError("RSV1 must be clear: no extension was negotiated", CloseCode.ProtocolError, "WS_ERR_UNEXPECTED_RSV_1");
    }
  } else {
    // RFC 6455 §5.2: opcodes 0x3-0x7 are reserved for further non-control frames.
    throw new ProtocolError(`reserved opcode 0x${opcode.toString(16)}`, CloseCode.ProtocolError, "WS_ERR_INVALID_OPCODE");
  }

  // RFC 6455 §5.1: a server MUST close the connection upon receiving an unmasked frame;
  // a client MUST close the connection if it detects a masked frame.
  if (isServer && !masked) {
    throw new ProtocolError("client frame is not masked", CloseCode.ProtocolError, "WS_ERR_EXPECTED_MASK");
  }
  if (!isServer && masked) {
    throw new ProtocolError("server frame is masked", CloseCode.ProtocolError, "WS_ERR_UNEXPECTED_MASK");
  }
}
