import { isIPv4 } from "node:net";
import { Issue } from "../../common/issues";
import { HOST_NAME, isAddressOrCidr, isCidr, isIntegerIn, isPort } from "../kit/checks";
import {
  CACHE_POLICIES,
  CachePolicy,
  EdgeCacheSpec,
  RateLimit,
  TTL_ENDPOINT_PATHS,
  resolveEdgeCacheArgs,
} from "./args";

/** A TTL override's bounds, seconds: a year at most. */
const MAX_TTL_SECONDS = 365 * 86400;

/** nginx sizes: digits and an optional k or m or g (either case). */
const NGINX_SIZE = /^[1-9][0-9]*[kKmMgG]?$/;
/** nginx times: digits and one unit. */
const NGINX_TIME = /^[1-9][0-9]*(ms|s|m|h|d|w|M|y)?$/;
/** A URL path prefix: starts and ends with `/`, plain segments between. */
const PATH_PREFIX = /^\/([A-Za-z0-9._~-]+\/)+$/;
/** A URL path without query: what curl probes. */
const URL_PATH = /^\/[A-Za-z0-9._~/-]*$/;
/** A host name or IPv4 address for nginx's `server` line. */
const UPSTREAM_HOST = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;
/** Bytes of shared memory per key in a keys zone (nginx: 1m holds about 8000 keys). */
const MIN_KEYS_ZONE_BYTES = 1 << 20;

function sizeBytes(size: string): number {
  const unit = size.slice(-1).toLowerCase();
  const scale = { k: 1 << 10, m: 1 << 20, g: 1 << 30 }[unit] ?? 1;
  return parseInt(size, 10) * scale;
}

/**
 * Every problem with the arguments, each named by its argument path (`uiRateLimit.burst`). Empty
 * when they are valid; nothing is registered until it is.
 */
