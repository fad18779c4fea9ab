import { strict as assert } from "node:assert";
import type Redis from "ioredis";
import { OkomeBudget, createRedis, keys, type BudgetDecision } from "../../okome";
import { startRedisServer, type RedisServer } from "../support/redis-server";
import { whenReady } from "./helpers";

describe("okome budget (real redis-server)", function () {
  this.timeout(30_000);
  let server: RedisServer;
  // Several connections so that concurrent checks really interleave at the server.
  let clients: Redis[];

  before(async () => {
    server = await startRedisServer();
    clients = Array.from({ length: 4 }, () =>
      createRedis({ port: server.port, commandTimeoutMs: 5000 }),
    );
    await Promise.all(clients.map(whenReady));
  });
  beforeEach(() => clients[0]!.flushall());
  after(async () => {
    clients.forEach((c) => c.disconnect());
    await server.dispose();
  });

  const budgets = (options: Omit<ConstructorParameters<typeof OkomeBudget>[0], "redis"> = {}) =>
    clients.map((redis) => new OkomeBudget({ redis, ...options }));
  const spread = <T>(
    n: number,
    pool: OkomeBudget[],
    f: (b: OkomeBudget, i: number) => Promise<T>,
  ) => Promise.all(Array.from({ length: n }, (_, i) => f(pool[i % pool.length]!, i)));
  const admitted = (ds: BudgetDecision[]): number => ds.filter((d) => d.allowed).length;

  it("admits exactly 60 of 1000 concurrent requests of one agent", async () => {
    const decisions = await spread(1000, budgets(), (b) => b.checkRequest("agent-a"));
    assert.equal(admitted(decisions), 60);
    const remaining = decisions
      .filter((d) => d.allowed)
      .map((d) => d.remaining)
      .sort((a, b) => a - b);
    assert.deepEqual(
      remaining,
      Array.from({ length: 60 }, (_, i) => i),
      "each slot handed out once",
    );
    for (const d of decisions.filter((d) => !d.allowed)) {
      assert.equal(d.budget, "requests");
      assert.ok(d.retryAfterMs > 0 && d.retryAfterMs <= 60_000, `retryAfterMs ${d.retryAfterMs}`);
      assert.equal(d.degraded, false);
    }
    assert.equal(await clients[0]!.zcard(keys.budgetRequests("agent-a", 60_000)), 60);
    assert.equal(
      (await budgets()[0]!.checkRequest("agent-b")).allowed,
      true,
      "budgets are per agent",
    );
  });

  it("admits exactly 30 of 1000 concurrent cache writes of one agent", async () => {
    const decisions = await spread(1000, budgets(), (b, i) =>
      b.checkWrite("agent-w", keys.tools(`v${i}`), 60_000),
    );
    assert.equal(admitted(decisions), 30);
    assert.ok(decisions.filter((d) => !d.allowed).every((d) => d.budget === "writes"));
    assert.equal(
      await clients[0]!.zcard(keys.agentKeys("agent-w")),
      30,
      "denied writes took no key slot",
    );
  });

  it("holds the 5000-key cap exactly for 6000 distinct keys written concurrently", async () => {
    const pool = budgets({ writes: { limit: 100_000 } });
    const decisions = await spread(6000, pool, (b, i) =>
      b.checkWrite("agent-k", keys.rag("repo", `chunk ${i}`), 60_000),
    );
    assert.equal(admitted(decisions), 5000);
    const denied = decisions.filter((d) => !d.allowed);
    assert.ok(
      denied.every((d) => d.budget === "keys" && d.retryAfterMs > 0 && d.retryAfterMs <= 60_000),
    );
    assert.equal(await clients[0]!.zcard(keys.agentKeys("agent-k")), 5000);
    // A key the agent already holds is rewritten without a new slot; a new one still waits.
    const rewrite = (i: number) =>
      pool[0]!.checkWrite("agent-k", keys.rag("repo", `chunk ${i}`), 60_000);
    assert.equal((await rewrite(decisions.findIndex((d) => d.allowed))).allowed, true);
    assert.equal((await rewrite(decisions.findIndex((d) => !d.allowed))).allowed, false);
  });

  it("never admits more than the limit in any window, across the window edge", async () => {
    const [b] = budgets({ requests: { limit: 10, windowMs: 2000 } });
    const first = await spread(10, [b!], () => b!.checkRequest("edge"));
    assert.equal(admitted(first), 10);
    // A fixed window would reset at the next boundary; the sliding log waits for the oldest.
    await sleep(500);
    const mid = await spread(10, [b!], () => b!.checkRequest("edge"));
    assert.equal(admitted(mid), 0);
    const wait = Math.max(...mid.map((d) => d.retryAfterMs));
    assert.ok(wait > 0 && wait <= 1600, `retryAfterMs ${wait}`);
    await sleep(wait + 20);
    const after = await spread(15, [b!], () => b!.checkRequest("edge"));
    assert.equal(admitted(after), 10);
  });

  it("frees key slots when the keys expire", async () => {
    const [b] = budgets({ keys: { cap: 2 } });
    assert.equal((await b!.checkWrite("exp", keys.tools("a"), 1000)).allowed, true);
    assert.equal((await b!.checkWrite("exp", keys.tools("b"), 5000)).allowed, true);
    const full = await b!.checkWrite("exp", keys.tools("c"), 5000);
    assert.equal(full.allowed, false);
    assert.ok(full.retryAfterMs > 0 && full.retryAfterMs <= 1000, "until the first key expires");
    await sleep(full.retryAfterMs + 20);
    assert.equal((await b!.checkWrite("exp", keys.tools("c"), 5000)).allowed, true);
  });

  it("answers with each budget's fail mode when Redis is unreachable", async () => {
    const down = await startRedisServer();
    const redis = createRedis({ port: down.port });
    await whenReady(redis);
    await down.dispose();
    const defaults = new OkomeBudget({ redis });
    const req = await defaults.checkRequest("a");
    assert.deepEqual([req.allowed, req.degraded], [true, true], "requests fail open by default");
    const write = await defaults.checkWrite("a", keys.tools("x"), 1000);
    assert.deepEqual(
      [write.allowed, write.degraded],
      [false, true],
      "writes fail closed by default",
    );
    assert.ok(write.retryAfterMs > 0);
    const flipped = new OkomeBudget({
      redis,
      requests: { failMode: "closed" },
      writes: { failMode: "open" },
      keys: { failMode: "open" },
    });
    assert.equal((await flipped.checkRequest("a")).allowed, false);
    assert.equal((await flipped.checkWrite("a", keys.tools("x"), 1000)).allowed, true);
    assert.equal(defaults.metrics().degraded, 2);
    redis.disconnect();
  });

  it("reloads its scripts after a server restart (EVALSHA falls back to EVAL)", async () => {
    const [b] = budgets({ requests: { limit: 5 } });
    assert.equal((await b!.checkRequest("restart")).allowed, true);
    await clients[0]!.script("FLUSH");
    const d = await b!.checkRequest("restart");
    assert.deepEqual([d.allowed, d.remaining, d.degraded], [true, 3, false]);
  });

  it("rejects bad options all at once, naming each", () => {
    assert.throws(
      () =>
        new OkomeBudget({
          redis: clients[0]!,
          requests: { limit: 0 },
          writes: { windowMs: 1.5, failMode: "maybe" as "open" },
          keys: { cap: -1 },
        }),
      /requests\.limit.*writes\.windowMs.*writes\.failMode.*keys\.cap/,
    );
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
