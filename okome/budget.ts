import { randomUUID } from "node:crypto";
import type Redis from "ioredis";
import { keys } from "./keys";
import { definedOnly, positiveInt } from "./options";
import { assertFailFast } from "./redis";

/** What a check answers when Redis cannot: `open` admits, `closed` denies. */
export type FailMode = "open" | "closed";

/** A sliding-window budget: at most `limit` admissions in any `windowMs` span. */
export interface WindowBudgetOptions {
  /** Admissions allowed in any window, a positive integer. */
  readonly limit?: number;
  /** Window length in milliseconds, a positive integer. */
  readonly windowMs?: number;
  /** Answer while Redis is unreachable or slow. */
  readonly failMode?: FailMode;
}

/** A cap on the number of live cache keys one agent has written. */
export interface KeyCapOptions {
  /** Live keys allowed per agent, a positive integer. */
  readonly cap?: number;
  /** Answer while Redis is unreachable or slow. */
  readonly failMode?: FailMode;
}

/** Options of {@link OkomeBudget}; see {@link BUDGET_DEFAULTS} for every default. */
export interface OkomeBudgetOptions {
  /** Client from `createRedis()` (it must fail fast; checked). The budget does not close it. */
  readonly redis: Redis;
  /** Requests per agent. Default 60 per 60 000 ms, fail open. */
  readonly requests?: WindowBudgetOptions;
  /** Cache writes per agent. Default 30 per 60 000 ms, fail closed. */
  readonly writes?: WindowBudgetOptions;
  /** Live cache keys per agent. Default 5000, fail closed. */
  readonly keys?: KeyCapOptions;
}

/**
 * Defaults of {@link OkomeBudgetOptions}, applied in this one place.
 * Requests fail open: denying every request while the cache is down would turn a cache outage
 * into a full outage, and the edge's nginx rate limit still stands in front. Writes and keys
 * fail closed: a denied write only skips caching a value that is returned anyway, and with
 * Redis down the write could not land either.
 */
export const BUDGET_DEFAULTS = {
  requests: { limit: 60, windowMs: 60_000, failMode: "open" },
  writes: { limit: 30, windowMs: 60_000, failMode: "closed" },
  keys: { cap: 5000, failMode: "closed" },
} as const satisfies {
  requests: Required<WindowBudgetOptions>;
  writes: Required<WindowBudgetOptions>;
  keys: Required<KeyCapOptions>;
};

/** Retry-After suggested when Redis is down and a closed budget denies: one reconnect backoff. */
export const DEGRADED_RETRY_AFTER_MS = 1000;

/** The answer of one check. */
export interface BudgetDecision {
  readonly allowed: boolean;
  /** Admissions left right after this one (the tighter budget for writes); 0 when degraded. */
  readonly remaining: number;
  /** 0 when allowed; else milliseconds until a retry can be admitted (for Retry-After). */
  readonly retryAfterMs: number;
  /** The budget these numbers are about: the one that denied, or the tighter one. */
  readonly budget: "requests" | "writes" | "keys";
  /** True when Redis failed and the budget's fail mode answered. */
  readonly degraded: boolean;
}

/** Counters since the budget was created. */
export interface BudgetMetrics {
  requestsAllowed: number;
  requestsDenied: number;
  writesAllowed: number;
  writesDenied: number;
  keysDenied: number;
  /** Checks answered by a fail mode because Redis failed. */
  degraded: number;
}

// Sliding-window log. Scores are Redis TIME in microseconds (exact in a double until 2255),
// so clients' clocks never matter. An entry counts while now - score < window.
const WINDOW_PRELUDE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2]) * 1000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local used = redis.call('ZCARD', KEYS[1])
local function wait_oldest()
  local oldest = tonumber(redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2])
  return math.ceil((oldest + window - now) / 1000)
