import type * as pulumi from "@pulumi/pulumi";
import type { HostConnection } from "../../providers";
import { HostSpec } from "../config";
import { WithDefaults, withDefaults } from "../kit";
import type { RedisLogin } from "../modelCache";

/** A per-client request rate limit (nginx `limit_req`). */
export interface RateLimit {
  /** Requests per second per client, sustained. */
  readonly perSecond: number;
  /** Requests a client may send at once above the rate before it gets 429 (served without delay). */
  readonly burst: number;
}

/** How the health probe decides that the orchestrator is up or down. */
export interface HealthProbe {
  /** The orchestrator's health endpoint, a path. */
  readonly path: string;
  /** Seconds between probes (the systemd timer's period); divides a minute. */
  readonly intervalSeconds: number;
  /** Seconds one probe may take before it counts as a failure. */
  readonly timeoutSeconds: number;
  /** Consecutive failures before the edge serves maintenance (UP -> DOWN). */
  readonly fall: number;
  /** Consecutive successes before it proxies again (DOWN -> UP). */
  readonly rise: number;
  /** Seconds `okome:health:<node>` lives in the model cache: a few probes, so a dead probe shows. */
  readonly keyTtlSeconds: number;
}

/**
 * The cache policies a client may ask for, with the X-OKOME-Cache-Policy header or the
 * okome_cache cookie (the header wins; anything else means control).
 * - control: the normal cache.
 * - canary: its own key space (canaryKeyVersion) and its own TTLs, so it never serves or
 *   poisons control's entries.
 * - debug: the cache is bypassed; the answer shows the key control would use.
 */
export const CACHE_POLICIES = ["control", "canary", "debug"] as const;
export type CachePolicy = (typeof CACHE_POLICIES)[number];
/** The policies that store entries, and so may have TTLs of their own. */
export type CachingPolicy = Exclude<CachePolicy, "debug">;

/**
 * The endpoints with TTLs of their own, by the path prefix they match; `api` is `apiPrefix`.
 * `/version` has no slash: nginx answers a prefix location ending in one with a redirect for the
 * path without it, and the orchestrator serves `/version` itself (and `/version/…`).
 */
export const TTL_ENDPOINT_PATHS = {
  assets: "/assets/",
  uiSchema: "/ui-schema/",
  version: "/version",
  api: undefined,
} as const;
export type TtlEndpoint = keyof typeof TTL_ENDPOINT_PATHS;

/**
 * How long an endpoint's 200, 301 and 302 answers stay fresh, seconds, per caching policy. A
 * policy without one keeps the upstream's Cache-Control; with one, the upstream's max-age and
 * Expires are overridden, but private, no-store, no-cache and Set-Cookie still keep an answer
 * out of the cache.
 */
export type EndpointTtls = Readonly<Partial<Record<CachingPolicy, number>>>;

/** TTL overrides by endpoint; an endpoint left out keeps the upstream's Cache-Control. */
export type EndpointTtlsByEndpoint = Readonly<Partial<Record<TtlEndpoint, EndpointTtls>>>;

/** Predictive pre-warm: the log's top URLs requested again before clients ask (okome-prewarm). */
export interface Prewarm {
  /** How many of the most requested URLs each run warms. */
  readonly top: number;
  /** Seconds of the access log each run ranks. */
  readonly windowSeconds: number;
  /** Seconds between runs (the timer's period); divides an hour. */
  readonly intervalSeconds: number;
  /** Seconds one warming request may take. */
  readonly requestTimeoutSeconds: number;
  /** Seconds a whole run may take; what is left over waits for the next run. */
  readonly budgetSeconds: number;
}

