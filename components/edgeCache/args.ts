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
} as const;

/** Arguments with every default applied. */
export type ResolvedEdgeCacheArgs = WithDefaults<EdgeCacheSpec, typeof EDGE_CACHE_DEFAULTS>;

/** Applies {@link EDGE_CACHE_DEFAULTS}; the only place that does. */
export function resolveEdgeCacheArgs(spec: EdgeCacheSpec): ResolvedEdgeCacheArgs {
  return withDefaults(spec, EDGE_CACHE_DEFAULTS);
}
