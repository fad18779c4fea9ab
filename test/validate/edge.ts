import { MODEL_CACHE_OUTPUTS, client } from "./modelCache";
import { accessOutput, metricValue, onNode } from "./nodes";
import { HARDENING_OUTPUTS } from "./hardening";
import {
  StackOutputs,
  ValidationModule,
  integerOutput,
  objectOutput,
  stringOutput,
} from "./runner";

/** The stack outputs this module reads (index.ts exports them). */
export const EDGE_OUTPUTS = {
  /** One per edge: the edge node's, and the standby edge's on the model node. */
  nodes: ["edgeCacheNode", "standbyEdgeNode"],
  access: HARDENING_OUTPUTS.access,
} as const;

interface Edge {
  readonly node: string;
  readonly url: string;
  readonly healthUrl: string;
  readonly statusUrl: string;
  readonly exporterUrl: string;
  readonly healthProbe: { readonly keyTtlSeconds: number; readonly redisKey?: string };
  readonly paths: { readonly healthState: string; readonly accessLog: string };
  readonly cachePolicies: { readonly header: string; readonly cacheKeyVersion: number };
  readonly prewarm: { readonly listUrl: string; readonly intervalSeconds: number };
}

/** A path every orchestrator lets the edge cache (Cache-Control public). */
const CACHEABLE_PATH = "/version";
const HEADERS = ["x-cache-status", "x-okome-node", "x-upstream", "x-request-id"];

const get = (url: string, headers: Record<string, string> = {}) =>
  fetch(url, { headers, signal: AbortSignal.timeout(10_000) });

/** The node exporter URL of the node an edge runs on (HardenedPi's output). */
function nodeExporterUrl(outputs: StackOutputs, node: string): string {
  const key = HARDENING_OUTPUTS.nodes[node as keyof typeof HARDENING_OUTPUTS.nodes];
  if (key === undefined) throw new Error(`no hardening output names node ${node}`);
  return objectOutput<{ nodeExporterUrl: string }>(outputs, key, ["nodeExporterUrl"])
    .nodeExporterUrl;
}

/**
 * Both edges (EdgeCacheNode), read-only: what a client can see (a HIT with the four headers, the
 * request id kept, nothing cached for a request with credentials, the cache policies apart), what the LAN can see (status
 * page, exporter, the probe's metrics), the health key in the model cache, and over SSH the
 * health state, the JSON access log, pre-warm and the node's own okome-verify.
 */
