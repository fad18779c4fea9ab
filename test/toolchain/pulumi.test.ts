// Runs the real pulumi CLI (built by scripts/bootstrap-pulumi.sh) on the
// throw-away program in fixture/: a local file backend and passphrase
// secrets in a temp dir, the project's own node_modules via a symlink.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const repoRoot = path.resolve(__dirname, "../..");
const stack = "toolchain-test";

describe("pulumi toolchain", function () {
  this.timeout(300_000);

  let tmp: string;
  let workDir: string;
  let env: NodeJS.ProcessEnv;
  let stackCreated = false;

  function pulumi(...args: string[]): string {
    const res = spawnSync("pulumi", ["--non-interactive", ...args], {
      cwd: workDir,
      env,
      encoding: "utf8",
      timeout: 240_000,
    });
    if (res.error) {
      throw new Error(
        `pulumi ${args.join(" ")}: ${res.error.message} ` +
          "(run scripts/bootstrap-pulumi.sh, then source scripts/lib/env.sh)",
      );
    }
    assert.equal(res.status, 0, `pulumi ${args.join(" ")} failed:\n${res.stdout}\n${res.stderr}`);
    return res.stdout;
  }

  function outputs(...flags: string[]): Record<string, unknown> {
    return JSON.parse(pulumi("stack", "output", "--json", ...flags)) as Record<string, unknown>;
  }

  before(function () {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "okome-toolchain-"));
    workDir = path.join(tmp, "program");
    const stateDir = path.join(tmp, "state");
    fs.mkdirSync(stateDir);
    fs.cpSync(path.join(__dirname, "fixture"), workDir, { recursive: true });
    fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(workDir, "node_modules"), "dir");
    env = {
      ...process.env,
      PULUMI_BACKEND_URL: `file://${stateDir}`,
      PULUMI_CONFIG_PASSPHRASE: "okome-toolchain-test",
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    };
  });

  after(function () {
    if (stackCreated) {
      // Best effort: leave no stack behind when a step above failed.
      spawnSync("pulumi", ["--non-interactive", "stack", "rm", "--yes", "--force", stack], {
        cwd: workDir,
        env,
      });
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("reports the pinned CLI version and the command plugin", function () {
    const goMod = fs.readFileSync(path.join(repoRoot, "scripts/toolchain/go.mod"), "utf8");
    const pinned = /github\.com\/pulumi\/pulumi\/pkg\/v3 (v\S+)/.exec(goMod)?.[1];
    assert.ok(pinned, "scripts/toolchain/go.mod pins no pulumi/pkg/v3 version");
    assert.equal(pulumi("version").trim(), pinned);
    assert.match(pulumi("plugin", "ls"), /command\s+resource\s+1\.2\.1/);
  });

  it("creates a stack with passphrase secrets and config", function () {
    pulumi("stack", "init", stack, "--secrets-provider", "passphrase");
    stackCreated = true;
    pulumi("config", "set", "--secret", "token", "s3cr3t");
  });

  it("previews the local.Command without running it", function () {
    pulumi("preview");
    assert.ok(!fs.existsSync(path.join(workDir, "created.txt")), "the command ran on preview");
  });

  it("deploys a dynamic resource and a local.Command", function () {
    pulumi("up", "--yes", "--skip-preview");
    assert.equal(fs.readFileSync(path.join(workDir, "created.txt"), "utf8"), "hello OKOME");
    const out = outputs();
    assert.equal(out.shout, "OKOME");
    assert.equal(out.greeting, "hello OKOME");
    assert.equal(out.token, "[secret]");
    assert.equal(outputs("--show-secrets").token, "s3cr3t");
  });

  it("updates both resources when config changes", function () {
    pulumi("config", "set", "word", "rice");
    pulumi("up", "--yes", "--skip-preview");
    const out = outputs();
    assert.equal(out.shout, "RICE");
    assert.equal(out.greeting, "hello RICE (was: hello OKOME)");
  });

  it("destroys the resources, running the command's delete", function () {
    pulumi("destroy", "--yes", "--skip-preview");
    assert.equal(
      fs.readFileSync(path.join(workDir, "deleted.txt"), "utf8"),
      "hello RICE (was: hello OKOME)",
    );
    assert.deepEqual(outputs(), {});
  });

  it("removes the stack", function () {
    pulumi("stack", "rm", "--yes", stack);
    stackCreated = false;
  });
});
