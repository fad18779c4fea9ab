import { z } from "zod";
import {
  RawStackValues,
  StackKeyReading,
  readStackKeys,
  stackKey,
  stackValue,
} from "../kit/stackKeys";
import { EDGE_CACHE_DEFAULTS, EdgeCacheSpec } from "./args";
import { validateEdgeCacheArgs } from "./validate";

const TTLS_EXAMPLE = '{"assets":{"control":86400,"canary":600}}';

/**
 * The edges' stack keys (Pulumi.yaml has their descriptions), shared by the edge and the standby
 * edge. Each parses the text Pulumi hands over; the values are checked by the component's rules.
 */
export const edgeCacheStackSchema = z.object({
  lanCidr: z
    .string()
    .describe(
      "the LAN as a CIDR, e.g. 192.168.86.0/24: the only network that may read nginx's status page",
    ),
  edgeCacheMaxSize: z.string().optional(),
  edgeCacheKeysZone: z.string().optional(),
  uiRateLimit: stackValue.integer().optional(),
  uiRateBurst: stackValue.integer().optional(),
  apiRateLimit: stackValue.integer().optional(),
  apiRateBurst: stackValue.integer().optional(),
  apiPrefix: z.string().optional(),
  rateLimitExempt: stackValue.stringList('["192.168.86.10"]').optional(),
  healthFall: stackValue.integer().optional(),
  healthRise: stackValue.integer().optional(),
  cacheKeyVersion: stackValue.integer().optional(),
  canaryKeyVersion: stackValue.integer().optional(),
  edgeCacheTtls: stackValue
    .json(TTLS_EXAMPLE)
    .pipe(
      z.record(z.string(), z.record(z.string(), z.number()), {
        error: `must map endpoints to TTLs per policy, e.g. ${TTLS_EXAMPLE}`,
      }),
    )
    .optional(),
  prewarmTop: stackValue.integer().optional(),
  prewarmWindowSeconds: stackValue.integer().optional(),
});

/** Every stack key of the edges, as Pulumi.<stack>.yaml names it without the namespace. */
export const EDGE_CACHE_STACK_KEYS = edgeCacheStackSchema.keyof().options;

/** The edges' arguments that the stack sets (the same for both). */
export type EdgeCacheStackArgs = Omit<EdgeCacheSpec, "host">;

/** The stack key each argument path comes from. */
const STACK_KEY_OF_ARG: Readonly<Record<string, string>> = {
  lanCidr: "lanCidr",
  cacheMaxSize: "edgeCacheMaxSize",
  cacheKeysZone: "edgeCacheKeysZone",
  "uiRateLimit.perSecond": "uiRateLimit",
  "uiRateLimit.burst": "uiRateBurst",
  "apiRateLimit.perSecond": "apiRateLimit",
  "apiRateLimit.burst": "apiRateBurst",
  apiPrefix: "apiPrefix",
  "health.fall": "healthFall",
  "health.rise": "healthRise",
  cacheKeyVersion: "cacheKeyVersion",
  canaryKeyVersion: "canaryKeyVersion",
  "prewarm.top": "prewarmTop",
  "prewarm.windowSeconds": "prewarmWindowSeconds",
};

function stackKeyOf(argPath: string): string | undefined {
  const ttl = /^endpointTtls(.*)$/.exec(argPath);
  if (ttl) return `${stackKey("edgeCacheTtls")}${ttl[1]}`;
  const exempt = /^rateLimitExempt(.*)$/.exec(argPath);
  if (exempt) return `${stackKey("rateLimitExempt")}${exempt[1]}`;
  const key = STACK_KEY_OF_ARG[argPath];
  return key && stackKey(key);
}

/** The orchestrator as `host:port` (the shared `orchestrator` key; the shared schema checks it). */
function upstreamOf(raw: RawStackValues): EdgeCacheSpec["upstream"] {
  const [host, port] = (raw.orchestrator ?? "").split(":");
  return { host: host ?? "", port: Number(port) };
}

/**
 * Reads the edges' arguments from raw stack values and validates them with the component's own
 * rules, each problem named by its full stack key (`okome-cache:uiRateBurst`).
 */
export function readEdgeCacheStackKeys(raw: RawStackValues): StackKeyReading<EdgeCacheStackArgs> {
  const { values, issues } = readStackKeys(edgeCacheStackSchema, raw);
  const d = EDGE_CACHE_DEFAULTS;
  const args: EdgeCacheStackArgs = {
    upstream: upstreamOf(raw),
    lanCidr: values.lanCidr ?? "",
    ...(values.edgeCacheMaxSize !== undefined && { cacheMaxSize: values.edgeCacheMaxSize }),
    ...(values.edgeCacheKeysZone !== undefined && { cacheKeysZone: values.edgeCacheKeysZone }),
    uiRateLimit: {
      perSecond: values.uiRateLimit ?? d.uiRateLimit.perSecond,
      burst: values.uiRateBurst ?? d.uiRateLimit.burst,
    },
    apiRateLimit: {
      perSecond: values.apiRateLimit ?? d.apiRateLimit.perSecond,
      burst: values.apiRateBurst ?? d.apiRateLimit.burst,
    },
    ...(values.apiPrefix !== undefined && { apiPrefix: values.apiPrefix }),
    ...(values.rateLimitExempt !== undefined && { rateLimitExempt: values.rateLimitExempt }),
    health: {
      ...d.health,
      fall: values.healthFall ?? d.health.fall,
      rise: values.healthRise ?? d.health.rise,
    },
    ...(values.cacheKeyVersion !== undefined && { cacheKeyVersion: values.cacheKeyVersion }),
    ...(values.canaryKeyVersion !== undefined && { canaryKeyVersion: values.canaryKeyVersion }),
    ...(values.edgeCacheTtls !== undefined && { endpointTtls: values.edgeCacheTtls }),
    prewarm: {
      ...d.prewarm,
      top: values.prewarmTop ?? d.prewarm.top,
      windowSeconds: values.prewarmWindowSeconds ?? d.prewarm.windowSeconds,
    },
  };
  const probe = { ...args, host: { name: "okome-probe", address: "127.0.0.1" } };
  for (const issue of validateEdgeCacheArgs(probe)) {
    const path = stackKeyOf(issue.path);
    // A missing lanCidr is reported above; upstream problems by the shared schema.
    if (path !== undefined && !(issue.path === "lanCidr" && values.lanCidr === undefined))
      issues.push({ path, reason: issue.reason });
  }
  return { args, issues };
}
