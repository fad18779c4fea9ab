import { randomBytes } from "node:crypto";
import type Redis from "ioredis";
import { fillChannel, lockKey } from "./keys";
import { definedOnly, nonNegativeInt, positiveInt } from "./options";
import { assertFailFast } from "./redis";

/**
 * How a value was served, for the `X-OKOME-Cache` header:
 * - `HIT`: read from Redis (possibly filled by another caller while this one waited).
 * - `MISS`: computed by this caller, which held the key's lock, and written.
 * - `STALE`: read from Redis inside the stale window; a refresh runs in the background.
 * - `BYPASS`: Redis was unreachable, slow or the wait ran out; computed without the cache.
 */
export type CacheStatus = "HIT" | "MISS" | "STALE" | "BYPASS";

/** Turns values into bytes for Redis and back. */
export interface Serializer<T> {
  encode(value: T): string | Buffer;
  decode(raw: Buffer): T;
}

/** The default serializer: JSON text. */
export const jsonSerializer: Serializer<unknown> = {
  encode: (value) => JSON.stringify(value),
  decode: (raw) => JSON.parse(raw.toString("utf8")) as unknown,
};

/** Result of {@link OkomeCache.getOrCompute}. */
export interface CacheResult<T> {
  readonly value: T;
  readonly status: CacheStatus;
  /** The cache key, for the `X-OKOME-Cache-Key` header. */
  readonly key: string;
}

/** Result of {@link OkomeCache.get}; `MISS` carries no value. */
export type CacheLookup<T> =
  | CacheResult<T>
  | { readonly value: undefined; readonly status: "MISS" | "BYPASS"; readonly key: string };

/** The two response headers that report a cache result. */
export function cacheHeaders(result: { status: CacheStatus; key: string }): Record<string, string> {
  return { "X-OKOME-Cache": result.status, "X-OKOME-Cache-Key": result.key };
}

/** Options of one read. */
export interface ReadOptions<T> {
  /** Overrides the instance's `staleMs` (milliseconds). */
  readonly staleMs?: number;
  /** Overrides the instance's serializer. */
  readonly serializer?: Serializer<T>;
}

/** Options of one write. */
export interface WriteOptions<T> extends ReadOptions<T> {
  /** How long the entry is fresh, in milliseconds (see `ttlMs()` in ttl.ts). Required. */
  readonly ttlMs: number;
}

/** Options of one {@link OkomeCache.getOrCompute} call. */
export interface ComputeOptions<T> extends WriteOptions<T> {
  /**
   * Asked before a computed value is written; `false` skips the write (the value is still
   * returned). Receives the key and the entry's lifetime (`ttlMs + staleMs`) in milliseconds.
   * Wire the budget's `checkWrite` here. Default: always write.
   */
  readonly admitWrite?: (key: string, lifetimeMs: number) => boolean | Promise<boolean>;
}

/** Options of {@link OkomeCache}. */
export interface OkomeCacheOptions {
  /** Client from `createRedis()` (it must fail fast; checked). The cache does not close it. */
  readonly redis: Redis;
  /**
   * Lease of the stampede lock, in milliseconds. The owner renews it every third of the lease
   * while computing, so this bounds how long waiters sit behind a dead owner, not the compute
   * time. Default `5000`.
   */
  readonly lockTtlMs?: number;
  /**
   * Longest a caller waits behind another process's compute before computing itself
   * (`BYPASS`), in milliseconds. Default `30000`.
   */
  readonly maxWaitMs?: number;
  /**
   * Fallback poll period while waiting, in milliseconds, in case the fill message is lost.
   * Waiters also wake when the lock's lease ends, to take over from a dead owner. Default `250`.
   */
  readonly pollIntervalMs?: number;
  /**
   * Stale-while-revalidate window, in milliseconds: entries are kept this long past their TTL
   * and served as `STALE` while one caller refreshes them. `0` turns it off. Default `0`.
   */
  readonly staleMs?: number;
  /** Value serializer. Default {@link jsonSerializer}. */
  readonly serializer?: Serializer<unknown>;
}

/** Defaults of {@link OkomeCacheOptions}, applied in this one place. */
export const CACHE_DEFAULTS = {
  lockTtlMs: 5000,
  maxWaitMs: 30_000,
  pollIntervalMs: 250,
  staleMs: 0,
  serializer: jsonSerializer,
} as const;

