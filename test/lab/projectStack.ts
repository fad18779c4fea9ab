/**
 * Drives the real `pulumi` binary on a throw-away stack of this project (index.ts), configured
 * like the lab stack, on a temp file backend: the user's `lab` stack and its state are never
 * touched. Lab hosts come from `npm run lab:up` (~/.okome/lab/hosts.json).
 */
import { execFile, execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

export const REPO = path.resolve(__dirname, "../..");
const LAB_HOME = path.join(process.env.OKOME_HOME ?? path.join(os.homedir(), ".okome"), "lab");

/** A lab host as hosts.json describes it, plus how to reach it. */
export interface LabHost {
  readonly name: string;
  readonly address: string;
  readonly user: string;
  readonly privateKeyPath: string;
  readonly knownHostsFile: string;
}

/**
 * The lab host `name`, after checking that it routes via the lab bridge and answers SSH.
 * Throws (never skips) when the lab is not up: a lab test that passes without a lab proves nothing.
 */
export async function requireLabHost(name: "okome-model" | "okome-edge"): Promise<LabHost> {
  const hostsFile = path.join(LAB_HOME, "hosts.json");
  if (!fs.existsSync(hostsFile))
    throw new Error(`the lab is not up (${hostsFile} is missing): run npm run lab:up`);
  const hosts = JSON.parse(fs.readFileSync(hostsFile, "utf8"));
  const h = hosts.hosts?.[name];
  if (!h) throw new Error(`the lab has no host ${name} (${hostsFile})`);
  // Lab traffic goes over the lab bridge only; a missing bridge must not send it elsewhere.
  const route = execFileSync("ip", ["-o", "route", "get", h.address], { encoding: "utf8" });
  if (!/ dev okbr0 /.test(route))
    throw new Error(`the lab is not up: ${h.address} does not route via okbr0`);
  await new Promise<void>((resolve, reject) => {
    const s = net.connect({ host: h.address, port: 22, timeout: 5000 }, () => {
      s.end();
      resolve();
    });
    s.on("timeout", () =>
      reject(new Error(`the lab is not up: ${h.address}:22 did not answer in 5 s`)),
    );
    s.on("error", (e) => reject(new Error(`the lab is not up: ${h.address}:22: ${e.message}`)));
  });
  return {
    name,
    address: h.address,
    user: h.user,
    privateKeyPath: hosts.privateKeyPath,
    knownHostsFile: path.join(LAB_HOME, "known_hosts"),
  };
}

/** Runs a command on a lab host with the system ssh client (independent of the providers' SSH code). */
export function onHost(host: LabHost, command: string): string {
  return execFileSync(
    "ssh",
    [
      "-o", "BatchMode=yes",
      "-o", `UserKnownHostsFile=${host.knownHostsFile}`,
      "-o", "StrictHostKeyChecking=yes",
      "-o", "ConnectTimeout=10",
      "-i", host.privateKeyPath,
      `${host.user}@${host.address}`,
      command,
    ],
    { encoding: "utf8", timeout: 60_000 },
  ); // prettier-ignore
}

/** Exit code and combined output of a command. */
export interface RunResult {
  readonly code: number;
  /** stdout and stderr. */
  readonly output: string;
  readonly stdout: string;
  /** SSH connections the providers opened, by host name (from $OKOME_SSH_LOG). */
  readonly connections: Readonly<Record<string, number>>;
}

/** A stack of this project on its own temp backend, configured from Pulumi.lab.yaml. */
export class ProjectStack {
  readonly name = `mc-${crypto.randomBytes(4).toString("hex")}`;
  readonly stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "okome-mc-state-"));
  private readonly configFile = path.join(REPO, `Pulumi.${this.name}.yaml`);

  private env(sshLog: string): NodeJS.ProcessEnv {
    return {
      ...process.env,
      PULUMI_BACKEND_URL: `file://${this.stateDir}`,
      PULUMI_CONFIG_PASSPHRASE: "okome-model-cache-lab-test",
      PULUMI_SKIP_UPDATE_CHECK: "true",
      OKOME_SSH_LOG: sshLog,
    };
  }

  /** Runs `argv` with the project's toolchain (scripts/lib/env.sh) in the repo, on this stack's backend. */
  exec(argv: readonly string[]): Promise<RunResult> {
    const sshLog = path.join(
      this.stateDir,
      `ssh-${Date.now()}-${Math.random().toString(36).slice(2)}.log`,
    );
    const command = `source ${JSON.stringify(path.join(REPO, "scripts/lib/env.sh"))} && exec "$@"`;
    return new Promise((resolve) => {
      execFile(
        "bash",
        ["-c", command, "run", ...argv],
        { cwd: REPO, env: this.env(sshLog), maxBuffer: 64 * 1024 * 1024, timeout: 900_000 },
        (err, stdout, stderr) => {
          const connections: Record<string, number> = {};
          const log = fs.existsSync(sshLog) ? fs.readFileSync(sshLog, "utf8") : "";
          for (const m of log.matchAll(/ pid=\d+ connect (\S+) /g))
            connections[m[1]] = (connections[m[1]] ?? 0) + 1;
          const code = err ? ((err as { code?: number }).code ?? 1) : 0;
          resolve({ code, output: stdout + stderr, stdout, connections });
        },
      );
    });
  }

  /** `pulumi <args>` on this stack. */
  pulumi(...args: string[]): Promise<RunResult> {
    return this.exec([
      "pulumi",
      ...args,
      "--stack",
      this.name,
      "--non-interactive",
      "--color",
      "never",
    ]);
  }

  /** Creates the stack with the lab stack's settings. */
  async init(): Promise<void> {
    const r = await this.pulumi("stack", "init", "--secrets-provider", "passphrase");
    if (r.code !== 0) throw new Error(`pulumi stack init failed:\n${r.output}`);
    const lab = fs.readFileSync(path.join(REPO, "Pulumi.lab.yaml"), "utf8");
    const settings = lab.split("\n").filter((l) => l.startsWith("  okome-cache:"));
    fs.appendFileSync(this.configFile, `config:\n${settings.join("\n")}\n`);
  }

  /** The stack's outputs, secrets in clear. */
  async outputs(): Promise<Record<string, unknown>> {
    const r = await this.pulumi("stack", "output", "--json", "--show-secrets");
    if (r.code !== 0) throw new Error(`pulumi stack output failed:\n${r.output}`);
    return JSON.parse(r.stdout);
  }

  /** Every file of this stack's backend (state, history, backups), concatenated. */
  stateText(): string {
    const files = fs.readdirSync(this.stateDir, { recursive: true, encoding: "utf8" });
    return files
      .map((f) => path.join(this.stateDir, f))
      .filter((f) => fs.statSync(f).isFile() && !path.basename(f).startsWith("ssh-"))
      .map((f) => fs.readFileSync(f, "utf8"))
      .join("\n");
  }

  /** `npm run validate -- --stack <this stack>`. */
  validate(): Promise<RunResult> {
    return this.exec(["npx", "tsx", "test/validate/index.ts", "--stack", this.name]);
  }

  /** Destroys the stack's resources, then removes the stack, its settings file and its backend. */
  async dispose(): Promise<RunResult> {
    const destroyed = await this.pulumi("destroy", "--yes", "--skip-preview");
    await this.pulumi("stack", "rm", "--yes", "--force");
    fs.rmSync(this.configFile, { force: true });
    fs.rmSync(this.stateDir, { recursive: true, force: true });
    return destroyed;
  }
}