end`;

// KEYS: log. ARGV: limit, windowMs, member. Returns {allowed, remaining, retryAfterMs}.
const REQUEST_LUA = `${WINDOW_PRELUDE}
if used >= limit then return {0, 0, wait_oldest()} end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1, limit - used - 1, 0}`;

// KEYS: writes log, agent keys (member = cache key, score = its expiry in microseconds).
// ARGV: limit, windowMs, member, cache key, lifetimeMs, cap.
// Returns {allowed, remaining, retryAfterMs, 1 = writes | 2 = keys}. A denial consumes nothing.
const WRITE_LUA = `${WINDOW_PRELUDE}
if used >= limit then return {0, 0, wait_oldest(), 1} end
local cap = tonumber(ARGV[6])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local live = redis.call('ZCARD', KEYS[2])
if not redis.call('ZSCORE', KEYS[2], ARGV[4]) then
  if live >= cap then
    local first = tonumber(redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')[2])
    return {0, 0, math.ceil((first - now) / 1000), 2}
  end
  live = live + 1
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[5]) * 1000, ARGV[4])
local last = tonumber(redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')[2])
redis.call('PEXPIRE', KEYS[2], math.ceil((last - now) / 1000))
local writes_left, keys_left = limit - used - 1, cap - live
if writes_left <= keys_left then return {1, writes_left, 0, 1} end
return {1, keys_left, 0, 2}`;

interface BudgetScripts {
  okomeBudgetRequest(
    log: string,
    limit: number,
    windowMs: number,
    member: string,
  ): Promise<number[]>;
  okomeBudgetWrite(
    log: string,
    agentKeys: string,
    limit: number,
    windowMs: number,
    member: string,
    cacheKey: string,
    lifetimeMs: number,
    cap: number,
  ): Promise<number[]>;
}

type Resolved = {
  requests: Required<WindowBudgetOptions>;
  writes: Required<WindowBudgetOptions>;
  keys: Required<KeyCapOptions>;
};

/**
 * Per-agent budgets, each check one atomic Lua script (EVALSHA, EVAL on NOSCRIPT): exact under
 * any concurrency, and never more than `limit` admissions in any window of `windowMs`.
 */
export class OkomeBudget {
  private readonly redis: Redis & BudgetScripts;
  private readonly o: Resolved;
  private readonly m: BudgetMetrics = {
    requestsAllowed: 0,
    requestsDenied: 0,
    writesAllowed: 0,
    writesDenied: 0,
    keysDenied: 0,
    degraded: 0,
  };

  constructor(options: OkomeBudgetOptions) {
    assertFailFast(options.redis);
    this.o = {
      requests: { ...BUDGET_DEFAULTS.requests, ...definedOnly(options.requests) },
      writes: { ...BUDGET_DEFAULTS.writes, ...definedOnly(options.writes) },
      keys: { ...BUDGET_DEFAULTS.keys, ...definedOnly(options.keys) },
    };
    const problems = validate(this.o);
    if (problems.length > 0) throw new RangeError(`OkomeBudget options: ${problems.join("; ")}`);
    options.redis.defineCommand("okomeBudgetRequest", { numberOfKeys: 1, lua: REQUEST_LUA });
    options.redis.defineCommand("okomeBudgetWrite", { numberOfKeys: 2, lua: WRITE_LUA });
    this.redis = options.redis as Redis & BudgetScripts;
  }

  /** A snapshot of the counters. */
  metrics(): BudgetMetrics {
    return { ...this.m };
  }

  /** Admits one request of `agent` against the requests budget. Never throws for Redis errors. */
  async checkRequest(agent: string): Promise<BudgetDecision> {
    const { limit, windowMs, failMode } = this.o.requests;
    const log = keys.budgetRequests(agent, windowMs);
    let reply: number[];
    try {
      reply = await this.redis.okomeBudgetRequest(log, limit, windowMs, randomUUID());
    } catch {
      return this.degraded("requests", failMode === "open");
    }
    const decision = toDecision(reply, "requests");
    if (decision.allowed) this.m.requestsAllowed++;
    else this.m.requestsDenied++;
    return decision;
  }

  /**
   * Admits one cache write of `agent` to `cacheKey`, living `lifetimeMs`, against both the
   * writes budget and the key cap in one script; a denial consumes neither. Rewriting a key
   * the agent already holds needs no new key slot. Degraded answer: open only if both
   * budgets fail open.
   */
  async checkWrite(agent: string, cacheKey: string, lifetimeMs: number): Promise<BudgetDecision> {
    const problem = positiveInt("lifetimeMs", lifetimeMs);
    if (problem) throw new RangeError(problem);
    const { limit, windowMs } = this.o.writes;
    const log = keys.budgetWrites(agent, windowMs);
    const agentKeys = keys.agentKeys(agent);
    let reply: number[];
    try {
      reply = await this.redis.okomeBudgetWrite(
        log,
        agentKeys,
        limit,
        windowMs,
        randomUUID(),
        cacheKey,
        lifetimeMs,
        this.o.keys.cap,
      );
    } catch {
      const open = this.o.writes.failMode === "open" && this.o.keys.failMode === "open";
      return this.degraded("writes", open);
    }
    const decision = toDecision(reply, reply[3] === 2 ? "keys" : "writes");
    if (decision.allowed) this.m.writesAllowed++;
    else if (decision.budget === "keys") this.m.keysDenied++;
    else this.m.writesDenied++;
    return decision;
  }

  private degraded(budget: BudgetDecision["budget"], allowed: boolean): BudgetDecision {
    this.m.degraded++;
    return {
      allowed,
      remaining: 0,
      retryAfterMs: allowed ? 0 : DEGRADED_RETRY_AFTER_MS,
      budget,
      degraded: true,
    };
  }
}

function toDecision(reply: number[], budget: BudgetDecision["budget"]): BudgetDecision {
  return {
    allowed: reply[0] === 1,
    remaining: reply[1]!,
    retryAfterMs: reply[2]!,
    budget,
    degraded: false,
  };
}

function validate(o: Resolved): string[] {
  const problems: string[] = [];
  const int = (path: string, v: number): void => {
    const problem = positiveInt(path, v);
    if (problem) problems.push(problem);
  };
  const mode = (path: string, v: string): void => {
    if (v !== "open" && v !== "closed")
      problems.push(`${path} must be "open" or "closed", got ${v}`);
  };
  for (const name of ["requests", "writes"] as const) {
    int(`${name}.limit`, o[name].limit);
    int(`${name}.windowMs`, o[name].windowMs);
    mode(`${name}.failMode`, o[name].failMode);
  }
  int("keys.cap", o.keys.cap);
  mode("keys.failMode", o.keys.failMode);
  return problems;
}
