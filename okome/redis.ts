import Redis, { type RedisOptions } from "ioredis";
import { definedOnly } from "./options";

/** Options of {@link createRedis}; every other ioredis option may be passed through `extra`. */
export interface OkomeRedisOptions {
  /** Redis host. Default `127.0.0.1`. */
  readonly host?: string;
  /** Redis port. Default `6379`. */
  readonly port?: number;
  /** ACL user name (the orchestrator's user on the model cache). Default: none (`default` user). */
  readonly username?: string;
  /** ACL password. Default: none. */
  readonly password?: string;
  /**
   * Per-command timeout in milliseconds: how long a caller waits on a slow Redis before the
   * cache fails open and the budget applies its fail mode. Default `100`.
   */
  readonly commandTimeoutMs?: number;
  /** TCP connect timeout in milliseconds; a black-holed host is retried after it. Default `1000`. */
  readonly connectTimeoutMs?: number;
  /** Upper bound of the background reconnect backoff, in milliseconds. Default `1000`. */
  readonly maxReconnectDelayMs?: number;
  /**
   * Called with each connection error (refused, reset, timeout on connect). Default: ignore;
   * failed calls already show in the cache and budget metrics, and ioredis would otherwise log
   * every reconnect attempt of an outage.
   */
  readonly onError?: (err: Error) => void;
  /** Escape hatch: more ioredis options, applied before the fail-fast settings above. */
  readonly extra?: RedisOptions;
}

/** Defaults of {@link createRedis}, applied in this one place. */
export const REDIS_DEFAULTS = {
  host: "127.0.0.1",
  port: 6379,
  commandTimeoutMs: 100,
  connectTimeoutMs: 1000,
  maxReconnectDelayMs: 1000,
} as const;

/**
 * An ioredis client set up to fail fast instead of queueing:
 * - `enableOfflineQueue: false`: while disconnected, commands fail at once; no queue grows.
 * - `maxRetriesPerRequest: 0` and `autoResendUnfulfilledCommands: false`: a budget script
 *   that was in flight when the connection dropped is never replayed (it would count twice).
 * - `commandTimeout`: a slow server costs a caller at most `commandTimeoutMs`.
 * - `retryStrategy`: reconnects forever in the background with capped exponential backoff.
 * - `enableReadyCheck: false`: the check runs INFO, which the orchestrator's ACL user may not;
 *   the model cache keeps no data on disk, so there is no loading phase to wait for.
 */
export function createRedis(options: OkomeRedisOptions = {}): Redis {
  const o = { ...REDIS_DEFAULTS, ...definedOnly(options) };
  const redis = new Redis({
    ...o.extra,
    host: o.host,
    port: o.port,
    username: o.username,
    password: o.password,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    enableReadyCheck: false,
    commandTimeout: o.commandTimeoutMs,
    connectTimeout: o.connectTimeoutMs,
    retryStrategy: (attempt: number) => Math.min(50 * 2 ** attempt, o.maxReconnectDelayMs),
  });
  redis.on("error", o.onError ?? (() => undefined));
  return redis;
}

/**
 * Throws unless `redis` fails fast (offline queue off, command timeout set): the cache's
 * fail-open promise and the budget's fail modes depend on it.
 */
export function assertFailFast(redis: Redis): void {
  const { enableOfflineQueue, commandTimeout } = redis.options;
  if (enableOfflineQueue !== false || typeof commandTimeout !== "number") {
    throw new Error(
      "okome: the Redis client must be created with enableOfflineQueue: false and a commandTimeout " +
        "(use createRedis()), otherwise calls queue up while Redis is down instead of failing open",
    );
  }
}