/** Counters since the cache was created; read with {@link OkomeCache.metrics}. */
export interface CacheMetrics {
  hits: number;
  misses: number;
  stale: number;
  bypasses: number;
  /** Calls of a compute function by this instance. */
  computes: number;
  /** Calls that joined an in-process flight for the same key. */
  coalesced: number;
  /** Flights that waited behind another owner's lock. */
  lockWaits: number;
  /** Waits that ended by taking the lock over from an owner whose lease ran out. */
  takeovers: number;
  /** Lease renewals that found the lock no longer ours. */
  lockLost: number;
  pubsubWakeups: number;
  pollWakeups: number;
  waitTimeouts: number;
  writes: number;
  writesDenied: number;
  refreshErrors: number;
  decodeErrors: number;
  /** Redis commands that failed or timed out (each made the call fail open). */
  redisErrors: number;
}

// Returns [1, value] fresh, [2, value, gotRefreshLock] stale, [3] miss and lock taken,
// [4, lockPttl] miss while another caller holds the lock. One round trip on every path.
const FETCH_LUA = `
local v = redis.call('GET', KEYS[1])
if v then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 or ttl > tonumber(ARGV[3]) then return {1, v} end
  if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {2, v, 1} end
  return {2, v, 0}
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {3} end
return {4, redis.call('PTTL', KEYS[2])}`;

// Writes the value (unless ARGV[3] is 0), releases the lock only if ARGV[1] still owns it,
// and wakes the waiters.
const FILL_LUA = `
if ARGV[3] ~= '0' then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
redis.call('PUBLISH', ARGV[4], ARGV[3])
return 1`;

const RENEW_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

const PEEK_LUA = `
local v = redis.call('GET', KEYS[1])
if not v then return {} end
return {v, redis.call('PTTL', KEYS[1])}`;

type FetchReply = [1, Buffer] | [2, Buffer, 0 | 1] | [3] | [4, number];

interface OkomeScripts {
  okomeFetchBuffer(
    key: string,
    lock: string,
    token: string,
    lockTtlMs: number,
    staleMs: number,
  ): Promise<FetchReply>;
  okomeFill(
    key: string,
    lock: string,
    token: string,
    raw: string | Buffer,
    px: number,
    channel: string,
  ): Promise<number>;
  okomeRenew(lock: string, token: string, lockTtlMs: number): Promise<number>;
  okomePeekBuffer(key: string): Promise<[] | [Buffer, number]>;
}

type Resolved<T> = Required<Omit<ComputeOptions<T>, "admitWrite">> &
  Pick<ComputeOptions<T>, "admitWrite">;

/**
 * Redis cache with a distributed stampede lock: concurrent `getOrCompute` calls for one key,
 * in any number of processes, run the compute function once. Fails open when Redis is down.
 */
export class OkomeCache {
  private readonly redis: Redis & OkomeScripts;
  private readonly sub: Redis;
  private readonly o: Required<Omit<OkomeCacheOptions, "redis">>;
  private readonly inflight = new Map<string, Promise<CacheResult<unknown>>>();
  private readonly wakers = new Map<string, () => void>();
  private readonly refreshes = new Set<Promise<void>>();
  // Lock tokens: random per instance, then a counter (fresh random bytes per call cost ~30%
  // of a hit). Only uniqueness matters: the token proves ownership to the release script.
  private readonly tokenPrefix = randomBytes(12).toString("hex");
  private seq = 0;
  private readonly m: CacheMetrics = {
    hits: 0,
    misses: 0,
    stale: 0,
    bypasses: 0,
    computes: 0,
    coalesced: 0,
    lockWaits: 0,
    takeovers: 0,
    lockLost: 0,
    pubsubWakeups: 0,
    pollWakeups: 0,
    waitTimeouts: 0,
    writes: 0,
    writesDenied: 0,
    refreshErrors: 0,
    decodeErrors: 0,
    redisErrors: 0,
  };

