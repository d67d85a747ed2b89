/** Turning the hub's arguments into what it works with: ids, sets of ids, checked close codes. */
import { MAX_CLOSE_REASON_BYTES } from "../protocol/constants.js";
import { isValidWireCloseCode } from "../protocol/close.js";
import type { ExceptIds } from "./adapter.js";
import type { HubConnection } from "./connection.js";
import type { ConnectionRef, Except } from "./types.js";

export function idOf<C extends HubConnection>(ref: ConnectionRef<C>): string {
  return typeof ref === "string" ? ref : ref.id;
}

export function exceptIds<C extends HubConnection>(except: Except<C> | undefined): ExceptIds {
  if (except === undefined || except === null) return null;
  if (typeof except === "string") return new Set([except]);
  if (typeof (except as C).id === "string" && !(Symbol.iterator in (except as object))) {
    return new Set([(except as C).id]);
  }
  const ids = new Set<string>();
  for (const x of except as Iterable<ConnectionRef<C>>) ids.add(idOf(x));
  return ids;
}

/** RFC 6455 §7.4: only these codes may be sent; §5.5: a close payload (2-byte code + reason) is at most 125 bytes. */
export function checkCloseArgs(code: number, reason: string): void {
  if (typeof code !== "number" || !Number.isInteger(code) || !isValidWireCloseCode(code)) {
    throw new RangeError(`close code must be 1000-1003, 1007-1014 or 3000-4999 (RFC 6455 §7.4), got ${String(code)}`);
  }
  if (typeof reason !== "string") throw new TypeError(`close reason must be a string, got ${typeof reason}`);
  if (Buffer.byteLength(reason) > MAX_CLOSE_REASON_BYTES) {
    throw new RangeError(`close reason must be ${MAX_CLOSE_REASON_BYTES} bytes of UTF-8 or less`);
  }
}
