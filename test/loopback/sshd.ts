/**
 * A throw-away sshd on 127.0.0.1 for tests of the SSH layer and the transaction: its own
 * host key, an authorized client key, root login by key only. Started and stopped by PID.
 */
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { closePool } from "../../providers/ssh/pool";
import { freePort } from "../support/ports";
import { readSshLog, sshEvents } from "../support/sshLog";
import { newKeyPair } from "../support/keys";

export interface LoopbackSshd {
  readonly dir: string;
  readonly port: number;
  /** "ssh-ed25519 AAAA..." of the server. */
  readonly hostKey: string;
  readonly clientKeyPath: string;
  readonly configPath: string;
  readonly pidFile: string;
  stop(): Promise<void>;
}

export const SSHD = "/usr/sbin/sshd";
/** Where loopback sshds keep their files. */
export const LOOPBACK_ROOT = "/var/lib/okome-loopback";

async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`sshd exited ${child.exitCode}: ${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => {
        s.end();
        resolve(true);
      });
      s.on("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`sshd did not listen on ${port}: ${log()}`);
}

export function sshdConfig(dir: string, port: number, extra = ""): string {
  return [
    `Port ${port}`,
    "ListenAddress 127.0.0.1",
    `HostKey ${dir}/host_ed25519`,
    `AuthorizedKeysFile ${dir}/authorized_keys`,
    "PermitRootLogin prohibit-password",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "UsePAM no",
    "StrictModes no",
    `PidFile ${dir}/sshd.pid`,
    extra,
    "",
  ].join("\n");
}

export async function startSshd(): Promise<LoopbackSshd> {
  if (!fs.existsSync(SSHD)) {
    throw new Error(`${SSHD} is missing: run scripts/install-system-packages.sh (openssh-server)`);
  }
  // Root's and closed to others all the way up, like a host's /etc: the config transaction
  // refuses to write under a directory others can write (/tmp).
  fs.mkdirSync(LOOPBACK_ROOT, { recursive: true, mode: 0o755 });
  const dir = fs.mkdtempSync(path.join(LOOPBACK_ROOT, "sshd-"));
  const keygen = (file: string) => newKeyPair(file);
  keygen(`${dir}/host_ed25519`);
  keygen(`${dir}/client_ed25519`);
  fs.copyFileSync(`${dir}/client_ed25519.pub`, `${dir}/authorized_keys`);
  // sshd refuses to start without its privilege-separation dir.
  fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const port = await freePort();
  const configPath = `${dir}/sshd_config`;
  fs.writeFileSync(configPath, sshdConfig(dir, port));
  let log = "";
  const child = spawn(SSHD, ["-D", "-e", "-f", configPath], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  child.stderr!.on("data", (d: Buffer) => (log += d.toString()));
  await waitForPort(port, child, () => log);
  const hostKey = fs
    .readFileSync(`${dir}/host_ed25519.pub`, "utf8")
    .trim()
    .split(" ")
    .slice(0, 2)
    .join(" ");
  return {
    dir,
    port,
    hostKey,
    clientKeyPath: `${dir}/client_ed25519`,
    configPath,
    pidFile: `${dir}/sshd.pid`,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A suite's loopback sshd and the providers' SSH log; see {@link useLoopbackSshd}. */
export interface LoopbackSuite {
  readonly sshd: LoopbackSshd;
  /** $OKOME_SSH_LOG while the suite runs; emptied before each test. */
  readonly logFile: string;
  /** This test's log lines of `event` (attempt, connect, retry, exec). */
  events(event: string): string[];
}

/**
 * Registers the mocha hooks of a suite that talks to a loopback sshd through the providers'
 * SSH layer: one sshd for the suite, $OKOME_SSH_LOG pointed at a log in its dir and emptied
 * before each test, the session pool closed after each test. Call inside `describe`.
 */
export function useLoopbackSshd(): LoopbackSuite {
  let sshd: LoopbackSshd | undefined;
  const started = () => {
    if (!sshd) throw new Error("the loopback sshd is not started (use it inside a test)");
    return sshd;
  };
  const suite: LoopbackSuite = {
    get sshd() {
      return started();
    },
    get logFile() {
      return path.join(started().dir, "ssh.log");
    },
    events: (event) => sshEvents(readSshLog(suite.logFile), event),
  };
  before(async () => {
    sshd = await startSshd();
    process.env.OKOME_SSH_LOG = suite.logFile;
  });
  after(async () => {
    closePool();
    delete process.env.OKOME_SSH_LOG;
    await sshd?.stop();
  });
  beforeEach(() => fs.rmSync(suite.logFile, { force: true }));
  afterEach(() => closePool());
  return suite;
}
