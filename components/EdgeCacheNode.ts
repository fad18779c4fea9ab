import * as pulumi from "@pulumi/pulumi";
import { assertNoIssues } from "../common/issues";
import { configSetsByRole } from "./kit";
import type { ConfigSet } from "../providers";
import {
  CACHE_POLICIES,
  EDGE_CACHE_PATHS,
  EDGE_HEALTH_LOCATION,
  EDGE_PREWARM_LOCATION,
  PREWARM_USER_AGENT,
  Prewarm,
  TTL_ENDPOINT_PATHS,
  EdgeCacheNodeArgs,
  EdgeCacheRole,
  HealthProbe,
  RateLimit,
  edgeCacheCommands,
  renderEdgeCache,
  healthPasswordFiles,
  resolveEdgeCacheArgs,
  validateEdgeCacheArgs,
} from "./edgeCache";

/** The rate limits as configured: what the validation suite expects 429s from. */
export interface EdgeRateLimits {
  readonly ui: RateLimit;
  readonly api: RateLimit;
  readonly apiPrefix: string;
  readonly connectionsPerClient: number;
  readonly retryAfterSeconds: number;
  readonly exempt: string[];
}

/** The health probe's settings, and the Redis key it writes (undefined without a login). */
export interface EdgeHealthProbe extends HealthProbe {
  readonly redisKey?: string;
  readonly maintenanceRetryAfterSeconds: number;
}

/** The cache policies as configured: what the validation suite expects of each. */
export interface EdgeCachePolicies {
  readonly policies: readonly string[];
  readonly header: string;
  readonly cookie: string;
  readonly cacheKeyVersion: number;
  readonly canaryKeyVersion: number;
  /** Per endpoint: its path and its TTL per policy (absent: the upstream's Cache-Control). */
  readonly endpoints: Record<string, { path: string; control?: number; canary?: number }>;
}

/** Pre-warm as configured, and where this edge publishes its list and takes it from. */
export interface EdgePrewarm extends Prewarm {
  readonly listUrl: string;
  /** The primary's list URL, on the standby edge. */
  readonly sourceUrl?: string;
  readonly userAgent: string;
}

/** Where things are on the host. */
export interface EdgePaths {
  readonly cache: string;
  readonly healthState: string;
  readonly accessLog: string;
}

/**
 * One OKOME edge: nginx caching the orchestrator (cache lock, stale on error, nothing private
 * cached), observability headers and a JSON access log, per-client rate limits, and a health
 * probe that switches to serving stale pages and a maintenance page while the orchestrator is
 * down. The edge node runs one; the model node runs the same as the standby edge. Children, in
 * the order they apply: `<name>-scripts` (probe, hit ratio, verify and their settings),
 * `<name>-nginx` (checked with nginx -t, then reloaded), `<name>-health` (the probe's and the hit
 * ratio's timers) and `<name>-exporter` (prometheus-nginx-exporter).
 */
export class EdgeCacheNode extends pulumi.ComponentResource {
  /** The node's name, as X-OKOME-Node says it. */
  readonly node: pulumi.Output<string>;
  /** The edge on the node's own address. */
  readonly url: pulumi.Output<string>;
  /** nginx's own health answer (what keepalived checks). */
  readonly healthUrl: pulumi.Output<string>;
  /** stub_status, LAN only. */
  readonly statusUrl: pulumi.Output<string>;
  readonly exporterUrl: pulumi.Output<string>;
  /** The orchestrator, `host:port`. */
  readonly upstream: pulumi.Output<string>;
  readonly lanCidr: pulumi.Output<string>;
  readonly rateLimits: pulumi.Output<EdgeRateLimits>;
  readonly healthProbe: pulumi.Output<EdgeHealthProbe>;
  readonly cachePolicies: pulumi.Output<EdgeCachePolicies>;
  readonly prewarm: pulumi.Output<EdgePrewarm>;
  readonly paths: pulumi.Output<EdgePaths>;
  /** Every output above, as the validation suite reads it (a stack output per edge). */
  readonly summary: Readonly<Record<string, pulumi.Output<unknown>>>;
  /** Every config set of the component: the deployment gate runs when any of them changes. */
  readonly configSets: readonly ConfigSet[];

