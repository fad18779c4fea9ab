import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { load } from "js-yaml";
import { parseStackConfig } from "../../components/config";
import { VALIDATION_COMMAND, deploymentGate } from "../../components/deploymentGate";
import { ConfigSet, DigestedState, configSetDigest } from "../../providers";
import {
  Registered,
  isWrappedSecret,
  outputValue,
  recordingMocks,
  unwrapSecret,
} from "../support/pulumiMocks";

const REPO = path.join(__dirname, "..", "..");
const COMMAND = "command:local:Command";
const isConfigSet = (r: Registered) => r.type.endsWith(":ConfigSet");

/** A config set of one file, under the mocks. */
const configSet = (service: string, content: string) =>
  new ConfigSet(service, {
    connection: { name: "okome-edge", address: "10.86.0.20", user: "okome" },
    kind: "plain",
    service,
    files: [{ path: `/etc/okome/${service}.conf`, content }],
    activate: "true",
  });

/** Pulumi.lab.yaml's keys as the program reads them: text, lists as JSON. */
function labConfig(): Record<string, string> {
  const file = load(fs.readFileSync(path.join(REPO, "Pulumi.lab.yaml"), "utf8")) as {
    config: Record<string, unknown>;
  };
  return Object.fromEntries(
    Object.entries(file.config).map(([key, value]) => [
      key,
      typeof value === "string" ? value : JSON.stringify(value),
    ]),
  );
}

/** Resolves once `find` finds a registration, or rejects after a few seconds. */
async function registration(registered: Registered[], find: (r: Registered) => boolean) {
  for (let waited = 0; waited < 10_000; waited += 20) {
    const found = registered.find(find);
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error("not registered");
}

describe("deployment gate", () => {
  let registered: Registered[];
  before(() => {
    // What the real providers would compute: a host's report, generated passwords.
    registered = recordingMocks((type, name) =>
      type.endsWith(":HostProbe")
        ? {
            result: { virtualization: "none", raspberryPi: false, pendingReboots: [], skipped: [] },
          }
        : type.endsWith(":SecretPassword")
          ? { password: `pw-of-${name}` }
          : {},
    );
  });
  beforeEach(() => {
    registered.length = 0;
  });

  it("a config set's digest changes with its files and commands, not with the files' order", () => {
    const state: DigestedState = {
      kind: "plain",
      service: "a",
      files: { "/etc/a": { content: "x", mode: "0644" }, "/etc/b": { content: "y" } },
      activate: "true",
    };
    const digest = configSetDigest(state);
    assert.match(digest, /^[0-9a-f]{64}$/);
    const reordered = {
      ...state,
      files: { "/etc/b": { content: "y" }, "/etc/a": { mode: "0644", content: "x" } },
    };
    assert.equal(configSetDigest(reordered), digest);
    for (const changed of [
      { ...state, files: { ...state.files, "/etc/b": { content: "z" } } },
      { ...state, files: { ...state.files, "/etc/a": { content: "x", mode: "0600" } } },
      { ...state, activate: "systemctl reload okome" },
      { ...state, verify: "true" },
    ])
      assert.notEqual(configSetDigest(changed), digest, JSON.stringify(changed));
  });

  it("runs the suite on the outputs from stdin, replaced when any config set's digest changes", async () => {
    const sets = [configSet("alpha", "a = 1"), configSet("beta", "b = 2")];
    const gate = deploymentGate("gate", {
      configSets: sets,
      outputs: { vip: "10.86.0.18", modelCachePassword: pulumi.secret("hunter2") },
      stack: { environment: "lab", validateAfterUp: true },
    });
    assert.ok(gate);
    await outputValue(gate.urn);
    const command = registered.find((r) => r.type === COMMAND)!;
    const digests = await Promise.all(sets.map((set) => outputValue(set.digest)));
    assert.deepEqual(command.inputs.triggers, digests);
    assert.notEqual(digests[0], digests[1]);
    assert.equal(command.inputs.create, `${VALIDATION_COMMAND} --active`);
    // The outputs hold passwords: stdin is a secret.
    assert.ok(isWrappedSecret(command.inputs.stdin));
    assert.deepEqual(JSON.parse(unwrapSecret(command.inputs.stdin) as string), {
      vip: "10.86.0.18",
      modelCachePassword: "hunter2",
    });
  });

  it("reads prod without --active", async () => {
    const gate = deploymentGate("gate", {
      configSets: [configSet("alpha", "a = 1")],
      outputs: {},
      stack: { environment: "prod", validateAfterUp: true },
    });
    await outputValue(gate!.urn);
    assert.equal(registered.find((r) => r.type === COMMAND)?.inputs.create, VALIDATION_COMMAND);
  });

  it("is absent when the stack's validateAfterUp is false", async () => {
    // The lab's keys without the namespace, and without validateAfterUp: the default is on.
    const lab = Object.fromEntries(
      Object.entries(labConfig())
        .map(([key, value]) => [key.split(":")[1], value])
        .filter(([key]) => key !== "validateAfterUp"),
    );
    assert.equal(parseStackConfig(lab).validateAfterUp, true);
    const stack = parseStackConfig({ ...lab, validateAfterUp: "false" });
    assert.equal(stack.validateAfterUp, false);
    assert.throws(
      () => parseStackConfig({ ...lab, validateAfterUp: "yes" }),
      /okome-cache:validateAfterUp: must be true or false, got "yes"/,
    );
    const set = configSet("alpha", "a = 1");
    assert.equal(deploymentGate("gate", { configSets: [set], outputs: {}, stack }), undefined);
    await outputValue(set.digest);
    assert.deepEqual(
      registered.filter((r) => r.type === COMMAND),
      [],
    );
  });

  it("in index.ts, runs on every config set of the program and on every stack output", async () => {
    pulumi.runtime.setAllConfig(labConfig());
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const program = require("../../index") as Record<string, unknown>;
    const command = await registration(registered, (r) => r.type === COMMAND);
    const sets = registered.filter(isConfigSet);
    assert.ok(sets.length >= 20, `${sets.length} config sets`);
    const digests = sets.map((set) => configSetDigest(set.inputs as unknown as DigestedState));
    assert.deepEqual([...(command.inputs.triggers as string[])].sort(), digests.sort());
    const stdin = JSON.parse(unwrapSecret(command.inputs.stdin) as string) as object;
    assert.deepEqual(Object.keys(stdin).sort(), Object.keys(program).sort());
  });
});
