/**
 * Delivery to a hub's own connections: one message object (one frame) written to many sockets, and the
 * slow-consumer policy applied on the way. Used for local sends and for what other nodes forward.
 */
import { CloseCode, ReadyState } from "../protocol/constants.js";
import type { ExceptIds, SendResult } from "./adapter.js";
import type { HubConnection } from "./connection.js";
import type { Entry } from "./liveness.js";
import type { OutgoingMessage } from "./message.js";
import type { SlowConsumerPolicy } from "./options.js";
import type { RoomRegistry } from "./rooms.js";

export class Dispatcher<C extends HubConnection> {
  /** Data messages written (one per recipient). */
  messagesOut = 0;
  /** Deliveries skipped for slow consumers (policy "drop"). */
  dropped = 0;
  /** Connections closed as slow consumers (policy "close"). */
  slowClosed = 0;
  readonly #entries: ReadonlyMap<string, Entry<C>>;
  readonly #rooms: RoomRegistry<Entry<C>>;
  readonly #maxBufferedBytes: number;
  readonly #policy: SlowConsumerPolicy;
  readonly #onSlow: (ws: C, policy: SlowConsumerPolicy) => void;

  constructor(
    entries: ReadonlyMap<string, Entry<C>>,
    rooms: RoomRegistry<Entry<C>>,
    limits: { readonly maxBufferedBytes: number; readonly slowConsumerPolicy: SlowConsumerPolicy },
    onSlow: (ws: C, policy: SlowConsumerPolicy) => void,
  ) {
    this.#entries = entries;
    this.#rooms = rooms;
    this.#maxBufferedBytes = limits.maxBufferedBytes;
    this.#policy = limits.slowConsumerPolicy;
    this.#onSlow = onSlow;
  }

  all(message: OutgoingMessage, except: ExceptIds): number {
    let n = 0;
    for (const e of this.#entries.values()) {
      if (except !== null && except.has(e.ws.id)) continue;
      if (this.#deliver(e, message)) n++;
    }
    return n;
  }

  room(room: string, message: OutgoingMessage, except: ExceptIds): number {
    const members = this.#rooms.get(room);
    if (members === undefined) return 0;
    let n = 0;
    // A slow consumer closed by the policy stays a member until its close event, so this loop is safe.
    for (const e of members) {
      if (except !== null && except.has(e.ws.id)) continue;
      if (this.#deliver(e, message)) n++;
    }
    return n;
  }

  to(id: string, message: OutgoingMessage): SendResult {
    const e = this.#entries.get(id);
    if (e === undefined) return "unknown";
    const ws = e.ws;
    if (ws.readyState !== ReadyState.OPEN || !ws.sendPrepared(message)) return "closed";
    e.messages++;
    this.messagesOut++;
    return ws.pendingBytes > this.#maxBufferedBytes ? "backpressure" : "sent";
  }

  /** Writes a shared frame to one connection, applying the slow-consumer policy. */
  #deliver(e: Entry<C>, message: OutgoingMessage): boolean {
    const ws = e.ws;
    if (ws.readyState !== ReadyState.OPEN) return false;
    // Bytes waiting in the socket, and in the compression queue when permessage-deflate is in use.
    const buffered = ws.pendingBytes;
    // A message is always accepted by a connection with nothing waiting, so one larger than the limit still goes out.
    if (buffered > 0 && buffered + message.frameLength > this.#maxBufferedBytes) {
      this.#slowConsumer(e);
      return false;
    }
    if (!ws.sendPrepared(message)) return false;
    e.slow = false;
    e.messages++;
    this.messagesOut++;
    return true;
  }

  #slowConsumer(e: Entry<C>): void {
    const policy = this.#policy;
    if (policy === "drop") {
      this.dropped++;
      if (e.slow) return;
      e.slow = true;
    } else {
      this.slowClosed++;
      // RFC 6455 §7.4.1: 1008 "an endpoint is terminating the connection because it has received a message that
      // violates its policy" — here, the server's policy on unread data. The frame queues behind that data;
      // the server's closeTimeout destroys the socket if the peer never reads it.
      e.ws.close(CloseCode.PolicyViolation, "slow consumer");
    }
    this.#onSlow(e.ws, policy);
  }
}
