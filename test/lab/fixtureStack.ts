/**
 * Drives the real `pulumi` binary on a throw-away stack of test/lab/fixtures/config-set,
 * with a temp file backend, against the lab edge. Shared by the lab test and the bench.
 */
import { execFile, execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

export const REPO = path.resolve(__dirname, "../..");
export const FIXTURE_DIR = path.join(__dirname, "fixtures/config-set");
const LAB_HOME = path.join(process.env.OKOME_HOME ?? path.join(os.homedir(), ".okome"), "lab");

export interface LabHost {
  name: string;
  address: string;
  user: string;
  hostKey: string;
}

export interface Lab {
  /** qemu (full VM, TCG without KVM) or nspawn: timings differ by an order of magnitude. */
  driver: string;
  edge: LabHost;
  privateKeyPath: string;
  knownHostsFile: string;
}

/**
 * The lab as `npm run lab:up` left it. Throws (never skips) when it is not up: a lab test
 * that passes without a lab proves nothing.
 */
export async function requireLab(): Promise<Lab> {
  const hostsFile = path.join(LAB_HOME, "hosts.json");
  if (!fs.existsSync(hostsFile))
    throw new Error(`the lab is not up (${hostsFile} is missing): run npm run lab:up`);
  const hosts = JSON.parse(fs.readFileSync(hostsFile, "utf8"));
  const edge = { name: "okome-edge", ...hosts.hosts["okome-edge"] } as LabHost;
  // Lab traffic goes over the lab bridge only; a missing bridge must not send it elsewhere.
  const route = execFileSync("ip", ["-o", "route", "get", edge.address], { encoding: "utf8" });
  if (!/ dev okbr0 /.test(route))
    throw new Error(
      `the lab is not up: ${edge.address} does not route via okbr0 (${route.trim()})`,
    );
  await new Promise<void>((resolve, reject) => {
    const s = net.connect({ host: edge.address, port: 22, timeout: 5000 }, () => {
      s.end();
      resolve();
    });
    s.on("timeout", () =>
      reject(new Error(`the lab is not up: ${edge.address}:22 did not answer in 5 s`)),
    );
    s.on("error", (e) => reject(new Error(`the lab is not up: ${edge.address}:22: ${e.message}`)));
  });
  return {
    driver: hosts.driver,
    edge,
    privateKeyPath: hosts.privateKeyPath,
    knownHostsFile: path.join(LAB_HOME, "known_hosts"),
  };
}

/** Runs a command on a lab host with the system ssh client (independent of the provider's SSH code). */
export function onHost(lab: Lab, host: LabHost, command: string): string {
  return execFileSync(
    "ssh",
    [
      "-o",
      "BatchMode=yes",
      "-o",
      `UserKnownHostsFile=${lab.knownHostsFile}`,
      "-o",
      "StrictHostKeyChecking=yes",
      "-o",
      "ConnectTimeout=10",
      "-i",
      lab.privateKeyPath,
      `${host.user}@${host.address}`,
      command,
    ],
    { encoding: "utf8", timeout: 60_000 },
  );
}

export interface PulumiResult {
  code: number;
  output: string;
  ms: number;
  /** SSH connections the provider opened during this command, by host name. */
  connections: Record<string, number>;
}

/** A stack of the fixture program on its own temp backend; `dispose()` destroys and removes it. */
export class FixtureStack {
  readonly name = `cs-${crypto.randomBytes(4).toString("hex")}`;
  readonly stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "okome-cs-state-"));
  /** Fixture settings (FIXTURE_*), changed between runs by the test. */
  settings: Record<string, string>;

  constructor(readonly lab: Lab) {
    this.settings = {
      FIXTURE_ADDRESS: lab.edge.address,
      FIXTURE_HOST_NAME: lab.edge.name,
      FIXTURE_USER: lab.edge.user,
      FIXTURE_KEY: lab.privateKeyPath,
      FIXTURE_KNOWN_HOSTS: lab.knownHostsFile,
    };
  }

  /** Runs `pulumi <args>` in the fixture dir with the project's toolchain (scripts/lib/env.sh). */
  run(args: string[], overrides: Record<string, string | undefined> = {}): Promise<PulumiResult> {
    const sshLog = path.join(
      this.stateDir,
      `ssh-${Date.now()}-${Math.random().toString(36).slice(2)}.log`,
    );
    const env: Record<string, string | undefined> = {
      ...process.env,
      ...this.settings,
      ...overrides,
      PULUMI_BACKEND_URL: `file://${this.stateDir}`,
      PULUMI_CONFIG_PASSPHRASE: "okome-config-set-fixture",
      PULUMI_NODEJS_TRANSPILE_ONLY: "true",
      PULUMI_SKIP_UPDATE_CHECK: "true",
      OKOME_SSH_LOG: sshLog,
    };
    for (const [k, v] of Object.entries(overrides)) if (v === undefined) delete env[k];
    const command = `source ${JSON.stringify(path.join(REPO, "scripts/lib/env.sh"))} && exec pulumi "$@"`;
    const started = Date.now();
    return new Promise((resolve) => {
      execFile(
        "bash",
        [
          "-c",
          command,
          "pulumi",
          ...args,
          "--stack",
          this.name,
          "--non-interactive",
          "--color",
          "never",
        ],
        {
          cwd: FIXTURE_DIR,
          env: env as NodeJS.ProcessEnv,
          maxBuffer: 64 * 1024 * 1024,
          timeout: 600_000,
        },
        (err, stdout, stderr) => {
          const connections: Record<string, number> = {};
          const log = fs.existsSync(sshLog) ? fs.readFileSync(sshLog, "utf8") : "";
          for (const m of log.matchAll(/ pid=\d+ connect (\S+) /g))
            connections[m[1]] = (connections[m[1]] ?? 0) + 1;
          const code = err ? ((err as { code?: number }).code ?? 1) : 0;
          resolve({ code, output: stdout + stderr, ms: Date.now() - started, connections });
        },
      );
    });
  }

  async init(): Promise<void> {
    const r = await this.run(["stack", "init", "--secrets-provider", "passphrase"]);
    if (r.code !== 0) throw new Error(`pulumi stack init failed:\n${r.output}`);
  }

  async dispose(): Promise<PulumiResult> {
    const destroyed = await this.run(["destroy", "--yes", "--skip-preview"]);
    await this.run(["stack", "rm", "--yes", "--force"]);
    fs.rmSync(path.join(FIXTURE_DIR, `Pulumi.${this.name}.yaml`), { force: true });
    fs.rmSync(this.stateDir, { recursive: true, force: true });
    return destroyed;
  }
}

/** The body the fixture site answers with, fetched over the lab bridge. */
export async function siteBody(lab: Lab, port = 8089): Promise<string> {
  const res = await fetch(`http://${lab.edge.address}:${port}/`, {
    signal: AbortSignal.timeout(5000),
  });
  return `${res.status} ${await res.text()}`;
}
