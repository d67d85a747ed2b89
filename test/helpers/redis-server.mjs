/**
 * A real redis-server for a test: its own free loopback port, its own temp dir, no persistence (or AOF when
 * asked), stopped by PID at the end. If redis-server is not installed, startRedis() throws: the test fails.
 *
 *   const redis = await startRedis();          // redis.url, redis.port, redis.pid
 *   await redis.stop();                         // SIGTERM, then SIGKILL after 5 s; resolves when it exited
 *   await redis.start();                        // again, on the same port and dir (a restart)
 *   await redis.close();                        // stop and remove the temp dir
 */
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const REDIS_SERVER = process.env.REDIS_SERVER ?? "/usr/bin/redis-server";

/** A port that was free a moment ago (bound on 127.0.0.1:0, then released). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Sends PING in RESP and resolves true on +PONG, false on anything else or within `ms`. */
export function ping(port, ms = 1000) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: "127.0.0.1", port });
    let data = "";
    const done = (ok) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), ms);
    sock.on("connect", () => sock.write("*1\r\n$4\r\nPING\r\n"));
    sock.on("data", (chunk) => {
      data += chunk.toString("latin1");
      if (data.includes("\r\n")) done(data.startsWith("+PONG"));
    });
    sock.on("error", () => done(false));
  });
}

export class RedisServer {
  /** @param {{ appendonly?: boolean, port?: number }} options  port: a fixed port (default: a free one) */
  constructor(options = {}) {
    this.appendonly = options.appendonly === true;
    this.dir = mkdtempSync(join(tmpdir(), "wshub-redis-"));
    this.port = options.port ?? 0;
    this.child = null;
    this.log = "";
  }

  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid() {
    return this.child?.pid ?? null;
  }

  /** Starts redis-server (on a new free port the first time, on the same port after that) and waits for PONG. */
  async start() {
    if (this.child !== null) throw new Error("redis-server is already running");
    const fixed = this.port !== 0;
    for (let attempt = 0; ; attempt++) {
      if (!fixed) this.port = await freePort();
      try {
        await this.#spawn();
        return this;
      } catch (err) {
        // Another process took the port between freePort() and redis-server's bind: pick another one.
        if (fixed || attempt >= 4 || !/Address already in use|bind/i.test(this.log)) throw err;
      }
    }
  }

  async #spawn() {
    const args = [
      "--port", String(this.port),
      "--bind", "127.0.0.1",
      "--save", "",
      "--appendonly", this.appendonly ? "yes" : "no",
      "--dir", this.dir,
      "--daemonize", "no",
      "--protected-mode", "yes",
    ];
    this.log = "";
    const child = spawn(REDIS_SERVER, args, { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
    child.exited = exited;
    const spawnError = new Promise((_, reject) => child.once("error", reject));
    // Rejects if redis-server exits while we wait for it (one promise, handled, so a later stop() is no rejection).
    const died = exited.then(({ code, signal }) => {
      throw new Error(`redis-server exited (code ${code}, signal ${signal}) on port ${this.port}:\n${this.log}`);
    });
    died.catch(() => {});
    spawnError.catch(() => {});
    child.stdout.on("data", (d) => (this.log += d));
    child.stderr.on("data", (d) => (this.log += d));
    const deadline = Date.now() + 10_000;
    try {
      for (;;) {
        const result = await Promise.race([died, spawnError, ping(this.port, 500)]);
        if (result === true) return;
        if (Date.now() > deadline) throw new Error(`redis-server did not answer PING on port ${this.port} within 10 s:\n${this.log}`);
        // Polling the port: redis-server gives no readiness signal but its answer to PING.
        await new Promise((r) => setTimeout(r, 20));
      }
    } catch (err) {
      if (err?.code === "ENOENT") err = new Error(`redis-server not found at ${REDIS_SERVER}: install the Debian package redis-server`);
      await this.stop();
      throw err;
    }
  }

  /** Stops this redis-server by PID: SIGTERM, SIGKILL after `ms`; resolves once it has exited. */
  async stop(ms = 5000) {
    const child = this.child;
    if (child === null) return;
    this.child = null;
    if (child.pid === undefined) return; // never started (spawn failed)
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), ms);
      await child.exited;
      clearTimeout(timer);
    }
  }

  /** Stops it with SIGKILL (a crash: nothing is saved). */
  async kill() {
    const child = this.child;
    if (child === null) return;
    this.child = null;
    if (child.pid === undefined) return;
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await child.exited;
  }

  /** Stops and starts again on the same port and dir. */
  async restart() {
    await this.stop();
    await this.start();
  }

  /** Stops it and removes its temp dir. */
  async close() {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Starts a redis-server for a test; `options.appendonly` turns AOF persistence on (data survives restart() and
 * kill()); `options.port` fixes the port. */
export async function startRedis(options = {}) {
  const server = new RedisServer(options);
  try {
    await server.start();
  } catch (err) {
    rmSync(server.dir, { recursive: true, force: true });
    throw err;
  }
  return server;
}

/** redis-cli-like one-shot commands for assertions, through a plain node-redis client. */
export async function redisCommand(url, ...args) {
  const { createClient } = await import("redis");
  const client = createClient({ url, socket: { reconnectStrategy: false } });
  client.on("error", () => {});
  await client.connect();
  try {
    return await client.sendCommand(args.map(String));
  } finally {
    client.destroy();
  }
}

/** The installed redis-server's version ("7.0.15"), or throws if it is missing. */
export function redisServerVersion() {
  const out = execFileSync(REDIS_SERVER, ["--version"], { encoding: "utf8" });
  return /v=(\S+)/.exec(out)?.[1] ?? out.trim();
}
