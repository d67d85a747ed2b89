/**
 * The EventTarget side of the WebSocket interface: the event handler IDL attributes onopen, onmessage, onerror
 * and onclose (HTML §8.1.8.1) and the dispatch of the events the WebSocket fires itself. Its listener state is
 * made on first use (see LazyEventTarget in node-events.ts, where every use of Node's private symbols is): until
 * then the event handlers are kept in fields and called directly (fire()).
 */
import type { WebSocketBase } from "./websocket-base.js";
import type { CloseEvent, WebSocketErrorEvent } from "./events.js";
import {
  EventTargetBase,
  createEventTargetState,
  fireWithoutListeners,
  isThenable,
  reportHandlerError,
  installLazyEventTargetState,
  lazyTargets,
} from "./node-events.js";

/** An event handler IDL attribute value ([LegacyTreatNonObjectAsNull] EventHandler). */
export type EventHandlerValue = ((this: WebSocketBase, ev: Event) => unknown) | object | null;

/** The value of an event handler attribute (onopen, onmessage, onerror, onclose): a function of its event, or null. */
export type WebSocketEventHandler<E extends Event> = ((this: WebSocketBase, ev: E) => unknown) | null;

/** The handler state few connections need, kept by the subclass with its other rarely used state. */
export interface HandlerSlots {
  /** The onopen event handler's value (a server connection, open from the start, seldom has one). */
  onopen: EventHandlerValue;
  /** Once listener state exists: the listener registered for each active event handler, by Handler index. */
  handlerListeners: (((ev: Event) => void) | null)[] | null;
}

/** The event handler IDL attributes of WebSocket, in the order of the fields that hold them. */
const HANDLER_TYPES = ["open", "message", "error", "close"] as const;
const enum Handler {
  Open = 0,
  Message = 1,
  Error = 2,
  Close = 3,
}

export abstract class WebSocketEventTarget extends EventTargetBase {
  /** The event handlers' values (null, a function, or another object, which is then not called). */
  #onmessage: EventHandlerValue = null;
  #onerror: EventHandlerValue = null;
  #onclose: EventHandlerValue = null;
  /** Whether this target's listener state exists (always when lazyTargets is false). */
  #listening = !lazyTargets;

  /**
   * @internal Where onopen and the handlers' listeners are kept: null while none exists and `create` is false;
   * made when `create` is true.
   */
  protected abstract handlerSlots(create: boolean): HandlerSlots | null;

  /** @internal Whether the listener state exists (then every event goes through dispatchEvent()). */
  protected get listening(): boolean {
    return this.#listening;
  }

  // ---- event handler IDL attributes (HTML §8.1.8.1) ----

  get onopen(): WebSocketEventHandler<Event> {
    const slots = this.handlerSlots(false);
    return (slots !== null ? slots.onopen : null) as WebSocketEventHandler<Event>;
  }
  set onopen(v: WebSocketEventHandler<Event>) {
    const value = this.#setHandler(Handler.Open, v);
    const slots = this.handlerSlots(value !== null);
    if (slots !== null) slots.onopen = value;
  }
  get onmessage(): WebSocketEventHandler<MessageEvent> {
    return this.#onmessage as WebSocketEventHandler<MessageEvent>;
  }
  set onmessage(v: WebSocketEventHandler<MessageEvent>) {
    this.#onmessage = this.#setHandler(Handler.Message, v);
  }
  get onerror(): WebSocketEventHandler<WebSocketErrorEvent> {
    return this.#onerror as WebSocketEventHandler<WebSocketErrorEvent>;
  }
  set onerror(v: WebSocketEventHandler<WebSocketErrorEvent>) {
    this.#onerror = this.#setHandler(Handler.Error, v);
  }
  get onclose(): WebSocketEventHandler<CloseEvent> {
    return this.#onclose as WebSocketEventHandler<CloseEvent>;
  }
  set onclose(v: WebSocketEventHandler<CloseEvent>) {
    this.#onclose = this.#setHandler(Handler.Close, v);
  }

