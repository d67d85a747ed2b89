/**
 * Every use of Node's private symbols by the WebSocket API, in this one file. Why: the WebSocket API runs once per
 * message and once per connection, and two of Node's public constructors cost more there than the work they wrap:
 * - `new MessageEvent(type, init)` (createMessageEvent): about three times a plain Event, once per message;
 * - `new EventTarget()` (LazyEventTarget): listener state of ~300 bytes per connection, which a server connection
 *   with only event handlers never uses.
 * Each trick finds the symbols by description on a fresh object, checks the result once at load time, and falls
 * back to the public constructors when anything differs (another runtime, a Node that renamed its fields). The
 * test test/api/node-events.test.mjs shows which paths run on this Node (nodeEventPaths).
 */

const MessageEventCtor: typeof MessageEvent = globalThis.MessageEvent;
let messageEventsViaSymbols = false;

/**
 * Creates the MessageEvent for a received message. `new MessageEvent(type, init)` costs about three times a plain
 * `new Event(type)` in Node 20 (init dictionary destructuring, string conversions, a ports array, port checks), and
 * it ran once per message. Node's MessageEvent is an Event whose getters read five symbol-keyed fields, so when
 * those symbols can be found (checked below, once) the event is built as an Event plus those fields, with a
 * prototype that inherits from MessageEvent.prototype: `instanceof MessageEvent`, the getters, `constructor` and
 * the inspection output are those of a MessageEvent. On any other runtime the real constructor is used.
 */
export const createMessageEvent: (data: unknown, origin: string) => MessageEvent = (() => {
  const viaConstructor = (data: unknown, origin: string): MessageEvent => new MessageEventCtor("message", { data, origin });
  const probe = new MessageEventCtor("message", { data: 1, origin: "o" });
  const keys = new Map<string, symbol>();
  for (const sym of Object.getOwnPropertySymbols(probe)) if (sym.description !== undefined) keys.set(sym.description, sym);
  const kData = keys.get("kData");
  const kOrigin = keys.get("kOrigin");
  const kLastEventId = keys.get("kLastEventId");
  const kSource = keys.get("kSource");
  const kPorts = keys.get("kPorts");
  if (!kData || !kOrigin || !kLastEventId || !kSource || !kPorts) return viaConstructor;
  type Slots = Record<symbol, unknown>;
  // The ports attribute is a FrozenArray<MessagePort>; a WebSocket's message events never carry ports.
  const NO_PORTS: readonly unknown[] = Object.freeze([]);
  class ReceivedMessageEvent extends Event {
    constructor(data: unknown, origin: string) {
      super("message");
      const self = this as unknown as Slots;
      self[kData!] = data;
      self[kOrigin!] = origin;
      self[kLastEventId!] = "";
      self[kSource!] = null;
      self[kPorts!] = NO_PORTS;
    }
  }
  Object.setPrototypeOf(ReceivedMessageEvent.prototype, MessageEventCtor.prototype);
  Object.defineProperty(ReceivedMessageEvent.prototype, "constructor", { value: MessageEventCtor, writable: true, configurable: true });
  const fast = (data: unknown, origin: string): MessageEvent => new ReceivedMessageEvent(data, origin) as unknown as MessageEvent;
  try {
    const ev = fast("d", "o");
    const ok = ev instanceof MessageEventCtor && ev.type === "message" && ev.data === "d" && ev.origin === "o" &&
      ev.lastEventId === "" && ev.source === null && Array.isArray(ev.ports) && ev.ports.length === 0 &&
      !ev.bubbles && !ev.cancelable && ev.constructor === MessageEventCtor;
    return ok ? (messageEventsViaSymbols = true, fast) : viaConstructor;
  } catch {
    return viaConstructor;
  }
})();

/**
 * Node's EventTarget constructor gives every instance its listener state up front: two Maps and two more fields
 * (symbol-keyed own properties), about 300 bytes, and every addEventListener() adds a list head and a Listener.
 * A server connection usually has only event handlers (onmessage, onerror) and no listener at all, so
 * WebSocketBase starts without that state: its instances are EventTargets (EventTarget.prototype is in their
 * chain, and the constructor chain carries the static brand Node's methods check) whose state is created, by the
 * real EventTarget constructor, the first time anything reads or writes it (installLazyEventTargetState): addEventListener(),
 * removeEventListener(), dispatchEvent() or any Node helper (events.getEventListeners(), setMaxListeners()).
 * Until then the event handlers are kept in fields and called directly (fireWithoutListeners), exactly as the one listener each
 * of them would be (HTML §8.1.8.1: the handler's listener is the first of its list when no other exists).
 * The symbols are found on a fresh EventTarget and Event (checked below, once); on a runtime where they cannot be,
 * WebSocketBase extends EventTarget as usual and always dispatches through it.
 */
