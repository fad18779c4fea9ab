/**
 * ConfigSet against the lab edge with the real `pulumi` binary (issue 4). Needs the lab
 * (`npm run lab:up`); without it every test fails, none is skipped.
 */
import { strict as assert } from "node:assert";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LabHost, onHost, requireLabHost } from "../support/lab";
import { PulumiStack } from "../support/pulumiStack";
import { newKeyPair } from "../support/keys";
import { fixtureStack, siteBody, txnLeftovers } from "./configSetFixture";

const SITE = "/etc/nginx/sites-enabled/okome-fixture";
const SECRET_FILE = "/etc/nginx/okome-fixture.secret";
const SSHD_DROPIN = "/etc/ssh/sshd_config.d/20-okome-fixture.conf";

describe("ConfigSet on the lab edge (real pulumi)", function () {
  this.timeout(300_000);
  let edge: LabHost;
  let stack: PulumiStack;

  const host = (cmd: string) => onHost(edge, cmd);
  /** inode, mtime (ns) and content hash: a rewrite changes the first two even with equal content. */
  const fileStamp = (p: string) =>
    host(`sudo -n stat -c '%i %Y.%y' ${p} && sudo -n sha256sum ${p}`);
  const leftovers = () => txnLeftovers(edge);
  const ok = (r: { code: number; output: string }) => assert.equal(r.code, 0, r.output);
  /** Samples the site every 200 ms while `work` runs. */
  const sampleDuring = async <T>(work: Promise<T>): Promise<{ result: T; bodies: string[] }> => {
    const bodies: string[] = [];
    let done = false;
    const sampler = (async () => {
      while (!done) {
        bodies.push(await siteBody(edge).catch((e: Error) => `error ${e.message}`));
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const result = await work;
    done = true;
    await sampler;
    return { result, bodies };
  };
  /** nginx serves the restored config once the re-activation's reload has replaced the workers. */
  const settlesTo = async (want: string) => {
    let got = "";
    for (let i = 0; i < 50 && got !== want; i++) {
      got = await siteBody(edge);
      if (got !== want) await new Promise((r) => setTimeout(r, 200));
    }
    return got;
  };

  before(async () => {
    edge = await requireLabHost("okome-edge");
    stack = await fixtureStack(edge);
  });
  after(async () => {
    if (!stack) return;
    const d = await stack.dispose();
    assert.equal(d.code, 0, `destroy failed:\n${d.output}`);
    assert.equal(
      host(`test -e ${SITE} && echo present || echo absent`).trim(),
      "absent",
      "destroy removes the file the set created",
    );
  });

  it("preview opens no SSH: it works against an address nothing answers on", async () => {
    const r = await stack.run(["preview", "--diff"], { FIXTURE_ADDRESS: "10.86.0.99" });
    ok(r);
    assert.match(r.output, /\+ pulumi-nodejs:dynamic\/okome:ConfigSet: \(create\)/);
    assert.match(r.output, /\+ 2 to create/);
    assert.deepEqual(r.connections, {});
  });

  it("up applies the set: the site answers v1", async () => {
    ok(await stack.run(["up", "--yes", "--skip-preview"]));
    assert.equal(await siteBody(edge), "200 okome-fixture-ok v1\n");
    assert.equal(leftovers(), "");
  });

  it("a second up reports no changes, opens no session and writes nothing", async () => {
    const before = fileStamp(SITE);
    const r = await stack.run(["up", "--yes"]);
    ok(r);
    assert.match(r.output, /2 unchanged/);
    assert.doesNotMatch(r.output, /to update|updated/);
    assert.deepEqual(r.connections, {});
    assert.equal(fileStamp(SITE), before);
  });

  it("preview of a changed config shows the changed lines, still without SSH", async () => {
    const r = await stack.run(["preview", "--diff"], {
      FIXTURE_VERSION: "v2",
      FIXTURE_ADDRESS: "10.86.0.99",
    });
    ok(r);
    assert.match(r.output, /^\s+-\s+return 200 "okome-fixture-ok v1\\n";$/m);
    assert.match(r.output, /^\s+\+\s+return 200 "okome-fixture-ok v2\\n";$/m);
    assert.deepEqual(r.connections, {});
  });

  it("a hand edit shows as drift in preview --refresh, and up --refresh puts the file back", async () => {
    const wanted = host(`cat ${SITE}`);
    host(
      `sudo -n sed -i 's/server_name okome-fixture;/server_name okome-fixture hand-edited;/' ${SITE}`,
    );
    const p = await stack.run(["preview", "--refresh", "--diff"]);
    ok(p);
    assert.match(
      p.output,
      /^\s+-\s+server_name okome-fixture hand-edited;$/m,
      "the update puts the program's line back",
    );
    assert.match(p.output, /^\s+\+\s+server_name okome-fixture;$/m);
    assert.match(p.output, /~ 1 to update/);
    assert.equal(p.connections[edge.name], 1, "refresh reads over one connection");
    const u = await stack.run(["up", "--refresh", "--yes", "--skip-preview"]);
    ok(u);
    assert.equal(host(`cat ${SITE}`), wanted);
    assert.equal(u.connections[edge.name], 1, "refresh and update share one connection");
  });

  it("a config that fails nginx -t is never activated: the error names the host and carries nginx's words", async () => {
    const before = await siteBody(edge);
    const stamp = fileStamp(SITE);
    const { result: r, bodies } = await sampleDuring(
      stack.run(["up", "--yes", "--skip-preview"], {
        FIXTURE_VARIANT: "invalid",
        FIXTURE_VERSION: "v3",
      }),
    );
    assert.notEqual(r.code, 0);
    assert.match(r.output, /okome-edge: nginx: validate \(`nginx -t`\) exited 1\./);
    assert.match(
      r.output,
      /unknown directive "okome_no_such_directive" in \/etc\/nginx\/sites-enabled\/okome-fixture:8/,
    );
    assert.match(r.output, /previous config was restored and re-activated/);
    assert.ok(bodies.length > 3);
    assert.deepEqual([...new Set(bodies)], [before], "served the previous config throughout");
    assert.equal(fileStamp(SITE).split("\n")[1], stamp.split("\n")[1], "same content as before");
    assert.equal(leftovers(), "");
  });

  it("a config that passes nginx -t but fails verify is rolled back the same way", async () => {
    const before = await siteBody(edge);
    const r = await stack.run(["up", "--yes", "--skip-preview"], {
      FIXTURE_VARIANT: "unhealthy",
      FIXTURE_VERSION: "v4",
    });
    assert.notEqual(r.code, 0);
    assert.match(r.output, /okome-edge: nginx: verify \(`.*`\) exited 1\./);
    assert.match(r.output, /never answered 'okome-fixture-ok v4'/);
    assert.match(r.output, /previous config was restored and re-activated/);
    // The unhealthy config was live while verify probed it; the rollback's reload brings v1 back.
    assert.equal(await settlesTo(before), before);
    assert.equal(leftovers(), "");
    // State still matches the host: the next up has nothing to do.
    const again = await stack.run(["up", "--yes"]);
    ok(again);
    assert.match(again.output, /2 unchanged/);
  });

  it("a secret file is masked in diffs and absent from the exported state", async () => {
    const password = `pw-${crypto.randomBytes(8).toString("hex")}`;
    const u = await stack.run(["up", "--yes", "--skip-preview"], { FIXTURE_SECRET: password });
    ok(u);
    assert.equal(host(`sudo -n cat ${SECRET_FILE}`), `password ${password}\n`);
    assert.equal(host(`sudo -n stat -c %a ${SECRET_FILE}`).trim(), "600");
    const exported = await stack.run(["stack", "export"]);
    ok(exported);
    assert.ok(!exported.output.includes(password), "no plaintext password in state");
    assert.match(
      exported.output,
      /"\/etc\/nginx\/okome-fixture\.secret": \{\s+"content": \{\s+"4dabf18193072939515e22adb298388d"/,
    );
    const next = `pw-${crypto.randomBytes(8).toString("hex")}`;
    const p = await stack.run(["preview", "--diff"], { FIXTURE_SECRET: next });
    ok(p);
    assert.match(p.output, /content: \[secret\]/);
    assert.ok(!p.output.includes(next) && !p.output.includes(password));
    // Dropping the file from the set puts back what was there before: nothing.
    ok(await stack.run(["up", "--yes", "--skip-preview"]));
    assert.equal(
      host(`sudo -n test -e ${SECRET_FILE} && echo present || echo absent`).trim(),
      "absent",
    );
  });

  it("rotating the deploy key as the README says (README: Recovery): the new key at the same path logs in, and only an authorized key does", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "okome-rotate-"));
    // The stack's key file, as ~/.ssh/okome_deploy is prod's; state records its path.
    const keyPath = path.join(dir, "okome_deploy");
    fs.copyFileSync(edge.privateKeyPath, keyPath);
    const rotating = await fixtureStack(edge, {
      FIXTURE_KEY: keyPath,
      FIXTURE_SITE_NAME: "okome-fixture-rotate",
      FIXTURE_PORT: "8091",
    });
    try {
      ok(await rotating.run(["up", "--yes", "--skip-preview"]));
      // Steps 1-3: a new key, authorized with the old one, moved over the old file.
      const pub = newKeyPair(path.join(dir, "okome_deploy.new"), "okome-deploy-rotation-test");
      host(`printf '%s\\n' '${pub}' >> ~/.ssh/authorized_keys`);
      fs.renameSync(path.join(dir, "okome_deploy.new"), keyPath);
      // Step 4: the refresh logs in with the new key.
      const r = await rotating.run(["preview", "--refresh"]);
      ok(r);
      assert.equal(r.connections[edge.name], 1, "the refresh logged in with the new key");
    } finally {
      host(
        `grep -vF 'okome-deploy-rotation-test' ~/.ssh/authorized_keys > ~/.ssh/ak.new; mv ~/.ssh/ak.new ~/.ssh/authorized_keys`,
      );
    }
    // The key the stack uses is the new one: once it is no longer authorized, it is refused.
    const refused = await rotating.run(["preview", "--refresh"]);
    assert.notEqual(refused.code, 0);
    assert.match(
      refused.output,
      /okome-edge \(okome@10\.86\.0\.20:22\): the deploy key was refused/,
    );
    fs.copyFileSync(edge.privateKeyPath, keyPath);
    const d = await rotating.dispose();
    assert.equal(d.code, 0, d.output);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("an sshd change that locks the deploy key out is undone by the host, and the next up logs in", async () => {
    const r = await stack.run(["up", "--yes", "--skip-preview"], {
      FIXTURE_SSHD: "lockout",
    });
    assert.notEqual(r.code, 0);
    assert.match(
      r.output,
      /okome-edge: sshd: a fresh SSH login with the deploy key failed after activation/,
    );
    assert.match(
      r.output,
      /restored the previous config by itself and the deploy key can log in again/,
    );
    assert.equal(host(`test -e ${SSHD_DROPIN} && echo present || echo absent`).trim(), "absent");
    assert.equal(leftovers(), "");
    const next = await stack.run(["up", "--yes", "--skip-preview"], {
      FIXTURE_SSHD: "harmless",
    });
    ok(next);
    assert.equal(host(`cat ${SSHD_DROPIN}`), "LoginGraceTime 90\n");
    // Removing the sshd set restores the original (no drop-in) behind the same switch.
    ok(await stack.run(["up", "--yes", "--skip-preview"]));
    assert.equal(host(`test -e ${SSHD_DROPIN} && echo present || echo absent`).trim(), "absent");
  });
});
