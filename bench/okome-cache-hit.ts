// getOrCompute on a hit (one EVALSHA that also checks freshness) vs a raw ioredis GET of the
// same key. Run: npx tsx bench/okome-cache-hit.ts   (BENCH_RUNS, BENCH_OPS to change the size)
import { OkomeCache, keys } from "../okome";
import { benchRedis, compare } from "./okome-harness";

async function main(): Promise<void> {
  const { redis, close } = await benchRedis();
  const cache = new OkomeCache({ redis });
  await cache.ready();
  // One key per lane: concurrent calls for one key would share a single flight in-process.
  const laneKeys = Array.from({ length: 64 }, (_, lane) =>
    keys.planner({ model: "llama3-8b", prompt: `bench ${lane}`, toolset: "ops-v1", repo: "tree" }),
  );
  const key = (lane: number): string => laneKeys[lane]!;
  const value = { steps: Array.from({ length: 8 }, (_, i) => `step ${i}: do the thing`) };
  for (let lane = 0; lane < 64; lane++) await cache.set(key(lane), value, { ttlMs: 3_600_000 });
  const hit = async (lane: number): Promise<void> => {
    const r = await cache.getOrCompute(key(lane), () => value, { ttlMs: 3_600_000 });
    if (r.status !== "HIT") throw new Error(`expected HIT, got ${r.status}`);
  };
  const get = async (lane: number): Promise<void> => {
    JSON.parse((await redis.get(key(lane)))!);
  };
  console.log("okome-cache-hit: getOrCompute hit path / raw ioredis GET + JSON.parse");
  await compare("  sequential", hit, get, 1);
  await compare("  concurrent", hit, get, 64);
  await cache.close();
  await close();
}

void main();
