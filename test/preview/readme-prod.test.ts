/**
 * The README's prod procedure, as a new operator follows it (issue 17): the `sh prod-step`
 * blocks of README.md, parsed from the file (never copied here), run in order in one shell in
 * a throw-away HOME with an empty state backend, in a copy of the working tree (a fresh clone
 * plus uncommitted changes), inside an empty network namespace. The toolchain is the machine's
 * (the `toolchain` block installs it; bench/bootstrap-times.sh covers that in a fresh HOME);
 * the hostkeys block (`pi`) is replaced by fixture host keys, and the blocks that need the Pis
 * come last and are not run. It ends with a successful preview. Then `npm run doctor` is shown
 * to report each piece, removed one at a time, with its fix, and the `prod-recovery` blocks are
 * run against a state made locally. Needs root (ip netns).
 */
import { strict as assert } from "node:assert";
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { EmptyNetns } from "../support/netns";
import { REPO } from "../support/pulumiStack";
import { newKeyPair } from "../support/keys";

/** A fenced block of README.md: ```sh prod-step|prod-recovery [tags]. */
interface Block {
  readonly kind: "prod-step" | "prod-recovery";
  readonly tags: readonly string[];
  readonly text: string;
  /** Line of its opening fence, for messages. */
  readonly line: number;
}

function readmeBlocks(): Block[] {
  const readme = fs.readFileSync(path.join(REPO, "README.md"), "utf8");
  return [
    ...readme.matchAll(/^```sh (prod-step|prod-recovery)((?: [\w-]+)*)\n([\s\S]*?)^```$/gm),
  ].map((m) => ({
    kind: m[1] as Block["kind"],
    tags: m[2].trim().split(/\s+/).filter(Boolean),
    text: m[3],
    line: readme.slice(0, m.index).split("\n").length,
  }));
}

/** A key pair that is not the deploy key (made in `before`, in the throw-away HOME). */
const OTHER_KEY = "~/other_key";

/** Commands that reach a Pi: the only ones a `pi` block may hold. */
const PI_COMMANDS = /^(npm run hostkeys |pulumi preview .*--refresh|pulumi up |npm run validate )/;

/**
 * The machine's Node 22, which the toolchain block installs (in ~/.okome/node22 when the
 * system's is older): first on PATH, where env.sh would put it.
 */
const NODE_BIN = [
  path.join(process.env.OKOME_HOME ?? path.join(os.homedir(), ".okome"), "node22", "bin"),
]
  .filter((dir) => fs.existsSync(path.join(dir, "node")))
  .concat(path.dirname(process.execPath))[0];

/** What one shell run gave. */
interface ShellResult {
  readonly code: number;
  readonly output: string;
}

