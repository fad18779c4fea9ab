import { EDGE_PACKAGE_UNITS } from "./commands";

/** The Debian packages an edge needs (HardenedPi checks them on the host before anything runs). */
export function edgeCachePackages(): string[] {
  return [
    EDGE_PACKAGE_UNITS.nginx,
    EDGE_PACKAGE_UNITS.exporter,
    // okome-health-probe: curl probes the orchestrator, redis-cli writes the health key
    "curl",
    "redis-tools",
    // okome-hit-ratio reads the JSON access log
    "jq",
  ];
}
