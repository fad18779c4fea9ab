import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { ConfigIssuesError } from "../../common/issues";
import { ModelCacheNode } from "../../components/ModelCacheNode";
import { ModelCacheNodeArgs, passwordSha256, renderModelCache } from "../../components/modelCache";
import {
  Registered,
  isWrappedSecret,
  outputValue,
  recordingMocks,
  unwrapSecret,
} from "../support/pulumiMocks";

interface Child {
  readonly name: string;
  readonly parent: pulumi.Resource | undefined;
  readonly dependsOn: unknown;
}

const unwrap = unwrapSecret;
const value = outputValue;
const mockPassword = (resourceName: string) => `pw-of-${resourceName}`;

describe("ModelCacheNode (component, under Pulumi mocks)", () => {
  let registered: Registered[];
  let children: Child[];

  before(() => {
    registered = recordingMocks((type, name) =>
      type.endsWith(":SecretPassword") ? { password: mockPassword(name) } : {},
    );
  });
  beforeEach(() => {
    registered.length = 0;
    children = [];
  });

  const args: ModelCacheNodeArgs = {
    host: { name: "okome-model", address: "10.86.0.19" },
    connection: { name: "okome-model", address: "10.86.0.19", user: "okome", privateKeyPath: "/k" },
    hostMemory: "1gb",
    maxmemory: "256mb",
  };
  const create = (a: ModelCacheNodeArgs = args) =>
    new ModelCacheNode("model-cache", a, {
      transformations: [
        (t) => {
          children.push({ name: t.name, parent: t.opts.parent, dependsOn: t.opts.dependsOn });
          return undefined;
        },
      ],
    });
  const settled = async (node: ModelCacheNode) => {
    await value(node.urn);
    await value(node.password);
    // Every child's inputs are resolved once its urn is.
    await new Promise((resolve) => setTimeout(resolve, 50));
  };

  it("creates its children as <name>-<role>, each parented to it", async () => {
    const node = create();
    await settled(node);
    const own = children.filter((c) => c.name !== "model-cache");
    assert.deepEqual(own.map((c) => c.name).sort(), [
      "model-cache-config",
      "model-cache-exporter",
      "model-cache-okome-admin-password",
      "model-cache-okome-health-password",
      "model-cache-okome-monitor-password",
      "model-cache-okome-password",
      "model-cache-restart",
      "model-cache-scripts",
    ]);
    for (const c of own) assert.equal(c.parent, node, `${c.name} is parented to the node`);
    const types = Object.fromEntries(registered.map((r) => [r.name, r.type]));
    assert.equal(types["model-cache"], "okome:infra:ModelCacheNode");
    assert.equal(types["model-cache-config"], "pulumi-nodejs:dynamic/okome:ConfigSet");
    assert.equal(types["model-cache-okome-password"], "pulumi-nodejs:dynamic/okome:SecretPassword");
  });

  it("applies the scripts, then the config, then the restart and exporter sets", async () => {
    await settled(create());
    const after = (name: string) =>
      Promise.all(
        (children.find((x) => x.name === name)!.dependsOn as pulumi.Resource[]).map((d) =>
          value(d.urn),
        ),
      );
    assert.deepEqual(await after("model-cache-scripts"), []);
    for (const [name, first] of [
      ["model-cache-config", "model-cache-scripts"],
      ["model-cache-restart", "model-cache-config"],
      ["model-cache-exporter", "model-cache-config"],
    ]) {
      const deps = await after(name);
      assert.equal(deps.length, 1, name);
      assert.ok(deps[0].endsWith(`::${first}`), `${name} comes after ${first}`);
    }
  });

  it("installs what renderModelCache renders, with the generated passwords hashed", async () => {
    await settled(create());
    const config = registered.find((r) => r.name === "model-cache-config")!.inputs;
    const scripts = registered.find((r) => r.name === "model-cache-scripts")!.inputs;
    const files = { ...(scripts.files as object), ...(config.files as object) } as Record<
      string,
      { content: string; secret: boolean; mode?: string }
    >;
    const hashes = Object.fromEntries(
      ["okome-admin", "okome-monitor", "okome-health", "okome"].map((u) => [
        u,
        passwordSha256(mockPassword(`model-cache-${u}-password`)),
      ]),
    );
    const want = renderModelCache(args, hashes);
    for (const f of [...want.config, ...want.scripts]) {
      assert.equal(files[f.path].content, f.content, f.path);
      assert.equal(files[f.path].secret, false, `${f.path} is not secret`);
    }
    assert.ok(
      !files["/etc/redis/users.acl"].content.includes(mockPassword("model-cache-okome-password")),
    );
    // Secret files travel with their set, their content apart and secret (providers/ConfigSet).
    // The secrets dir is created root-only (0700) if the set has to create it.
    assert.deepEqual(files["/etc/okome/secrets/redis-admin"], {
      mode: "0600",
      dirMode: "0700",
      secret: true,
    });
    assert.deepEqual(unwrap(config.secretContents), {
      "/etc/okome/secrets/redis-admin": mockPassword("model-cache-okome-admin-password"),
    });
    assert.ok(isWrappedSecret(config.secretContents));
    assert.equal(config.service, "redis");
    assert.equal(config.validate, "/usr/local/sbin/okome-redis-server-candidate");
    assert.equal(config.activate, "/usr/local/sbin/okome-redis-apply");
    const restart = registered.find((r) => r.name === "model-cache-restart")!.inputs;
    assert.deepEqual(Object.keys(restart.files as object), ["/etc/okome/redis-restart-settings"]);
    const exporter = registered.find((r) => r.name === "model-cache-exporter")!.inputs;
    assert.deepEqual(Object.keys(exporter.files as object), [
      "/etc/default/prometheus-redis-exporter",
      "/etc/okome/prometheus-secrets/redis-exporter.json",
    ]);
    assert.ok(isWrappedSecret(exporter.secretContents));
  });

  it("registers the outputs the stack exports, the password as a secret", async () => {
    const node = create();
    await settled(node);
    assert.equal(await value(node.address), "10.86.0.19");
    assert.equal(await value(node.port), 6379);
    assert.equal(await value(node.username), "okome");
    assert.equal(await value(node.password), mockPassword("model-cache-okome-password"));
    assert.ok(await pulumi.isSecret(node.password));
    assert.ok(await pulumi.isSecret(node.monitorPassword));
    assert.equal(await value(node.maxmemory), "256mb");
    assert.equal(await value(node.maxmemoryPolicy), "allkeys-lru");
    assert.equal(await value(node.exporterUrl), "http://10.86.0.19:9121/metrics");
    const { password: healthPassword, ...healthLogin } = node.healthLogin;
    assert.deepEqual(healthLogin, { address: "10.86.0.19", port: 6379, user: "okome-health" });
    assert.ok(await pulumi.isSecret(healthPassword));
    assert.equal(await value(healthPassword), mockPassword("model-cache-okome-health-password"));
  });

  it("throws every issue at once, before registering any resource", () => {
    assert.throws(
      () => create({ ...args, maxmemory: "2gb", maxmemoryPolicy: "lru" as never, port: 0 }),
      (e: unknown) =>
        e instanceof ConfigIssuesError &&
        e.issues.map((i) => i.path).join(",") === "port,maxmemory,maxmemoryPolicy" &&
        /ModelCacheNode model-cache: 3 invalid settings/.test(e.message),
    );
    assert.deepEqual(registered, []);
    assert.deepEqual(children, []);
  });
});
