/**
 * PackageBaseline and HostProbe under the real pulumi engine, against the loopback sshd: the
 * serialized providers load their implementations at call time, up records what dpkg has,
 * and a preview lists a package to install from state alone, opening no SSH connection.
 * Nothing here installs a package (see test/lab/packages.test.ts).
 */
import { strict as assert } from "node:assert";
import * as path from "node:path";
import { PulumiStack, REPO, RunResult } from "../support/pulumiStack";
import { useLoopbackSshd } from "./sshd";

const ok = (r: RunResult) => assert.equal(r.code, 0, r.output);

describe("PackageBaseline and HostProbe with the real pulumi (loopback sshd)", function () {
  this.timeout(300_000);
  const ssh = useLoopbackSshd();
  let stack: PulumiStack;

  before(async () => {
    stack = await PulumiStack.create({
      programDir: path.join(REPO, "test/loopback/fixtures/packages"),
      prefix: "pkg",
      passphrase: "okome-packages-test",
      env: {
        FIXTURE_PORT: String(ssh.sshd.port),
        FIXTURE_KEY: ssh.sshd.clientKeyPath,
        FIXTURE_HOST_KEY: ssh.sshd.hostKey,
        FIXTURE_PACKAGES: "dpkg",
      },
    });
  });
  after(async () => {
    // Deleting either resource touches nothing on the host.
    if (stack) ok(await stack.dispose());
  });

  it("up records the installed versions and the probe's JSON over one connection", async () => {
    const r = await stack.run(["up", "--yes", "--skip-preview"]);
    ok(r);
    assert.deepEqual(r.connections, { loopback: 1 });
    const outs = await stack.outputs();
    assert.deepEqual(Object.keys(outs.installed as object), ["dpkg"]);
    assert.deepEqual(outs.facts, { user: "root" });
  });

  it("preview lists a package to install by name and opens no SSH connection", async () => {
    const r = await stack.run(["preview", "--diff"], { FIXTURE_PACKAGES: "dpkg,openssh-server" });
    ok(r);
    assert.match(r.output, /~ pulumi-nodejs:dynamic\/okome:PackageBaseline: \(update\)/);
    assert.match(r.output, /\+ \[1\]: "openssh-server"/);
    assert.equal(r.sshLog, "");
  });

  it("a missing package with install=false fails the up naming the host, the package and the stack key", async () => {
    const r = await stack.run(["up", "--yes", "--skip-preview"], {
      FIXTURE_PACKAGES: "dpkg,okome-no-such-package",
    });
    assert.notEqual(r.code, 0);
    assert.match(
      r.output,
      /loopback: packages not installed: okome-no-such-package\. This stack does not install packages \(okome-cache:installPackages is false\): bake them into the image, or set okome-cache:installPackages true/,
    );
  });
});