export function validateEdgeCacheArgs(spec: EdgeCacheSpec): Issue[] {
  const r = resolveEdgeCacheArgs(spec);
  const issues: Issue[] = [];
  const add = (path: string, reason: string) => issues.push({ path, reason });
  const integer = (path: string, value: number, min: number, max: number) => {
    if (!isIntegerIn(value, min, max))
      add(path, `must be an integer from ${min} to ${max}, got ${value}`);
  };

  if (!HOST_NAME.test(r.host.name))
    add(
      "host.name",
      `must be a host name of lowercase letters, digits and -, got "${r.host.name}"`,
    );
  if (!isIPv4(r.host.address))
    add("host.address", `must be an IPv4 address, got "${r.host.address}"`);
  if (!UPSTREAM_HOST.test(r.upstream.host))
    add("upstream.host", `must be an IPv4 address or host name, got "${r.upstream.host}"`);
  if (!isPort(r.upstream.port)) add("upstream.port", "must be an integer from 1 to 65535");
  if (r.upstream.host === r.host.address && r.upstream.port === r.listenPort)
    add("upstream", "is this edge itself: every miss would loop back into it");
  if (!isCidr(r.lanCidr))
    add("lanCidr", `must be an IPv4 CIDR like 192.168.86.0/24, got "${r.lanCidr}"`);

  const ports = {
    listenPort: r.listenPort,
    statusPort: r.statusPort,
    exporterPort: r.exporterPort,
  };
  const seen = new Map<number, string>();
  for (const [name, port] of Object.entries(ports)) {
    if (!isPort(port)) add(name, `must be an integer from 1 to 65535, got ${port}`);
    else if (seen.has(port)) add(name, `is ${port}, already ${seen.get(port)}'s`);
    else seen.set(port, name);
  }

  if (!NGINX_SIZE.test(r.cacheMaxSize))
    add("cacheMaxSize", `must be an nginx size like 2g or 256m, got "${r.cacheMaxSize}"`);
  if (!NGINX_SIZE.test(r.cacheKeysZone))
    add("cacheKeysZone", `must be an nginx size like 32m, got "${r.cacheKeysZone}"`);
  else if (sizeBytes(r.cacheKeysZone) < MIN_KEYS_ZONE_BYTES)
    add("cacheKeysZone", `must be at least 1m (about 8000 keys), got "${r.cacheKeysZone}"`);
  if (!NGINX_TIME.test(r.cacheInactive))
    add("cacheInactive", `must be an nginx time like 7d or 12h, got "${r.cacheInactive}"`);

  const rate = (name: string, limit: RateLimit) => {
    integer(`${name}.perSecond`, limit.perSecond, 1, 100000);
    integer(`${name}.burst`, limit.burst, 0, 100000);
  };
  rate("uiRateLimit", r.uiRateLimit);
  rate("apiRateLimit", r.apiRateLimit);
  if (!PATH_PREFIX.test(r.apiPrefix))
    add(
      "apiPrefix",
      `must be a path that starts and ends with /, like /api/, got "${r.apiPrefix}"`,
    );
  integer("connectionsPerClient", r.connectionsPerClient, 1, 65535);
  r.rateLimitExempt.forEach((address, i) => {
    if (!isAddressOrCidr(address))
      add(`rateLimitExempt[${i}]`, `must be an IPv4 address or CIDR, got "${address}"`);
  });
  integer("rateLimitRetryAfterSeconds", r.rateLimitRetryAfterSeconds, 1, 3600);
  integer("maintenanceRetryAfterSeconds", r.maintenanceRetryAfterSeconds, 1, 86400);
  integer("upstreamConnectTimeoutSeconds", r.upstreamConnectTimeoutSeconds, 1, 60);
  integer("upstreamReadTimeoutSeconds", r.upstreamReadTimeoutSeconds, 1, 3600);

  const h = r.health;
  if (!URL_PATH.test(h.path))
    add("health.path", `must be a URL path like /health, got "${h.path}"`);
  // The timer ticks on the clock's seconds (OnCalendar=*:*:0/N): N must divide a minute.
  if (!isIntegerIn(h.intervalSeconds, 1, 60) || 60 % h.intervalSeconds !== 0)
    add(
      "health.intervalSeconds",
      `must divide 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 or 60), got ${h.intervalSeconds}`,
    );
  if (!(h.timeoutSeconds > 0 && h.timeoutSeconds < h.intervalSeconds))
    add(
      "health.timeoutSeconds",
      `must be above 0 and below health.intervalSeconds (${h.intervalSeconds}), so probes never overlap, got ${h.timeoutSeconds}`,
    );
  integer("health.fall", h.fall, 1, 100);
  integer("health.rise", h.rise, 1, 100);
  if (!isIntegerIn(h.keyTtlSeconds, 1, 86400) || h.keyTtlSeconds <= h.intervalSeconds)
    add(
      "health.keyTtlSeconds",
      `must be an integer above health.intervalSeconds (${h.intervalSeconds}), or the key lapses between probes, got ${h.keyTtlSeconds}`,
    );
  integer("hitRatioWindowSeconds", r.hitRatioWindowSeconds, 60, 86400);

  integer("cacheKeyVersion", r.cacheKeyVersion, 1, 1_000_000_000);
  integer("canaryKeyVersion", r.canaryKeyVersion, 1, 1_000_000_000);
  const endpoints = Object.keys(TTL_ENDPOINT_PATHS);
  for (const [endpoint, ttls] of Object.entries(r.endpointTtls)) {
    if (!endpoints.includes(endpoint)) {
      add(
        `endpointTtls.${endpoint}`,
        `is not an endpoint; the endpoints are ${endpoints.join(", ")}`,
      );
      continue;
    }
    for (const [policy, ttl] of Object.entries(ttls ?? {})) {
      if (!CACHE_POLICIES.includes(policy as CachePolicy) || policy === "debug")
        add(
          `endpointTtls.${endpoint}.${policy}`,
          "is not a caching policy; TTLs are per control or canary (debug stores nothing)",
        );
      else integer(`endpointTtls.${endpoint}.${policy}`, ttl as number, 1, MAX_TTL_SECONDS);
    }
  }
  const fixedPath = Object.entries(TTL_ENDPOINT_PATHS).find(([, path]) => path === r.apiPrefix);
  if (fixedPath) add("apiPrefix", `is ${r.apiPrefix}, the ${fixedPath[0]} endpoint's path`);

  const p = r.prewarm;
  integer("prewarm.top", p.top, 1, 10000);
  integer("prewarm.windowSeconds", p.windowSeconds, 60, 7 * 86400);
  integer("prewarm.intervalSeconds", p.intervalSeconds, 10, 86400);
  integer("prewarm.requestTimeoutSeconds", p.requestTimeoutSeconds, 1, 600);
  if (!isIntegerIn(p.budgetSeconds, 1, 86400) || p.budgetSeconds >= p.intervalSeconds)
    add(
      "prewarm.budgetSeconds",
      `must be an integer below prewarm.intervalSeconds (${p.intervalSeconds}), so runs never overlap, got ${p.budgetSeconds}`,
    );
  if (r.prewarmFrom !== undefined && (!isIPv4(r.prewarmFrom) || r.prewarmFrom === r.host.address))
    add(
      "prewarmFrom",
      `must be the primary edge's IPv4 address, not this node's own, got "${r.prewarmFrom}"`,
    );
  return issues;
}
