import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { ConfigIssuesError } from "../../common/issues";
import { OpsTools } from "../../components/OpsTools";
import {
  OpsToolsArgs,
  OpsToolsSpec,
  readOpsToolsStackKeys,
  renderOpsTools,
  renderValidateEnv,
  validateOpsToolsArgs,
} from "../../components/opsTools";
import { readStack } from "../../components/stack";
import { expectGolden } from "../support/golden";
import {
  Registered,
  isWrappedSecret,
  outputValue,
  recordingMocks,
  unwrapSecret,
} from "../support/pulumiMocks";

const GOLDEN = path.join(__dirname, "golden", "ops-tools");
const ROOT = path.join(__dirname, "..", "..");

const lab: OpsToolsSpec = {
  vip: "10.86.0.18",
  edge: { host: { name: "okome-edge", address: "10.86.0.20" } },
  model: { host: { name: "okome-model", address: "10.86.0.19" } },
  orchestrator: { host: "10.86.0.25", port: 8000 },
};
const redis = {
  port: 6379,
  monitorUser: "okome-monitor",
  monitorPassword: "monitor-pw",
  keysUser: "okome",
  keysPassword: "app-pw",
};
const paths = (spec: OpsToolsSpec, node: "edge" | "model") =>
  renderOpsTools(spec, node).tools.map((f) => f.path);
const contentOf = (spec: OpsToolsSpec, node: "edge" | "model", target: string) =>
  renderOpsTools(spec, node).tools.find((f) => f.path === target)?.content ?? "";

describe("OpsTools rendering (components/opsTools)", () => {
  it("renders chaos.env per node (Redis's unit on the model node only) and validate.env", () => {
    expectGolden(
      path.join(GOLDEN, "chaos-edge.env"),
      contentOf(lab, "edge", "/etc/okome/chaos.env"),
    );
    expectGolden(
      path.join(GOLDEN, "chaos-model.env"),
      contentOf(lab, "model", "/etc/okome/chaos.env"),
    );
    const [env] = renderValidateEnv(lab, "edge", redis);
    assert.deepEqual(
      { path: env.path, mode: env.mode, secret: env.secret },
      { path: "/etc/okome/validate.env", mode: "0600", secret: true },
    );
    expectGolden(path.join(GOLDEN, "validate.env"), env.content);
  });

  it("installs the CHAOS_ENABLE flag only when chaosEnabled is true", () => {
    const flag = "/etc/okome/CHAOS_ENABLE";
    for (const node of ["edge", "model"] as const) {
      assert.ok(!paths(lab, node).includes(flag), "off by default");
      assert.ok(!paths({ ...lab, chaosEnabled: false }, node).includes(flag));
      assert.ok(paths({ ...lab, chaosEnabled: true }, node).includes(flag));
    }
    expectGolden(
      path.join(GOLDEN, "CHAOS_ENABLE"),
      contentOf({ ...lab, chaosEnabled: true }, "edge", flag),
    );
    assert.deepEqual(paths(lab, "edge"), [
      "/usr/local/sbin/okome-chaos",
      "/usr/local/sbin/okome-validate",
      "/etc/okome/chaos.env",
    ]);
  });

  it("refuses a Redis secret that a sourced env file would need quoted", () => {
    assert.throws(
      () => renderValidateEnv(lab, "edge", { ...redis, monitorPassword: "a b$(x)" }),
      /the Redis monitorPassword has characters an env file would need quoted/,
    );
  });

  it("names every bad argument by its path", () => {
    const issues = validateOpsToolsArgs({
      ...lab,
      vip: "10.86.0",
      cacheablePath: "version",
      chaos: {
        defaultDurationSeconds: 900,
        maxDurationSeconds: 600,
        stormRequests: 0,
        stormParallel: 10,
        diskFillPercent: 100,
        diskMarginMb: 64,
        diskFillMaxMb: 1024,
      },
    });
    assert.deepEqual(
      issues.map((i) => i.path),
      [
        "vip",
        "cacheablePath",
        "chaos.defaultDurationSeconds",
        "chaos.stormRequests",
        "chaos.diskFillPercent",
      ],
    );
    assert.deepEqual(validateOpsToolsArgs(lab), []);
  });
});

