// The token buckets behind `messageRate` (src/node/rate-limit.ts), on a fake Date.now: refill rates, burst caps,
// fractions of a token carried over, and the grace after going over.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { RateBucket, resolveRateLimit } from "../../dist/node/rate-limit.js";
import { LimitCounters } from "../../dist/node/limit-counters.js";

const realNow = Date.now;
let now = 1_000_000;
Date.now = () => now;
process.on("exit", () => (Date.now = realNow));

function bucket(rate) {
  const counters = new LimitCounters();
  return { b: new RateBucket(resolveRateLimit(rate, counters), now), counters };
}
/** Messages that pass in one read at the current time. */
function burstNow(b, max = 10_000) {
  b.takeRead(0);
  let n = 0;
  while (n < max && b.takeMessage()) n++;
  b.messages = 0;
  return n;
}

describe("messageRate token buckets", () => {
  it("no rate given, or only Infinity: no bucket at all", () => {
    assert.equal(resolveRateLimit(undefined, new LimitCounters()), null);
    assert.equal(resolveRateLimit({ burst: 2 }, new LimitCounters()), null);
    assert.equal(resolveRateLimit({ messagesPerSecond: Infinity, bytesPerSecond: Infinity }, new LimitCounters()), null);
  });

  it("starts full with burst seconds' worth, then refills at the rate", () => {
    const { b } = bucket({ messagesPerSecond: 100, burst: 2 });
    assert.equal(burstNow(b), 200);
    now += 50;
    assert.equal(burstNow(b), 5);
    now += 10_000;
    assert.equal(burstNow(b), 200, "capped at the burst");
  });

  it("keeps the fraction of a token not yet earned (0.5 messages a second)", () => {
    const { b } = bucket({ messagesPerSecond: 0.5, burst: 2 });
    assert.equal(burstNow(b), 1);
    let passed = 0;
    for (let t = 0; t < 20; t++) {
      now += 500;
      passed += burstNow(b);
    }
    assert.equal(passed, 5, "10 s at 0.5/s");
  });

  it("bytes: every byte read counts; a read larger than the burst is over at once", () => {
    const { b } = bucket({ bytesPerSecond: 1000 });
    assert.equal(b.takeRead(600), true);
    assert.equal(b.takeRead(600), false);
    now += 1000;
    const fresh = bucket({ bytesPerSecond: 1000 }).b;
    assert.equal(fresh.takeRead(1001), false);
  });

  it("markOver counts once and leaves the grace in the byte bucket", () => {
    const { b, counters } = bucket({ messagesPerSecond: 1 });
    b.markOver(256 * 1024);
    assert.equal(counters.rateLimited, 1);
    assert.equal(b.over, true);
    assert.equal(b.bytes, 256 * 1024);
  });
});
