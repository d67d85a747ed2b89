/**
 * The Sec-WebSocket-Extensions header grammar (RFC 6455 §9.1), sans-I/O:
 *
 *   Sec-WebSocket-Extensions = extension-list
 *   extension-list = 1#extension
 *   extension = extension-token *( ";" extension-param )
 *   extension-param = token [ "=" (token | quoted-string) ]
 *     ; When using the quoted-string syntax variant, the value after quoted-string unescaping MUST conform
 *     ; to the 'token' ABNF.
 *
 * Each list element is parsed on its own: a malformed element is reported (with `error` set) and parsing goes on
 * with the next one, so that a server can decline that single offer and still consider the others.
 */

/** One `name[=value]` parameter; `value` is null when the parameter has no value. */
export interface ExtensionParam {
  /** Parameter name, lower-cased. */
  name: string;
  /** The value (quoted-string already unescaped), or null when absent. */
  value: string | null;
}

/** One element of the list: an extension offer (request) or an accepted extension (response). */
export interface ExtensionElement {
  /** Extension token, lower-cased ("" when the element is too broken to name). */
  name: string;
  params: ExtensionParam[];
  /** Why the element does not match the grammar, or null when it does. */
  error: string | null;
}

// RFC 7230 §3.2.6: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
//                          / DIGIT / ALPHA
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TCHAR[c.charCodeAt(0)] = 1;

function isTchar(code: number): boolean {
  return code < 128 && TCHAR[code] === 1;
}

/** Whether `s` is a non-empty RFC 7230 token. */
export function isExtensionToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (!isTchar(s.charCodeAt(i))) return false;
  return true;
}

class Cursor {
  pos = 0;
  constructor(readonly s: string) {}

  get done(): boolean {
    return this.pos >= this.s.length;
  }

  peek(): string {
    return this.s[this.pos] ?? "";
  }

  /** OWS = *( SP / HTAB ) */
  skipOws(): void {
    while (this.pos < this.s.length) {
      const c = this.s.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x09) break;
      this.pos++;
    }
  }

  token(): string | null {
    const start = this.pos;
    while (this.pos < this.s.length && isTchar(this.s.charCodeAt(this.pos))) this.pos++;
    return this.pos === start ? null : this.s.slice(start, this.pos);
  }

  /** quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE; returns the unescaped text or null. */
  quoted(): string | null {
    if (this.peek() !== '"') return null;
    this.pos++;
    let out = "";
    while (this.pos < this.s.length) {
      const ch = this.s[this.pos]!;
      if (ch === '"') {
        this.pos++;
        return out;
      }
      if (ch === "\\") {
        if (this.pos + 1 >= this.s.length) return null;
        out += this.s[this.pos + 1];
        this.pos += 2;
        continue;
      }
      const code = ch.charCodeAt(0);
      // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text; control characters are not allowed.
      if ((code < 0x20 && code !== 0x09) || code === 0x7f) return null;
      out += ch;
      this.pos++;
    }
    return null; // unterminated
  }

  /** Moves past the rest of a broken element: to the next top-level comma (quoted commas do not count). */
  skipElement(): void {
    let inQuote = false;
    while (this.pos < this.s.length) {
      const ch = this.s[this.pos]!;
      if (inQuote) {
        if (ch === "\\") this.pos++;
        else if (ch === '"') inQuote = false;
      } else if (ch === '"') {
        inQuote = true;
      } else if (ch === ",") {
        return;
      }
      this.pos++;
    }
  }
}

function parseElement(c: Cursor): ExtensionElement {
  const name = c.token();
  if (name === null) return { name: "", params: [], error: `expected an extension token at offset ${c.pos}` };
  const el: ExtensionElement = { name: name.toLowerCase(), params: [], error: null };
  c.skipOws();
  while (c.peek() === ";") {
    c.pos++;
    c.skipOws();
    const pname = c.token();
    if (pname === null) {
      el.error = `expected a parameter name at offset ${c.pos}`;
      return el;
    }
    c.skipOws();
    let value: string | null = null;
    if (c.peek() === "=") {
      c.pos++;
      c.skipOws();
      if (c.peek() === '"') {
        value = c.quoted();
        if (value === null) {
          el.error = `malformed quoted-string in parameter ${pname}`;
          return el;
        }
        // RFC 6455 §9.1: the value after quoted-string unescaping MUST conform to the 'token' ABNF.
        if (!isExtensionToken(value)) {
          el.error = `quoted value of parameter ${pname} is not a token`;
          return el;
        }
      } else {
        value = c.token();
        if (value === null) {
          el.error = `expected a value for parameter ${pname} at offset ${c.pos}`;
          return el;
        }
      }
      c.skipOws();
    }
    el.params.push({ name: pname.toLowerCase(), value });
  }
  if (!c.done && c.peek() !== ",") el.error = `unexpected character ${JSON.stringify(c.peek())} at offset ${c.pos}`;
  return el;
}

/**
 * Parses a Sec-WebSocket-Extensions value (several header lines joined with ", " count as one list).
 * Empty list elements are skipped (RFC 7230 §7: recipients accept empty elements of a #rule list).
 */
export function parseExtensions(header: string): ExtensionElement[] {
  const c = new Cursor(header);
  const out: ExtensionElement[] = [];
  for (;;) {
    c.skipOws();
    if (c.done) break;
    if (c.peek() === ",") {
      c.pos++;
      continue;
    }
    const el = parseElement(c);
    if (el.error !== null) c.skipElement();
    out.push(el);
    if (!c.done) c.pos++; // the comma
  }
  return out;
}

/** Serializes one extension element: `name; p1; p2=v`. Values are written as tokens. */
export function formatExtension(name: string, params: readonly ExtensionParam[]): string {
  let s = name;
  for (const p of params) s += p.value === null ? `; ${p.name}` : `; ${p.name}=${p.value}`;
  return s;
}
