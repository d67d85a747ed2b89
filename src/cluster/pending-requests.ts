/** Requests sent to other nodes, waiting for their reply: each resolves with the reply's code, or null. */

interface Pending {
  resolve(code: number | null): void;
  timer: NodeJS.Timeout;
}

export class PendingRequests {
  readonly #pending = new Map<number, Pending>();
  readonly #timeout: number;
  readonly #onTimeout: () => void;

  /** `onTimeout` is called for each request that got no reply within `timeout` ms (which then resolves null). */
  constructor(timeout: number, onTimeout: () => void) {
    this.#timeout = timeout;
    this.#onTimeout = onTimeout;
  }

  /** Registers request `seq`; the promise resolves on settle(seq, code), or with null after the timeout. */
  add(seq: number): Promise<number | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        if (!this.#pending.has(seq)) return;
        this.#onTimeout();
        this.settle(seq, null);
      }, this.#timeout);
      timer.unref();
      this.#pending.set(seq, { resolve, timer });
    });
  }

  has(seq: number): boolean {
    return this.#pending.has(seq);
  }

  /** Resolves request `seq` (a late or unknown reply is ignored). */
  settle(seq: number, code: number | null): void {
    const pending = this.#pending.get(seq);
    if (pending === undefined) return;
    this.#pending.delete(seq);
    clearTimeout(pending.timer);
    pending.resolve(code);
  }

  /** Resolves every waiting request with null (the adapter is closing). */
  settleAll(): void {
    for (const seq of [...this.#pending.keys()]) this.settle(seq, null);
  }
}
