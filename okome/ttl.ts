/** The cache types of the key schema. */
export type CacheKind = "modelMeta" | "planner" | "rag" | "tools" | "health";

/** Inclusive TTL range of one cache type, in milliseconds. `min === max` means no jitter. */
export interface TtlRange {
  readonly minMs: number;
  readonly maxMs: number;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/**
 * TTL per cache type. Planner and RAG entries are drawn uniformly from their range so that
 * entries written in one burst (a pre-warm, a popular prompt) do not all expire in the same
 * second and come back as a miss storm.
 */
export const TTL_RANGES: Readonly<Record<CacheKind, TtlRange>> = {
  modelMeta: { minMs: 24 * HOUR, maxMs: 24 * HOUR },
  planner: { minMs: 5 * MINUTE, maxMs: 15 * MINUTE },
  rag: { minMs: 30 * MINUTE, maxMs: 60 * MINUTE },
  tools: { minMs: 10 * MINUTE, maxMs: 10 * MINUTE },
  health: { minMs: 30 * SECOND, maxMs: 30 * SECOND },
};

/** A source of uniform numbers in [0, 1), like `Math.random`; injectable for tests. */
export type RandomSource = () => number;

/**
 * TTL in milliseconds for one entry of `kind`: an integer in `[minMs, maxMs]`.
 * @param random uniform source in [0, 1); defaults to `Math.random`.
 */
export function ttlMs(kind: CacheKind, random: RandomSource = Math.random): number {
  const range = TTL_RANGES[kind];
  if (range === undefined) throw new RangeError(`unknown cache kind "${String(kind)}"`);
  const span = range.maxMs - range.minMs;
  if (span === 0) return range.minMs;
  const r = random();
  if (!(r >= 0 && r < 1)) throw new RangeError(`random source returned ${r}, expected [0, 1)`);
  return range.minMs + Math.floor(r * (span + 1));
}
