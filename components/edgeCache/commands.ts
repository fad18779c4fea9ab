import * as path from "node:path";
import type { HostCommands } from "../kit";
import { EdgeCacheSpec, resolveEdgeCacheArgs } from "./args";
import { EDGE_CACHE_PATHS, EDGE_HEALTH_LOCATION, EDGE_SCRIPTS, EDGE_UNITS } from "./paths";
import type { EdgeCacheRole } from "./render";

/** Debian's units the edge drives. */
export const EDGE_PACKAGE_UNITS = {
  nginx: "nginx",
  exporter: "prometheus-nginx-exporter",
} as const;

/** Waits up to `seconds` for a shell condition (services take a moment to come up). */
const within = (seconds: number, condition: string) =>
  `timeout ${seconds} sh -c 'until ${condition}; do sleep 0.3; done'`;

/**
 * Starts a set's timers (each at once: OnActiveSec=0) while its units are installed; on removal
 * the unit files are gone, so the timers are stopped instead.
 */
function timersActivation(units: readonly string[]): string {
  const timers = units.map((unit) => `${unit}.timer`);
  return (
    `systemctl daemon-reload && if [ -f ${EDGE_CACHE_PATHS.systemdDir}/${timers[0]} ]; then ` +
    `systemctl enable --quiet ${timers.join(" ")} && systemctl restart ${timers.join(" ")}; ` +
    `else systemctl stop ${timers.join(" ")} 2>/dev/null; true; fi`
  );
}

/** The host commands of the edge's config sets (run as root by the ConfigSet transaction). */
export function edgeCacheCommands(spec: EdgeCacheSpec) {
  const r = resolveEdgeCacheArgs(spec);
  const { exporter } = EDGE_PACKAGE_UNITS;
  const healthUnits = [EDGE_UNITS.healthProbe, EDGE_UNITS.hitRatio];
  const metrics = `http://${r.host.address}:${r.exporterPort}/metrics`;
  const healthUrl = `http://127.0.0.1:${r.listenPort}${EDGE_HEALTH_LOCATION}`;
  return {
    // The probe reads its settings at every run: nothing to restart.
    scripts: { activate: "true" },
    nginx: {
      // nginx -t needs what the first deploy lacks: the health state it includes (the probe's
      // settings come after nginx, and --init needs none but the file's path), and the cache
      // dir's parent (nginx makes the cache dir itself, owned by its workers).
      validate:
        `install -d -m 0755 ${path.posix.dirname(EDGE_CACHE_PATHS.cacheDir)} && ` +
        `OKOME_HEALTH_ENV=/dev/null OKOME_STATE_FILE=${EDGE_CACHE_PATHS.healthState} ${EDGE_SCRIPTS.healthProbe} --init && ` +
        `nginx -t -q`,
      activate: `${EDGE_SCRIPTS.nginxReload} ${healthUrl} ${r.host.name} ${EDGE_CACHE_PATHS.edgeServer} ${EDGE_CACHE_PATHS.errorLog}`,
      // The answer names this node: the new config serves, not Debian's default site. When it
      // does not, nginx's own words say why.
      verify:
        within(
          15,
          `curl -fsS -D - -o /dev/null ${healthUrl} | grep -qi "^x-okome-node: ${r.host.name}[[:space:]]"`,
        ) + ` || { tail -n 3 ${EDGE_CACHE_PATHS.errorLog} >&2; exit 1; }`,
    },
    health: {
      activate: timersActivation(healthUnits),
      verify: `systemctl is-active --quiet ${healthUnits.map((u) => `${u}.timer`).join(" ")} && test -s ${EDGE_CACHE_PATHS.healthState}`,
    },
    prewarm: {
      activate: timersActivation([EDGE_UNITS.prewarm]),
      verify: `systemctl is-active --quiet ${EDGE_UNITS.prewarm}.timer`,
    },
    exporter: {
      activate: `systemctl enable --quiet ${exporter} && systemctl restart ${exporter}`,
      verify: within(20, `curl -fsS ${metrics} | grep -q "^nginx_up 1"`),
    },
  } satisfies Record<EdgeCacheRole, HostCommands>;
}
