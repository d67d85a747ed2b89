/** Limits and behaviour of the protocol core, with documented defaults. */

export interface ProtocolOptions {
  /**
   * Largest message (sum of all fragments; after inflation when compressed) accepted from the peer, in bytes.
   * A frame whose length would pass it fails the connection with 1009 before any of its payload is buffered.
   * Default 16 MiB (16 * 1024 * 1024). Set to `Infinity` to disable (not recommended).
   */
  maxPayload: number;
  /** Answer pings with pongs automatically (RFC 6455 §5.5.2). Default true. Set false to answer pings yourself. */
  autoPong: boolean;
}

export const PROTOCOL_DEFAULTS: Readonly<ProtocolOptions> = Object.freeze({
  maxPayload: 16 * 1024 * 1024,
  autoPong: true,
});
