/**
 * `wshub serve --workers N`: N processes on one host behind one port (node:cluster shares the listening socket;
 * the primary hands connections out round-robin), one cluster over the Redis adapter. The primary only supervises:
 * a worker that dies is started again (at most once a second), and SIGINT/SIGTERM are passed on to every worker,
 * whose graceful shutdown (1001 Going Away) ends the command with exit code 0.
 */
import cluster from "node:cluster";
import { UsageError } from "./args.js";

/** Milliseconds between restarts of a worker that keeps dying. */
const RESTART_DELAY = 1000;

export async function runWorkers(n: number, port: number, out: NodeJS.WritableStream): Promise<number> {
  if (port === 0) {
    // Port 0 would give each worker its own random port; one shared port is the point of --workers.
    throw new UsageError("--workers needs a fixed --port (not 0)");
  }
  // Each worker runs this command again without --workers (see serve()): same flags, same environment.
  const argv = process.argv.slice(2);
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--workers") i++;
    else if (!a.startsWith("--workers=")) args.push(a);
  }
  cluster.setupPrimary({ args });
  let stopping = false;
  const live = new Set<number>();
  const start = (): void => {
    const w = cluster.fork();
    live.add(w.id);
    w.on("exit", (code, signal) => {
      live.delete(w.id);
      if (stopping) return;
      process.stderr.write(`wshub: worker ${w.process.pid} exited (${signal ?? code}); starting another\n`);
      setTimeout(() => {
        if (!stopping) start();
      }, RESTART_DELAY).unref();
    });
  };
  for (let i = 0; i < n; i++) start();
  out.write(`wshub: ${n} workers on port ${port}\n`);
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      stopping = true;
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(signal);
      if (live.size === 0) resolve();
      cluster.on("exit", () => {
        if (live.size === 0) resolve();
      });
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
  return 0;
}