/** Arguments of {@link EdgeCacheNode}. */
export interface EdgeCacheNodeArgs {
  /** The Pi that runs this edge; its name is the X-OKOME-Node header. */
  readonly host: HostSpec;
  /** How the providers reach the host over SSH. */
  readonly connection: pulumi.Input<HostConnection>;
  /** What the node's config sets wait for: its host's OS baseline (HardenedPi's `ready`). */
  readonly after?: readonly pulumi.Resource[];
  /** The OKOME orchestrator, the upstream that the edge caches. */
  readonly upstream: { readonly host: string; readonly port: number };
  /**
   * The LAN, as an IPv4 CIDR: the only network (with loopback) that may read the status page.
   * No default: it is a fact about the network.
   */
  readonly lanCidr: string;
  /**
   * How the health probe writes `okome:health:<node>` (ModelCacheNode's `healthLogin`, a secret).
   * Without it the probe writes no key.
   */
  readonly healthLogin?: RedisLogin<pulumi.Input<string>>;
  /** Port the edge serves on, every address (the VIP included). */
  readonly listenPort?: number;
  /** The cache's upper bound on the card, in nginx size syntax (`2g`, `256m`). */
  readonly cacheMaxSize?: string;
  /** Shared memory for the cache keys; 1m holds about 8000 keys. */
  readonly cacheKeysZone?: string;
  /** An entry nobody asked for in this long is dropped, fresh or not (nginx time, `7d`). */
  readonly cacheInactive?: string;
  /** Requests outside `apiPrefix` (the UI: assets, schemas, pages). */
  readonly uiRateLimit?: RateLimit;
  /** Requests under `apiPrefix`. */
  readonly apiRateLimit?: RateLimit;
  /** The path prefix of the orchestrator's API. */
  readonly apiPrefix?: string;
  /** Open connections per client. */
  readonly connectionsPerClient?: number;
  /**
   * Addresses or CIDRs no rate or connection limit applies to (a load balancer, the admin's
   * load tests). Loopback is always exempt: the node's own pre-warm and checks.
   */
  readonly rateLimitExempt?: readonly string[];
  /** Seconds a client is told to wait after a 429 (Retry-After). */
  readonly rateLimitRetryAfterSeconds?: number;
  /** Seconds a client is told to wait by the maintenance page (Retry-After). */
  readonly maintenanceRetryAfterSeconds?: number;
  /** nginx's upstream timeouts, seconds: connecting, and waiting for the answer (a plan takes a while). */
  readonly upstreamConnectTimeoutSeconds?: number;
  readonly upstreamReadTimeoutSeconds?: number;
  readonly health?: HealthProbe;
  /** The window of okome-hit-ratio's metrics, seconds. */
  readonly hitRatioWindowSeconds?: number;
  /** Port of the status page (stub_status), on the node's address and loopback. */
  readonly statusPort?: number;
  /** Port of prometheus-nginx-exporter's /metrics, on the node's address. */
  readonly exporterPort?: number;
  /** Port of the maintenance server, on loopback only: the upstream while the orchestrator is DOWN. */
  readonly maintenancePort?: number;
  /**
   * Part of every cache key: bumped, every entry of every policy misses once (a new key space,
   * applied by a reload; the old entries age out), with no purge and no restart.
   */
  readonly cacheKeyVersion?: number;
  /** Part of the canary's keys only: bumped, the canary's entries miss once, control's stay. */
  readonly canaryKeyVersion?: number;
  /** TTL overrides per endpoint and policy; the upstream's Cache-Control where none is set. */
  readonly endpointTtls?: EndpointTtlsByEndpoint;
  readonly prewarm?: Prewarm;
  /**
   * The primary edge's address, on the standby edge: pre-warm takes the primary's published
   * top list, so the VIP lands on a cache that holds what the primary's clients ask for.
   */
  readonly prewarmFrom?: string;
}

/** The node's spec: every argument but how to reach the host and the health login (pure data). */
export type EdgeCacheSpec = Omit<EdgeCacheNodeArgs, "connection" | "after" | "healthLogin">;

/** Every default of {@link EdgeCacheNodeArgs}, applied in one place ({@link resolveEdgeCacheArgs}). */
export const EDGE_CACHE_DEFAULTS = {
  listenPort: 80,
  /** The seed's 2 GB: UI bundles and schemas for every version in use, on a 32 GB card. */
  cacheMaxSize: "2g",
  /** About 256k keys, far more than 2 GB of UI assets holds. */
  cacheKeysZone: "32m",
  cacheInactive: "7d",
  /** The seed's UI and API rates; the bursts let a page load its assets at once. */
  uiRateLimit: { perSecond: 20, burst: 40 },
  apiRateLimit: { perSecond: 5, burst: 10 },
  apiPrefix: "/api/",
  connectionsPerClient: 32,
  rateLimitExempt: [],
  rateLimitRetryAfterSeconds: 1,
  maintenanceRetryAfterSeconds: 30,
  upstreamConnectTimeoutSeconds: 2,
  upstreamReadTimeoutSeconds: 60,
  /**
   * The seed's 5 s probe; two in a row either way, so one lost probe flips nothing and a real
   * outage (or recovery) shows within 10 s.
   */
  health: {
    path: "/health",
    intervalSeconds: 5,
    timeoutSeconds: 2,
    fall: 2,
    rise: 2,
    keyTtlSeconds: 30,
  },
  hitRatioWindowSeconds: 300,
  /** prometheus-nginx-exporter's default scrape URI is on this port. */
  statusPort: 8080,
  /** prometheus-nginx-exporter's own default port. */
  exporterPort: 9113,
  maintenancePort: 8089,
  cacheKeyVersion: 1,
  canaryKeyVersion: 1,
  endpointTtls: {} as EndpointTtlsByEndpoint,
  /**
   * Every 2 minutes, the top 50 URLs of the last 10 minutes, 5 s per request and a minute per
   * run: a Pi's UI working set, warmed well inside the run's period.
   */
  prewarm: {
    top: 50,
    windowSeconds: 600,
    intervalSeconds: 120,
    requestTimeoutSeconds: 5,
    budgetSeconds: 60,
  },
} as const;

/** Arguments with every default applied. */
export type ResolvedEdgeCacheArgs = WithDefaults<EdgeCacheSpec, typeof EDGE_CACHE_DEFAULTS>;

/** Applies {@link EDGE_CACHE_DEFAULTS}; the only place that does. */
export function resolveEdgeCacheArgs(spec: EdgeCacheSpec): ResolvedEdgeCacheArgs {
  return withDefaults(spec, EDGE_CACHE_DEFAULTS);
}
