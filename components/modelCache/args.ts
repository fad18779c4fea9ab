import type * as pulumi from "@pulumi/pulumi";
import type { HostConnection } from "../../providers";
import { HostSpec } from "../config";
import { withDefaults } from "../kit";
import { REDIS_MAXMEMORY_POLICIES } from "../platform";
import { AclUserArgs, ORCHESTRATOR_USER } from "./users";

/**
 * An ACL user's login to the model cache, as a client on the LAN needs it. Only the password is
 * secret (and unknown at a first preview); the rest is known up front, so what a client renders
 * from it shows in previews.
 */
export interface RedisLogin<Password = string> {
  readonly address: string;
  readonly port: number;
  readonly user: string;
  readonly password: Password;
}

/** A Redis 7.0 eviction policy (`maxmemory-policy`). */
export type MaxmemoryPolicy = (typeof REDIS_MAXMEMORY_POLICIES)[number];

/** Arguments of {@link ModelCacheNode}. */
export interface ModelCacheNodeArgs {
  /** The Pi that runs Redis. Its address is always bound: the orchestrator connects there. */
  readonly host: HostSpec;
  /** How the providers reach the host over SSH. */
  readonly connection: pulumi.Input<HostConnection>;
  /**
   * What the node's config sets wait for: its host's OS baseline (HardenedPi's `ready`). The
   * passwords do not wait: they touch no host.
   */
  readonly after?: readonly pulumi.Resource[];
  /**
   * Physical RAM of the host, in Redis size syntax (`8gb`, `1gb`, `512mb`). Bounds maxmemory:
   * at most {@link MAXMEMORY_HOST_SHARE} of it. No default: it is a fact about the hardware.
   */
  readonly hostMemory: string;
  /**
   * IPv4 addresses to listen on besides `host.address`, e.g. `127.0.0.1` for the exporter.
   * Specific addresses only (no `0.0.0.0`, not `vip`). Applied live. Default {@link MODEL_CACHE_DEFAULTS}.bind.
   */
  readonly bind?: readonly string[];
  /**
   * The tier's floating address, which keepalived may move to this node; `bind` may not list it:
   * it belongs to the edge, and Redis bound to it would answer whoever holds the VIP. No default:
   * without it, nothing is checked.
   */
  readonly vip?: string;
  /** TCP port, 1-65535. Applied live (Redis 7.0 rebinds without a restart). */
  readonly port?: number;
  /**
   * Memory budget of the cache in Redis size syntax: a positive integer with an optional unit,
   * `b`, `k`/`kb`, `m`/`mb`, `g`/`gb` (k = 1000, kb = 1024), case-insensitive. Applied live;
   * lowering it evicts at once (per the policy), never flushes.
   */
  readonly maxmemory?: string;
  /** What Redis evicts when maxmemory is reached. Applied live. */
  readonly maxmemoryPolicy?: MaxmemoryPolicy;
  /**
   * `true`: RDB snapshots at the stock save points (each forks Redis and writes the dataset to
   * the SD card). `false`: nothing is ever written to disk, and a restart starts empty. Never AOF.
   */
  readonly persistence?: boolean;
  /**
   * Application users, each with a generated password (a Pulumi secret). The first is the one
   * the stack exports as `modelCacheUser`. At least one.
   */
  readonly users?: readonly AclUserArgs[];
  /** Run prometheus-redis-exporter (Debian's), as the monitor user; `false` stops and disables it. */
  readonly exporter?: boolean;
  /** TCP port the exporter serves /metrics on, on `host.address`; 1-65535, not `port`. */
  readonly exporterPort?: number;
  /**
   * Escape hatch: more redis.conf directives, rendered at the end as `name value`. Names are
   * Redis 7.0 config names not set elsewhere by this component; values are space-separated
   * tokens without quotes. A restart-only name (see components/platform.ts) restarts Redis.
   */
  readonly extraOptions?: Readonly<Record<string, string>>;
}

/**
 * The node's spec: every argument but how to reach the host. What validation, rendering and the
 * host commands read; pure data, so unit tests build it without Pulumi.
 */
export type ModelCacheSpec = Omit<ModelCacheNodeArgs, "connection" | "after">;

/** Every default of {@link ModelCacheNodeArgs}, applied in one place ({@link resolveModelCacheArgs}). */
export const MODEL_CACHE_DEFAULTS = {
  bind: ["127.0.0.1"],
  port: 6379,
  /** Half a prod Pi's 8 GB: the rest is for Redis's overhead, the standby edge and the OS. */
  maxmemory: "4gb",
  maxmemoryPolicy: "allkeys-lru",
  persistence: false,
  users: [ORCHESTRATOR_USER],
  exporter: true,
  /** redis_exporter's own default port. */
  exporterPort: 9121,
  extraOptions: {},
} as const;

/**
 * The largest share of the host's RAM maxmemory may take: Redis's resident size runs above
 * maxmemory (fragmentation, client and pub/sub buffers), and the node also runs the standby edge.
 */
export const MAXMEMORY_HOST_SHARE = 0.75;

/** Arguments with every default applied (`vip` has none). */
export type ResolvedModelCacheArgs = Required<Omit<ModelCacheSpec, "vip">> &
  Pick<ModelCacheSpec, "vip">;

/** Applies {@link MODEL_CACHE_DEFAULTS}; the only place that does. */
export function resolveModelCacheArgs(args: ModelCacheSpec): ResolvedModelCacheArgs {
  return withDefaults(args, MODEL_CACHE_DEFAULTS);
}
