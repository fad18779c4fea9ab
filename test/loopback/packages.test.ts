/**
 * PackageBaseline and HostProbe through their real implementations, against the loopback
 * sshd (this machine is Debian: dpkg answers for real). Nothing here installs a package:
 * apt would reach the package registry; test/lab/packages.test.ts installs on the lab.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import { implementation as probes } from "../../providers/hostProbe/impl";
import { ProbeInputs, ProbeOutputs } from "../../providers/hostProbe/wire";
import { implementation as packages } from "../../providers/packages/impl";
import { PackageInputs, PackageOutputs } from "../../providers/packages/wire";
import { useLoopbackSshd } from "./sshd";

/** The version this machine's dpkg reports, independent of the provider's parser. */
const localVersion = (name: string) =>
  execFileSync("dpkg-query", ["-W", "-f=${Version}", name], { encoding: "utf8" });

describe("PackageBaseline and HostProbe over SSH (loopback sshd, as root)", function () {
  this.timeout(60_000);
  const ssh = useLoopbackSshd();
  const connection = () => ({
    name: "loopback",
    address: "127.0.0.1",
    port: ssh.sshd.port,
    user: "root",
    privateKeyPath: ssh.sshd.clientKeyPath,
    hostKey: ssh.sshd.hostKey,
  });
  const baseline = async (names: string[], install = false) => {
    const r = await packages.check({}, { connection: connection(), packages: names, install });
    assert.equal(r.failures, undefined);
    return r.inputs as PackageInputs;
  };
  const probe = async (command: string) => {
    const r = await probes.check({}, { connection: connection(), command });
    assert.equal(r.failures, undefined);
    return r.inputs as ProbeInputs;
  };

  it("installed packages pass with their versions and the host key, in one session", async () => {
    const ins = await baseline(["openssh-server", "dpkg"]);
    const { id, outs } = await packages.create(ins);
    assert.equal(id, "loopback:packages");
    assert.deepEqual(outs.installed, {
      dpkg: localVersion("dpkg"),
      "openssh-server": localVersion("openssh-server"),
    });
    assert.equal(outs.hostKey, ssh.sshd.hostKey);
    assert.equal(outs.host, "loopback");
    assert.equal(ssh.events("connect").length, 1);
    assert.deepEqual(await packages.diff(id, outs as PackageOutputs, ins), {
      changes: false,
      replaces: [],
    });
    const refreshed = await packages.read(id, outs as PackageOutputs);
    assert.deepEqual(refreshed.props.installed, outs.installed);
    assert.deepEqual(refreshed.inputs.packages, ["dpkg", "openssh-server"]);
  });

  it("a package dpkg does not know fails with install=false, naming the host and the package", async () => {
    const ins = await baseline(["dpkg", "okome-no-such-package", "okome-no-such-other"]);
    await assert.rejects(packages.create(ins), {
      message:
        "loopback: packages not installed: okome-no-such-other, okome-no-such-package. This stack does not install packages (install is false): bake them into the image, or set install true",
    });
    // Only dpkg-query ran: nothing was installed or attempted.
    assert.deepEqual(
      ssh.events("exec").map((l) => l.split(" ").pop()),
      ["dpkg-query"],
    );
  });

  it("read records a declared package the host no longer has as missing, and the next diff sees it", async () => {
    const ins = await baseline(["dpkg"]);
    const { id, outs } = await packages.create(ins);
    // What a refresh sees once a package was removed by hand: state said it was there.
    const claimed = { ...(outs as PackageOutputs), packages: ["dpkg", "okome-no-such-package"] };
    claimed.installed = { ...claimed.installed, "okome-no-such-package": "1.0" };
    const r = await packages.read(id, claimed);
    assert.deepEqual(Object.keys(r.props.installed), ["dpkg"]);
    assert.deepEqual(r.inputs.packages, ["dpkg"]);
    const next = await packages.diff(id, r.props as PackageOutputs, claimed);
    assert.equal(next.changes, true);
  });

  it("HostProbe runs its command as root and keeps stdout parsed as JSON; read runs it again", async () => {
    const ins = await probe(`printf '{"user":"%s","n":%d}' "$(id -un)" 1 | cat`);
    const { id, outs } = await probes.create(ins);
    assert.equal(id, "loopback:probe");
    assert.deepEqual(outs.result, { user: "root", n: 1 });
    assert.equal(outs.hostKey, ssh.sshd.hostKey);
    const again = await probes.read(id, outs as ProbeOutputs);
    assert.deepEqual(again.props.result, { user: "root", n: 1 });
    assert.deepEqual(again.inputs, ins);
    assert.equal(ssh.events("exec").length, 2);
  });

  it("HostProbe refresh on a host that lacks the command (rebuilt) keeps the last answer and asks for another probe", async () => {
    const script = path.join(os.tmpdir(), `okome-probe-${process.pid}.sh`);
    fs.writeFileSync(script, `#!/bin/sh\necho '{"pending":[]}'\n`, { mode: 0o755 });
    const ins = await probe(script);
    const { id, outs } = await probes.create(ins);
    fs.rmSync(script);
    const refreshed = await probes.read(id, outs as ProbeOutputs);
    assert.deepEqual(refreshed.props.result, { pending: [] });
    const diff = await probes.diff(id, refreshed.props as ProbeOutputs, ins);
    assert.equal(diff.changes, true, "the next up probes again");
  });

  it("HostProbe fails naming the host and the command's stderr when it exits non-zero", async () => {
    const ins = await probe("echo 'okome-facts: cannot read /run/okome' >&2; exit 3");
    await assert.rejects(probes.create(ins), {
      message:
        "loopback: probe `echo 'okome-facts: cannot read /run/okome' >&2; exit 3` exited 3: okome-facts: cannot read /run/okome",
    });
  });

  it("HostProbe fails naming the host when the output is not JSON", async () => {
    await assert.rejects(probes.create(await probe("uname -s")), (e: Error) => {
      assert.match(
        e.message,
        /^loopback: probe `uname -s` did not print JSON \([^]*\); it printed "Linux\\n"$/,
      );
      return true;
    });
  });

  it("PackageBaseline and HostProbe of one host share one SSH connection", async () => {
    await packages.create(await baseline(["dpkg"]));
    await probes.create(await probe("echo true"));
    assert.equal(ssh.events("connect").length, 1);
  });
});
