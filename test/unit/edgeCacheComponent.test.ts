import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { ConfigIssuesError } from "../../common/issues";
import { EdgeCacheNode } from "../../components/EdgeCacheNode";
import { EdgeCacheNodeArgs, renderEdgeCache } from "../../components/edgeCache";
import {
  Registered,
  isWrappedSecret,
  outputValue,
  recordingMocks,
  unwrapSecret,
} from "../support/pulumiMocks";

type Files = Record<string, { content?: string; secret: boolean }>;

describe("EdgeCacheNode (component, under Pulumi mocks)", () => {
  let registered: Registered[];

  before(() => {
    registered = recordingMocks();
  });
  beforeEach(() => {
    registered.length = 0;
  });

  const login = { address: "10.86.0.19", port: 6379, user: "okome-health" };
  const args: EdgeCacheNodeArgs = {
    host: { name: "okome-edge", address: "10.86.0.20" },
    connection: { name: "okome-edge", address: "10.86.0.20", user: "okome", privateKeyPath: "/k" },
    upstream: { host: "10.86.0.25", port: 8000 },
    lanCidr: "10.86.0.0/24",
    healthLogin: { ...login, password: pulumi.secret("health-pw") },
  };
  const settled = async (node: EdgeCacheNode) => {
    await outputValue(node.urn);
    await outputValue(node.url);
    await new Promise((resolve) => setTimeout(resolve, 50));
  };
  const inputsOf = (name: string) => registered.find((r) => r.name === name)!.inputs;

  it("has one set per role: scripts, nginx (checked by nginx -t), the probe, the exporter and pre-warm", async () => {
    await settled(new EdgeCacheNode("edge-cache", args));
    assert.deepEqual(
      registered
        .map((r) => r.name)
        .filter((n) => n !== "edge-cache")
        .sort(),
      [
        "edge-cache-exporter",
        "edge-cache-health",
        "edge-cache-nginx",
        "edge-cache-prewarm",
        "edge-cache-scripts",
      ],
    );
    const nginx = inputsOf("edge-cache-nginx");
    assert.equal(nginx.kind, "nginx");
    assert.match(String(nginx.validate), /nginx -t -q$/);
  });

  it("installs what renderEdgeCache renders; only the health user's password is secret", async () => {
    await settled(new EdgeCacheNode("edge-cache", args));
    const want = renderEdgeCache(args, login);
    for (const role of ["scripts", "nginx", "health", "exporter", "prewarm"] as const) {
      const files = inputsOf(`edge-cache-${role}`).files as Files;
      for (const f of want[role]) {
        assert.equal(files[f.path].content, f.content, f.path);
        assert.equal(files[f.path].secret, false, `${f.path} is not secret`);
      }
    }
    const health = inputsOf("edge-cache-health");
    assert.equal((health.files as Files)["/etc/okome/secrets/edge-health-redis"].secret, true);
    assert.ok(isWrappedSecret(health.secretContents));
    assert.deepEqual(unwrapSecret(health.secretContents), {
      "/etc/okome/secrets/edge-health-redis": "health-pw",
    });
  });

  it("exports what the validation suite reads", async () => {
    const node = new EdgeCacheNode("edge-cache", args);
    await settled(node);
    assert.equal(await outputValue(node.url), "http://10.86.0.20:80");
    assert.equal(await outputValue(node.statusUrl), "http://10.86.0.20:8080/stub_status");
    const probe = await outputValue(node.healthProbe);
    assert.equal(probe.redisKey, "okome:health:okome-edge");
    assert.equal(probe.keyTtlSeconds, 30);
    assert.deepEqual((await outputValue(node.rateLimits)).ui, { perSecond: 20, burst: 40 });
    const policies = await outputValue(node.cachePolicies);
    assert.equal(policies.cacheKeyVersion, 1);
    assert.deepEqual(policies.endpoints.api, { path: "/api/" });
    const prewarm = await outputValue(node.prewarm);
    assert.equal(prewarm.listUrl, "http://10.86.0.20:80/__okome/prewarm-urls");
    assert.equal(prewarm.sourceUrl, undefined);
    const standby = new EdgeCacheNode("standby-edge", {
      ...args,
      host: { name: "okome-model", address: "10.86.0.19" },
      prewarmFrom: "10.86.0.20",
    });
    await settled(standby);
    assert.equal(
      (await outputValue(standby.prewarm)).sourceUrl,
      "http://10.86.0.20:80/__okome/prewarm-urls",
    );
  });

  it("without a health login, writes no key and has no secret file", async () => {
    const node = new EdgeCacheNode("edge-cache", { ...args, healthLogin: undefined });
    await settled(node);
    const files = inputsOf("edge-cache-health").files as Files;
    assert.ok(!("/etc/okome/secrets/edge-health-redis" in files));
    assert.equal((await outputValue(node.healthProbe)).redisKey, undefined);
  });

  it("refuses bad arguments before registering anything, naming each", () => {
    assert.throws(
      () => new EdgeCacheNode("edge-cache", { ...args, lanCidr: "lan", statusPort: 80 }),
      (e: unknown) =>
        e instanceof ConfigIssuesError &&
        e.issues.map((i) => i.path).join(",") === "lanCidr,statusPort",
    );
    assert.deepEqual(registered, []);
  });
});
