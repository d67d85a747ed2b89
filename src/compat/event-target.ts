/**
 * ws's browser-style surface on its EventEmitter WebSocket (ws.md "websocket.addEventListener(type, listener[,
 * options])", "websocket.onopen" ...): listeners get Event / MessageEvent / CloseEvent / ErrorEvent objects, as
 * ws's own classes shape them (text arrives as a string there). The listeners live on the EventEmitter, so
 * `on('message')` and `addEventListener('message')` listeners run in the order they were added.
 */
import type { EventEmitter } from "node:events";

const kTarget = Symbol("wshub.compat.target");
const kListener = Symbol("wshub.compat.listener");
const kForAttribute = Symbol("wshub.compat.attribute");

/** ws's Event: type and target. */
export class Event {
  readonly type: string;
  [kTarget]: unknown = null;
  constructor(type: string) {
    this.type = type;
  }
  get target(): unknown {
    return this[kTarget];
  }
}

export class MessageEvent extends Event {
  readonly data: unknown;
  constructor(type: string, init: { data?: unknown } = {}) {
    super(type);
    this.data = init.data === undefined ? null : init.data;
  }
}

export class CloseEvent extends Event {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
  constructor(type: string, init: { code?: number; reason?: string; wasClean?: boolean } = {}) {
    super(type);
    this.code = init.code ?? 0;
    this.reason = init.reason ?? "";
    this.wasClean = init.wasClean ?? false;
  }
}

export class ErrorEvent extends Event {
  readonly error: unknown;
  readonly message: string;
  constructor(type: string, init: { error?: unknown; message?: string } = {}) {
    super(type);
    this.error = init.error === undefined ? null : init.error;
    this.message = init.message ?? "";
  }
}

type Handler = ((event: Event) => void) | { handleEvent(event: Event): void };
type Wrapped = ((...args: unknown[]) => void) & { [kListener]?: Handler; [kForAttribute]?: boolean };

/** What the wrapper needs from the WebSocket when it builds an event. */
export interface EventSource extends EventEmitter {
  /** Whether both close frames were exchanged (CloseEvent.wasClean). */
  readonly closeWasClean: boolean;
}

function call(handler: Handler, target: unknown, event: Event): void {
  event[kTarget] = target;
  if (typeof handler === "function") handler.call(target, event);
  else handler.handleEvent.call(handler, event);
}

function wrap(ws: EventSource, type: string, handler: Handler): Wrapped | null {
  switch (type) {
    case "message":
      return function onMessage(data: unknown, isBinary: unknown) {
        const value = isBinary ? data : String(data);
        call(handler, ws, new MessageEvent("message", { data: value }));
      } as Wrapped;
    case "close":
      return function onClose(code: unknown, reason: unknown) {
        call(handler, ws, new CloseEvent("close", { code: code as number, reason: String(reason), wasClean: ws.closeWasClean }));
      } as Wrapped;
    case "error":
      return function onError(error: unknown) {
        call(handler, ws, new ErrorEvent("error", { error, message: (error as Error)?.message ?? "" }));
      } as Wrapped;
    case "open":
      return function onOpen() {
        call(handler, ws, new Event("open"));
      } as Wrapped;
    default:
      return null;
  }
}

/** ws: only open, message, close and error are dispatched as events; a listener already added is not added twice. */
export function addEventListener(ws: EventSource, type: string, handler: unknown, options: { once?: boolean } = {}, attribute = false): void {
  if (handler === null || handler === undefined) return;
  if (typeof handler !== "function" && typeof (handler as { handleEvent?: unknown }).handleEvent !== "function") return;
  if (!attribute) {
    for (const l of ws.listeners(type) as Wrapped[]) if (l[kListener] === handler && !l[kForAttribute]) return;
  }
  const wrapped = wrap(ws, type, handler as Handler);
  if (wrapped === null) return;
  wrapped[kListener] = handler as Handler;
  wrapped[kForAttribute] = attribute;
  if (options.once === true) ws.once(type, wrapped);
  else ws.on(type, wrapped);
}

export function removeEventListener(ws: EventSource, type: string, handler: unknown): void {
  for (const l of ws.listeners(type) as Wrapped[]) {
    if (l[kListener] === handler && !l[kForAttribute]) {
      ws.removeListener(type, l);
      return;
    }
  }
}

/** The `on<type>` attribute getter: the handler set through it, or null. */
export function getAttribute(ws: EventSource, type: string): unknown {
  for (const l of ws.listeners(type) as Wrapped[]) if (l[kForAttribute]) return l[kListener];
  return null;
}

export function setAttribute(ws: EventSource, type: string, handler: unknown): void {
  for (const l of ws.listeners(type) as Wrapped[]) {
    if (l[kForAttribute]) {
      ws.removeListener(type, l);
      break;
    }
  }
  if (typeof handler === "function") addEventListener(ws, type, handler, {}, true);
}
