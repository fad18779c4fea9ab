import { strict as assert } from "node:assert";
import * as path from "node:path";
import {
  EdgeCacheSpec,
  edgeCacheCommands,
  healthPasswordFiles,
  readEdgeCacheStackKeys,
  renderEdgeCache,
  validateEdgeCacheArgs,
} from "../../components/edgeCache";
import { expectGolden } from "../support/golden";

const GOLDEN = path.join(__dirname, "golden", "edge-cache");

const lab: EdgeCacheSpec = {
  host: { name: "okome-edge", address: "10.86.0.20" },
  upstream: { host: "10.86.0.25", port: 8000 },
  lanCidr: "10.86.0.0/24",
  cacheMaxSize: "256m",
  rateLimitExempt: ["10.86.0.1"],
  endpointTtls: { assets: { control: 3600, canary: 60 }, uiSchema: { canary: 30 } },
};
const standby: EdgeCacheSpec = {
  ...lab,
  host: { name: "okome-model", address: "10.86.0.19" },
  prewarmFrom: "10.86.0.20",
};
const PREWARM_ENV = "/etc/okome/edge-prewarm.env";
const LOGIN = { address: "10.86.0.19", port: 6379, user: "okome-health" };

/**
 * Every rendered file but the scripts and their library (assets/scripts and assets/lib, tested on
 * their own), as path -> content.
 */
