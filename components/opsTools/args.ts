import type * as pulumi from "@pulumi/pulumi";
import type { HostConnection } from "../../providers";
import { HostSpec } from "../config";
import { EDGE_CACHE_DEFAULTS } from "../edgeCache/args";
import { HARDENED_PI_DEFAULTS } from "../hardenedPi/args";
import { MODEL_CACHE_DEFAULTS } from "../modelCache/args";
import { WithDefaults, withDefaults } from "../kit";

/** One node the tools go on: its host and how to reach it. */
export interface OpsNode {
  readonly host: HostSpec;
  readonly connection: pulumi.Input<HostConnection>;
  /** What this node's sets wait for (the VIP pair: the tools check and break what it built). */
  readonly after?: readonly pulumi.Resource[];
}

/** How okome-validate logs in to the model cache (ModelCacheNode's outputs). */
export interface OpsRedisLogins {
  /** The Redis port on the model node. */
  readonly port: pulumi.Input<number>;
  /** The read-only monitor user: refused without its password, PING with it. */
  readonly monitorUser: pulumi.Input<string>;
  readonly monitorPassword: pulumi.Input<string>;
  /** A user that may PTTL `okome:health:*` (the monitor reads no keys): the health probes' user. */
  readonly keysUser: pulumi.Input<string>;
  readonly keysPassword: pulumi.Input<string>;
}

/** Bounds of okome-chaos's drills. */
export interface ChaosBounds {
  /** Seconds a drill lasts when `--duration` is not given. */
  readonly defaultDurationSeconds: number;
  /** The longest `--duration` accepted: a forgotten drill ends by itself. */
  readonly maxDurationSeconds: number;
  /** Requests of cache-miss-storm's burst at the local edge. */
  readonly stormRequests: number;
  /** Of which at most this many at a time. */
  readonly stormParallel: number;
  /** disk-full-cache fills the cache's filesystem up to this share used, in percent. */
  readonly diskFillPercent: number;
  /** ...and always leaves this many MB free (the cache shares the card with the root filesystem). */
  readonly diskMarginMb: number;
  /** ...and writes at most this many MB. */
  readonly diskFillMaxMb: number;
}

/** Arguments of {@link OpsTools}. */
export interface OpsToolsArgs {
  /** The VIP clients use. */
  readonly vip: string;
  /** The edge node (nginx, VIP master). */
  readonly edge: OpsNode;
  /** The model node (Redis, standby edge, VIP backup). */
  readonly model: OpsNode;
  /** The orchestrator the edges proxy to: upstream-down drops traffic to it. */
  readonly orchestrator: { readonly host: string; readonly port: number };
  readonly redis: OpsRedisLogins;
  /** Creates /etc/okome/CHAOS_ENABLE on both nodes, without which okome-chaos injects nothing. */
  readonly chaosEnabled?: boolean;
  /** The edges' port (EdgeCacheNode's listenPort). */
  readonly edgePort?: number;
  /** A URL path the edges cache: okome-validate asks it twice and wants a HIT. */
  readonly cacheablePath?: string;
  /** The node exporter's port (HardenedPi's nodeExporterPort). */
  readonly nodeExporterPort?: number;
  /** prometheus-nginx-exporter's port (EdgeCacheNode's exporterPort). */
  readonly nginxExporterPort?: number;
  /** prometheus-redis-exporter's port (ModelCacheNode's exporterPort). */
  readonly redisExporterPort?: number;
  readonly chaos?: ChaosBounds;
}

/** The spec: every argument but how to reach the hosts and the Redis logins (pure data). */
export type OpsToolsSpec = Omit<OpsToolsArgs, "edge" | "model" | "redis"> & {
  readonly edge: Pick<OpsNode, "host">;
  readonly model: Pick<OpsNode, "host">;
};

/** Every default of {@link OpsToolsArgs}, applied in one place ({@link resolveOpsToolsArgs}). */
export const OPS_TOOLS_DEFAULTS = {
  /** Off: prod never gets the flag unless its stack says so. */
  chaosEnabled: false,
  edgePort: EDGE_CACHE_DEFAULTS.listenPort,
  /** /version: cacheable (public, a minute) on the orchestrator and small. */
  cacheablePath: "/version",
  nodeExporterPort: HARDENED_PI_DEFAULTS.nodeExporterPort,
  nginxExporterPort: EDGE_CACHE_DEFAULTS.exporterPort,
  redisExporterPort: MODEL_CACHE_DEFAULTS.exporterPort,
  chaos: {
    defaultDurationSeconds: 60,
    /** Ten minutes: longer than any drill of test/lab/chaos.test.ts, short enough to forget. */
    maxDurationSeconds: 600,
    /** Enough to hit every top URL many times over; the cache lock must make it one fetch each. */
    stormRequests: 500,
    stormParallel: 50,
    diskFillPercent: 95,
    /** The journal and logs are tmpfs, but apt and the card's root need room to breathe. */
    diskMarginMb: 256,
    diskFillMaxMb: 4096,
  },
} as const;

/** Arguments with every default applied. */
export type ResolvedOpsToolsArgs = WithDefaults<OpsToolsSpec, typeof OPS_TOOLS_DEFAULTS>;

/** Applies {@link OPS_TOOLS_DEFAULTS}; the only place that does. */
export function resolveOpsToolsArgs(spec: OpsToolsSpec): ResolvedOpsToolsArgs {
  return withDefaults(spec, OPS_TOOLS_DEFAULTS);
}
