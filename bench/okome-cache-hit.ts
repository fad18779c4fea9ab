// getOrCompute on a hit vs a raw ioredis GET (+ JSON.parse) of the same key: without a stale
// window the hit is a plain GET; with one it is one EVALSHA (GET + PTTL).
// Run: npx tsx bench/okome-cache-hit.ts   (BENCH_RUNS, BENCH_OPS change the size)
import { OkomeCache, keys } from "../okome";
import { benchRedis, compare } from "./okome-harness";

async function main(): Promise<void> {
  const { redis, close } = await benchRedis();
  const plain = new OkomeCache({ redis });
  const swr = new OkomeCache({ redis, staleMs: 60_000 });
  await Promise.all([plain.ready(), swr.ready()]);
  // One key per lane: concurrent calls for one key would share a single flight in-process.
  const laneKeys = Array.from({ length: 64 }, (_, lane) =>
    keys.planner({ model: "llama3-8b", prompt: `bench ${lane}`, toolset: "ops-v1", repo: "tree" }),
  );
  const value = { steps: Array.from({ length: 8 }, (_, i) => `step ${i}: do the thing`) };
  for (const key of laneKeys) await swr.set(key, value, { ttlMs: 3_600_000 });
  const hit = (cache: OkomeCache) => async (lane: number) => {
    const r = await cache.getOrCompute(laneKeys[lane]!, () => value, { ttlMs: 3_600_000 });
    if (r.status !== "HIT") throw new Error(`expected HIT, got ${r.status}`);
  };
  const get = async (lane: number): Promise<void> => {
    JSON.parse((await redis.get(laneKeys[lane]!))!);
  };
  console.log("okome-cache-hit: getOrCompute hit path / raw ioredis GET + JSON.parse");
  await compare("  staleMs 0, sequential", hit(plain), get, 1);
  await compare("  staleMs 0, concurrent", hit(plain), get, 64);
  await compare("  staleMs 60 s, sequential", hit(swr), get, 1);
  await compare("  staleMs 60 s, concurrent", hit(swr), get, 64);
  await Promise.all([plain.close(), swr.close()]);
  await close();
}

void main();
