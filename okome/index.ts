// Public API of the OKOME orchestrator's Redis library. See docs/okome.md.
export {
  KEY_PREFIX,
  KeyPartError,
  fillChannel,
  keys,
  lockKey,
  sha256Hex,
  windowLabel,
} from "./keys";
export type { PlannerKeyParts } from "./keys";

export { TTL_RANGES, ttlMs } from "./ttl";
export type { CacheKind, RandomSource, TtlRange } from "./ttl";

export { REDIS_DEFAULTS, assertFailFast, createRedis } from "./redis";
export type { OkomeRedisOptions } from "./redis";

export { CACHE_DEFAULTS, OkomeCache, cacheHeaders, jsonSerializer } from "./cache";
export type {
  CacheLookup,
  CacheMetrics,
  CacheResult,
  CacheStatus,
  ComputeOptions,
  OkomeCacheOptions,
  ReadOptions,
  Serializer,
  WriteOptions,
} from "./cache";

export { BUDGET_DEFAULTS, DEGRADED_RETRY_AFTER_MS, OkomeBudget } from "./budget";
export type {
  BudgetDecision,
  BudgetMetrics,
  FailMode,
  KeyCapOptions,
  OkomeBudgetOptions,
  WindowBudgetOptions,
} from "./budget";
