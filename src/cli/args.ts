/** A small strict flag parser: unknown flags and bad values are usage errors (exit code 2). */

export class UsageError extends Error {
  override readonly name = "UsageError";
}

export interface FlagSpec {
  /** "string" flags take a value; "boolean" flags do not; "optional" flags take one only as --flag=VALUE. */
  type: "string" | "boolean" | "optional";
}

export interface ParsedArgs {
  flags: Record<string, string | boolean>;
  positionals: string[];
}

export function parseArgs(argv: string[], spec: Record<string, FlagSpec>): ParsedArgs {
  const flags: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("--") || arg === "--") {
      if (arg.startsWith("-") && arg !== "-") {
        if (arg === "-h") {
          flags["help"] = true;
          continue;
        }
        throw new UsageError(`unknown option ${arg}`);
      }
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    const s = spec[name];
    if (s === undefined) throw new UsageError(`unknown option --${name}`);
    if (s.type === "optional") {
      if (eq !== -1 && eq === arg.length - 1) throw new UsageError(`option --${name} needs a value after "="`);
      flags[name] = eq === -1 ? true : arg.slice(eq + 1);
    } else if (s.type === "boolean") {
      if (eq !== -1) throw new UsageError(`option --${name} takes no value`);
      flags[name] = true;
    } else {
      let value: string | undefined;
      if (eq !== -1) value = arg.slice(eq + 1);
      else value = argv[++i];
      if (value === undefined || value === "") throw new UsageError(`option --${name} needs a value`);
      flags[name] = value;
    }
  }
  return { flags, positionals };
}

/** Parses a TCP port (0-65535). */
export function parsePort(value: string, flag = "--port"): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) throw new UsageError(`${flag} must be a port number 0-65535, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** Parses a positive integer byte count. */
export function parsePositiveInt(value: string, flag: string): number {
  if (!/^\d+$/.test(value) || Number(value) <= 0 || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`${flag} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

/** Parses a delay in milliseconds: a positive integer that Node's timers can keep (at most 2^31 - 1). */
export function parseMilliseconds(value: string, flag: string): number {
  const n = parsePositiveInt(value, flag);
  if (n > 2 ** 31 - 1) throw new UsageError(`${flag} must be at most 2147483647 (milliseconds), got ${JSON.stringify(value)}`);
  return n;
}
