/**
 * Checks for option values, shared by every component (pure functions, no I/O). Each throws a TypeError (wrong
 * type) or a RangeError (right type, out of range) whose message names the option, shows the value given and
 * says what is allowed, e.g. `WebSocketServer: option maxPayload must be an integer from 1 to 9007199254740991
 * or Infinity, got "1mb" (a string)`.
 */

/** The largest delay Node's timers take (2^31 - 1 ms); a longer one fires after 1 ms with a warning. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Shows a value in an error message: strings quoted, objects by their kind, never their whole content. */
export function show(v: unknown): string {
  if (typeof v === "string") return `${JSON.stringify(v.length > 60 ? v.slice(0, 60) + "…" : v)} (a string)`;
  if (typeof v === "number") return Object.is(v, -0) ? "-0" : String(v);
  if (typeof v === "bigint") return `${v}n (a bigint)`;
  if (v === null || v === undefined || typeof v === "boolean") return String(v);
  if (typeof v === "function") return "a function";
  if (typeof v === "symbol") return "a symbol";
  if (Array.isArray(v)) return "an array";
  const name = (v as object).constructor?.name;
  return name && name !== "Object" ? `a ${name}` : "an object";
}

/** `where` is the component ("WebSocketServer", "perMessageDeflate", "hub.close", ...). */
function label(where: string, name: string): string {
  return `${where}: option ${name}`;
}

/** An integer in [min, max]; `infinity` also allows Infinity (documented as "no limit"). */
export function checkInteger(where: string, name: string, v: unknown, min: number, max: number, infinity = false): number {
  const allowed = `an integer from ${min} to ${max}${infinity ? " or Infinity" : ""}`;
  if (typeof v !== "number") throw new TypeError(`${label(where, name)} must be ${allowed}, got ${show(v)}`);
  if (infinity && v === Infinity) return v;
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`${label(where, name)} must be ${allowed}, got ${show(v)}`);
  return v;
}

/** A delay in milliseconds that Node's timers can keep: an integer from `min` to 2^31 - 1. */
export function checkMilliseconds(where: string, name: string, v: unknown, min = 1): number {
  return checkInteger(where, name, v, min, MAX_TIMER_MS);
}

export function checkBoolean(where: string, name: string, v: unknown): boolean {
  if (typeof v !== "boolean") throw new TypeError(`${label(where, name)} must be true or false, got ${show(v)}`);
  return v;
}

export function checkFunction(where: string, name: string, v: unknown): void {
  if (typeof v !== "function") throw new TypeError(`${label(where, name)} must be a function, got ${show(v)}`);
}

export function checkString(where: string, name: string, v: unknown, what = "a non-empty string"): string {
  if (typeof v !== "string" || v === "") throw new TypeError(`${label(where, name)} must be ${what}, got ${show(v)}`);
  return v;
}

export function checkOneOf<T extends string>(where: string, name: string, v: unknown, values: readonly T[]): T {
  if (!(values as readonly unknown[]).includes(v)) {
    const allowed = values.map((x) => JSON.stringify(x)).join(", ");
    const msg = `${label(where, name)} must be one of ${allowed}, got ${show(v)}`;
    throw new TypeError(msg);
  }
  return v as T;
}

/** The options argument itself: undefined or a plain object. */
export function checkOptionsObject(where: string, v: unknown, argName = "options"): Record<string, unknown> {
  if (v === undefined) return {};
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new TypeError(`${where}: ${argName} must be an object, got ${show(v)}`);
  }
  return v as Record<string, unknown>;
}

/**
 * Every own key must be one of `known`. A key that another library uses (`ws`) gets its wshub equivalent from
 * `equivalents`; any other unknown key is refused as a likely typo.
 */
export function checkKnownKeys(where: string, o: Record<string, unknown>, known: readonly string[], equivalents: Readonly<Record<string, string>> = {}): void {
  for (const key of Object.keys(o)) {
    if (known.includes(key)) continue;
    if (o[key] === undefined) continue;
    const eq = equivalents[key];
    if (eq !== undefined) throw new TypeError(`${where}: option ${key} is not a wshub option (it is one of the ws library's): ${eq}`);
    throw new TypeError(`${where}: unknown option ${JSON.stringify(key)}; the options are ${known.join(", ")}`);
  }
}