  constructor(options: OkomeCacheOptions) {
    assertFailFast(options.redis);
    const { redis, ...rest } = options;
    this.o = { ...CACHE_DEFAULTS, ...definedOnly(rest) };
    const problems = [
      positiveInt("lockTtlMs", this.o.lockTtlMs),
      positiveInt("maxWaitMs", this.o.maxWaitMs),
      positiveInt("pollIntervalMs", this.o.pollIntervalMs),
      nonNegativeInt("staleMs", this.o.staleMs),
    ].filter((p): p is string => p !== undefined);
    if (problems.length > 0) throw new RangeError(`OkomeCache options: ${problems.join("; ")}`);

    // defineCommand sends EVALSHA and falls back to EVAL on NOSCRIPT (e.g. after a restart).
    redis.defineCommand("okomeFetch", { numberOfKeys: 2, lua: FETCH_LUA });
    redis.defineCommand("okomeFill", { numberOfKeys: 2, lua: FILL_LUA });
    redis.defineCommand("okomeRenew", { numberOfKeys: 1, lua: RENEW_LUA });
    redis.defineCommand("okomePeek", { numberOfKeys: 1, lua: PEEK_LUA, readOnly: true });
    this.redis = redis as Redis & OkomeScripts;

    // A subscribed connection can run nothing else, hence a second one, created up front so it
    // is ready before the first wait (the offline queue is off).
    this.sub = redis.duplicate();
    this.sub.on("error", () => undefined); // a lost subscriber only costs polls; counted there
    this.sub.on("message", (channel: string) => this.wakers.get(channel)?.());
  }

  /** A snapshot of the counters. */
  metrics(): CacheMetrics {
    return { ...this.m };
  }

  /**
   * Resolves once both connections (commands, pub/sub) are ready. Optional: calls made before
   * fail open; await it at startup to begin with a warm path.
   */
  async ready(): Promise<void> {
    const readyOf = (c: Redis): Promise<void> | undefined =>
      c.status === "ready" ? undefined : new Promise((resolve) => c.once("ready", resolve));
    await Promise.all([readyOf(this.redis), readyOf(this.sub)]);
  }

  /**
   * Reads `key`. `STALE` when inside the stale window; `BYPASS` (no value) when Redis failed.
   */
  async get<T = unknown>(key: string, options: ReadOptions<T> = {}): Promise<CacheLookup<T>> {
    const staleMs = options.staleMs ?? this.o.staleMs;
    let reply: [] | [Buffer, number];
    try {
      reply = await this.redis.okomePeekBuffer(key);
    } catch {
      this.m.redisErrors++;
      this.m.bypasses++;
      return { value: undefined, status: "BYPASS", key };
    }
    if (reply.length === 0) {
      this.m.misses++;
      return { value: undefined, status: "MISS", key };
    }
    let value: T;
    try {
      value = this.serializer(options).decode(reply[0]);
    } catch {
      this.m.decodeErrors++;
      this.m.misses++;
      return { value: undefined, status: "MISS", key };
    }
    if (reply[1] < 0 || reply[1] > staleMs) {
      this.m.hits++;
      return { value, status: "HIT", key };
    }
    this.m.stale++;
    return { value, status: "STALE", key };
  }

  /**
   * Writes `key` for `ttlMs` (+ `staleMs`). Resolves `false` instead of throwing when Redis
   * fails; a value the serializer cannot encode throws.
   */
  async set<T>(key: string, value: T, options: WriteOptions<T>): Promise<boolean> {
    const o = this.resolve(options);
    const raw = o.serializer.encode(value);
    try {
      await this.redis.set(key, raw, "PX", o.ttlMs + o.staleMs);
      this.m.writes++;
      return true;
    } catch {
      this.m.redisErrors++;
      return false;
    }
  }

  /**
   * Returns the cached value of `key`, or computes, stores and returns it. Concurrent calls
   * for one key run `compute` once across all processes sharing the Redis; calls in this
   * process share one flight (and the first caller's options). Errors of `compute` reach every
   * caller of the flight; Redis errors never do (the call computes and reports `BYPASS`).
   */
  getOrCompute<T>(
    key: string,
    compute: () => T | Promise<T>,
    options: ComputeOptions<T>,
  ): Promise<CacheResult<T>> {
    const joined = this.inflight.get(key);
    if (joined) {
      this.m.coalesced++;
      return joined as Promise<CacheResult<T>>;
    }
    let resolved: Resolved<T>;
    try {
      resolved = this.resolve(options);
    } catch (err) {
      return Promise.reject(err);
    }
    const flight = this.flight(key, compute, resolved).finally(() => this.inflight.delete(key));
    this.inflight.set(key, flight);
    return flight;
  }

