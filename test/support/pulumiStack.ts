/**
 * A throw-away stack of a Pulumi program driven with the real `pulumi` binary and the project's
 * toolchain (scripts/lib/env.sh), on a temp file backend: the user's stacks and state are never
 * touched.
 *
 * Every command runs in a work dir under the temp dir, not in the program's own directory:
 * symlinks to the program's files plus a copy of its Pulumi.yaml. Pulumi writes a stack's
 * settings (`Pulumi.<stack>.yaml`: config, secrets salt) next to the Pulumi.yaml it finds, so
 * they land in the temp dir; a test killed half way cannot leave one in the repo, and the
 * repo's own stack files (Pulumi.lab.yaml, Pulumi.prod.yaml) are never read or rewritten.
 */
import { execFile } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { sshEventsByHost } from "./sshLog";

export const REPO = path.resolve(__dirname, "../..");

/** Exit code and output of one command. */
export interface RunResult {
  readonly code: number;
  /** stdout and stderr. */
  readonly output: string;
  readonly stdout: string;
  readonly ms: number;
  /** What the providers wrote to $OKOME_SSH_LOG during this command (see ./sshLog). */
  readonly sshLog: string;
  /** SSH connections the providers opened during this command, by host name. */
  readonly connections: Readonly<Record<string, number>>;
}

export interface PulumiStackOptions {
  /** The program's directory (where its Pulumi.yaml is). Default: this project (index.ts). */
  readonly programDir?: string;
  /** Start of the stack's name; a random suffix follows. */
  readonly prefix: string;
  /** Passphrase of the stack's secrets (a test value: the backend is thrown away). */
  readonly passphrase: string;
  /**
   * A stack settings file (Pulumi.lab.yaml) whose config the stack starts with, copied as it
   * is but for its secrets salt: the copy is salted for `passphrase`.
   */
  readonly settingsFrom?: string;
  /**
   * The copy's `okome-cache:validateAfterUp` (the deployment gate at the end of `up`). Default
   * false: the gate would slow every `up`, and fail the `up` of a test that breaks the tier on
   * purpose; such tests run the suite themselves. "as settings" keeps `settingsFrom`'s own.
   */
  readonly validateAfterUp?: boolean | "as settings";
  /** Environment of every command (a fixture's knobs); one command can override it. */
  readonly env?: Readonly<Record<string, string>>;
  /** Runs every command in this network namespace (`ip netns exec`). */
  readonly netns?: string;
}

/** The secrets provider's top-level keys in a stack settings file. */
const SECRETS_KEYS = /^(encryptionsalt|encryptedkey|secretsprovider):/;
const VALIDATE_AFTER_UP = "okome-cache:validateAfterUp";

export class PulumiStack {
  readonly name: string;
  /** Temp dir of everything: `program/` (the work dir), `state/` (the backend), SSH logs. */
  readonly root: string;
  readonly workDir: string;
  readonly stateDir: string;
  /** Environment of every command; tests may change it between commands. */
  readonly env: Record<string, string>;
  private runs = 0;

