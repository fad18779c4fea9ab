import { strict as assert } from "node:assert";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import type Redis from "ioredis";
import { OkomeBudget, OkomeCache, createRedis, keys } from "../../okome";
import { createPlannerServer, main, type PlanRequest } from "../../okome/planner-example";
import { startRedisServer, type RedisServer } from "../support/redis-server";
import { whenReady } from "./helpers";

describe("okome planner example (real redis-server)", function () {
  this.timeout(30_000);
  let server: RedisServer;
  let redis: Redis;
  let cache: OkomeCache;
  let http: Server;
  let base: string;
  let plans = 0;

  before(async () => {
    server = await startRedisServer();
    redis = createRedis({ port: server.port, commandTimeoutMs: 2000 });
    await whenReady(redis);
    cache = new OkomeCache({ redis });
    await cache.ready();
    const budget = new OkomeBudget({ redis, requests: { limit: 4 }, writes: { limit: 2 } });
    http = createPlannerServer({
      cache,
      budget,
      plan: async (r) => ({ plan: `steps for ${r.prompt}`, n: ++plans }),
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((resolve) => http.close(resolve));
    await cache.close();
    redis.disconnect();
    await server.dispose();
  });

  const body: PlanRequest = {
    model: "llama3-8b",
    prompt: "deploy",
    toolset: "ops-v1",
    repo: "tree-1",
  };
  const post = (agent: string | undefined, b: unknown = body, method = "POST") =>
    fetch(`${base}/plan`, {
      method,
      headers: agent === undefined ? {} : { "X-OKOME-Agent": agent },
      body: method === "POST" ? JSON.stringify(b) : undefined,
    });

  it("answers MISS then HIT with the cache key header", async () => {
    const first = await post("agent-1");
    assert.equal(first.status, 200);
    assert.equal(first.headers.get("x-okome-cache"), "MISS");
    assert.equal(first.headers.get("x-okome-cache-key"), keys.planner(body));
    assert.deepEqual(await first.json(), { plan: "steps for deploy", n: 1 });
    const pttl = await redis.pttl(keys.planner(body));
    assert.ok(
      pttl > 5 * 60_000 && pttl <= 16 * 60_000,
      `planner TTL 5-15 min + 1 min stale, got ${pttl}`,
    );

    const second = await post("agent-1");
    assert.equal(second.headers.get("x-okome-cache"), "HIT");
    assert.deepEqual(await second.json(), { plan: "steps for deploy", n: 1 });
  });

  it("answers 429 with Retry-After in seconds once the agent is over budget", async () => {
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await post("agent-2")).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 429]);
    const over = await post("agent-2");
    assert.equal(over.status, 429);
    const retryAfter = Number(over.headers.get("retry-after"));
    assert.ok(
      Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60,
      `Retry-After ${retryAfter}`,
    );
  });

  it("computes but does not cache once the agent's write budget is spent", async () => {
    const ask = async (prompt: string) =>
      (await post("agent-3", { ...body, prompt })).headers.get("x-okome-cache");
    assert.deepEqual(
      [await ask("a"), await ask("b"), await ask("c"), await ask("c")],
      ["MISS", "MISS", "MISS", "MISS"],
    );
    assert.equal(await redis.exists(keys.planner({ ...body, prompt: "c" })), 0);
  });

  it("rejects bad requests with a message naming the problem", async () => {
    const cases: [Response, number, RegExp][] = [
      [await post(undefined), 400, /X-OKOME-Agent/],
      [await post("agent 4"), 400, /"agent"/],
      [await post("agent-5", { ...body, model: "a:b" }), 400, /"model".*':'/],
      [await post("agent-6", { model: "m" }), 400, /prompt, toolset, repo/],
      [await post("agent-7", undefined, "GET"), 405, /POST/],
    ];
    for (const [res, status, message] of cases) {
      assert.equal(res.status, status);
      assert.match(((await res.json()) as { error: string }).error, message);
    }
  });

  it("keeps answering with BYPASS while Redis is down", async () => {
    await server.stop();
    try {
      const res = await post("agent-8", { ...body, prompt: "offline" });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("x-okome-cache"), "BYPASS");
    } finally {
      await server.start();
    }
  });
});

describe("okome planner example's main() against a Redis whose default user is off", function () {
  this.timeout(30_000);
  let server: RedisServer;

  before(async () => {
    // As on the model cache: only named users log in.
    server = await startRedisServer({
      args: ["--user", "default", "off"].concat([
        "--user",
        "okome",
        "on",
        ">planner-pass",
        "~okome:*",
        "&*",
        "+@all",
      ]),
    });
  });
  after(() => server?.dispose());

  it("logs in with REDIS_USER and REDIS_PASSWORD, so answers come from the cache, not BYPASS", async () => {
    const planner = await main({
      REDIS_PORT: String(server.port),
      REDIS_USER: "okome",
      REDIS_PASSWORD: "planner-pass",
      PORT: "0",
    });
    try {
      const url = `http://127.0.0.1:${(planner.address() as AddressInfo).port}/plan`;
      const ask = () =>
        fetch(url, {
          method: "POST",
          headers: { "X-OKOME-Agent": "main-test" },
          body: JSON.stringify({ model: "m", prompt: "p", toolset: "t", repo: "r" }),
        });
      // The first request may race the connection: wait until Redis answers.
      let first = await ask();
      for (let i = 0; i < 50 && first.headers.get("x-okome-cache") === "BYPASS"; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        first = await ask();
      }
      assert.equal(first.headers.get("x-okome-cache"), "MISS");
      assert.equal((await ask()).headers.get("x-okome-cache"), "HIT");
    } finally {
      await new Promise((resolve) => planner.close(resolve));
    }
  });
});