  #handler(index: Handler): EventHandlerValue {
    return index === Handler.Open ? this.onopen : index === Handler.Message ? this.#onmessage : index === Handler.Error ? this.#onerror : this.#onclose;
  }

  /** Registers or removes the handler's listener for a new value; returns the value to store. */
  #setHandler(index: Handler, value: EventHandlerValue): EventHandlerValue {
    // [LegacyTreatNonObjectAsNull]: a value that is not an object (a string, a number...) becomes null; any object
    // is kept (a non-callable one is then simply not called).
    const v = (typeof value === "object" && value !== null) || typeof value === "function" ? value : null;
    // Without listener state, only the value is kept: fire() calls it, and #materialize registers its listener.
    if (!this.#listening) return v;
    const slots = this.handlerSlots(true)!;
    const listeners = (slots.handlerListeners ??= [null, null, null, null]);
    const type = HANDLER_TYPES[index];
    const current = listeners[index]!;
    if (v === null) {
      // "Deactivate an event handler": set its value to null and remove its listener from the list; a later
      // non-null value therefore registers again, at the end of the list.
      if (current !== null) this.removeEventListener(type, current);
      listeners[index] = null;
    } else if (current === null) {
      // "Activate an event handler": the listener is added once, when the handler first becomes non-null;
      // replacing the value later keeps that place relative to addEventListener() listeners.
      listeners[index] = this.#handlerListener(index);
      this.addEventListener(type, listeners[index]!);
    }
    return v;
  }

  /** The listener of an event handler (HTML "the event handler processing algorithm"). */
  #handlerListener(index: Handler): (ev: Event) => void {
    const target = this;
    return function eventHandlerListener(ev: Event): void {
      const fn = target.#handler(index);
      if (typeof fn !== "function") return;
      // Called with this = the event's currentTarget; a return value of false cancels the event.
      let r: unknown;
      try {
        r = (fn as (this: WebSocketEventTarget, ev: Event) => unknown).call(target, ev);
      } catch (err) {
        reportHandlerError(target, err);
        return;
      }
      if (r === false) ev.preventDefault();
      else if (isThenable(r)) r.then(undefined, (err: unknown) => reportHandlerError(target, err));
    };
  }

  /**
   * Creates the EventTarget state (first use of a listener method or of Node's EventTarget internals): the
   * fields a fresh EventTarget has, then the listeners of the handlers already set, which come first in their
   * lists since no listener existed before.
   */
  #materialize(): void {
    if (this.#listening) return;
    this.#listening = true;
    createEventTargetState(this);
    for (let i = Handler.Open; i <= Handler.Close; i++) {
      if (this.#handler(i) !== null) this.#setHandler(i, this.#handler(i));
    }
  }

  static {
    // The EventTarget state, created on first access (see LazyEventTarget).
    if (lazyTargets) {
      installLazyEventTargetState(WebSocketEventTarget.prototype, (obj) => {
        if (!(obj instanceof WebSocketEventTarget) || !(#listening in obj) || obj.#listening) return false;
        obj.#materialize();
        return true;
      });
    }
  }

  /**
   * @internal Dispatches an event this object fires itself. With listener state this is dispatchEvent(). Without it the
   * only possible receiver is the event handler `handler`, called as Node's EventTarget would call its
   * listener: target and currentTarget set, this = the WebSocket, false cancels, a throw is reported (not
   * propagated) on the next tick.
   */
  protected fire(ev: Event, handler: EventHandlerValue): void {
    if (this.#listening) {
      this.dispatchEvent(ev);
      return;
    }
    fireWithoutListeners(this, ev, handler);
  }

  /** @internal Whether an event of this type, fired now, could reach anything (false: it need not be created). */
  protected wants(handler: EventHandlerValue): boolean {
    return this.#listening || handler !== null;
  }
}