const eventTargetSymbols: readonly symbol[] = Object.getOwnPropertySymbols(new EventTarget());
const eventSymbols = (() => {
  const byName = new Map<string | undefined, symbol>();
  for (const sym of Object.getOwnPropertySymbols(new Event("probe"))) byName.set(sym.description, sym);
  return { target: byName.get("kTarget"), dispatching: byName.get("kIsBeingDispatched") };
})();
const kTarget = eventSymbols.target;
const kDispatching = eventSymbols.dispatching;

/** An EventTarget constructor that creates no listener state (see above); its prototype is EventTarget.prototype. */
const LazyEventTarget = function LazyEventTarget(): void {} as unknown as typeof EventTarget;
Object.setPrototypeOf(LazyEventTarget, EventTarget);
LazyEventTarget.prototype = EventTarget.prototype;

export const lazyTargets: boolean = (() => {
  if (eventTargetSymbols.length === 0 || kTarget === undefined || kDispatching === undefined) return false;
  // The state must be all there is: a target whose symbols were copied from a fresh EventTarget works.
  try {
    const probe = new LazyEventTarget() as unknown as Record<symbol, unknown>;
    const fresh = new EventTarget() as unknown as Record<symbol, unknown>;
    for (const sym of eventTargetSymbols) probe[sym] = fresh[sym];
    let seen: unknown = null;
    (probe as unknown as EventTarget).addEventListener("probe", (ev) => (seen = ev.target));
    const ev = new Event("probe");
    (probe as unknown as EventTarget).dispatchEvent(ev);
    return probe instanceof EventTarget && seen === probe && ev.target === probe;
  } catch {
    return false;
  }
})();

/** The EventTarget WebSocketBase extends: LazyEventTarget when the lazy state works on this runtime. */
export const EventTargetBase: typeof EventTarget = lazyTargets ? LazyEventTarget : EventTarget;

/** Gives `target` the listener state a fresh EventTarget has (the fields it does not own yet). */
export function createEventTargetState(target: object): void {
  const fresh = new EventTarget() as unknown as Record<symbol, unknown>;
  for (const sym of eventTargetSymbols) {
    if (!Object.prototype.hasOwnProperty.call(target, sym)) {
      Object.defineProperty(target, sym, { value: fresh[sym], writable: true, enumerable: true, configurable: true });
    }
  }
}

/**
 * Defines, on `proto`, accessors for the EventTarget state symbols that create the state on first access.
 * `materialize(obj)` creates it for an instance that has none yet (through createEventTargetState) and returns
 * true; it returns false for any other object, or one whose state already exists.
 */
export function installLazyEventTargetState(proto: object, materialize: (obj: unknown) => boolean): void {
  for (const sym of eventTargetSymbols) {
    Object.defineProperty(proto, sym, {
      configurable: true,
      enumerable: false,
      get(this: unknown) {
        if (!materialize(this)) return undefined;
        return (this as Record<symbol, unknown>)[sym];
      },
      set(this: unknown, value: unknown) {
        materialize(this);
        Object.defineProperty(this, sym, { value, writable: true, enumerable: true, configurable: true });
      },
    });
  }
}

/**
 * Reports an exception (or rejection) of an event handler: to the target's reportError() when it has one (a
 * server-side connection reports to its server), else as Node's EventTarget reports a listener's: thrown again on
 * the next tick.
 */
export function reportHandlerError(target: object, err: unknown): void {
  const t = target as { reportError?: (err: unknown) => void };
  if (typeof t.reportError === "function") t.reportError(err);
  else process.nextTick(rethrow, err);
}

export function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === "object" && v !== null && typeof (v as PromiseLike<unknown>).then === "function";
}

/** Errors thrown by a listener are reported as Node's EventTarget reports them: rethrown on the next tick. */
function rethrow(err: unknown): never {
  throw err;
}

/**
 * Dispatches `ev`, fired by `target` while it has no listener state, to its only possible receiver: the event
 * handler `handler`, called as Node's EventTarget would call its listener: target and currentTarget set,
 * this = `target`, false cancels, a throw is reported (not propagated) on the next tick.
 */
export function fireWithoutListeners(target: EventTarget, ev: Event, handler: unknown): void {
  const slots = ev as unknown as Record<symbol, unknown>;
  slots[kTarget!] = target;
  if (typeof handler !== "function") return;
  slots[kDispatching!] = true;
  try {
    const r = (handler as (this: EventTarget, ev: Event) => unknown).call(target, ev);
    if (r === false) ev.preventDefault();
    else if (isThenable(r)) r.then(undefined, (err: unknown) => reportHandlerError(target, err));
  } catch (err) {
    reportHandlerError(target, err);
  }
  slots[kDispatching!] = false;
}

/** Which path each trick takes on this runtime (for tests): Node's symbols, or the public constructors. */
export const nodeEventPaths: Readonly<{ messageEvent: "symbols" | "constructor"; eventTarget: "lazy" | "constructor" }> = Object.freeze({
  messageEvent: messageEventsViaSymbols ? "symbols" : "constructor",
  eventTarget: lazyTargets ? "lazy" : "constructor",
});
