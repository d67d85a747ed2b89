// A TCP proxy on 127.0.0.1 between clients and a server, to cut connections as a network would: cut() destroys both
// sockets of a pair at once (no close frame either way); while paused, new connections are dropped at once.
// Not a test file: it only exports helpers.
import { createServer, connect } from "node:net";

export async function startProxy(targetPort) {
  const pairs = new Set();
  let paused = false;
  const server = createServer((client) => {
    if (paused) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, "127.0.0.1");
    const pair = { client, upstream };
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: server.address().port,
    get count() {
      return pairs.size;
    },
    /** Destroys every connection (or the `n`-th one) on both sides. */
    cut(n) {
      const list = [...pairs];
      const chosen = n === undefined ? list : [list[n % list.length]].filter(Boolean);
      for (const p of chosen) {
        pairs.delete(p);
        p.client.destroy();
        p.upstream.destroy();
      }
      return chosen.length;
    },
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
    },
    close() {
      for (const p of pairs) {
        p.client.destroy();
        p.upstream.destroy();
      }
      return new Promise((resolve) => server.close(resolve));
    },
  };
}
