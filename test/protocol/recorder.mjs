// A sans-I/O Connection whose callbacks record what it reports, as plain values, for exact comparisons
// (RFC 6455 §5-§7 behaviour seen from the outside). Not a test file: it only exports helpers.
import { Connection } from "../../dist/protocol/index.js";
import { hex } from "../helpers/frames.mjs";

/**
 * Connection callbacks that push one entry per event onto `events`: ["write", hex], ["message", isBinary, hex],
 * ["ping", hex], ["pong", hex], ["closeFrame", code, reason], ["closeTransport"], ["error", closeCode, code].
 * Spread it and override a callback to record an event differently.
 */
export function recordingHandlers(events) {
  return {
    onWrite: (d) => events.push(["write", hex(d)]),
    onMessage: (d, isBinary) => events.push(["message", isBinary, hex(d)]),
    onPing: (d) => events.push(["ping", hex(d)]),
    onPong: (d) => events.push(["pong", hex(d)]),
    onCloseFrame: (code, reason) => events.push(["closeFrame", code, reason]),
    onCloseTransport: () => events.push(["closeTransport"]),
    onProtocolError: (err) => events.push(["error", err.closeCode, err.code]),
  };
}

/** A server (`isServer`) or client Connection with recordingHandlers; returns { conn, events }. */
export function recorder(isServer, options = {}) {
  const events = [];
  const conn = new Connection(recordingHandlers(events), { isServer, ...options });
  return { conn, events };
}
