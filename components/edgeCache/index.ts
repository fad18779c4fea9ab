// The edge cache's domain: what EdgeCacheNode (components/EdgeCacheNode.ts) is made of.
export type {
  CachePolicy,
  EdgeCacheNodeArgs,
  Prewarm,
  EdgeCacheSpec,
  HealthProbe,
  RateLimit,
  ResolvedEdgeCacheArgs,
} from "./args";
export {
  CACHE_POLICIES,
  EDGE_CACHE_DEFAULTS,
  TTL_ENDPOINT_PATHS,
  resolveEdgeCacheArgs,
} from "./args";
export { validateEdgeCacheArgs } from "./validate";
export {
  EDGE_CACHE_PATHS,
  EDGE_HEALTH_LOCATION,
  EDGE_PREWARM_LOCATION,
  EDGE_SCRIPTS,
  EDGE_UNITS,
  PREWARM_USER_AGENT,
} from "./paths";
export type { EdgeCacheFiles, EdgeCacheRole } from "./render";
export { healthPasswordFiles, renderEdgeCache } from "./render";
export { EDGE_PACKAGE_UNITS, edgeCacheCommands } from "./commands";
export { edgeCachePackages } from "./packages";
export type { EdgeCacheStackArgs } from "./stackKeys";
export { EDGE_CACHE_STACK_KEYS, edgeCacheStackSchema, readEdgeCacheStackKeys } from "./stackKeys";
