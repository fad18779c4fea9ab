import { strict as assert } from "node:assert";
import type Redis from "ioredis";
import { OkomeCache, createRedis, keys } from "../../okome";
import { startRedisServer, type RedisServer } from "../support/redis-server";
import { eventually, whenReady } from "./helpers";

// Behaviour, not a benchmark: the bounds carry a generous slack for a loaded CI machine.
const TIMEOUT_MS = 100;
const COMPUTE_MS = 50;
const SLACK_MS = 1000;

describe("okome cache with Redis down or slow (real redis-server)", function () {
  this.timeout(30_000);
  let server: RedisServer;
  let redis: Redis;
  let cache: OkomeCache;

  before(async () => {
    server = await startRedisServer();
    redis = createRedis({
      port: server.port,
      commandTimeoutMs: TIMEOUT_MS,
      maxReconnectDelayMs: 200,
    });
    cache = new OkomeCache({ redis });
    await cache.ready();
  });
  after(async () => {
    await cache.close();
    redis.disconnect();
    await server.dispose();
  });

  const compute = async (): Promise<string> => {
    await new Promise((resolve) => setTimeout(resolve, COMPUTE_MS));
    return "computed";
  };
  async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
    const t0 = performance.now();
    const value = await f();
    return [value, performance.now() - t0];
  }

  it("computes within timeout + compute time while Redis is slow (CLIENT PAUSE)", async () => {
    const pauseMs = 1500;
    const pauser = createRedis({ port: server.port });
    try {
      await whenReady(pauser);
      await pauser.client("PAUSE", pauseMs, "ALL");
      const [r, ms] = await timed(() =>
        cache.getOrCompute(keys.tools("slow"), compute, { ttlMs: 60_000 }),
      );
      assert.deepEqual([r.status, r.value], ["BYPASS", "computed"]);
      assert.ok(ms < TIMEOUT_MS + COMPUTE_MS + SLACK_MS, `took ${ms.toFixed(0)} ms`);
      assert.ok(cache.metrics().redisErrors >= 1);
      await new Promise((resolve) => setTimeout(resolve, pauseMs)); // let the pause end
    } finally {
      pauser.disconnect();
    }
  });

  it("fails open while Redis is stopped, then hits again once it is back on the same port", async () => {
    const key = keys.tools("down");
    assert.equal((await cache.getOrCompute(key, compute, { ttlMs: 60_000 })).status, "MISS");
    const before = cache.metrics();
    await server.stop();

    for (let i = 0; i < 5; i++) {
      const [r, ms] = await timed(() => cache.getOrCompute(key, compute, { ttlMs: 60_000 }));
      assert.deepEqual([r.status, r.value], ["BYPASS", "computed"]);
      assert.ok(ms < TIMEOUT_MS + COMPUTE_MS + SLACK_MS, `took ${ms.toFixed(0)} ms`);
    }
    assert.equal((await cache.get(key)).status, "BYPASS");
    const during = cache.metrics();
    assert.equal(during.bypasses - before.bypasses, 6);
    assert.ok(during.redisErrors - before.redisErrors >= 6, "every failure is counted");

    await server.start();
    // The restarted server is empty: one MISS refills the key, then it hits.
    await eventually("a HIT after the restart", async () => {
      const r = await cache.getOrCompute(key, compute, { ttlMs: 60_000 });
      return r.status === "HIT";
    });
    assert.equal(redis.status, "ready", "reconnected in the background");
  });
});
