import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { configSetProvider } from "../../../providers/configSet/provider";
import { hostProbeProvider } from "../../../providers/hostProbe/provider";
import { packageBaselineProvider } from "../../../providers/packages/provider";

const REPO = path.resolve(__dirname, "../../..");

const connection = { name: "h", address: "10.86.0.20", user: "okome", privateKeyPath: "/k" };
/** Each provider, where its implementation is, and inputs its check() accepts. */
const PROVIDERS = [
  {
    name: "ConfigSet",
    provider: configSetProvider,
    impl: "providers/configSet/impl.ts",
    inputs: {
      connection,
      kind: "plain",
      service: "okome-test",
      files: { "/etc/x": { content: "x" } },
      activate: "true",
    },
  },
  {
    name: "PackageBaseline",
    provider: packageBaselineProvider,
    impl: "providers/packages/impl.ts",
    inputs: { connection, packages: ["dpkg"], install: false },
  },
  {
    name: "HostProbe",
    provider: hostProbeProvider,
    impl: "providers/hostProbe/impl.ts",
    inputs: { connection, command: "true" },
  },
];

/** What @pulumi/pulumi's dynamic.Resource stores in state as `__provider`. */
async function serialized(provider: pulumi.dynamic.ResourceProvider): Promise<string> {
  const sf = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
  return sf.text;
}

/**
 * Loads the serialized provider the way the dynamic provider process does
 * (require-from-string, plain node, no TypeScript loader), from `cwd`, and calls check().
 */
function checkInFreshProcess(
  text: string,
  cwd: string,
  inputs: object,
  impl: string,
): { status: number | null; out: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "okome-provider-"));
  const file = path.join(dir, "provider.js");
  fs.writeFileSync(file, text);
  const script = `
    const provider = require(require.resolve("require-from-string", { paths: [${JSON.stringify(REPO)}] }))(
      require("fs").readFileSync(${JSON.stringify(file)}, "utf8")).handler();
    provider.check({}, ${JSON.stringify(inputs)})
      .then((r) => console.log(JSON.stringify({ port: r.inputs.connection.port, failures: r.failures,
        loaded: Object.keys(require.cache).filter((k) => k.endsWith(${JSON.stringify(impl)})) })));`;
  const r = spawnSync(process.execPath, ["-e", script], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, NODE_OPTIONS: "" },
  });
  fs.rmSync(dir, { recursive: true, force: true });
  return { status: r.status, out: r.stdout + r.stderr };
}

for (const { name, provider, impl, inputs } of PROVIDERS) {
  describe(`the serialized ${name} provider`, function () {
    this.timeout(60_000);

    it("captures a program-relative path to the implementation, not an absolute one or its code", async () => {
      const text = await serialized(provider);
      assert.ok(text.includes(impl.replace(/\.ts$/, "")), "the relative path of its impl");
      assert.ok(!text.includes(REPO), "no absolute path of this checkout");
      assert.ok(
        !text.includes("ssh2"),
        "the implementation is required at call time, not serialized",
      );
      assert.ok(text.length < 8000, `small: ${text.length} chars`);
    });

    it("works in a plain node process started in the program directory (the engine's provider process)", async () => {
      const r = checkInFreshProcess(await serialized(provider), REPO, inputs, impl);
      assert.equal(r.status, 0, r.out);
      const result = JSON.parse(r.out.trim().split("\n").pop()!);
      assert.equal(result.failures, undefined);
      assert.equal(result.port, 22);
      assert.deepEqual(result.loaded, [path.join(REPO, impl)]);
    });

    it("state written from one checkout still works from a fresh clone elsewhere", async () => {
      const clone = fs.mkdtempSync(path.join(os.tmpdir(), "okome-clone-"));
      for (const dir of ["providers", "common"])
        fs.cpSync(path.join(REPO, dir), path.join(clone, dir), { recursive: true });
      fs.symlinkSync(path.join(REPO, "node_modules"), path.join(clone, "node_modules"));
      try {
        const r = checkInFreshProcess(await serialized(provider), clone, inputs, impl);
        assert.equal(r.status, 0, r.out);
        const loaded: string[] = JSON.parse(r.out.trim().split("\n").pop()!).loaded;
        assert.deepEqual(loaded, [path.join(clone, impl)]);
      } finally {
        fs.rmSync(clone, { recursive: true, force: true });
      }
    });
  });
}