describe("OpsTools stack keys", () => {
  const raw = {
    environment: "lab",
    vip: "10.86.0.18",
    edgeAddress: "10.86.0.20",
    modelAddress: "10.86.0.19",
    orchestrator: "10.86.0.25:8000",
    sshUser: "okome",
    modelMemory: "1gb",
    redisMaxmemory: "256mb",
    sshPrivateKeyPath: "~/.okome/lab/keys/id_ed25519",
    adminAddresses: '["10.86.0.1"]',
    lanCidr: "10.86.0.0/24",
  };
  const stackOf = (extra: Record<string, string>) =>
    readStack((name) => (({ ...raw, ...extra }) as Record<string, string>)[name], { stack: "lab" });

  it("chaosEnabled defaults to off and reads true or false", () => {
    assert.deepEqual(readOpsToolsStackKeys({}).args, {});
    assert.equal(readOpsToolsStackKeys({ chaosEnabled: "true" }).args.chaosEnabled, true);
    assert.equal(readOpsToolsStackKeys({ chaosEnabled: "false" }).args.chaosEnabled, false);
  });

  it("a bad chaosEnabled fails the stack, naming the key", () => {
    const issues = stackOf({ chaosEnabled: "yes" }).issues;
    assert.deepEqual(issues, [
      { path: "okome-cache:chaosEnabled", reason: 'must be true or false, got "yes"' },
    ]);
  });

  it("the tools take the exporters' ports the other components' keys chose", () => {
    const { args } = stackOf({ nodeExporterPort: "9200", redisExporterPort: "9221" }).opsTools;
    assert.equal(args.nodeExporterPort, 9200);
    assert.equal(args.redisExporterPort, 9221);
  });

  it("the lab stack enables chaos; prod does not set it", () => {
    const key = /^\s*okome-cache:chaosEnabled:\s*(.*)$/m;
    assert.equal(
      key.exec(fs.readFileSync(path.join(ROOT, "Pulumi.lab.yaml"), "utf8"))?.[1],
      '"true"',
    );
    assert.equal(key.exec(fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8")), null);
  });
});

describe("OpsTools (component, under Pulumi mocks)", () => {
  let registered: Registered[];
  before(() => {
    registered = recordingMocks();
  });
  beforeEach(() => {
    registered.length = 0;
  });
  const connection = (name: string, address: string) => ({
    name,
    address,
    user: "okome",
    privateKeyPath: "/k",
  });
  const args: OpsToolsArgs = {
    ...lab,
    edge: { ...lab.edge, connection: connection("okome-edge", "10.86.0.20") },
    model: { ...lab.model, connection: connection("okome-model", "10.86.0.19") },
    redis: {
      ...redis,
      monitorPassword: pulumi.secret("monitor-pw"),
      keysPassword: pulumi.secret("app-pw"),
    },
  };
  const inputsOf = (name: string) => registered.find((r) => r.name === name)!.inputs;
  type Files = Record<string, { content?: string; secret: boolean }>;

  it("has a tools and a settings set per node; only validate.env is secret", async () => {
    const tools = new OpsTools("ops", args);
    await outputValue(tools.urn);
    await outputValue(tools.summary);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(
      registered
        .map((r) => r.name)
        .filter((n) => n !== "ops")
        .sort(),
      ["ops-edge-settings", "ops-edge-tools", "ops-model-settings", "ops-model-tools"],
    );
    const plain = inputsOf("ops-edge-tools").files as Files;
    assert.equal(plain["/etc/okome/chaos.env"].secret, false);
    const settings = inputsOf("ops-model-settings");
    assert.equal((settings.files as Files)["/etc/okome/validate.env"].secret, true);
    assert.ok(isWrappedSecret(settings.secretContents));
    const env = (unwrapSecret(settings.secretContents) as Record<string, string>)[
      "/etc/okome/validate.env"
    ];
    assert.match(env, /^OKOME_REDIS_MONITOR_PASSWORD=monitor-pw$/m);
    assert.deepEqual((await outputValue(tools.summary)).chaosEnabled, false);
  });

  it("refuses bad arguments before registering anything, naming each", () => {
    assert.throws(
      () => new OpsTools("ops", { ...args, edgePort: 0, orchestrator: { host: "x", port: 8000 } }),
      (e: unknown) =>
        e instanceof ConfigIssuesError &&
        e.issues.map((i) => i.path).join(",") === "orchestrator.host,edgePort",
    );
    assert.deepEqual(registered, []);
  });
});