  private constructor(private readonly options: PulumiStackOptions) {
    this.name = `${options.prefix}-${crypto.randomBytes(4).toString("hex")}`;
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), `okome-${options.prefix}-`));
    this.workDir = path.join(this.root, "program");
    this.stateDir = path.join(this.root, "state");
    this.env = { ...options.env };
  }

  /** Creates the stack (passphrase secrets, config from `settingsFrom`). */
  static async create(options: PulumiStackOptions): Promise<PulumiStack> {
    const stack = new PulumiStack(options);
    try {
      fs.mkdirSync(stack.stateDir);
      linkProgram(options.programDir ?? REPO, stack.workDir);
      if (options.settingsFrom) {
        const text = fs.readFileSync(options.settingsFrom, "utf8");
        if (/^\s+secure: /m.test(text))
          throw new Error(`${options.settingsFrom} has secrets another passphrase encrypted`);
        const lines = text.split("\n").filter((l) => !SECRETS_KEYS.test(l));
        const gate = options.validateAfterUp ?? false;
        fs.writeFileSync(
          stack.settingsFile,
          (gate === "as settings" ? lines : withValidateAfterUp(lines, gate)).join("\n"),
        );
      }
      const r = await stack.run(["stack", "init", "--secrets-provider", "passphrase"]);
      if (r.code !== 0) throw new Error(`pulumi stack init failed:\n${r.output}`);
    } catch (e) {
      stack.remove();
      throw e;
    }
    return stack;
  }

  /** The stack's settings file (config and secrets salt), in the work dir. */
  get settingsFile(): string {
    return path.join(this.workDir, `Pulumi.${this.name}.yaml`);
  }

  /**
   * Runs `argv` with the project's toolchain in the work dir, on this stack's backend.
   * `overrides` change the environment for this command; `undefined` removes a variable.
   */
  exec(
    argv: readonly string[],
    overrides: Readonly<Record<string, string | undefined>> = {},
  ): Promise<RunResult> {
    const sshLog = path.join(this.root, `ssh-${++this.runs}.log`);
    const env: Record<string, string | undefined> = {
      ...process.env,
      ...this.env,
      ...overrides,
      PULUMI_BACKEND_URL: `file://${this.stateDir}`,
      PULUMI_CONFIG_PASSPHRASE: this.options.passphrase,
      PULUMI_CONFIG_PASSPHRASE_FILE: undefined,
      PULUMI_SKIP_UPDATE_CHECK: "true",
      OKOME_SSH_LOG: sshLog,
    };
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
    const script = `source ${JSON.stringify(path.join(REPO, "scripts/lib/env.sh"))} && exec "$@"`;
    const command = ["bash", "-c", script, "run", ...argv];
    const [file, ...args] = this.options.netns
      ? ["ip", "netns", "exec", this.options.netns, ...command]
      : command;
    const started = Date.now();
    return new Promise((resolve) => {
      execFile(
        file,
        args,
        { cwd: this.workDir, env, maxBuffer: 64 * 1024 * 1024, timeout: 900_000 },
        (err, stdout, stderr) => {
          const log = fs.existsSync(sshLog) ? fs.readFileSync(sshLog, "utf8") : "";
          resolve({
            code: err ? ((err as { code?: number }).code ?? 1) : 0,
            output: stdout + stderr,
            stdout,
            ms: Date.now() - started,
            sshLog: log,
            connections: sshEventsByHost(log, "connect"),
          });
        },
      );
    });
  }

  /**
   * The validation suite (test/validate) on this stack, all modules or only `only`'s, with the
   * checks that write (`--active`): a lab stack may take a test key.
   */
  validate(only?: string): Promise<RunResult> {
    const modules = only === undefined ? [] : ["--only", only];
    const suite = path.join(REPO, "test/validate/index.ts");
    return this.exec(["npx", "tsx", suite, "--stack", this.name, "--active", ...modules]);
  }

  /** `pulumi <args>` on this stack. */
  run(
    args: readonly string[],
    overrides?: Readonly<Record<string, string | undefined>>,
  ): Promise<RunResult> {
    const flags = ["--stack", this.name, "--non-interactive", "--color", "never"];
    return this.exec(["pulumi", ...args, ...flags], overrides);
  }

  /** The stack's outputs, secrets in clear. */
  async outputs(): Promise<Record<string, unknown>> {
    const r = await this.run(["stack", "output", "--json", "--show-secrets"]);
    if (r.code !== 0) throw new Error(`pulumi stack output failed:\n${r.output}`);
    return JSON.parse(r.stdout);
  }

  /** Every file of this stack's backend (state, history, backups), concatenated. */
  stateText(): string {
    return fs
      .readdirSync(this.stateDir, { recursive: true, encoding: "utf8" })
      .map((f) => path.join(this.stateDir, f))
      .filter((f) => fs.statSync(f).isFile())
      .map((f) => fs.readFileSync(f, "utf8"))
      .join("\n");
  }

  /** Destroys the stack's resources, then removes the temp dir (backend and settings with it). */
  async dispose(): Promise<RunResult> {
    const destroyed = await this.run(["destroy", "--yes", "--skip-preview"]);
    this.remove();
    return destroyed;
  }

  /** Removes the temp dir without destroying anything: for stacks that never reached a host. */
  remove(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/** Stack settings lines with `okome-cache:validateAfterUp` set to `value`, whatever they said. */
function withValidateAfterUp(lines: readonly string[], value: boolean): string[] {
  const setting = `  ${VALIDATE_AFTER_UP}: "${value}"`;
  const others = lines.filter((line) => line.trim().split(":", 2).join(":") !== VALIDATE_AFTER_UP);
  const config = others.indexOf("config:");
  return config === -1
    ? ["config:", setting, ...others]
    : [...others.slice(0, config + 1), setting, ...others.slice(config + 1)];
}

/**
 * The work dir: a symlink to each of the program's files, but a copy of Pulumi.yaml (so Pulumi
 * puts stack settings here) and none of its stack settings files; node_modules linked from the
 * nearest directory up that has one (a fixture resolves its packages from the repo's).
 */
function linkProgram(programDir: string, workDir: string): void {
  fs.mkdirSync(workDir);
  for (const entry of fs.readdirSync(programDir)) {
    const from = path.join(programDir, entry);
    if (entry === ".git" || /^Pulumi\..+\.ya?ml$/.test(entry)) continue;
    if (/^Pulumi\.ya?ml$/.test(entry)) fs.copyFileSync(from, path.join(workDir, entry));
    else fs.symlinkSync(from, path.join(workDir, entry));
  }
  if (fs.existsSync(path.join(workDir, "node_modules"))) return;
  for (let dir = path.dirname(programDir); ; dir = path.dirname(dir)) {
    const modules = path.join(dir, "node_modules");
    if (fs.existsSync(modules)) return fs.symlinkSync(modules, path.join(workDir, "node_modules"));
    if (dir === path.dirname(dir)) throw new Error(`no node_modules above ${programDir}`);
  }
}
