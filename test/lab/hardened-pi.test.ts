/**
 * HardenedPi end to end (issue 10): the real `pulumi` binary deploys the program's OS baseline
 * (fixtures/os-baseline: index.ts's first half, same config and packages, no caches) on a
 * throw-away stack (temp backend, lab settings) to both lab hosts, and the hosts are checked with the system
 * ssh client. On qemu (the lab of record) every kernel-wide setting must be live; under nspawn the
 * same stack must succeed with the settings a container cannot take listed as skipped. Needs
 * `npm run lab:up`; without the lab every test fails, none is skipped.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LabHost, onHost, requireLabHost } from "../support/lab";
import { newKeyPair } from "../support/keys";
import { LabClientNetns } from "../support/netns";
import { WireGuardPeer, attachToLabBridge, stripWgQuick } from "../support/wireguardPeer";
import { PulumiStack, REPO, RunResult } from "../support/pulumiStack";

/** Written to the edge's /var/log before the up: it must still be there on the tmpfs. */
const LOG_MARKER = "/var/log/okome-hardened-pi-test";
/** An address on the lab network that no lab host uses: the "attacker" fail2ban must ban. */
const INTRUDER_ADDRESS = "10.86.0.61";

describe("HardenedPi on the lab (real pulumi)", function () {
  this.timeout(900_000);
  let edge: LabHost;
  let model: LabHost;
  let stack: PulumiStack;
  let vmLab: boolean;
  let originalFstab: string;
  let keyDir: string;

  const ok = (r: RunResult) => assert.equal(r.code, 0, r.output);
  const sh = (host: LabHost, command: string) => onHost(host, command).trim();
  type Report = { pendingReboots: string[]; skipped: string[]; virtualization: string };
  type Hardening = {
    hostname: string;
    sysctl: Record<string, string>;
    tmpfs: Record<string, string>;
    prunedServices: string[];
    nodeExporterUrl: string;
    report: Report;
  };
  const hardening = async (host: "edge" | "model") =>
    (await stack.outputs())[`${host}Hardening`] as Hardening;
  /** `ssh` from this machine (or from `netns`) as `user` with a key the host does not know. */
  const strangerSsh = (user: string, extra: string[] = [], netns?: LabClientNetns) => {
    const argv = [
      "ssh",
      "-o",
      "BatchMode=yes",
      "-o",
      "StrictHostKeyChecking=no",
      "-o",
      "UserKnownHostsFile=/dev/null",
      "-o",
      "ConnectTimeout=5",
      "-i",
      path.join(keyDir, "id_ed25519"),
      ...extra,
      `${user}@${edge.address}`,
      "true",
    ];
    const [file, ...args] = netns ? netns.wrap(argv) : argv;
    return spawnSync(file, args, { encoding: "utf8", timeout: 20_000 });
  };

  before(async () => {
    edge = await requireLabHost("okome-edge");
    model = await requireLabHost("okome-model");
    vmLab = edge.driver === "qemu";
    originalFstab = sh(edge, "sha256sum /etc/fstab");
    sh(edge, `echo kept | sudo -n tee ${LOG_MARKER}`);
    keyDir = fs.mkdtempSync(path.join(os.tmpdir(), "okome-hp-key-"));
    newKeyPair(path.join(keyDir, "id_ed25519"));
    stack = await PulumiStack.create({
      programDir: path.join(__dirname, "fixtures/os-baseline"),
      prefix: "hp",
      passphrase: "okome-hardened-pi-lab-test",
      settingsFrom: path.join(REPO, "Pulumi.lab.yaml"),
    });
  });
  after(async () => {
    fs.rmSync(keyDir, { recursive: true, force: true });
    if (edge) onHost(edge, `sudo -n rm -f ${LOG_MARKER}`);
    if (!stack) return;
    const d = await stack.dispose();
    assert.equal(d.code, 0, `destroy failed:\n${d.output}`);
    assert.equal(sh(edge, "sha256sum /etc/fstab"), originalFstab, "destroy restores fstab");
  });

  it("fails naming a package that is not installed, before any config set touches the host", async () => {
    ok(await stack.run(["config", "set", "--path", "extraPackages[0]", "okome-no-such-package"]));
    const r = await stack.run(["up", "--yes", "--skip-preview"]);
    assert.notEqual(r.code, 0, r.output);
    assert.match(r.output, /okome-edge: packages not installed: okome-no-such-package/);
    assert.match(r.output, /installPackages/);
    assert.equal(sh(edge, "sha256sum /etc/fstab"), originalFstab, "no set ran");
    ok(await stack.run(["config", "rm", "extraPackages"]));
  });

  it("up applies the baseline to both nodes", async () => {
    ok(await stack.run(["up", "--yes", "--skip-preview"]));
  });

  it("sets the hostname and masks the pruned services (a unit that is not installed too)", async () => {
    for (const [host, name] of [
      [edge, "edge"],
      [model, "model"],
    ] as const) {
      const h = await hardening(name);
      assert.equal(sh(host, "hostname"), h.hostname);
      const states = sh(host, `systemctl is-enabled ${h.prunedServices.join(" ")} || true`);
      assert.deepEqual(
        states.split("\n"),
        h.prunedServices.map(() => "masked"),
      );
    }
    assert.notEqual(sh(edge, "systemctl is-active apt-daily.timer || true"), "active");
  });

  it("keeps the journal in RAM only", async () => {
    const marker = `okome-journal-check-${process.pid}-${Date.now()}`;
    sh(edge, `logger -t okome-test ${marker}`);
    const inRam = sh(
      edge,
      `sleep 1; sudo -n journalctl --directory=/run/log/journal -t okome-test --no-pager -o cat | grep -c ${marker} || true`,
    );
    assert.equal(inRam, "1");
    const onCard = sh(
      edge,
      `sudo -n sh -c 'test ! -d /var/log/journal || journalctl --directory=/var/log/journal -t okome-test --no-pager -o cat' | grep -c ${marker} || true`,
    );
    assert.equal(onCard, "0");
  });

  it(`sysctl values are live (under nspawn, those of the machine's kernel are listed as skipped)`, async () => {
    const h = await hardening("edge");
    const skipped = (await stack.outputs()).skippedSettings as string[];
    for (const [name, value] of Object.entries(h.sysctl)) {
      const isSkipped = skipped.some((line) => line.startsWith(`okome-edge: sysctl: ${name} `));
      if (vmLab) assert.ok(!isSkipped, `${name} skipped on a VM`);
      if (isSkipped) continue;
      assert.equal(sh(edge, `/usr/sbin/sysctl -n ${name}`).replace(/\s+/g, " "), value, name);
    }
    if (!vmLab) {
      assert.ok(
        skipped.includes(
          "okome-edge: sysctl: vm.swappiness (the container shares the machine's kernel)",
        ),
        skipped.join("\n"),
      );
      assert.ok(
        skipped.some((line) => line.startsWith("okome-edge: fstab: ")),
        skipped.join("\n"),
      );
      // ip_nonlocal_bind is per network namespace: the container's own, so it is live.
      assert.equal(sh(edge, "/usr/sbin/sysctl -n net.ipv4.ip_nonlocal_bind"), "1");
    }
  });

  /** Each tmpfs mount point of `h` as `<mount> tmpfs <size>M` on the edge. */
  const tmpfsMounts = (h: Hardening) =>
    Object.keys(h.tmpfs).map((mount) =>
      sh(
        edge,
        `echo ${mount} $(findmnt -no FSTYPE --mountpoint ${mount}) $(df --output=size -BM ${mount} | tail -1)`,
      ),
    );
  const wanted = (h: Hardening) =>
    Object.entries(h.tmpfs).map(([mount, size]) => `${mount} tmpfs ${parseInt(size, 10)}M`);
  /** The modes of the tmpfs roots: what fstab says, never the stage's. */
  const rootModes = () => sh(edge, "stat -c '%a %U %n' /tmp /var/tmp /var/log").split("\n");
  const ROOT_MODES = ["1777 root /tmp", "1777 root /var/tmp", "755 root /var/log"];

  it("puts /tmp, /var/tmp and /var/log on their tmpfs live, contents kept; on qemu they stay after a reboot", async () => {
    const h = await hardening("edge");
    const pending = (await stack.outputs()).pendingReboots as string[];
    assert.deepEqual(pending, [], "nothing waits for a reboot");
    assert.deepEqual(tmpfsMounts(h), wanted(h));
    assert.deepEqual(rootModes(), ROOT_MODES);
    // What was in /var/log came along, and nginx (Debian's site: no edge here) logs to the tmpfs.
    assert.equal(sh(edge, `cat ${LOG_MARKER}`), "kept");
    const marker = `/okome-hardened-pi-${process.pid}`;
    await fetch(`http://${edge.address}${marker}`, { signal: AbortSignal.timeout(5000) }).catch(
      () => undefined,
    );
    assert.match(
      sh(edge, "sudo -n tail -1 /var/log/nginx/access.log"),
      new RegExp(`"GET ${marker} HTTP`),
    );
    // A container's root and its reboots are the machine's (its root options are listed as skipped).
    if (!vmLab) return;
    assert.match(sh(edge, "findmnt -no OPTIONS /"), /(^|,)noatime(,|$).*commit=60/);

    spawnSync("ssh", ["-o", "BatchMode=yes", "-o", `UserKnownHostsFile=${edge.knownHostsFile}`, "-i", edge.privateKeyPath, `${edge.user}@${edge.address}`, "sudo -n systemctl reboot"]); // prettier-ignore
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    const deadline = Date.now() + 300_000;
    for (;;) {
      try {
        sh(edge, "systemctl is-system-running --wait || true");
        break;
      } catch {
        if (Date.now() > deadline) throw new Error("okome-edge did not come back within 5 min");
        await new Promise((resolve) => setTimeout(resolve, 3000));
      }
    }
    assert.deepEqual(tmpfsMounts(h), wanted(h));
    // The log dirs come back on the empty /var/log, so the services that log there start.
    assert.equal(
      sh(edge, "systemctl is-active nginx fail2ban prometheus-node-exporter"),
      "active\nactive\nactive",
    );
    ok(await stack.run(["up", "--yes", "--skip-preview", "--refresh"]));
    assert.deepEqual((await stack.outputs()).pendingReboots, []);
  });

  it("refuses password logins: sshd offers public keys only", async () => {
    const r = strangerSsh(edge.user, [
      "-o",
      "PreferredAuthentications=password",
      "-o",
      "PubkeyAuthentication=no",
    ]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /Permission denied \(publickey\)/);
  });

  it("fail2ban bans a LAN address after 5 failed logins, and never the deployer", async () => {
    // The deployer's own failures first: 10.86.0.1 is in adminAddresses.
    for (let i = 0; i < 6; i++) strangerSsh("intruder");
    const intruder = new LabClientNetns("okome-hp", INTRUDER_ADDRESS);
    try {
      for (let i = 0; i < 5; i++) strangerSsh("intruder", [], intruder);
      let banned = "";
      for (let i = 0; i < 20 && !banned.includes(INTRUDER_ADDRESS); i++) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        banned = sh(edge, "sudo -n fail2ban-client get sshd banip");
      }
      assert.ok(banned.includes(INTRUDER_ADDRESS), `banned: ${banned}`);
      const blocked = strangerSsh("intruder", [], intruder);
      assert.match(blocked.stderr, /Connection refused|timed out/);
      assert.ok(!banned.includes("10.86.0.1 ") && !banned.endsWith("10.86.0.1"), banned);
      assert.equal(sh(edge, "echo deployer-in"), "deployer-in");
    } finally {
      intruder.remove();
      onHost(edge, `sudo -n fail2ban-client set sshd unbanip ${INTRUDER_ADDRESS} || true`);
    }
  });

  it("serves node exporter metrics on the LAN address and not on the VIP", async () => {
    const h = await hardening("edge");
    const metrics = await (
      await fetch(h.nodeExporterUrl, { signal: AbortSignal.timeout(10_000) })
    ).text();
    assert.match(metrics, /^node_exporter_build_info/m);
    const vip = String((await stack.outputs()).vip);
    sh(edge, `sudo -n ip addr add ${vip}/32 dev eth0`);
    try {
      const onVip = h.nodeExporterUrl.replace(edge.address, vip);
      await assert.rejects(fetch(onVip, { signal: AbortSignal.timeout(5000) }));
    } finally {
      sh(edge, `sudo -n ip addr del ${vip}/32 dev eth0`);
    }
  });

  it("a second up changes nothing", async () => {
    ok(await stack.run(["up", "--yes", "--skip-preview", "--expect-no-changes"]));
  });

  it("WireGuard, turned on, completes a handshake with a peer netns, and off removes the tunnel (qemu)", async function () {
    // Under nspawn the lab hosts run on this machine's kernel, which has no WireGuard.
    if (!vmLab) this.skip();
    ok(await stack.run(["config", "set", "wireguard", "true"]));
    ok(await stack.run(["up", "--yes", "--skip-preview"]));
    const configs = (await stack.outputs()).wireguardPeerConfigs as Record<string, string>;
    const admin = await WireGuardPeer.start("hp");
    try {
      attachToLabBridge(admin);
      const since = Math.floor(Date.now() / 1000);
      admin.configure(stripWgQuick(configs["okome-edge"]));
      const nodeTunnel = sh(edge, "ip -4 -o addr show dev okome-wg0").split(/\s+/)[3].split("/")[0];
      assert.ok(admin.ping(nodeTunnel), `no ping through the tunnel to ${nodeTunnel}`);
      assert.ok((await admin.waitForHandshake(since)) >= since);
    } finally {
      await admin.stop();
    }
    ok(await stack.run(["config", "set", "wireguard", "false"]));
    ok(await stack.run(["up", "--yes", "--skip-preview"]));
    assert.equal(
      sh(edge, "ip link show okome-wg0 >/dev/null 2>&1 && echo present || echo absent"),
      "absent",
    );
  });

  it("validates with the validation suite's hardening checks", async () => {
    const r = await stack.validate("hardening");
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /^\d+ passed, 0 failed$/m);
  });
});
