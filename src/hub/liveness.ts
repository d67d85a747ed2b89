/**
 * Per-connection bookkeeping of a hub, and the liveness checks the hub's one sweep timer runs over it: heartbeat
 * pings (RFC 6455 §5.5.2) and the idle timeout.
 */
import { CloseCode, ReadyState } from "../protocol/constants.js";
import type { HubConnection } from "./connection.js";
import type { SweepTarget } from "./sweep-timer.js";

/** Per-connection bookkeeping. */
export interface Entry<C extends HubConnection> {
  readonly ws: C;
  /** Rooms joined; null while none (most connections in many apps). */
  rooms: Set<string> | null;
  /** hub.setMeta(): what the cluster's presence shows of this connection (null: nothing). */
  meta: string | null;
  /** socket.bytesRead when last observed by the heartbeat. */
  seenBytes: number;
  /** Pinged in the current heartbeat round and not heard from since. */
  pinged: boolean;
  /** Data messages in and out, for the idle timeout. */
  messages: number;
  idleMark: number;
  idleSince: number;
  /** Over the limit at the last broadcast/publish (the slowConsumer event fires once per episode). */
  slow: boolean;
}

export function newEntry<C extends HubConnection>(ws: C, now: number): Entry<C> {
  return { ws, rooms: null, meta: null, seenBytes: ws.bytesRead, pinged: false, messages: 0, idleMark: 0, idleSince: now, slow: false };
}

/** The heartbeat and idle checks over a hub's entries, with their counters. */
export class Liveness<C extends HubConnection> implements SweepTarget {
  /** Connections terminated because they did not answer a heartbeat ping in time. */
  heartbeatTerminated = 0;
  /** Connections closed by the idle timeout. */
  idleClosed = 0;
  readonly #entries: ReadonlyMap<string, Entry<C>>;
  readonly #idleTimeout: number;

  constructor(entries: ReadonlyMap<string, Entry<C>>, idleTimeout: number) {
    this.#entries = entries;
    this.#idleTimeout = idleTimeout;
  }

  heartbeatPing(): void {
    for (const e of this.#entries.values()) {
      const read = e.ws.bytesRead;
      if (read !== e.seenBytes) {
        // Any traffic from the peer since the last round counts as alive: no ping needed.
        e.seenBytes = read;
        e.pinged = false;
      } else if (e.ws.readyState === ReadyState.OPEN) {
        // RFC 6455 §5.5.2: a Ping frame may serve as a keepalive; the peer's Pong (or anything else) answers it.
        e.pinged = e.ws.keepalive();
      }
    }
  }
  heartbeatCheck(): void {
    for (const e of this.#entries.values()) {
      if (!e.pinged) continue;
      e.pinged = false;
      const read = e.ws.bytesRead;
      if (read !== e.seenBytes) {
        e.seenBytes = read;
        continue;
      }
      // Nothing within heartbeatTimeout: the socket is destroyed, so the close reports 1006.
      this.heartbeatTerminated++;
      e.ws.terminate();
    }
  }
  idleSweep(now: number): void {
    const limit = this.#idleTimeout;
    for (const e of this.#entries.values()) {
      if (e.messages !== e.idleMark) {
        e.idleMark = e.messages;
        e.idleSince = now;
      } else if (now - e.idleSince >= limit && e.ws.readyState === ReadyState.OPEN) {
        this.idleClosed++;
        e.ws.close(CloseCode.Normal, "idle timeout");
      }
    }
  }
}
