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
};
const standby: EdgeCacheSpec = { ...lab, host: { name: "okome-model", address: "10.86.0.19" } };
const LOGIN = { address: "10.86.0.19", port: 6379, user: "okome-health" };

/** Every rendered file but the scripts (assets/scripts, tested on their own), as path -> content. */
const rendered = (spec: EdgeCacheSpec) =>
  new Map(
    Object.values(renderEdgeCache(spec, LOGIN))
      .flat()
      .filter((file) => !file.path.startsWith("/usr/local/sbin/"))
      .map((file) => [file.path, file.content]),
  );

describe("EdgeCacheNode rendering (components/edgeCache)", () => {
  it("renders the lab edge like the golden files", () => {
    for (const [file, content] of rendered(lab))
      expectGolden(path.join(GOLDEN, "lab", file), content, file);
  });

  it("renders the standby edge from the same config, differing only in its node", () => {
    const edge = rendered(lab);
    const other = rendered(standby);
    assert.deepEqual([...other.keys()], [...edge.keys()]);
    for (const [file, content] of edge) {
      const swapped = content
        .replaceAll("okome-edge", "okome-model")
        .replaceAll("10.86.0.20", "10.86.0.19");
      assert.equal(other.get(file), swapped, file);
    }
  });

  it("never caches what carries credentials, and keeps the cache lock and stale serving", () => {
    const proxy = rendered(lab).get("/etc/nginx/okome/proxy.conf") ?? "";
    for (const line of [
      "proxy_cache_bypass $okome_private_request;",
      "proxy_no_cache $okome_private_request;",
      "proxy_cache_methods GET HEAD;",
      "proxy_cache_lock on;",
      "proxy_cache_use_stale error timeout updating http_500 http_502 http_503 http_504;",
      "proxy_cache_background_update on;",
    ])
      assert.ok(proxy.split("\n").includes(line), line);
    // nginx refuses to cache Set-Cookie and Cache-Control private/no-store unless told to ignore them.
    assert.doesNotMatch(proxy, /^\s*proxy_ignore_headers/m);
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
    assert.match(edge, /location \^~ \/api\/ \{\n\s+limit_req zone=okome_api burst=10 nodelay;/);
    assert.match(edge, /location \/ \{\n\s+limit_req zone=okome_ui burst=7 nodelay;/);
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
});
