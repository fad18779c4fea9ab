// scripts/bootstrap-pulumi.sh on a machine where a person installed Pulumi the official way: a
// throw-away HOME with a fake "official" pulumi and language host in ~/.pulumi/bin (shell scripts
// printing a version). Their files must stay byte for byte as they were, whatever is picked; our
// stand-ins go under OKOME_HOME. Stand-ins are copied from this machine's own build (the
// bootstrap's OKOME_TOOLCHAIN_PREBUILT) when its stamp matches, else built with the warm Go caches.
import { strict as assert } from "node:assert";
import { execFileSync, spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const repoRoot = path.resolve(__dirname, "../..");
const script = path.join(repoRoot, "scripts/bootstrap-pulumi.sh");
const pinned = /github\.com\/pulumi\/pulumi\/pkg\/v3 v(\S+)/.exec(
  fs.readFileSync(path.join(repoRoot, "scripts/toolchain/go.mod"), "utf8"),
)?.[1];
/** This machine's toolchain build, made by the bootstrap the test command runs first. */
const machineBuild = path.join(
  process.env.OKOME_HOME ?? path.join(os.homedir(), ".okome"),
  "toolchain",
  "build",
);

/** A PATH without any pulumi: the only official install is the fake one in ~/.pulumi/bin. */
const pathWithoutPulumi = (process.env.PATH ?? "")
  .split(":")
  .filter(
    (dir) =>
      dir !== "" &&
      !["pulumi", "pulumi-language-nodejs"].some((f) => fs.existsSync(path.join(dir, f))),
  )
  .join(":");

/** The Go caches as they are now: HOME moves, and a build must not start cold. */
const goEnv = JSON.parse(
  execFileSync("go", ["env", "-json", "GOPATH", "GOCACHE", "GOMODCACHE"], { encoding: "utf8" }),
) as Record<string, string>;

/** Every file, link and directory under `dir` with its mode, target or content hash, and mtime. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    const st = fs.lstatSync(p);
    const rel = path.relative(dir, p);
    const what = st.isSymbolicLink()
      ? `-> ${fs.readlinkSync(p)}`
      : st.isFile()
        ? crypto.createHash("sha256").update(fs.readFileSync(p)).digest("hex")
        : "dir";
    out.push(`${rel} ${st.mode.toString(8)} ${st.mtimeMs} ${what}`);
    if (st.isDirectory()) for (const e of fs.readdirSync(p).sort()) walk(path.join(p, e));
  };
  walk(dir);
  return out;
}

/** A fake official install of `version` in `home`/.pulumi/bin, with a plugin of its own. */
function fakeOfficialInstall(home: string, version: string): string {
  const bin = path.join(home, ".pulumi", "bin");
  fs.mkdirSync(bin, { recursive: true });
  const write = (name: string, body: string) =>
    fs.writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  // Anything but `version` fails, as `pulumi plugin install` does with no route to Pulumi.
  write(
    "pulumi",
    `case "$1" in version) echo v${version} ;; *) echo "fake pulumi: no network" >&2; exit 1 ;; esac`,
  );
  write(
    "pulumi-language-nodejs",
    `[ "$1" = -version ] && echo ${version} && exit 0\necho "fake language host" >&2; exit 1`,
  );
  write("pulumi-resource-pulumi-nodejs", `echo "fake dynamic provider" >&2; exit 1`);
  const plugin = path.join(home, ".pulumi", "plugins", "resource-command-v1.2.1");
  fs.mkdirSync(plugin, { recursive: true });
  fs.writeFileSync(path.join(plugin, "pulumi-resource-command"), "#!/bin/sh\nexit 1\n", {
    mode: 0o755,
  });
  return bin;
}

describe("bootstrap-pulumi.sh beside an official install", function () {
  // A stand-in not found prebuilt is built: seconds with warm Go caches, minutes when cold.
  this.timeout(900_000);

  let tmp: string;
  let home: string;
  let env: NodeJS.ProcessEnv;

  /** Runs `command` with bash in the repo, in the throw-away HOME. */
  function bash(command: string): { code: number; output: string } {
    const res = spawnSync("bash", ["-c", command], {
      cwd: repoRoot,
      env,
      encoding: "utf8",
      timeout: 840_000,
    });
    if (res.error) throw res.error;
    return { code: res.status ?? 1, output: res.stdout + res.stderr };
  }
  function bootstrap(): string {
    const r = bash(`bash ${script}`);
    assert.equal(r.code, 0, `bootstrap-pulumi.sh failed:\n${r.output}`);
    return r.output;
  }

  beforeEach(function () {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "okome-bootstrap-"));
    home = path.join(tmp, "home");
    fs.mkdirSync(home);
    const base: NodeJS.ProcessEnv = { ...process.env };
    for (const k of Object.keys(base)) if (/^(PULUMI_|OKOME_)/.test(k)) delete base[k];
    env = {
      ...base,
      HOME: home,
      PATH: pathWithoutPulumi,
      GOPATH: goEnv.GOPATH,
      GOCACHE: goEnv.GOCACHE,
      GOMODCACHE: goEnv.GOMODCACHE,
      OKOME_TOOLCHAIN_PREBUILT: machineBuild,
    };
  });
  afterEach(function () {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("uses an official install that is new enough and leaves it untouched", function () {
    assert.ok(pinned, "scripts/toolchain/go.mod pins no pulumi/pkg/v3 version");
    const officialBin = fakeOfficialInstall(home, "3.280.0");
    const before = snapshot(path.join(home, ".pulumi"));

    const out = bootstrap();
    assert.deepEqual(snapshot(path.join(home, ".pulumi")), before, "~/.pulumi changed");
    assert.match(
      out,
      new RegExp(
        `using official pulumi 3\\.280\\.0 at ${officialBin}/pulumi; ` +
          `official pulumi-language-nodejs 3\\.280\\.0 at ${officialBin}/pulumi-language-nodejs; ` +
          `command plugin: okome stand-in 1\\.2\\.1 under ${home}/\\.okome/`,
      ),
    );

    // The command plugin stand-in is the only build, in OKOME_HOME's own plugin cache.
    const plugin = path.join(
      home,
      ".okome/pulumi-home/plugins/resource-command-v1.2.1/pulumi-resource-command",
    );
    assert.ok(fs.statSync(plugin).size > 1_000_000, "the stand-in command plugin is installed");
    assert.ok(!fs.existsSync(path.join(home, ".okome/toolchain/build/pulumi")));

    // What every later command of the project runs: the official files, through env.sh.
    const r = bash(
      'source scripts/lib/env.sh && readlink -f "$(command -v pulumi)" && pulumi version && ' +
        'readlink -f "$(command -v pulumi-language-nodejs)" && echo "$PULUMI_HOME"',
    );
    assert.equal(r.code, 0, r.output);
    assert.deepEqual(r.output.trim().split("\n"), [
      path.join(officialBin, "pulumi"),
      "v3.280.0",
      path.join(officialBin, "pulumi-language-nodejs"),
      path.join(home, ".okome/pulumi-home"),
    ]);

    // The second run only checks the stamp.
    const started = Date.now();
    assert.match(bootstrap(), /up to date: official pulumi 3\.280\.0/);
    assert.ok(Date.now() - started < 10_000, `second run took ${Date.now() - started} ms`);
    assert.deepEqual(snapshot(path.join(home, ".pulumi")), before);
  });

  it("uses okome's stand-ins when the official install is too old, and leaves it untouched", function () {
    assert.ok(pinned, "scripts/toolchain/go.mod pins no pulumi/pkg/v3 version");
    const officialBin = fakeOfficialInstall(home, "3.200.0");
    const before = snapshot(path.join(home, ".pulumi"));

    const out = bootstrap();
    assert.deepEqual(snapshot(path.join(home, ".pulumi")), before, "~/.pulumi changed");
    assert.match(out, new RegExp(`not using ${officialBin}/pulumi: version 3\\.200\\.0 is older`));
    assert.match(
      out,
      new RegExp(
        `using okome's pulumi ${pinned.replace(/\./g, "\\.")} under ${home}/\\.okome/toolchain/build; ` +
          `okome's pulumi-language-nodejs under ${home}/\\.okome/toolchain/build; ` +
          `command plugin: okome stand-in 1\\.2\\.1`,
      ),
    );

    const r = bash(
      "source scripts/lib/env.sh && command -v pulumi && pulumi version && " +
        'pulumi plugin ls && readlink -f "$(command -v pulumi-language-nodejs)"',
    );
    assert.equal(r.code, 0, r.output);
    const lines = r.output.trim().split("\n");
    assert.equal(lines[0], path.join(home, ".okome/toolchain/bin/pulumi"));
    assert.equal(lines[1], `v${pinned}`);
    assert.match(r.output, /command\s+resource\s+1\.2\.1/);
    assert.equal(lines.at(-1), path.join(home, ".okome/toolchain/build/pulumi-language-nodejs"));
    assert.deepEqual(snapshot(path.join(home, ".pulumi")), before);
  });
});
