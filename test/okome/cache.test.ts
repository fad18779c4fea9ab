import { strict as assert } from "node:assert";
import type Redis from "ioredis";
import { OkomeCache, cacheHeaders, createRedis, keys, lockKey, type Serializer } from "../../okome";
import { startRedisServer, type RedisServer } from "../support/redis-server";
import { whenReady } from "./helpers";

describe("okome cache (real redis-server)", function () {
  this.timeout(30_000);
  let server: RedisServer;
  let redis: Redis;
  const extra: { redis: Redis; cache: OkomeCache }[] = [];

  before(async () => {
    server = await startRedisServer();
    redis = createRedis({ port: server.port, commandTimeoutMs: 2000 });
    await whenReady(redis);
  });
  beforeEach(() => redis.flushall());
  afterEach(async () => {
    for (const { redis: r, cache } of extra.splice(0)) {
      await cache.close();
      r.disconnect();
    }
  });
  after(async () => {
    redis.disconnect();
    await server.dispose();
  });

  /** A cache on its own connections, as another process would have. */
  async function newCache(options: Partial<ConstructorParameters<typeof OkomeCache>[0]> = {}) {
    const r = createRedis({ port: server.port, commandTimeoutMs: 2000 });
    const cache = new OkomeCache({ redis: r, ...options });
    extra.push({ redis: r, cache });
    await cache.ready();
    return cache;
  }

  const counter = () => {
    let n = 0;
    const compute = async (ms = 50): Promise<{ n: number }> => {
      n++;
      await sleep(ms);
      return { n };
    };
    return { compute, count: () => n };
  };

  it("misses, stores JSON with the TTL, then hits; reports both headers", async () => {
    const cache = await newCache();
    const key = keys.modelMeta("llama3-8b");
    const c = counter();
    const first = await cache.getOrCompute(key, () => c.compute(), { ttlMs: 60_000 });
    assert.deepEqual([first.status, first.value], ["MISS", { n: 1 }]);
    assert.equal(await redis.get(key), '{"n":1}');
    const pttl = await redis.pttl(key);
    assert.ok(pttl > 59_000 && pttl <= 60_000, `pttl ${pttl}`);
    assert.equal(await redis.exists(lockKey(key)), 0, "the owner released its lock");
    const second = await cache.getOrCompute(key, () => c.compute(), { ttlMs: 60_000 });
    assert.deepEqual([second.status, second.value], ["HIT", { n: 1 }]);
    assert.deepEqual(cacheHeaders(second), {
      "X-OKOME-Cache": "HIT",
      "X-OKOME-Cache-Key": "okome:model_meta:llama3-8b",
    });
    assert.equal(c.count(), 1);
  });

  it("computes once for 200 concurrent calls spread over 20 connections", async () => {
    const caches = await Promise.all(Array.from({ length: 20 }, () => newCache()));
    const key = keys.tools("stampede");
    const c = counter();
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        caches[i % 20]!.getOrCompute(key, () => c.compute(300), { ttlMs: 60_000 }),
      ),
    );
    assert.equal(c.count(), 1);
    assert.ok(results.every((r) => (r.value as { n: number }).n === 1));
    assert.equal(results.filter((r) => r.status === "MISS").length, 10, "the owner's 10 calls");
    const woken = caches.reduce((n, x) => n + x.metrics().pubsubWakeups, 0);
    assert.ok(woken >= 1, "waiters were woken by the fill message");
  });

  it("hands a failed compute's error to its callers and lets a waiter take over at once", async () => {
    const [a, b] = [await newCache(), await newCache()];
    const key = keys.tools("flaky");
    const failing = a.getOrCompute(
      key,
      async () => {
        await sleep(200);
        throw new Error("upstream 500");
      },
      { ttlMs: 60_000 },
    );
    await sleep(50);
    const t0 = Date.now();
    const waiting = b.getOrCompute(key, async () => "second try", { ttlMs: 60_000 });
    await assert.rejects(failing, /upstream 500/);
    const r = await waiting;
    assert.deepEqual([r.status, r.value], ["MISS", "second try"]);
    assert.equal(b.metrics().takeovers, 1);
    assert.ok(Date.now() - t0 < 2000, "no wait for the 5 s lease: the failed owner released");
  });

  it("serves STALE inside the stale window and refreshes once in the background", async () => {
    const [a, b] = [await newCache({ staleMs: 10_000 }), await newCache({ staleMs: 10_000 })];
    const key = keys.rag("repo", "chunk");
    const c = counter();
    await a.getOrCompute(key, () => c.compute(0), { ttlMs: 150 });
    await sleep(200);
    const stale = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 ? a : b).getOrCompute(key, () => c.compute(200), { ttlMs: 60_000 }),
      ),
    );
    assert.ok(stale.every((r) => r.status === "STALE" && (r.value as { n: number }).n === 1));
    await Promise.all([a.close(), b.close()]); // waits for the background refresh
    assert.equal(c.count(), 2, "one refresh for ten stale reads across two instances");
    const fresh = await (await newCache({ staleMs: 10_000 })).get(key);
    assert.deepEqual([fresh.status, fresh.value], ["HIT", { n: 2 }]);
  });

  it("wakes by polling when the fill message is lost", async () => {
    const cache = await newCache({ pollIntervalMs: 50 });
    const key = keys.tools("quiet");
    await redis.set(lockKey(key), "another-owner", "PX", 10_000);
    const pending = cache.getOrCompute(key, () => assert.fail("must not compute"), {
      ttlMs: 60_000,
    });
    await sleep(120);
    await redis.set(key, '"filled elsewhere"', "PX", 60_000); // no PUBLISH
    const r = await pending;
    assert.deepEqual([r.status, r.value], ["HIT", "filled elsewhere"]);
    assert.ok(cache.metrics().pollWakeups >= 1);
  });

  it("computes itself (BYPASS) once maxWaitMs runs out behind a live owner", async () => {
    const cache = await newCache({ maxWaitMs: 300 });
    const key = keys.tools("hung");
    await redis.set(lockKey(key), "hung-owner", "PX", 10_000);
    const r = await cache.getOrCompute(key, () => "mine", { ttlMs: 60_000 });
    assert.deepEqual([r.status, r.value], ["BYPASS", "mine"]);
    assert.equal(cache.metrics().waitTimeouts, 1);
    assert.equal(await redis.get(lockKey(key)), "hung-owner", "another owner's lock is untouched");
  });

  it("releases only its own lock", async () => {
    const cache = await newCache();
    const key = keys.tools("lost-lease");
    const r = await cache.getOrCompute(
      key,
      async () => {
        // As if our lease ran out and someone else took over while we computed.
        await redis.set(lockKey(key), "intruder", "PX", 10_000);
        return 1;
      },
      { ttlMs: 60_000 },
    );
    assert.equal(r.status, "MISS");
    assert.equal(await redis.get(lockKey(key)), "intruder");
  });

  it("returns but does not store a value whose write the budget denies", async () => {
    const cache = await newCache();
    const key = keys.tools("denied");
    const seen: [string, number][] = [];
    const r = await cache.getOrCompute(key, () => "v", {
      ttlMs: 1000,
      staleMs: 500,
      admitWrite: (k, lifetimeMs) => (seen.push([k, lifetimeMs]), false),
    });
    assert.deepEqual([r.status, r.value], ["MISS", "v"]);
    assert.deepEqual(seen, [[key, 1500]]);
    assert.equal(await redis.exists(key), 0);
    assert.equal(cache.metrics().writesDenied, 1);
  });

  it("uses a pluggable serializer and recovers from an unreadable entry", async () => {
    const bytes: Serializer<Buffer> = { encode: (v) => v, decode: (raw) => raw };
    const cache = await newCache();
    const key = keys.tools("binary");
    const blob = Buffer.from([0, 255, 10, 13, 58]);
    await cache.getOrCompute(key, () => blob, { ttlMs: 60_000, serializer: bytes });
    assert.deepEqual(await redis.getBuffer(key), blob);
    const hit = await cache.getOrCompute(key, () => Buffer.alloc(0), {
      ttlMs: 60_000,
      serializer: bytes,
    });
    assert.deepEqual([hit.status, hit.value], ["HIT", blob]);

    const json = await cache.getOrCompute(key, () => ({ fixed: true }), { ttlMs: 60_000 });
    assert.deepEqual(
      [json.status, json.value],
      ["BYPASS", { fixed: true }],
      "not JSON: recomputed",
    );
    assert.equal(await redis.get(key), '{"fixed":true}', "and overwritten");
    assert.equal(cache.metrics().decodeErrors, 1);
  });

  it("gets and sets directly", async () => {
    const cache = await newCache({ staleMs: 1000 });
    const key = keys.health("pi-model");
    assert.deepEqual(await cache.get(key), { value: undefined, status: "MISS", key });
    assert.equal(await cache.set(key, { up: true }, { ttlMs: 100 }), true);
    assert.deepEqual(await cache.get(key), { value: { up: true }, status: "HIT", key });
    await sleep(150);
    assert.equal((await cache.get(key)).status, "STALE");
  });

  it("rejects bad options naming each, and a bad ttl per call", async () => {
    assert.throws(
      () => new OkomeCache({ redis, lockTtlMs: 0, staleMs: -1 }),
      /lockTtlMs must be a positive integer.*staleMs must be an integer >= 0/,
    );
    assert.throws(
      () => new OkomeCache({ redis: { options: {} } as Redis }),
      /enableOfflineQueue: false/,
    );
    const cache = await newCache();
    await assert.rejects(
      cache.getOrCompute("k", () => 1, { ttlMs: 0 }),
      /ttlMs must be a positive integer/,
    );
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