  /** Waits for background refreshes, then closes the subscriber connection (not `redis`). */
  async close(): Promise<void> {
    await Promise.allSettled([...this.refreshes]);
    this.sub.disconnect();
  }

  private async flight<T>(
    key: string,
    compute: () => T | Promise<T>,
    o: Resolved<T>,
  ): Promise<CacheResult<T>> {
    const lock = lockKey(key);
    const token = `${this.tokenPrefix}:${++this.seq}`;
    let reply: FetchReply;
    try {
      // Without a stale window a hit needs no PTTL: a plain GET keeps the hot path at the cost
      // of a raw GET, and only a miss pays for the script.
      const raw = o.staleMs === 0 ? await this.redis.getBuffer(key) : null;
      reply = raw === null ? await this.fetch(key, lock, token, o) : [1, raw];
    } catch {
      return this.bypass(key, compute, true);
    }
    if (reply[0] === 4) return this.wait(key, lock, token, compute, o);
    return this.settle(reply, key, lock, token, compute, o);
  }

  private fetch<T>(key: string, lock: string, token: string, o: Resolved<T>): Promise<FetchReply> {
    return this.redis.okomeFetchBuffer(key, lock, token, this.o.lockTtlMs, o.staleMs);
  }

  private async settle<T>(
    reply: Exclude<FetchReply, [4, number]>,
    key: string,
    lock: string,
    token: string,
    compute: () => T | Promise<T>,
    o: Resolved<T>,
  ): Promise<CacheResult<T>> {
    if (reply[0] === 3) {
      const value = await this.own(key, lock, token, compute, o);
      this.m.misses++;
      return { value, status: "MISS", key };
    }
    let value: T;
    try {
      value = o.serializer.decode(reply[1]);
    } catch {
      // Unreadable entry (e.g. the serializer changed): recompute and overwrite it.
      this.m.decodeErrors++;
      if (reply[0] === 2 && reply[2] === 1) return this.settle([3], key, lock, token, compute, o);
      const result = await this.bypass(key, compute, false);
      await this.set(key, result.value, o);
      return result;
    }
    if (reply[0] === 1) {
      this.m.hits++;
      return { value, status: "HIT", key };
    }
    this.m.stale++;
    if (reply[2] === 1) this.refreshInBackground(key, lock, token, compute, o);
    return { value, status: "STALE", key };
  }

  private refreshInBackground<T>(
    key: string,
    lock: string,
    token: string,
    compute: () => T | Promise<T>,
    o: Resolved<T>,
  ): void {
    const refresh = this.own(key, lock, token, compute, o).then(
      () => undefined,
      () => {
        this.m.refreshErrors++;
      },
    );
    this.refreshes.add(refresh);
    void refresh.finally(() => this.refreshes.delete(refresh));
  }

  /** Runs `compute` as the lock owner: renews the lease meanwhile, then fills and releases. */
  private async own<T>(
    key: string,
    lock: string,
    token: string,
    compute: () => T | Promise<T>,
    o: Resolved<T>,
  ): Promise<T> {
    const channel = fillChannel(key);
    const renew = setInterval(
      () => {
        this.redis.okomeRenew(lock, token, this.o.lockTtlMs).then(
          (renewed) => {
            if (renewed === 0) this.m.lockLost++;
          },
          () => {
            this.m.redisErrors++;
          },
        );
      },
      Math.max(1, Math.floor(this.o.lockTtlMs / 3)),
    );
    let value: T;
    try {
      this.m.computes++;
      value = await compute();
    } catch (err) {
      // Release at once so that a waiter can take over without sitting out the lease.
      await this.fill(key, lock, token, "", 0, channel);
      throw err;
    } finally {
      clearInterval(renew);
    }
    const lifetimeMs = o.ttlMs + o.staleMs;
    const raw = (await this.admit(key, lifetimeMs, o)) ? this.encode(value, o) : undefined;
    await this.fill(key, lock, token, raw ?? "", raw === undefined ? 0 : lifetimeMs, channel);
    return value;
  }

