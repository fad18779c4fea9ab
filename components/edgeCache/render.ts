import * as path from "node:path";
import type { ManagedFile } from "../../providers";
import type { RedisLogin } from "../modelCache";
import { hostLibrary, hostScript, renderTemplate } from "../templates";
import {
  EdgeCacheSpec,
  ResolvedEdgeCacheArgs,
  TTL_ENDPOINT_PATHS,
  TtlEndpoint,
  resolveEdgeCacheArgs,
} from "./args";
import {
  EDGE_CACHE_PATHS,
  EDGE_HEALTH_LOCATION,
  EDGE_PREWARM_LOCATION,
  EDGE_SCRIPTS,
  EDGE_UNITS,
  PREWARM_USER_AGENT,
} from "./paths";

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
  /** okome-prewarm's settings, unit and timer: after the probe, whose state it reads. */
  readonly prewarm: readonly ManagedFile[];
}

/** The roles of the edge's config sets, in the order they apply. */
export type EdgeCacheRole = keyof EdgeCacheFiles;

/** Seconds systemd lets one probe run before it kills it. */
const PROBE_TIMEOUT_START_SECONDS = 30;

/** Seconds beyond a pre-warm run's budget that systemd waits: the list's fetch, the log's read. */
const PREWARM_TIMEOUT_MARGIN_SECONDS = 30;

/** Where an endpoint's canary requests go (canary_policies.conf): an internal location. */
const canaryLocation = (endpoint: TtlEndpoint) => `/__okome/canary/${endpoint}`;

/** The endpoints with their TTLs per policy, as canary_policies.conf renders them. */
function ttlEndpoints(r: ResolvedEdgeCacheArgs) {
  const text = (ttl?: number) => (ttl === undefined ? "the upstream's Cache-Control" : `${ttl} s`);
  return (Object.keys(TTL_ENDPOINT_PATHS) as TtlEndpoint[]).map((endpoint) => {
    const ttls = r.endpointTtls[endpoint] ?? {};
    const api = endpoint === "api";
    return {
      path: TTL_ENDPOINT_PATHS[endpoint] ?? r.apiPrefix,
      canaryLocation: canaryLocation(endpoint),
      zone: api ? "okome_api" : "okome_ui",
      burst: (api ? r.apiRateLimit : r.uiRateLimit).burst,
      control: ttls.control,
      canary: ttls.canary,
      controlText: text(ttls.control),
      canaryText: text(ttls.canary),
    };
  });
}

/** What every template of the edge may name. */
function view(r: ResolvedEdgeCacheArgs) {
  return {
    ...r,
    ...EDGE_CACHE_PATHS,
    ...EDGE_SCRIPTS,
    prewarm: r.prewarm,
    prewarmScript: EDGE_SCRIPTS.prewarm,
    prewarmLocation: EDGE_PREWARM_LOCATION,
    prewarmUserAgent: PREWARM_USER_AGENT,
    prewarmListDir: path.posix.dirname(EDGE_CACHE_PATHS.prewarmList),
    // systemd's StateDirectory= is relative to /var/lib.
    prewarmStateDirectory: path.posix.relative(
      "/var/lib",
      path.posix.dirname(EDGE_CACHE_PATHS.prewarmList),
    ),
    prewarmTimeoutStartSeconds:
      r.prewarm.budgetSeconds + r.prewarm.requestTimeoutSeconds + PREWARM_TIMEOUT_MARGIN_SECONDS,
    endpoints: ttlEndpoints(r),
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
      hostScript(EDGE_SCRIPTS.prewarm, "okome-prewarm.sh"),
      hostLibrary(EDGE_CACHE_PATHS.nginxLogJq, "okome/nginx-log.jq"),
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
        "canary_maps.conf",
        "canary_policies.conf",
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
    prewarm: [
      {
        path: EDGE_CACHE_PATHS.prewarmEnv,
        content: renderTemplate("edge/edge-prewarm.env.mustache", v),
        mode: "0644",
      },
      unitFile(`${EDGE_UNITS.prewarm}.service`, v),
      unitFile(`${EDGE_UNITS.prewarm}.timer`, v),
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