export const edgeModule: ValidationModule = {
  name: "edge",
  async run(outputs, check) {
    const access = accessOutput(outputs, EDGE_OUTPUTS.access);
    for (const key of EDGE_OUTPUTS.nodes) {
      const edge = objectOutput<Edge>(outputs, key, [
        "node",
        "url",
        "healthUrl",
        "statusUrl",
        "exporterUrl",
        "healthProbe",
        "cachePolicies",
        "prewarm",
        "paths",
      ]);
      const node = edge.node;
      const address = new URL(edge.url).hostname;
      const run = (command: string) => onNode(access, address, command);

      await check(`${node}: nginx answers its health location`, async () => {
        const res = await get(edge.healthUrl);
        if (res.status !== 200 || res.headers.get("x-okome-node") !== node)
          throw new Error(
            `${edge.healthUrl} answered ${res.status} from ${res.headers.get("x-okome-node")}`,
          );
      });
      let state = "";
      await check(
        `${node}: the health probe's timer runs and the state file says UP or DOWN`,
        async () => {
          await run("systemctl is-active --quiet okome-health-probe.timer");
          const file = await run(`cat ${edge.paths.healthState}`);
          state = /okome_maintenance;/.test(file)
            ? "DOWN"
            : /okome_orchestrator;/.test(file)
              ? "UP"
              : "";
          if (state === "") throw new Error(`${edge.paths.healthState} names no upstream pool`);
        },
      );
      await check(
        `${node}: a second GET is a cache hit with the four headers and the client's request id`,
        async () => {
          const id = `okome-validate-${Date.now()}`;
          await get(`${edge.url}${CACHEABLE_PATH}`);
          const res = await get(`${edge.url}${CACHEABLE_PATH}`, { "X-Request-ID": id });
          const missing = HEADERS.filter((h) => !res.headers.get(h));
          if (missing.length > 0) throw new Error(`missing ${missing.join(", ")}`);
          const status = res.headers.get("x-cache-status");
          const want = state === "DOWN" ? ["HIT", "STALE"] : ["HIT"];
          if (!want.includes(status ?? ""))
            throw new Error(`X-Cache-Status ${status}, want ${want.join(" or ")}`);
          if (res.headers.get("x-okome-node") !== node)
            throw new Error(`X-OKOME-Node ${res.headers.get("x-okome-node")}`);
          if (res.headers.get("x-request-id") !== id)
            throw new Error(`X-Request-ID ${res.headers.get("x-request-id")}, sent ${id}`);
        },
      );
      await check(`${node}: a request with Authorization bypasses the cache`, async () => {
        const res = await get(`${edge.url}${CACHEABLE_PATH}`, {
          Authorization: "Bearer okome-validate",
        });
        const status = res.headers.get("x-cache-status");
        if (status !== "BYPASS" && !(state === "DOWN" && status === "STALE"))
          throw new Error(`X-Cache-Status ${status}, want BYPASS`);
      });
      const policyHeader = edge.cachePolicies.header;
      const asPolicy = (url: string, policy: string) => get(url, { [policyHeader]: policy });
      // A URL of this run only: both policies start from a miss.
      const probeUrl = `${edge.url}${CACHEABLE_PATH}?okome-validate-policy=${Date.now()}`;
      await check(
        `${node}: canary and control keep apart entries for one URL, each answer names its policy`,
        async () => {
          const seen: string[] = [];
          for (const policy of ["control", "control", "canary", "canary"]) {
            const res = await asPolicy(probeUrl, policy);
            const named = res.headers.get("x-okome-policy");
            if (named !== policy) throw new Error(`X-OKOME-Policy ${named}, asked ${policy}`);
            seen.push(`${policy} ${res.headers.get("x-cache-status")}`);
          }
          // While DOWN a new URL has no entry to serve: the policies still apply.
          const want = ["control MISS", "control HIT", "canary MISS", "canary HIT"];
          if (state === "UP" && seen.join(", ") !== want.join(", "))
            throw new Error(`got ${seen.join(", ")}, want ${want.join(", ")}`);
        },
      );
      await check(`${node}: debug bypasses the cache and shows control's key`, async () => {
        const res = await asPolicy(probeUrl, "debug");
        const key = res.headers.get("x-okome-debug-cache-key");
        const want = `v${edge.cachePolicies.cacheKeyVersion}:control:${new URL(probeUrl).protocol.slice(0, -1)}${CACHEABLE_PATH}?`;
        if (res.headers.get("x-okome-policy") !== "debug")
          throw new Error(`X-OKOME-Policy ${res.headers.get("x-okome-policy")}`);
        if (res.headers.get("x-cache-status") !== "BYPASS" && state === "UP")
          throw new Error(`X-Cache-Status ${res.headers.get("x-cache-status")}, want BYPASS`);
        if (!key?.startsWith(want))
          throw new Error(`X-OKOME-Debug-Cache-Key ${key}, want ${want}…`);
      });
      await check(
        `${node}: a bogus policy, even beside a canary cookie, is served as control`,
        async () => {
          const res = await get(probeUrl, {
            [policyHeader]: "bogus",
            Cookie: "okome_cache=canary",
          });
          const named = res.headers.get("x-okome-policy");
          if (named !== "control") throw new Error(`X-OKOME-Policy ${named}`);
          if (state === "UP" && res.headers.get("x-cache-status") !== "HIT")
            throw new Error(
              `X-Cache-Status ${res.headers.get("x-cache-status")}: not control's entry`,
            );
        },
      );
      await check(
        `${node}: pre-warm runs on its timer and serves its top list to the LAN`,
        async () => {
          await run("systemctl is-active --quiet okome-prewarm.timer");
          const res = await get(edge.prewarm.listUrl);
          if (res.status !== 200) throw new Error(`${edge.prewarm.listUrl} answered ${res.status}`);
          const page = await (await get(nodeExporterUrl(outputs, node))).text();
          const last = metricValue(page, "okome_prewarm_last_run_timestamp_seconds", { node });
          if (last === undefined) throw new Error("no okome_prewarm_last_run_timestamp_seconds");
          const age = Date.now() / 1000 - last;
          if (age > 2 * edge.prewarm.intervalSeconds + 60)
            throw new Error(`the last pre-warm run was ${Math.round(age)} s ago`);
        },
      );
      await check(`${node}: the status page answers the LAN`, async () => {
        const res = await get(edge.statusUrl);
        const text = await res.text();
        if (res.status !== 200 || !text.startsWith("Active connections:"))
          throw new Error(`${edge.statusUrl} answered ${res.status}`);
      });
      await check(`${node}: prometheus-nginx-exporter reads nginx`, async () => {
        const page = await (await get(edge.exporterUrl)).text();
        if (metricValue(page, "nginx_up") !== 1)
          throw new Error(`${edge.exporterUrl} has no nginx_up 1`);
      });
      await check(
        `${node}: the node exporter has the probe's and the hit ratio's metrics`,
        async () => {
          const page = await (await get(nodeExporterUrl(outputs, node))).text();
          const up = metricValue(page, "okome_health_upstream_up", { node });
          if (up !== (state === "UP" ? 1 : 0))
            throw new Error(`okome_health_upstream_up is ${up}, the state file says ${state}`);
          if (metricValue(page, "okome_edge_hit_ratio_window_seconds", { node }) === undefined)
            throw new Error(
              "no okome_edge_hit_ratio_window_seconds: okome-hit-ratio.timer has not run",
            );
        },
      );
      const redisKey = edge.healthProbe.redisKey;
      if (redisKey !== undefined)
        await check(
          `${node}: ${redisKey} is in the model cache with a TTL of at most ${edge.healthProbe.keyTtlSeconds} s`,
          async () => {
            const o = MODEL_CACHE_OUTPUTS;
            const redis = client(
              { host: stringOutput(outputs, o.address), port: integerOutput(outputs, o.port) },
              stringOutput(outputs, o.user),
              stringOutput(outputs, o.password),
            );
            try {
              await redis.connect();
              const ttl = await redis.pttl(redisKey);
              if (!(ttl > 0 && ttl <= edge.healthProbe.keyTtlSeconds * 1000))
                throw new Error(`PTTL ${redisKey} is ${ttl}`);
            } finally {
              redis.disconnect();
            }
          },
        );
      await check(`${node}: the access log is JSON with the cache status`, async () => {
        const line = await run(`sudo -n tail -n 1 ${edge.paths.accessLog}`);
        const entry = JSON.parse(line) as Record<string, unknown>;
        for (const field of ["cache", "upstream_time", "request_time", "request_id"])
          if (!(field in entry)) throw new Error(`no ${field} in ${line}`);
      });
      await check(`${node}: okome-verify passes on the node`, async () => {
        await run("sudo -n /usr/local/sbin/okome-verify");
      });
    }
  },
};
