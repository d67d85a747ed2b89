/**
 * Connection admission of a WebSocketServer: counts the connections it holds (upgrades being answered and open
 * connections), in all and by remote address, and refuses an upgrade over maxConnections (503) or
 * maxConnectionsPerIp (429). A socket is counted from the start of its upgrade until it closes or is refused;
 * the count leaves with one shared 'close' listener (no closure per connection).
 */
import type { Socket } from "node:net";
import { HandshakeError } from "../protocol/errors.js";

const kAddress = Symbol("wshub.admittedAddress");
type CountedSocket = Socket & { [kAddress]?: string | undefined };

export class Admission {
  readonly #maxConnections: number;
  readonly #maxPerIp: number;
  /** Sockets counted (upgrading or open). */
  count = 0;
  /** Counted sockets by address key (see addressKey); only kept when maxConnectionsPerIp is finite. */
  readonly #byAddress = new Map<string, number>();
  readonly #onClose: (this: Socket) => void;

  constructor(maxConnections: number, maxConnectionsPerIp: number) {
    this.#maxConnections = maxConnections;
    this.#maxPerIp = maxConnectionsPerIp;
    const admission = this;
    this.#onClose = function onAdmittedClose(this: Socket): void {
      admission.release(this);
    };
  }

  /** Counts `socket`, or returns the refusal to answer when a limit is reached (the socket is then not counted). */
  admit(socket: Socket): HandshakeError | null {
    const s = socket as CountedSocket;
    if (s[kAddress] !== undefined) return null;
    if (this.count >= this.#maxConnections) {
      return new HandshakeError(`server at capacity (${this.#maxConnections} connections)`, 503, "WS_ERR_TOO_MANY_CONNECTIONS");
    }
    let key = "";
    if (this.#maxPerIp !== Infinity) {
      key = addressKey(socket.remoteAddress);
      const n = this.#byAddress.get(key) ?? 0;
      if (n >= this.#maxPerIp) {
        return new HandshakeError(`too many connections from this address (${this.#maxPerIp})`, 429, "WS_ERR_TOO_MANY_CONNECTIONS_PER_IP");
      }
      this.#byAddress.set(key, n + 1);
    }
    s[kAddress] = key;
    this.count++;
    socket.once("close", this.#onClose);
    return null;
  }

  /** Stops counting `socket` (refused, or closed); does nothing for a socket not counted. */
  release(socket: Socket): void {
    const s = socket as CountedSocket;
    const key = s[kAddress];
    if (key === undefined) return;
    s[kAddress] = undefined;
    this.count--;
    socket.removeListener("close", this.#onClose);
    if (this.#maxPerIp !== Infinity) {
      const n = this.#byAddress.get(key)! - 1;
      if (n <= 0) this.#byAddress.delete(key);
      else this.#byAddress.set(key, n);
    }
  }

  /** Distinct address keys holding connections (maxConnectionsPerIp only). */
  get addresses(): number {
    return this.#byAddress.size;
  }
}

/**
 * The key a remote address is counted under: an IPv4 address (also when IPv4-mapped, "::ffff:a.b.c.d") as is; an
 * IPv6 address by its /64 prefix, since one host usually holds a whole /64 and could otherwise pick a new address
 * per connection. An unknown address (the socket already closed) is "".
 */
export function addressKey(address: string | undefined): string {
  if (address === undefined) return "";
  if (address.indexOf(":") === -1) return address;
  const lower = address.toLowerCase();
  if (lower.startsWith("::ffff:") && lower.indexOf(".") !== -1) return lower.slice(7);
  const zone = lower.indexOf("%");
  const a = zone === -1 ? lower : lower.slice(0, zone);
  const gap = a.indexOf("::");
  let groups: string[];
  if (gap === -1) groups = a.split(":");
  else {
    const head = gap === 0 ? [] : a.slice(0, gap).split(":");
    const tail = gap + 2 >= a.length ? [] : a.slice(gap + 2).split(":");
    groups = [...head, ...new Array<string>(Math.max(0, 8 - head.length - tail.length)).fill("0"), ...tail];
  }
  const prefix: string[] = [];
  for (let i = 0; i < 4; i++) prefix.push((groups[i] ?? "0").replace(/^0+(?=.)/, ""));
  return `${prefix.join(":")}::/64`;
}
