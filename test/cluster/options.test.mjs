/** RedisAdapter options: defaults, and bad values refused at construction with TypeError / RangeError naming them. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "redis";
import { RedisAdapter, REDIS_ADAPTER_DEFAULTS } from "../../dist/cluster/index.js";

describe("RedisAdapter options", () => {
  it("has documented defaults and connects nowhere before bind()", () => {
    const adapter = new RedisAdapter();
    assert.equal(adapter.options.url, "redis://127.0.0.1:6379");
    assert.equal(adapter.options.keyPrefix, "wshub");
    assert.equal(adapter.options.presenceTtl, 10_000);
    assert.equal(adapter.options.requestTimeout, 5_000);
    assert.equal(adapter.options.shardedPubSub, true);
    assert.equal(adapter.clustered, true);
    assert.deepEqual(adapter.stats(), { connected: false, outages: 0, notCrossed: 0, crossedOut: 0, crossedIn: 0, errors: 0 });
    assert.equal(REDIS_ADAPTER_DEFAULTS.reconnectMaxDelay, 2000);
  });

  it("accepts a node-redis client to copy (and leaves it alone)", () => {
    const client = createClient({ url: "redis://127.0.0.1:1" });
    const adapter = new RedisAdapter({ client });
    assert.equal(adapter.options.client, client);
    assert.equal(adapter.options.url, null);
    assert.equal(client.isOpen, false);
  });

  const bad = [
    [{ url: 42 }, TypeError, /url/],
    [{ url: "http://x" }, TypeError, /url/],
    [{ url: "redis://" }, TypeError, /url/],
    [{ url: "redis://h", client: createClient() }, TypeError, /url and client/],
    [{ client: {} }, TypeError, /client/],
    [{ keyPrefix: "" }, TypeError, /keyPrefix/],
    [{ keyPrefix: 3 }, TypeError, /keyPrefix/],
    [{ presenceTtl: 299 }, RangeError, /presenceTtl/],
    [{ presenceTtl: 1.5e3 + 0.5 }, RangeError, /presenceTtl/],
    [{ presenceTtl: "10s" }, TypeError, /presenceTtl/],
    [{ requestTimeout: 0 }, RangeError, /requestTimeout/],
    [{ requestTimeout: Infinity }, RangeError, /requestTimeout/],
    [{ reconnectMinDelay: -1 }, RangeError, /reconnectMinDelay/],
    [{ reconnectMinDelay: 500, reconnectMaxDelay: 100 }, RangeError, /reconnectMaxDelay/],
    [{ connectTimeout: NaN }, RangeError, /connectTimeout/],
    [{ shardedPubSub: "yes" }, TypeError, /shardedPubSub/],
  ];
  for (const [options, type, pattern] of bad) {
    it(`refuses ${JSON.stringify(options, (k, v) => (k === "client" ? "[client]" : v))}`, () => {
      assert.throws(() => new RedisAdapter(options), (err) => err instanceof type && pattern.test(err.message));
    });
  }
});
