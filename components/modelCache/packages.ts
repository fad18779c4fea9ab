import { REDIS, REDIS_EXPORTER } from "../platform";
import { ModelCacheSpec, resolveModelCacheArgs } from "./args";

/** The Debian packages the node needs (HardenedPi checks them on the host before anything runs). */
export function modelCachePackages(spec: ModelCacheSpec): string[] {
  return [
    REDIS.package,
    // redis-cli, which the okome-redis-* scripts drive Redis with
    "redis-tools",
    // the scripts check bind addresses with `ip`, and the exporter's verify fetches its metrics
    "iproute2",
    "curl",
    ...(resolveModelCacheArgs(spec).exporter ? [REDIS_EXPORTER.package] : []),
  ];
}
