import type { ManagedFile } from "../../providers";
import type { RedisLogin } from "../modelCache";
import { hostScript, renderTemplate } from "../templates";
import { EdgeCacheSpec, ResolvedEdgeCacheArgs, resolveEdgeCacheArgs } from "./args";
import { EDGE_CACHE_PATHS, EDGE_HEALTH_LOCATION, EDGE_SCRIPTS, EDGE_UNITS } from "./paths";

/** The files of one edge, by the role (the config set) that installs them. */
export interface EdgeCacheFiles {
  /** The host scripts (health probe, hit ratio, verify) and okome-verify's settings. */
  readonly scripts: readonly ManagedFile[];
  /** nginx.conf and okome's nginx files, checked with `nginx -t`, then reloaded. */
  readonly nginx: readonly ManagedFile[];
  /**
   * The probe's settings and password, and the probe's and the hit ratio's units and timers:
   * after nginx, so an upstream that nginx -t refuses never reaches the probe either.
   */
  readonly health: readonly ManagedFile[];
  /** prometheus-nginx-exporter's environment file. */
  readonly exporter: readonly ManagedFile[];
}

/** The roles of the edge's config sets, in the order they apply. */
export type EdgeCacheRole = keyof EdgeCacheFiles;

/** Seconds systemd lets one probe run before it kills it. */
const PROBE_TIMEOUT_START_SECONDS = 30;

/** What every template of the edge may name. */
function view(r: ResolvedEdgeCacheArgs) {
  return {
    ...r,
    ...EDGE_CACHE_PATHS,
    ...EDGE_SCRIPTS,
    node: r.host.name,
    address: r.host.address,
    healthLocation: EDGE_HEALTH_LOCATION,
    hasExempt: r.rateLimitExempt.length > 0,
    exempt: r.rateLimitExempt,
    timeoutStartSeconds: PROBE_TIMEOUT_START_SECONDS,
  };
}

const nginxFile = (name: string, v: object): ManagedFile => ({
  path: `${EDGE_CACHE_PATHS.nginxDir}/${name}`,
  content: renderTemplate(`nginx/${name}.mustache`, v),
  mode: "0644",
});

const unitFile = (unit: string, v: object): ManagedFile => ({
  path: `${EDGE_CACHE_PATHS.systemdDir}/${unit}`,
  content: renderTemplate(`systemd/${unit}.mustache`, v),
  mode: "0644",
});

/**
 * Every non-secret file of the edge. Pure: the unit tests' golden files come from here, and so
 * does what the component installs. `login` is the health user's, without its password.
 */
export function renderEdgeCache(
  spec: EdgeCacheSpec,
  login?: Omit<RedisLogin, "password">,
): EdgeCacheFiles {
  const r = resolveEdgeCacheArgs(spec);
  const v = view(r);
  return {
    scripts: [
      hostScript(EDGE_SCRIPTS.healthProbe, "okome-health-probe.sh"),
      hostScript(EDGE_SCRIPTS.hitRatio, "calculate-hit-ratio.sh"),
      hostScript(EDGE_SCRIPTS.verify, "verify.sh"),
      hostScript(EDGE_SCRIPTS.nginxReload, "okome-nginx-reload.sh"),
      {
        path: EDGE_CACHE_PATHS.verifyEnv,
        content: renderTemplate("edge/edge-verify.env.mustache", v),
        mode: "0644",
      },
    ],
    nginx: [
      {
        path: EDGE_CACHE_PATHS.nginxConf,
        content: renderTemplate("nginx/nginx.conf.mustache", v),
        mode: "0644",
      },
      ...[
        "logging.conf",
        "cache.conf",
        "limits.conf",
        "upstreams.conf",
        "edge.conf",
        "headers.conf",
        "proxy.conf",
        "status.conf",
        "maintenance.conf",
        "maintenance.html",
      ].map((name) => nginxFile(name, v)),
    ],
    health: [
      {
        path: EDGE_CACHE_PATHS.healthEnv,
        content: renderTemplate("edge/edge-health.env.mustache", {
          ...v,
          login: login && { ...login, passwordFile: EDGE_CACHE_PATHS.healthPassword },
        }),
        mode: "0644",
      },
      unitFile(`${EDGE_UNITS.healthProbe}.service`, v),
      unitFile(`${EDGE_UNITS.healthProbe}.timer`, v),
      unitFile(`${EDGE_UNITS.hitRatio}.service`, v),
      unitFile(`${EDGE_UNITS.hitRatio}.timer`, v),
    ],
    exporter: [
      {
        path: EDGE_CACHE_PATHS.exporterDefaults,
        content: renderTemplate("prometheus-nginx-exporter/prometheus-nginx-exporter.mustache", v),
        mode: "0644",
      },
    ],
  };
}

/** The health user's password: root-only, in the health set beside the probe's settings. */
export function healthPasswordFiles(password: string): ManagedFile[] {
  return [
    {
      path: EDGE_CACHE_PATHS.healthPassword,
      content: password,
      mode: "0600",
      dirMode: "0700",
      secret: true,
    },
  ];
}