  private async admit<T>(key: string, lifetimeMs: number, o: Resolved<T>): Promise<boolean> {
    let admitted = true;
    try {
      admitted = o.admitWrite === undefined || (await o.admitWrite(key, lifetimeMs));
    } catch {
      admitted = false;
    }
    if (!admitted) this.m.writesDenied++;
    return admitted;
  }

  private encode<T>(value: T, o: Resolved<T>): string | Buffer | undefined {
    try {
      return o.serializer.encode(value);
    } catch {
      this.m.writesDenied++;
      return undefined;
    }
  }

  private async fill(
    key: string,
    lock: string,
    token: string,
    raw: string | Buffer,
    px: number,
    channel: string,
  ): Promise<void> {
    try {
      await this.redis.okomeFill(key, lock, token, raw, px, channel);
      if (px > 0) this.m.writes++;
    } catch {
      // The lease then simply runs out and a waiter takes over.
      this.m.redisErrors++;
    }
  }

  /** Waits for another owner's fill (pub/sub, bounded poll) or takes over its expired lock. */
  private async wait<T>(
    key: string,
    lock: string,
    token: string,
    compute: () => T | Promise<T>,
    o: Resolved<T>,
  ): Promise<CacheResult<T>> {
    this.m.lockWaits++;
    const deadline = Date.now() + this.o.maxWaitMs;
    const channel = fillChannel(key);
    const wake = new Wake();
    this.wakers.set(channel, () => wake.fire());
    try {
      try {
        await this.sub.subscribe(channel);
      } catch {
        this.m.redisErrors++; // polling alone still finds the value
      }
      for (;;) {
        // Fetch again after subscribing: the fill may have landed before the subscription.
        let reply: FetchReply;
        try {
          reply = await this.fetch(key, lock, token, o);
        } catch {
          return this.bypass(key, compute, true);
        }
        if (reply[0] !== 4) {
          if (reply[0] === 3) this.m.takeovers++;
          return this.settle(reply, key, lock, token, compute, o);
        }
        const left = deadline - Date.now();
        if (left <= 0) {
          this.m.waitTimeouts++;
          return this.bypass(key, compute, false);
        }
        // Wake when the lease ends too (+1 ms): that is when a dead owner can be replaced.
        const leaseLeft = reply[1] >= 0 ? reply[1] + 1 : this.o.pollIntervalMs;
        if (await wake.next(Math.min(this.o.pollIntervalMs, left, leaseLeft))) {
          this.m.pubsubWakeups++;
        } else {
          this.m.pollWakeups++;
        }
      }
    } finally {
      this.wakers.delete(channel);
      this.sub.unsubscribe(channel).catch(() => undefined);
    }
  }

  private async bypass<T>(
    key: string,
    compute: () => T | Promise<T>,
    redisFailed: boolean,
  ): Promise<CacheResult<T>> {
    if (redisFailed) this.m.redisErrors++;
    this.m.bypasses++;
    this.m.computes++;
    return { value: await compute(), status: "BYPASS", key };
  }

  private resolve<T>(
    options: WriteOptions<T> & Pick<ComputeOptions<T>, "admitWrite">,
  ): Resolved<T> {
    const problem =
      positiveInt("ttlMs", options.ttlMs) ??
      (options.staleMs === undefined ? undefined : nonNegativeInt("staleMs", options.staleMs));
    if (problem) throw new RangeError(problem);
    return {
      ttlMs: options.ttlMs,
      staleMs: options.staleMs ?? this.o.staleMs,
      serializer: this.serializer(options),
      admitWrite: options.admitWrite,
    };
  }

  private serializer<T>(options: ReadOptions<T>): Serializer<T> {
    return options.serializer ?? (this.o.serializer as Serializer<T>);
  }
}

/** A one-slot wake-up that remembers a fire that came while nobody was waiting. */
class Wake {
  private pending = false;
  private resolve: ((byMessage: boolean) => void) | undefined;

  fire(): void {
    if (this.resolve) this.resolve(true);
    else this.pending = true;
  }

  /** Resolves `true` on a fire, `false` after `ms`. */
  next(ms: number): Promise<boolean> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(false), Math.max(0, ms));
      const done = (byMessage: boolean): void => {
        clearTimeout(timer);
        this.resolve = undefined;
        resolve(byMessage);
      };
      this.resolve = done;
    });
  }
}
