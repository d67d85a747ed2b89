/**
 * Serves the chat page: the files of one directory (public/), read once at startup into memory. Only those
 * files can ever be answered, so no request path reaches the file system (no traversal to guard against).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, extname } from "node:path";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { IncomingMessage, ServerResponse } from "node:http";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
};

interface StaticFile {
  body: Buffer;
  type: string;
  etag: string;
}

/** The public/ directory of this package (next to dist/). */
export function defaultPublicDir(): string {
  return fileURLToPath(new URL("../../public/", import.meta.url));
}

/**
 * The page's security headers: scripts, styles and images from our own origin only (no CDN). `connect-src`
 * allows WebSocket connections to any host (`ws:` `wss:`), because the page may be pointed at another chat
 * server with `?server=ws://HOST:PORT/chat` (examples/python/chat_server.py); the page shows the server it
 * talks to, and that server decides by the Origin header whether to take the page. Plain fetch/XHR stays
 * same-origin (`'self'`).
 */
export const PAGE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "Content-Security-Policy": "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-cache",
});

export class StaticFiles {
  readonly #files = new Map<string, StaticFile>();

  /**
   * Loads every file under `dir` (at most `maxFiles`, each at most 1 MiB). `transform` may rewrite a file's
   * content once, at load (the chat app writes its endpoint path into index.html).
   */
  constructor(dir: string = defaultPublicDir(), maxFiles = 200, transform?: (path: string, body: Buffer) => Buffer) {
    const walk = (abs: string, rel: string) => {
      for (const entry of readdirSync(abs, { withFileTypes: true })) {
        if (entry.name.startsWith(".")) continue;
        const a = join(abs, entry.name);
        const r = `${rel}/${entry.name}`;
        if (entry.isDirectory()) walk(a, r);
        else if (entry.isFile() && statSync(a).size <= 1024 * 1024 && this.#files.size < maxFiles) {
          const body = transform ? transform(r, readFileSync(a)) : readFileSync(a);
          const type = TYPES[extname(entry.name).toLowerCase()] ?? "application/octet-stream";
          this.#files.set(r, { body, type, etag: `"${createHash("sha1").update(body).digest("base64url").slice(0, 16)}"` });
        }
      }
    };
    walk(dir, "");
    const index = this.#files.get("/index.html");
    if (index !== undefined) this.#files.set("/", index);
  }

  /** The paths served ("/", "/index.html", "/app.js", ...). */
  get paths(): string[] {
    return [...this.#files.keys()];
  }

  /** Answers GET/HEAD for a known path; returns false (answering nothing) otherwise. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const pathname = q === -1 ? url : url.slice(0, q);
    const file = this.#files.get(pathname);
    if (file === undefined) return false;
    const headers: Record<string, string | number> = { ...PAGE_HEADERS, "Content-Type": file.type, ETag: file.etag };
    if (req.headers["if-none-match"] === file.etag) {
      res.writeHead(304, headers);
      res.end();
      return true;
    }
    headers["Content-Length"] = file.body.length;
    res.writeHead(200, headers);
    res.end(req.method === "HEAD" ? undefined : file.body);
    return true;
  }
}
