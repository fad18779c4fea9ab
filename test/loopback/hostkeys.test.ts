/**
 * `npm run hostkeys` against real sshds: two of them inside an empty network namespace, on
 * 127.0.0.20:22 and 127.0.0.19:22 (the stack's edge and model addresses there), each with its
 * own host key. The fingerprints printed must be ssh-keygen's, the printed `pulumi config set`
 * commands, run verbatim, must pin exactly the hosts' keys, and no login may be attempted.
 * Needs root (ip netns).
 */
import { strict as assert } from "node:assert";
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { EmptyNetns } from "../support/netns";
import { PulumiStack, REPO, RunResult } from "../support/pulumiStack";
import { SSHD } from "./sshd";
import { newKeyPair } from "../support/keys";

const HOSTS = [
  { name: "okome-edge", address: "127.0.0.20", setting: "okome-cache:edgeHostKey" },
  { name: "okome-model", address: "127.0.0.19", setting: "okome-cache:modelHostKey" },
];

/** An sshd in `netns` on `address`:22 with a host key of its own; stopped by its PID. */
class NetnsSshd {
  readonly hostKeyFile: string;
  log = "";
  private readonly child: ChildProcess;

  private constructor(dir: string, netns: EmptyNetns, address: string) {
    this.hostKeyFile = path.join(dir, `host-${address}`);
    newKeyPair(this.hostKeyFile, `root@${address}`);
    const config = path.join(dir, `sshd-${address}.conf`);
    fs.writeFileSync(
      config,
      [
        `ListenAddress ${address}:22`,
        `HostKey ${this.hostKeyFile}`,
        `PidFile ${dir}/sshd-${address}.pid`,
        "UsePAM no",
        "",
      ].join("\n"),
    );
    fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    const [file, ...args] = netns.wrap([SSHD, "-D", "-e", "-f", config]);
    this.child = spawn(file, args, { stdio: ["ignore", "ignore", "pipe"] });
    this.child.stderr!.on("data", (d: Buffer) => (this.log += d.toString()));
  }

  static async start(dir: string, netns: EmptyNetns, address: string): Promise<NetnsSshd> {
    const sshd = new NetnsSshd(dir, netns, address);
    for (let waited = 0; !/Server listening on /.test(sshd.log); waited += 100) {
      if (sshd.child.exitCode !== null || waited > 10_000)
        throw new Error(`sshd on ${address} did not start: ${sshd.log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return sshd;
  }

  /** `type base64` of the host's public key. */
  get publicKey(): string {
    return fs.readFileSync(`${this.hostKeyFile}.pub`, "utf8").split(" ").slice(0, 2).join(" ");
  }

  /** ssh-keygen's own SHA256 fingerprint of the host key. */
  get fingerprint(): string {
    return execFileSync("ssh-keygen", ["-lf", `${this.hostKeyFile}.pub`], {
      encoding: "utf8",
    }).split(" ")[1];
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once("exit", r));
    this.child.kill("SIGTERM");
    await exited;
  }
}

describe("npm run hostkeys against real sshds (empty network namespace)", function () {
  this.timeout(120_000);
  let netns: EmptyNetns;
  let dir: string;
  let stack: PulumiStack;
  const sshds: NetnsSshd[] = [];
  const hostkeys = () =>
    stack.exec(["npm", "run", "--silent", "hostkeys", "--", "--stack", stack.name]);
  const ok = (r: RunResult) => assert.equal(r.code, 0, r.output);
  /** The block hostkeys prints for one host. */
  const blockOf = (output: string, name: string) => {
    const block = output.split("\n\n").find((b) => b.startsWith(`${name} `));
    assert.ok(block, `a block for ${name} in:\n${output}`);
    return block;
  };

  before(async () => {
    netns = new EmptyNetns("okome-hk");
    assert.ok(
      !netns.routes("10.86.0.20") && !netns.routes("192.168.86.20"),
      "only loopback routes",
    );
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "okome-hostkeys-"));
    for (const h of HOSTS) sshds.push(await NetnsSshd.start(dir, netns, h.address));
    stack = await PulumiStack.create({
      prefix: "hk",
      passphrase: "okome-hostkeys-test",
      settingsFrom: path.join(REPO, "Pulumi.lab.yaml"),
      netns: netns.name,
    });
    for (const [k, v] of Object.entries({
      vip: "127.0.0.18",
      edgeAddress: "127.0.0.20",
      modelAddress: "127.0.0.19",
    }))
      ok(await stack.run(["config", "set", `okome-cache:${k}`, v]));
    ok(await stack.run(["config", "rm", "okome-cache:knownHostsFile"]));
  });
  after(async () => {
    for (const sshd of sshds) await sshd.stop();
    stack?.remove();
    netns?.remove();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("prints each host's key type and ssh-keygen's fingerprint, without logging in", async () => {
    const r = await hostkeys();
    ok(r);
    HOSTS.forEach((h, i) => {
      const block = blockOf(r.stdout, h.name);
      assert.match(block, new RegExp(`^${h.name} \\(the \\w+ Pi\\) ${h.address}:22$`, "m"));
      assert.match(block, /^ {2}type: {8}ssh-ed25519$/m);
      assert.ok(block.includes(`fingerprint: ${sshds[i].fingerprint}\n`), block);
      assert.match(block, /pinned now: {2}nothing pinned yet/);
    });
    assert.match(r.stdout, /ssh-keygen -lf \/etc\/ssh\/ssh_host_ed25519_key\.pub/);
    assert.match(r.sshLog, / scan okome-edge 127\.0\.0\.20:22/);
    for (const sshd of sshds) assert.doesNotMatch(sshd.log, /user|Accepted|Failed/i, sshd.log);
  });

  it("the printed `pulumi config set` commands, run verbatim, pin exactly the hosts' keys", async () => {
    const r = await hostkeys();
    ok(r);
    const commands = r.stdout
      .split("\n")
      .flatMap((l) => /^ {2}to pin it: {3}(.*)$/.exec(l)?.[1] ?? []);
    assert.equal(commands.length, HOSTS.length, r.stdout);
    for (const command of commands) ok(await stack.exec(["bash", "-c", command]));
    for (const [i, h] of HOSTS.entries()) {
      const got = await stack.run(["config", "get", h.setting]);
      ok(got);
      assert.equal(got.stdout.trim(), sshds[i].publicKey);
    }
    const again = await hostkeys();
    ok(again);
    for (const h of HOSTS)
      assert.match(
        blockOf(again.stdout, h.name),
        new RegExp(`pinned now: {2}this key, by ${h.setting}`),
      );
  });

  it("says so when a host presents a key other than the pinned one", async () => {
    const other = path.join(dir, "other");
    newKeyPair(other);
    ok(
      await stack.run([
        "config",
        "set",
        "okome-cache:edgeHostKey",
        fs.readFileSync(`${other}.pub`, "utf8").trim(),
      ]),
    );
    const r = await hostkeys();
    ok(r);
    assert.match(
      blockOf(r.stdout, "okome-edge"),
      /pinned now: {2}A DIFFERENT KEY \(SHA256:\S+\), by okome-cache:edgeHostKey/,
    );
  });

  it("a host that does not answer fails the command, naming it", async () => {
    ok(await stack.run(["config", "set", "okome-cache:modelAddress", "127.0.0.21"]));
    const r = await hostkeys();
    assert.equal(r.code, 1, r.output);
    assert.match(
      r.output,
      /okome-model \(127\.0\.0\.21:22\): cannot fetch the host key: .*ECONNREFUSED/,
    );
    assert.ok(blockOf(r.stdout, "okome-edge"), "the other host is still reported");
  });
});
