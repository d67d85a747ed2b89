/**
 * Bounded waits: every wait of a test ends, by its event or by a timeout that names what was awaited.
 * Tests wait on events or on a condition (waitFor), never on a fixed sleep; sleep() is only for asserting that
 * nothing happens within a while, and each use says so in a comment.
 */

/**
 * Rejects with an Error naming `label` if `promise` has not settled within `ms` milliseconds.
 * The timer is cleared when the promise settles, so it never keeps the process alive.
 */
export function withTimeout(promise, ms, label = "operation") {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

/**
 * Resolves with the next `type` event from an EventTarget or EventEmitter (the first argument for an emitter),
 * or rejects after `ms` milliseconds.
 */
export function nextEvent(target, type, ms = 5000) {
  return withTimeout(
    new Promise((resolve) => {
      if (typeof target.addEventListener === "function") target.addEventListener(type, resolve, { once: true });
      else target.once(type, resolve);
    }),
    ms,
    `waiting for '${type}'`,
  );
}

/**
 * Resolves once `predicate()` (sync or async) is true, checking it now and then every few milliseconds; rejects
 * after `ms` with `what` in the message. For state that has no event of its own (a counter, a size, output).
 */
export async function waitFor(predicate, what = "a condition", ms = 10_000) {
  const end = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Resolves after `ms` milliseconds. Only to assert that nothing happens meanwhile; say so where it is used. */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Resolves with `ws` once it is open (ours, a server-side one, or a `ws` client); rejects on an error or a close
 * first, or after `ms`.
 */
export function opened(ws, ms = 5000) {
  return withTimeout(
    new Promise((resolve, reject) => {
      if (ws.readyState === 1) return resolve(ws);
      if (typeof ws.on === "function" && typeof ws.addEventListener !== "function") {
        ws.once("open", () => resolve(ws));
        ws.once("error", reject);
        return;
      }
      ws.addEventListener("open", () => resolve(ws), { once: true });
      ws.addEventListener("error", (e) => reject(e.error ?? new Error("error before open")), { once: true });
      ws.addEventListener("close", (e) => reject(new Error(`closed before open: ${e.code}`)), { once: true });
    }),
    ms,
    "open",
  );
}

/** Resolves with the close event of `ws` (attach before the close can happen), or null if it is CLOSED already. */
export function closed(ws, ms = 5000) {
  if (ws.readyState === 3) return Promise.resolve(null);
  return nextEvent(ws, "close", ms);
}

/** Resolves once a server (net, http, WebSocketServer) emits "listening"; rejects on its "error". */
export function listening(server, ms = 5000) {
  return withTimeout(
    new Promise((resolve, reject) => {
      server.once("listening", resolve);
      server.once("error", reject);
    }),
    ms,
    "listen",
  );
}
