// Shared by bench/okome-*.ts (not a benchmark itself): a throw-away redis-server on loopback,
// and A/B timing that reports the median ratio of several runs.
import type Redis from "ioredis";
import { createRedis } from "../okome";
import { startRedisServer, type RedisServer } from "../test/support/redis-server";

export const RUNS = Number(process.env.BENCH_RUNS ?? 7);
export const OPS = Number(process.env.BENCH_OPS ?? 5000);

/** A fresh redis-server and a client on it; `close()` stops both. */
export async function benchRedis(): Promise<{
  redis: Redis;
  server: RedisServer;
  close(): Promise<void>;
}> {
  const server = await startRedisServer();
  // A generous timeout: a bench wants every call to reach Redis, not to fail open.
  const redis = createRedis({ port: server.port, commandTimeoutMs: 5000 });
  await new Promise((resolve) => redis.once("ready", resolve));
  return {
    redis,
    server,
    close: async () => {
      redis.disconnect();
      await server.dispose();
    },
  };
}

/** One operation; `lane` (0 .. inFlight-1) lets concurrent lanes use distinct keys. */
export type Op = (lane: number) => Promise<unknown>;

/** Runs `op` OPS times with `inFlight` calls outstanding; returns microseconds per op. */
async function perOp(op: Op, inFlight: number): Promise<number> {
  let next = 0;
  const lane = async (_: unknown, i: number): Promise<void> => {
    while (next++ < OPS) await op(i);
  };
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: inFlight }, lane));
  return Number(process.hrtime.bigint() - t0) / 1000 / OPS;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Times `subject` against `baseline` RUNS times (alternating which goes first, after a warm-up)
 * and prints the median of the per-run ratios subject/baseline.
 */
export async function compare(
  label: string,
  subject: Op,
  baseline: Op,
  inFlight: number,
): Promise<number> {
  await perOp(subject, inFlight);
  await perOp(baseline, inFlight);
  const ratios: number[] = [];
  const subj: number[] = [];
  const base: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const order = run % 2 === 0 ? [subject, baseline] : [baseline, subject];
    const [first, second] = [await perOp(order[0]!, inFlight), await perOp(order[1]!, inFlight)];
    const [s, b] = run % 2 === 0 ? [first, second] : [second, first];
    subj.push(s);
    base.push(b);
    ratios.push(s / b);
  }
  const ratio = median(ratios);
  console.log(
    `${label} (${inFlight} in flight, median of ${RUNS} runs x ${OPS} ops): ` +
      `ratio ${ratio.toFixed(2)} (${median(subj).toFixed(1)} us vs ${median(base).toFixed(1)} us per op)`,
  );
  return ratio;
}
