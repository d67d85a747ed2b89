/**
 * The counters of a WebSocketServer's limits: every refused upgrade by its error code, every pending handshake
 * dropped to make room, every connection closed for going over its rate. Shared by the server, its standalone
 * listener and its connections' transports; read through `wss.stats()`.
 */
export class LimitCounters {
  /** Refused upgrades by error code (WS_ERR_TOO_MANY_CONNECTIONS, WS_ERR_HANDSHAKE_TIMEOUT, ...). */
  readonly refused: Record<string, number> = Object.create(null) as Record<string, number>;
  /** Pending handshakes dropped because maxPendingHandshakes was reached (the oldest goes). */
  droppedPendingHandshakes = 0;
  /** Connections closed with 1008 "rate limit" (messageRate). */
  rateLimited = 0;

  refusal(code: string): void {
    this.refused[code] = (this.refused[code] ?? 0) + 1;
  }
}
