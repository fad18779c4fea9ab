import { strict as assert } from "node:assert";
import type Redis from "ioredis";
import { createRedis } from "../../okome";
import { startRedisServer, type RedisServer } from "../support/redis-server";
import { Worker, whenReady } from "./helpers";

describe("okome cache stampede across processes (real redis-server)", function () {
  this.timeout(60_000);
  let server: RedisServer;
  let redis: Redis;
  let workers: Worker[] = [];

  before(async () => {
    server = await startRedisServer();
    redis = createRedis({ port: server.port, commandTimeoutMs: 2000 });
    await whenReady(redis);
  });
  afterEach(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    workers = [];
  });
  after(async () => {
    redis.disconnect();
    await server.dispose();
  });

  async function startWorkers(n: number): Promise<Worker[]> {
    const started = Array.from({ length: n }, () => new Worker(server.port));
    workers.push(...started);
    await Promise.all(started.map((w) => w.next("ready")));
    return started;
  }

  it("runs one compute for 200 concurrent calls from 4 processes", async () => {
    const key = "okome:tools:stampede-200";
    const pool = await startWorkers(4);
    for (const w of pool) w.run({ key, calls: 50, computeMs: 500, lockTtlMs: 2000 });
    const done = await Promise.all(pool.map((w) => w.next("done")));

    assert.equal(await redis.get(`test:computes:${key}`), "1", "computes counted in Redis");
    assert.equal(
      done.reduce((n, d) => n + d.computes, 0),
      1,
      "computes reported by the workers",
    );
    const results = done.flatMap((d) => d.results);
    assert.equal(results.length, 200);
    const first = results[0]!.value;
    for (const r of results) assert.deepEqual(r.value, first);
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(
      [statuses.filter((s) => s === "MISS").length, statuses.filter((s) => s === "HIT").length],
      [50, 150],
      "one process computed (its 50 calls share the flight), the other 150 calls read the value",
    );
  });

  it("replaces an owner killed mid-compute with exactly one other caller", async () => {
    const key = "okome:tools:stampede-kill";
    const lockTtlMs = 1000;
    const [owner, ...rest] = await startWorkers(4);
    owner!.run({ key, calls: 1, computeMs: null, lockTtlMs });
    await owner!.next("computing");
    for (const w of rest) w.run({ key, calls: 50, computeMs: 200, lockTtlMs });
    // Let them queue up behind the live owner, whose renewals keep the lock past its lease.
    await new Promise((resolve) => setTimeout(resolve, 1.5 * lockTtlMs));
    assert.equal(await redis.get(`test:computes:${key}`), "1", "the waiters waited");
    assert.ok((await redis.pttl(`okome:lock:${key}`)) > 0, "the live owner kept renewing its lock");

    owner!.child.kill("SIGKILL");
    const done = await Promise.all(rest.map((w) => w.next("done")));

    assert.equal(await redis.get(`test:computes:${key}`), "2", "exactly one more compute");
    const takers = done.filter((d) => d.computes > 0);
    assert.equal(takers.length, 1);
    assert.equal(takers[0]!.computes, 1);
    assert.equal(takers[0]!.takeovers, 1);
    const results = done.flatMap((d) => d.results);
    assert.equal(results.length, 150);
    const value = results[0]!.value as { n: number };
    assert.equal(value.n, 2, "everyone got the takeover's value");
    for (const r of results) assert.deepEqual(r.value, value);
  });
});