  constructor(name: string, args: EdgeCacheNodeArgs, opts?: pulumi.ComponentResourceOptions) {
    assertNoIssues(`EdgeCacheNode ${name}`, validateEdgeCacheArgs(args));
    super("okome:infra:EdgeCacheNode", name, {}, opts);
    const r = resolveEdgeCacheArgs(args);
    const login = args.healthLogin;
    // Only the password is secret (and unknown at a first preview): every other file is known.
    const files = renderEdgeCache(
      args,
      login && { address: login.address, port: login.port, user: login.user },
    );
    const sets = configSetsByRole<EdgeCacheRole>(
      name,
      {
        connection: args.connection,
        after: args.after,
        files: [files],
        secretFiles: login && {
          health: pulumi.secret(login.password).apply(healthPasswordFiles),
        },
        roles: roles(edgeCacheCommands(args)),
      },
      this,
    );
    this.configSets = Object.values<ConfigSet>(sets);

    const address = r.host.address;
    this.node = pulumi.output(r.host.name);
    this.url = pulumi.output(`http://${address}:${r.listenPort}`);
    this.healthUrl = pulumi.output(`http://${address}:${r.listenPort}${EDGE_HEALTH_LOCATION}`);
    this.statusUrl = pulumi.output(`http://${address}:${r.statusPort}/stub_status`);
    this.exporterUrl = pulumi.output(`http://${address}:${r.exporterPort}/metrics`);
    this.upstream = pulumi.output(`${r.upstream.host}:${r.upstream.port}`);
    this.lanCidr = pulumi.output(r.lanCidr);
    this.rateLimits = pulumi.output<EdgeRateLimits>({
      ui: r.uiRateLimit,
      api: r.apiRateLimit,
      apiPrefix: r.apiPrefix,
      connectionsPerClient: r.connectionsPerClient,
      retryAfterSeconds: r.rateLimitRetryAfterSeconds,
      exempt: [...r.rateLimitExempt],
    });
    this.healthProbe = pulumi.output<EdgeHealthProbe>({
      ...r.health,
      redisKey: login ? `okome:health:${r.host.name}` : undefined,
      maintenanceRetryAfterSeconds: r.maintenanceRetryAfterSeconds,
    });
    this.cachePolicies = pulumi.output<EdgeCachePolicies>({
      policies: [...CACHE_POLICIES],
      header: "X-OKOME-Cache-Policy",
      cookie: "okome_cache",
      cacheKeyVersion: r.cacheKeyVersion,
      canaryKeyVersion: r.canaryKeyVersion,
      endpoints: Object.fromEntries(
        (Object.keys(TTL_ENDPOINT_PATHS) as Array<keyof typeof TTL_ENDPOINT_PATHS>).map((e) => [
          e,
          { path: TTL_ENDPOINT_PATHS[e] ?? r.apiPrefix, ...r.endpointTtls[e] },
        ]),
      ),
    });
    const listUrl = (at: string) => `http://${at}:${r.listenPort}${EDGE_PREWARM_LOCATION}`;
    this.prewarm = pulumi.output<EdgePrewarm>({
      ...r.prewarm,
      listUrl: listUrl(address),
      sourceUrl: r.prewarmFrom && listUrl(r.prewarmFrom),
      userAgent: PREWARM_USER_AGENT,
    });
    this.paths = pulumi.output<EdgePaths>({
      cache: EDGE_CACHE_PATHS.cacheDir,
      healthState: EDGE_CACHE_PATHS.healthState,
      accessLog: EDGE_CACHE_PATHS.accessLog,
    });
    this.summary = {
      node: this.node,
      url: this.url,
      healthUrl: this.healthUrl,
      statusUrl: this.statusUrl,
      exporterUrl: this.exporterUrl,
      upstream: this.upstream,
      lanCidr: this.lanCidr,
      rateLimits: this.rateLimits,
      healthProbe: this.healthProbe,
      cachePolicies: this.cachePolicies,
      prewarm: this.prewarm,
      paths: this.paths,
    };
    this.registerOutputs({ ...this.summary });
  }
}

/** How each role's files reach the host: scripts, then nginx, then what runs against it. */
function roles(commands: ReturnType<typeof edgeCacheCommands>) {
  return {
    scripts: {
      kind: "plain",
      service: "edge-scripts",
      commands: commands.scripts,
      dependsOn: [],
    },
    nginx: { kind: "nginx", service: "nginx", commands: commands.nginx, dependsOn: ["scripts"] },
    health: {
      kind: "plain",
      service: "edge-health",
      commands: commands.health,
      dependsOn: ["nginx"],
    },
    exporter: {
      kind: "plain",
      service: "nginx-exporter",
      commands: commands.exporter,
      dependsOn: ["nginx"],
    },
    prewarm: {
      kind: "plain",
      service: "edge-prewarm",
      commands: commands.prewarm,
      dependsOn: ["health"],
    },
  } as const;
}
