import { strict as assert } from "node:assert";
import Redis from "ioredis";
import { parseRedisSize } from "../../components/modelCache";
import { REDIS_MAXMEMORY_POLICIES, REDIS_RESTART_ONLY } from "../../components/platform";
import { RedisServer, startRedisServer } from "../support/redis-server";

// What components/platform.ts says about Redis 7.0, asked of the real redis-server (bookworm's).
describe("platform facts: redis-server 7.0", function () {
  this.timeout(30_000);
  let server: RedisServer;
  let redis: Redis;

  before(async () => {
    server = await startRedisServer();
    redis = new Redis({ port: server.port, lazyConnect: true });
    await redis.connect();
  });
  after(async () => {
    redis?.disconnect();
    await server?.dispose();
  });

  it("is version 7.0, the one the facts were taken from", async () => {
    const info = await redis.info("server");
    assert.match(info, /^redis_version:7\.0\./m);
  });

  it("refuses CONFIG SET for exactly the settings listed as restart-only", async () => {
    const all = (await redis.call("CONFIG", "GET", "*")) as string[];
    const refused: string[] = [];
    for (let i = 0; i < all.length; i += 2) {
      // Setting a value to itself changes nothing, but Redis still refuses an immutable one.
      const reply = await redis
        .call("CONFIG", "SET", all[i], all[i + 1])
        .catch((e: Error) => e.message);
      if (/immutable|protected/.test(String(reply))) refused.push(all[i]);
    }
    // replicaof/slaveof are set with the REPLICAOF command; extraOptions forbids them.
    const expected = [...REDIS_RESTART_ONLY].sort();
    assert.deepEqual(refused.filter((n) => n !== "replicaof" && n !== "slaveof").sort(), expected);
  });

  it("changes bind and port live", async () => {
    const [, bind] = (await redis.call("CONFIG", "GET", "bind")) as string[];
    assert.equal(await redis.call("CONFIG", "SET", "bind", bind), "OK");
    assert.ok(!REDIS_RESTART_ONLY.has("bind") && !REDIS_RESTART_ONLY.has("port"));
  });

  it("accepts every listed eviction policy, and no other", async () => {
    for (const p of REDIS_MAXMEMORY_POLICIES) {
      assert.equal(await redis.call("CONFIG", "SET", "maxmemory-policy", p), "OK", p);
    }
    await assert.rejects(redis.call("CONFIG", "SET", "maxmemory-policy", "lru"));
  });

  it("reads sizes the way parseRedisSize does", async () => {
    for (const size of ["1000", "1k", "1kb", "256mb", "1M", "2g", "1GB", "3b"]) {
      await redis.call("CONFIG", "SET", "maxmemory", size);
      const [, bytes] = (await redis.call("CONFIG", "GET", "maxmemory")) as string[];
      assert.equal(parseRedisSize(size), Number(bytes), size);
    }
    for (const bad of ["4xb", "1.5gb", "-1"]) {
      assert.equal(parseRedisSize(bad), undefined, bad);
      await assert.rejects(redis.call("CONFIG", "SET", "maxmemory", bad), bad);
    }
    await redis.call("CONFIG", "SET", "maxmemory", "0");
  });
});