const rendered = (spec: EdgeCacheSpec) =>
  new Map(
    Object.values(renderEdgeCache(spec, LOGIN))
      .flat()
      .filter((file) => !/^\/usr\/local\/(sbin|lib)\//.test(file.path))
      .map((file) => [file.path, file.content]),
  );

describe("EdgeCacheNode rendering (components/edgeCache)", () => {
  it("renders the lab edge like the golden files", () => {
    for (const [file, content] of rendered(lab))
      expectGolden(path.join(GOLDEN, "lab", file), content, file);
  });

  it("renders the standby edge from the same config, differing only in its node and pre-warm's source", () => {
    const edge = rendered(lab);
    const other = rendered(standby);
    assert.deepEqual([...other.keys()], [...edge.keys()]);
    for (const [file, content] of edge) {
      if (file === PREWARM_ENV) continue;
      const swapped = content
        .replaceAll("okome-edge", "okome-model")
        .replaceAll("10.86.0.20", "10.86.0.19");
      assert.equal(other.get(file), swapped, file);
    }
    assert.match(edge.get(PREWARM_ENV) ?? "", /^OKOME_PREWARM_SOURCE_URL=$/m);
    assert.match(
      other.get(PREWARM_ENV) ?? "",
      /^OKOME_PREWARM_SOURCE_URL=http:\/\/10\.86\.0\.20:80\/__okome\/prewarm-urls$/m,
    );
  });

  it("keys each policy apart under the cache key version; debug bypasses and shows control's key", () => {
    const files = rendered({ ...lab, cacheKeyVersion: 7, canaryKeyVersion: 3 });
    const maps = files.get("/etc/nginx/okome/canary_maps.conf") ?? "";
    assert.match(maps, /default\s+"v7:control:\$scheme\$request_uri";/);
    assert.match(maps, /canary\s+"v7:canary-v3:\$scheme\$request_uri";/);
    assert.match(
      maps,
      /map \$okome_policy \$okome_policy_bypass \{\n\s+default\s+0;\n\s+debug\s+1;/,
    );
    const proxy = files.get("/etc/nginx/okome/proxy.conf") ?? "";
    assert.match(proxy, /^proxy_cache_key \$okome_cache_key;$/m);
    assert.match(proxy, /^proxy_pass http:\/\/\$okome_upstream_pool\$request_uri;$/m);
    const headers = files.get("/etc/nginx/okome/headers.conf") ?? "";
    assert.match(headers, /add_header X-OKOME-Policy \$okome_policy always;/);
  });

  it("gives each endpoint its TTL per policy, and keeps the upstream's Cache-Control where none is set", () => {
    const policies = rendered(lab).get("/etc/nginx/okome/canary_policies.conf") ?? "";
    const block = (location: string) => {
      const start = policies.indexOf(`location ${location} {`);
      assert.ok(start >= 0, `no location ${location}`);
      return policies.slice(start, policies.indexOf("\n}", start));
    };
    assert.match(block("^~ /assets/"), /rewrite \^ \/__okome\/canary\/assets last;/);
    assert.match(block("^~ /assets/"), /proxy_cache_valid 3600s;/);
    assert.match(block("= /__okome/canary/assets"), /internal;[\s\S]*proxy_cache_valid 60s;/);
    assert.match(block("= /__okome/canary/uiSchema"), /proxy_cache_valid 30s;/);
    assert.doesNotMatch(block("^~ /ui-schema/"), /proxy_cache_valid|proxy_ignore_headers/);
    assert.doesNotMatch(block("^~ /version"), /proxy_cache_valid|proxy_ignore_headers/);
    assert.match(block("^~ /api/"), /limit_req zone=okome_api burst=10 nodelay;/);
    assert.match(block("= /__okome/canary/api"), /limit_req zone=okome_api burst=10 nodelay;/);
  });

  it("serves the pre-warm list to loopback and the LAN only, and runs pre-warm every 2 minutes", () => {
    const files = rendered(lab);
    assert.match(
      files.get("/etc/nginx/okome/edge.conf") ?? "",
      /location = \/__okome\/prewarm-urls \{\n\s+allow 127\.0\.0\.1;\n\s+allow 10\.86\.0\.0\/24;\n\s+deny all;[\s\S]*?alias \/var\/lib\/okome-prewarm\/top-urls\.txt;/,
    );
    assert.match(
      files.get("/etc/systemd/system/okome-prewarm.timer") ?? "",
      /^OnUnitActiveSec=120s$/m,
    );
    const service = files.get("/etc/systemd/system/okome-prewarm.service") ?? "";
    assert.match(service, /^StateDirectory=okome-prewarm$/m);
    assert.match(service, /^TimeoutStartSec=95$/m);
    const env = files.get(PREWARM_ENV) ?? "";
    assert.match(env, /^OKOME_PREWARM_BASE_URL=http:\/\/127\.0\.0\.1:80$/m);
    assert.match(env, /^OKOME_PREWARM_USER_AGENT=okome-prewarm$/m);
  });

  it("never caches what carries credentials, and keeps the cache lock and stale serving", () => {
    const proxy = rendered(lab).get("/etc/nginx/okome/proxy.conf") ?? "";
    for (const line of [
      "proxy_cache_bypass $okome_private_request $okome_policy_bypass;",
      "proxy_no_cache $okome_private_request $okome_policy_bypass $okome_upstream_uncacheable;",
      "proxy_cache_methods GET HEAD;",
      "proxy_cache_lock on;",
      "proxy_cache_use_stale error timeout updating http_500 http_502 http_503 http_504;",
      "proxy_cache_background_update on;",
    ])
      assert.ok(proxy.split("\n").includes(line), line);
    // nginx refuses to cache Set-Cookie and Cache-Control private/no-store unless told to ignore
    // them; a TTL override ignores Cache-Control, so the edge checks that header itself.
    assert.doesNotMatch(proxy, /^\s*proxy_ignore_headers/m);
    assert.doesNotMatch(
      rendered(lab).get("/etc/nginx/okome/canary_policies.conf") ?? "",
      /proxy_ignore_headers[^;]*Set-Cookie/,
    );
    assert.match(
      rendered(lab).get("/etc/nginx/okome/cache.conf") ?? "",
      /map \$upstream_http_cache_control \$okome_upstream_uncacheable \{\n\s+default 0;\n\s+~\*\(private\|no-store\|no-cache\) 1;/,
    );
    assert.match(
      rendered(lab).get("/etc/nginx/okome/cache.conf") ?? "",
      /map \$http_authorization \$okome_private_request \{\n\s+"" 0;\n\s+default 1;/,
    );
  });

  it("limits UI and API per client, answers 429 with Retry-After, exempts loopback and the stack's list", () => {
    const files = rendered({ ...lab, uiRateLimit: { perSecond: 30, burst: 7 } });
    const limits = files.get("/etc/nginx/okome/limits.conf") ?? "";
    assert.match(limits, /zone=okome_ui:10m rate=30r\/s;/);
    assert.match(limits, /zone=okome_api:10m rate=5r\/s;/);
    assert.match(limits, /limit_req_status 429;/);
    assert.match(limits, /127\.0\.0\.1 1;\n\s+10\.86\.0\.1 1;/);
    const edge = files.get("/etc/nginx/okome/edge.conf") ?? "";
    assert.match(
      files.get("/etc/nginx/okome/canary_policies.conf") ?? "",
      /location \^~ \/api\/ \{\n[\s\S]*?limit_req zone=okome_api burst=10 nodelay;/,
    );
    assert.match(edge, /location \/ \{\n\s+limit_req zone=okome_ui burst=7 nodelay;/);
    const noBurst = rendered({ ...lab, uiRateLimit: { perSecond: 1, burst: 0 } });
    assert.match(
      noBurst.get("/etc/nginx/okome/edge.conf") ?? "",
      /location \/ \{\n\s+limit_req zone=okome_ui;/,
      "nginx refuses burst=0",
    );
    assert.match(edge, /add_header Retry-After 1 always;/);
  });

  it("opens the status page to loopback and the LAN only, on the node's address, never the VIP", () => {
    const status = rendered(lab).get("/etc/nginx/okome/status.conf") ?? "";
    assert.match(status, /listen 10\.86\.0\.20:8080;\n\s+listen 127\.0\.0\.1:8080;/);
    assert.match(status, /allow 127\.0\.0\.1;\n\s+allow 10\.86\.0\.0\/24;\n\s+deny all;/);
  });

  it("gives the probe its hysteresis and the Redis login, the password only in a root-only secret file", () => {
    const env = rendered(lab).get("/etc/okome/edge-health.env") ?? "";
    assert.match(env, /^OKOME_FALL=2$/m);
    assert.match(env, /^OKOME_RISE=2$/m);
    assert.match(env, /^OKOME_HEALTH_REDIS_USER=okome-health$/m);
    assert.doesNotMatch(env, /PASSWORD=/);
    const [secret] = healthPasswordFiles("s3cret");
    assert.deepEqual(
      { path: secret.path, mode: secret.mode, secret: secret.secret, content: secret.content },
      {
        path: "/etc/okome/secrets/edge-health-redis",
        mode: "0600",
        secret: true,
        content: "s3cret",
      },
    );
    const withoutLogin = renderEdgeCache(lab).health.find((f) => f.path.endsWith("health.env"));
    const without = withoutLogin?.content ?? "";
    assert.match(without, /^OKOME_HEALTH_REDIS_HOST=$/m);
  });

  it("probes every 5 s with an accuracy below a second (systemd's default is a minute)", () => {
    const timer = rendered(lab).get("/etc/systemd/system/okome-health-probe.timer") ?? "";
    assert.match(timer, /^OnCalendar=\*:\*:0\/5$/m);
    assert.match(timer, /^AccuracySec=100ms$/m);
  });

  it("checks nginx's files with nginx -t, after making the health state the first deploy lacks", () => {
    const { nginx } = edgeCacheCommands(lab);
    assert.match(nginx.validate, /\/usr\/local\/sbin\/okome-health-probe --init && nginx -t -q$/);
    assert.match(nginx.verify, /x-okome-node: okome-edge\[\[:space:\]\]/);
  });
});

describe("EdgeCacheNode arguments", () => {
  it("accepts the lab edge", () => {
    assert.deepEqual(validateEdgeCacheArgs(lab), []);
  });

  it("names every bad argument at once", () => {
    const issues = validateEdgeCacheArgs({
      ...lab,
      lanCidr: "10.86.0.0",
      cacheMaxSize: "2 GB",
      cacheKeysZone: "512k",
      statusPort: 80,
      apiPrefix: "/api",
      uiRateLimit: { perSecond: 0, burst: 5 },
      rateLimitExempt: ["10.86.0.300"],
      health: {
        path: "/health",
        intervalSeconds: 5,
        timeoutSeconds: 5,
        fall: 3,
        rise: 0,
        keyTtlSeconds: 5,
      },
    }).map((issue) => issue.path);
    assert.deepEqual(issues, [
      "lanCidr",
      "statusPort",
      "cacheMaxSize",
      "cacheKeysZone",
      "uiRateLimit.perSecond",
      "apiPrefix",
      "rateLimitExempt[0]",
      "health.timeoutSeconds",
      "health.rise",
      "health.keyTtlSeconds",
    ]);
  });

  it("refuses a probe interval that does not divide a minute (the timer ticks on the clock)", () => {
    const issues = validateEdgeCacheArgs({
      ...lab,
      health: {
        path: "/health",
        intervalSeconds: 7,
        timeoutSeconds: 2,
        fall: 2,
        rise: 2,
        keyTtlSeconds: 30,
      },
    });
    assert.deepEqual(
      issues.map((i) => i.path),
      ["health.intervalSeconds"],
    );
  });

  it("refuses an upstream that is the edge itself", () => {
    const issues = validateEdgeCacheArgs({ ...lab, upstream: { host: "10.86.0.20", port: 80 } });
    assert.deepEqual(
      issues.map((i) => i.path),
      ["upstream"],
    );
  });
});

describe("EdgeCacheNode stack keys", () => {
  const raw = {
    orchestrator: "10.86.0.25:8000",
    lanCidr: "10.86.0.0/24",
    edgeCacheMaxSize: "256m",
    rateLimitExempt: '["10.86.0.1"]',
  };

  it("reads the lab's keys, with the seed's rates by default", () => {
    const { args, issues } = readEdgeCacheStackKeys(raw);
    assert.deepEqual(issues, []);
    assert.deepEqual(args.upstream, { host: "10.86.0.25", port: 8000 });
    assert.deepEqual(args.uiRateLimit, { perSecond: 20, burst: 40 });
    assert.deepEqual(args.apiRateLimit, { perSecond: 5, burst: 10 });
    assert.equal(args.cacheMaxSize, "256m");
  });

  it("names the full stack key of each problem, and requires lanCidr saying what it is", () => {
    const { issues } = readEdgeCacheStackKeys({
      orchestrator: raw.orchestrator,
      uiRateBurst: "many",
      apiRateLimit: "0",
      rateLimitExempt: '["nowhere"]',
      healthFall: "0",
    });
    assert.deepEqual(
      issues.map((i) => `${i.path}: ${i.reason}`),
      [
        "okome-cache:lanCidr: is required: the LAN as a CIDR, e.g. 192.168.86.0/24: the only network that may read nginx's status page",
        'okome-cache:uiRateBurst: must be an integer, got "many"',
        "okome-cache:apiRateLimit: must be an integer from 1 to 100000, got 0",
        'okome-cache:rateLimitExempt[0]: must be an IPv4 address or CIDR, got "nowhere"',
        "okome-cache:healthFall: must be an integer from 1 to 100, got 0",
      ],
    );
  });

  it("reads the TTL overrides as JSON and names each bad endpoint, policy and value by its path", () => {
    const ttls = '{"assets":{"control":86400,"canary":600}}';
    const good = readEdgeCacheStackKeys({ ...raw, edgeCacheTtls: ttls, cacheKeyVersion: "3" });
    assert.deepEqual(good.issues, []);
    assert.deepEqual(good.args.endpointTtls, { assets: { control: 86400, canary: 600 } });
    assert.equal(good.args.cacheKeyVersion, 3);
    const bad = readEdgeCacheStackKeys({
      ...raw,
      edgeCacheTtls: '{"asets":{"control":60},"api":{"debug":5,"canary":0}}',
      prewarmTop: "0",
    });
    assert.deepEqual(
      bad.issues.map((i) => `${i.path}: ${i.reason}`),
      [
        "okome-cache:edgeCacheTtls.asets: is not an endpoint; the endpoints are assets, uiSchema, version, api",
        "okome-cache:edgeCacheTtls.api.debug: is not a caching policy; TTLs are per control or canary (debug stores nothing)",
        "okome-cache:edgeCacheTtls.api.canary: must be an integer from 1 to 31536000, got 0",
        "okome-cache:prewarmTop: must be an integer from 1 to 10000, got 0",
      ],
    );
    const notJson = readEdgeCacheStackKeys({ ...raw, edgeCacheTtls: "{assets: 1}" });
    assert.deepEqual(
      notJson.issues.map((i) => i.path),
      ["okome-cache:edgeCacheTtls"],
    );
    assert.match(notJson.issues[0].reason, /must be JSON, e\.g\. \{"assets"/);
  });
});
