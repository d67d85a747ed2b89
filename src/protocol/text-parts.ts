/**
 * RFC 6455 §8.1 fail fast: "When an endpoint is to interpret a byte stream as UTF-8 but finds that the byte stream
 * is not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail the WebSocket Connection_." A text frame whose
 * payload spans reads is validated read by read (FrameSink.onTextPart), so an invalid sequence fails the connection
 * with 1007 as soon as it arrives, not once the frame is complete (Autobahn 6.4.3/6.4.4). Small messages, whole in
 * one read, never come here.
 */
import { CloseCode } from "./constants.js";
import { ProtocolError } from "./errors.js";
import { appendFragment, takeMessage, type InputState } from "./message-assembly.js";

function invalid(): ProtocolError {
  return new ProtocolError("text message is not valid UTF-8", CloseCode.InvalidPayload, "WS_ERR_INVALID_UTF8");
}

/** Validates payload[start, end) of a text frame as it arrives, continuing the message's validator. Throws 1007. */
export function checkTextPart(st: InputState, payload: Buffer, start: number, end: number): void {
  if (!st.utf8.push(payload.subarray(start, end))) throw invalid();
  st.textValidated = end;
}

/**
 * The text frame `payload` is complete and its first `st.textValidated` bytes were checked as they arrived: checks
 * the rest, and returns the whole message when this frame ends it (null while more fragments are to come).
 */
export function completeTextFrame(st: InputState, payload: Buffer, fin: boolean): Buffer | null {
  const rest = payload.subarray(st.textValidated);
  st.textValidated = 0;
  if (!(fin ? st.utf8.end(rest) : st.utf8.push(rest))) throw invalid();
  if (fin && st.fragmentsLength === 0) return payload;
  appendFragment(st, payload);
  return fin ? takeMessage(st) : null;
}
