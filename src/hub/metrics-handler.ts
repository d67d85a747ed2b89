/** An HTTP request handler that serves a hub's statistics in the Prometheus text format. */
import type { IncomingMessage, ServerResponse } from "node:http";

export interface MetricsHandlerOptions {
  /** Request path the handler answers. Default "/metrics". */
  path?: string;
  /** Labels added to every sample, e.g. { instance: "a" }. Default none. */
  labels?: Readonly<Record<string, string>>;
}

/**
 * Answers GET/HEAD `path` with `render(labels)`; returns false for other paths so the caller can handle them:
 * `http.createServer((req, res) => handler(req, res) || app(req, res))`.
 */
export function createMetricsHandler(
  render: (labels?: Readonly<Record<string, string>>) => string,
  options: MetricsHandlerOptions = {},
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const path = options.path ?? "/metrics";
  const labels = options.labels;
  return (req, res) => {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    if ((q === -1 ? url : url.slice(0, q)) !== path) return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { Allow: "GET, HEAD", "Content-Type": "text/plain; charset=utf-8" });
      res.end("method not allowed\n");
      return true;
    }
    const body = render(labels);
    res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8", "Content-Length": Buffer.byteLength(body) });
    res.end(req.method === "HEAD" ? undefined : body);
    return true;
  };
}
