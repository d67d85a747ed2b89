/**
 * The seam between the hub and the delivery of messages. The hub frames nothing itself on the way out: it
 * hands broadcast(), publish() and send(id) to its Adapter. The default InProcessAdapter delivers to this
 * process's connections; an adapter for several processes (e.g. over Redis) forwards the same calls to its
 * peers and delivers what they forward through the same LocalDelivery, so callers never change.
 */
import type { OutgoingMessage } from "./message.js";

/**
 * The result of a direct send:
 * - "sent": handed to the socket;
 * - "backpressure": handed to the socket, but more than maxBufferedBytes now wait on it (slow down, or use
 *   sendAsync / drain);
 * - "closed": the connection is closing or closed; nothing was sent;
 * - "unknown": no connection with that id (in this process, for the in-process adapter).
 */
export type SendResult = "sent" | "backpressure" | "closed" | "unknown";

/** Connection ids to skip; null for none. */
export type ExceptIds = ReadonlySet<string> | null;

/** What the hub offers its adapter: delivery to the connections of this process. */
export interface LocalDelivery {
  /** Writes the message to every local connection not in `except`; returns how many it was written to. */
  deliverAll(message: OutgoingMessage, except: ExceptIds): number;
  /** Writes the message to every local member of `room` not in `except`; returns how many it was written to. */
  deliverRoom(room: string, message: OutgoingMessage, except: ExceptIds): number;
  /** Writes the message to one local connection. */
  deliverTo(id: string, message: OutgoingMessage): SendResult;
  /** Whether `id` is a local connection. */
  hasLocal(id: string): boolean;
}

export interface Adapter {
  /** Called once by the hub, before any other method. */
  bind(local: LocalDelivery): void;
  /** Delivers to every connection; returns the number of local recipients. */
  broadcast(message: OutgoingMessage, except: ExceptIds): number;
  /** Delivers to every member of a room; returns the number of local recipients. */
  publish(room: string, message: OutgoingMessage, except: ExceptIds): number;
  /** Delivers to one connection by id. */
  sendTo(id: string, message: OutgoingMessage): SendResult;
  /** Called by hub.close() after the last connection is gone. */
  close(): void | Promise<void>;
}

/** The default adapter: delivery inside this process only. */
export class InProcessAdapter implements Adapter {
  #local: LocalDelivery | null = null;

  bind(local: LocalDelivery): void {
    if (this.#local !== null && this.#local !== local) throw new Error("adapter is already bound to another hub");
    this.#local = local;
  }

  broadcast(message: OutgoingMessage, except: ExceptIds): number {
    return this.#bound().deliverAll(message, except);
  }

  publish(room: string, message: OutgoingMessage, except: ExceptIds): number {
    return this.#bound().deliverRoom(room, message, except);
  }

  sendTo(id: string, message: OutgoingMessage): SendResult {
    return this.#bound().deliverTo(id, message);
  }

  close(): void {}

  #bound(): LocalDelivery {
    if (this.#local === null) throw new Error("adapter is not bound to a hub");
    return this.#local;
  }
}