describe("README prod procedure from a fresh clone (throw-away HOME, empty netns)", function () {
  this.timeout(600_000);
  const blocks = readmeBlocks();
  const steps = blocks.filter((b) => b.kind === "prod-step");
  let netns: EmptyNetns;
  let root: string;
  let home: string;
  let clone: string;
  let sshLog: string;
  /** Pin commands standing in for `npm run hostkeys` and the operator's comparison. */
  let fixturePins: string;
  let settingsAfterProcedure: Buffer;

  /** Runs `script` with bash in the clone, inside the namespace, in the throw-away HOME. */
  const shell = (script: string): Promise<ShellResult> => {
    const base: Record<string, string | undefined> = { ...process.env };
    for (const k of Object.keys(base)) if (/^(PULUMI_|OKOME_)/.test(k)) delete base[k];
    const full = {
      ...base,
      HOME: home,
      PATH: `${NODE_BIN}:${process.env.PATH}`,
      OKOME_SSH_LOG: sshLog,
    };
    return new Promise((resolve) => {
      execFile(
        "ip",
        netns.wrap(["bash", "-c", script]).slice(1),
        { cwd: clone, env: full, maxBuffer: 64 * 1024 * 1024, timeout: 300_000 },
        (err, stdout, stderr) =>
          resolve({
            code: err ? ((err as { code?: number }).code ?? 1) : 0,
            output: stdout + stderr,
          }),
      );
    });
  };

  /** The script of the prod-step blocks up to (not including) the first for which `stop` holds. */
  const procedure = (stop: (b: Block) => boolean = () => false) => {
    const lines = ["set -euo pipefail"];
    for (const b of steps) {
      if (stop(b)) break;
      if (b.tags.includes("toolchain")) continue;
      const text = !b.tags.includes("pi")
        ? b.text
        : /^npm run hostkeys /m.test(b.text)
          ? fixturePins
          : undefined;
      if (text !== undefined) lines.push(`echo "@@ README.md line ${b.line}"`, text);
    }
    return lines.join("\n");
  };
  /** The procedure up to the doctor step: a shell set up as the README leaves it. */
  const setUp = () => procedure((b) => /npm run doctor/.test(b.text));
  const doctor = (breakIt: string) =>
    shell(`${setUp()}\n${breakIt}\nnpm run --silent doctor -- --stack prod`);
  const fails = (output: string) => output.split("\n").filter((l) => l.startsWith("FAIL"));

  before(() => {
    netns = new EmptyNetns("okome-rd");
    assert.ok(!netns.routes("192.168.86.20"), "the Pis' addresses do not route");
    root = fs.mkdtempSync(path.join(os.tmpdir(), "okome-readme-"));
    home = path.join(root, "home");
    clone = path.join(root, "clone");
    sshLog = path.join(root, "ssh.log");
    // A fresh clone of the working tree: tracked and new files, not ignored ones.
    const files = execFileSync(
      "git",
      ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
      { cwd: REPO, encoding: "utf8" },
    );
    for (const rel of files.split("\0")) {
      const from = path.join(REPO, rel);
      if (rel === "" || rel === "node_modules" || !fs.existsSync(from)) continue;
      fs.mkdirSync(path.dirname(path.join(clone, rel)), { recursive: true });
      fs.cpSync(from, path.join(clone, rel), { verbatimSymlinks: true });
    }
    // The test is the first operator: a committed salt belongs to the real passphrase, not to
    // the one step 2 makes here. Committed pins stay; the fixture pins are set over them.
    const settings = path.join(clone, "Pulumi.prod.yaml");
    fs.writeFileSync(
      settings,
      fs.readFileSync(settings, "utf8").replace(/^encryptionsalt: .*\n/m, ""),
    );
    fs.symlinkSync(
      fs.realpathSync(path.join(REPO, "node_modules")),
      path.join(clone, "node_modules"),
    );
    // The toolchain scripts/bootstrap-pulumi.sh picked and the project's plugins; workspaces and
    // logs stay in this HOME.
    const okomeHome = process.env.OKOME_HOME ?? path.join(os.homedir(), ".okome");
    fs.mkdirSync(path.join(home, ".okome", "pulumi-home"), { recursive: true });
    fs.symlinkSync(path.join(okomeHome, "toolchain"), path.join(home, ".okome", "toolchain"));
    fs.symlinkSync(
      path.join(okomeHome, "pulumi-home", "plugins"),
      path.join(home, ".okome", "pulumi-home", "plugins"),
    );

    newKeyPair(OTHER_KEY.replace("~", home));
    // Host keys as a Pi's `ssh-keygen -lf` would show them: .pub lines, comment included.
    fixturePins = ["edgeHostKey", "modelHostKey"]
      .map((setting) => {
        const line = newKeyPair(path.join(root, setting), "root@fixture");
        return `pulumi config set -s prod okome-cache:${setting} '${line}'`;
      })
      .join("\n");
  });
  after(() => {
    netns?.remove();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it("the README marks the prod steps, and `pi` blocks hold only commands that reach the Pis", () => {
    assert.ok(steps.length >= 6, `prod-step blocks in README.md: ${steps.length}`);
    const pi = steps.filter((b) => b.tags.includes("pi"));
    assert.ok(
      pi.some((b) => /^npm run hostkeys -- --stack prod$/m.test(b.text)),
      "hostkeys is a step",
    );
    for (const b of pi)
      for (const line of b.text.split("\n").filter((l) => l.trim() !== ""))
        assert.match(line, PI_COMMANDS, `README.md line ${b.line}: a local step marked pi`);
    // Every step after the preview reaches the Pis, so the test's run ends with the preview.
    const preview = steps.findIndex((b) => /^pulumi preview -s prod --diff$/m.test(b.text));
    assert.ok(preview > 0, "a plain preview step");
    assert.ok(steps.slice(preview + 1).every((b) => b.tags.includes("pi")));
  });

  it("followed verbatim in a throw-away HOME, the steps end with a successful preview that opens no SSH", async () => {
    const r = await shell(procedure());
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /^all checks passed$/m, "doctor passes on the way");
    const last = r.output.slice(r.output.lastIndexOf("@@ README.md line"));
    assert.match(last, /pulumi preview|Previewing update \(prod\)/);
    assert.match(last, /\+ \d+ to create/);
    assert.ok(!fs.existsSync(sshLog) || fs.readFileSync(sshLog, "utf8") === "", "no SSH attempt");
    assert.ok(
      fs.existsSync(path.join(home, ".okome", "pulumi-state", ".pulumi")),
      "the state is in the HOME's backend",
    );
    assert.equal(fs.statSync(path.join(home, ".okome", "prod.passphrase")).mode & 0o777, 0o600);
    settingsAfterProcedure = fs.readFileSync(path.join(clone, "Pulumi.prod.yaml"));
    assert.match(settingsAfterProcedure.toString(), /^encryptionsalt: /m);
  });

  describe("npm run doctor reports each missing piece with its fix", () => {
    afterEach(() => fs.writeFileSync(path.join(clone, "Pulumi.prod.yaml"), settingsAfterProcedure));

    /** One piece taken away: how, what doctor must say, and its fix; `fixed`: running it passes. */
    const cases: {
      name: string;
      breakIt: string;
      expect: RegExp[];
      fix: string | RegExp;
      fixed?: boolean;
    }[] = [
      {
        name: "no passphrase",
        breakIt: "unset PULUMI_CONFIG_PASSPHRASE_FILE",
        expect: [
          /^FAIL {2}no passphrase: neither PULUMI_CONFIG_PASSPHRASE nor PULUMI_CONFIG_PASSPHRASE_FILE is set$/m,
        ],
        fix: "export PULUMI_CONFIG_PASSPHRASE_FILE=~/.okome/prod.passphrase",
        fixed: true,
      },
      {
        name: "a wrong passphrase",
        breakIt:
          "(umask 077 && echo wrong >~/wrong.passphrase) && export PULUMI_CONFIG_PASSPHRASE_FILE=~/wrong.passphrase",
        expect: [/^FAIL {2}the passphrase does not open stack prod \(.*incorrect passphrase\)$/m],
        fix: /^put the passphrase stack prod was created with in \$PULUMI_CONFIG_PASSPHRASE_FILE/,
      },
      {
        name: "a passphrase file others can read",
        breakIt: "chmod 644 ~/.okome/prod.passphrase",
        expect: [/^FAIL {2}the passphrase file \S+\/\.okome\/prod\.passphrase is mode 644/m],
        fix: /^chmod 600 \S+\/\.okome\/prod\.passphrase$/,
        fixed: true,
      },
      {
        name: "no stack",
        breakIt: "pulumi stack rm -s prod --yes --preserve-config >/dev/null",
        expect: [/^FAIL {2}stack prod does not exist in file:\/\/\S+\/\.okome\/pulumi-state$/m],
        fix: "pulumi stack init prod --secrets-provider passphrase",
        fixed: true,
      },
      {
        name: "a state backend that is not there",
        breakIt: "export PULUMI_BACKEND_URL=file://$HOME/gone",
        expect: [/^FAIL {2}the state backend file:\/\/\S+\/gone is not writable/m],
        fix: "mkdir -p ~/gone",
      },
      {
        name: "no pulumi on PATH",
        breakIt:
          "PATH=$(tr : '\\n' <<<\"$PATH\" | grep -v '/\\.okome/toolchain/bin$' | paste -sd:)",
        expect: [
          /^FAIL {2}pulumi is not on PATH$/m,
          /^FAIL {2}pulumi-language-nodejs is not on PATH$/m,
        ],
        fix: "bash scripts/bootstrap-pulumi.sh && source scripts/lib/env.sh",
      },
      {
        name: "an invalid setting",
        breakIt: "pulumi config set -s prod okome-cache:vip 192.168.86.300",
        expect: [/^FAIL {2}config okome-cache:vip: must be an IPv4 address/m],
        fix: /^pulumi config set -s prod okome-cache:vip '<value>' +# must be an IPv4 address/,
      },
      {
        name: "an unpinned host key",
        breakIt: "pulumi config rm -s prod okome-cache:edgeHostKey",
        expect: [/^FAIL {2}config okome-cache:edgeHostKey: is required for prod/m],
        fix: "npm run hostkeys -- --stack prod",
      },
      {
        name: "no deploy key",
        breakIt:
          "mv ~/.ssh/okome_deploy ~/.ssh/okome_deploy.away && trap 'mv ~/.ssh/okome_deploy.away ~/.ssh/okome_deploy' EXIT",
        expect: [/^FAIL {2}the deploy key ~\/\.ssh\/okome_deploy does not exist$/m],
        fix: /^ssh-keygen -t ed25519 -N '' -C okome-deploy -f ~\/\.ssh\/okome_deploy /,
      },
      {
        name: "a deploy key others can read",
        breakIt: "chmod 644 ~/.ssh/okome_deploy",
        expect: [/^FAIL {2}the deploy key ~\/\.ssh\/okome_deploy is mode 644, not 600$/m],
        fix: "chmod 600 ~/.ssh/okome_deploy",
        fixed: true,
      },
      {
        name: "a deploy key the Pis do not know",
        breakIt: `pulumi config set -s prod okome-cache:sshPublicKey "$(cat ${OTHER_KEY}.pub)"`,
        expect: [
          /^FAIL {2}the deploy key ~\/\.ssh\/okome_deploy is SHA256:\S+, but okome-cache:sshPublicKey is SHA256:\S+$/m,
        ],
        fix: /^point okome-cache:sshPrivateKeyPath at the key the Pis know, or after giving them this one: pulumi config set -s prod okome-cache:sshPublicKey "\$\(ssh-keygen -y -f ~\/\.ssh\/okome_deploy\)"$/,
      },
    ];

    for (const c of cases) {
      it(`${c.name}`, async () => {
        const r = await doctor(c.breakIt);
        assert.equal(r.code, 1, r.output);
        const failed = fails(r.output);
        assert.equal(failed.length, c.expect.length, r.output);
        for (const e of c.expect) assert.match(r.output, e);
        // The fix follows the first FAIL line.
        const lines = r.output.split("\n");
        const fix = lines[lines.indexOf(failed[0]) + 1].replace(/^ {6}fix: /, "");
        if (typeof c.fix === "string") assert.equal(fix, c.fix, r.output);
        else assert.match(fix, c.fix, r.output);
        if (c.fixed) {
          const again = await doctor(`${c.breakIt}\n${fix}`);
          assert.equal(again.code, 0, again.output);
        }
        assert.ok(!fs.existsSync(sshLog) || fs.readFileSync(sshLog, "utf8") === "", "no SSH");
      });
    }
  });

  describe("the README's recovery blocks, on a state made here", () => {
    const recovery = (name: string) => {
      const b = blocks.find((x) => x.kind === "prod-recovery" && x.tags.includes(name));
      assert.ok(b, `a prod-recovery ${name} block in README.md`);
      return b.text;
    };
    /** The node and its passwords, generated locally: a prod state without touching a Pi. */
    const makeState = `urn=urn:pulumi:prod::okome-cache::okome:infra:ModelCacheNode
pulumi up -s prod --yes --skip-preview --target "$urn::model-cache" \\
  $(for u in okome okome-admin okome-monitor; do echo --target "$urn\\$pulumi-nodejs:dynamic/okome:SecretPassword::model-cache-$u-password"; done) >/dev/null
pulumi stack -s prod --show-urns | grep -c 'SecretPassword::'`;
    let summaryBefore: string;
    /** The preview's resource summary. */
    const summary = (output: string) => /^Resources:\n(?: {4}.*\n)+/m.exec(output)?.[0] ?? output;

    it("restores a lost state from the backend's backups", async () => {
      const made = await shell(`${setUp()}\n${makeState}\npulumi preview -s prod --diff`);
      assert.equal(made.code, 0, made.output);
      assert.match(made.output, /^3$/m, "three passwords in state");
      summaryBefore = summary(made.output);
      // The node's four config sets and both OS baselines; the stack, node and passwords are in state.
      assert.match(summaryBefore, /\+ \d+ to create\n\s+5 unchanged/);
      const stateFile = path.join(home, ".okome/pulumi-state/.pulumi/stacks/okome-cache/prod.json");
      assert.ok(fs.existsSync(stateFile), "the file backend's state of prod");
      fs.rmSync(stateFile);
      const lost = await shell(`${setUp()}\npulumi preview -s prod --diff`);
      assert.doesNotMatch(summary(lost.output), /unchanged/, lost.output);
      const r = await shell(`${setUp()}\n${recovery("restore-state")}`);
      assert.equal(r.code, 0, r.output);
      assert.equal(summary(r.output), summaryBefore);
    });

    it("rotating the orchestrator's Redis password replaces that password only", async () => {
      const r = await shell(`${setUp()}\n${recovery("rotate-password")}`);
      assert.equal(r.code, 0, r.output);
      assert.match(
        r.output,
        /\+-pulumi-nodejs:dynamic\/okome:SecretPassword: \(replace\)\n.*\n.*::model-cache-okome-password\]/,
      );
      assert.equal(r.output.match(/\(replace\)/g)?.length, 1, "nothing else is replaced");
      assert.match(summary(r.output), /\+-1 to replace/);
      assert.ok(!fs.existsSync(sshLog) || fs.readFileSync(sshLog, "utf8") === "", "no SSH");
    });
  });
});
