/**
 * The config transaction as an attacker and a flaky network see it, on the lab edge with the
 * real `pulumi` (issue 9): a service user planting links, connections cut and the provider
 * killed at each phase, a reboot while the dead-man switch is armed, two stacks at once.
 * Needs the lab (`npm run lab:up`); without it every test fails, none is skipped.
 */
import { strict as assert } from "node:assert";
import { LabHost, onHost, requireLabHost } from "../support/lab";
import { PulumiStack, RunResult } from "../support/pulumiStack";
import { fixtureStack, siteBody, txnLeftovers } from "./configSetFixture";

const SITE = "/etc/nginx/sites-enabled/okome-fixture";
const SHARED = "/etc/okome-fixture-shared";
const VICTIM = "/etc/okome-fixture-victim";
const SSHD_DROPIN = "/etc/ssh/sshd_config.d/20-okome-fixture.conf";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("ConfigSet hardening on the lab edge (real pulumi)", function () {
  this.timeout(600_000);
  let edge: LabHost;
  const stacks: PulumiStack[] = [];

  const host = (cmd: string) => onHost(edge, cmd);
  const exists = (p: string) =>
    host(`sudo -n test -e ${p} && echo yes || echo no`).trim() === "yes";
  const ok = (r: RunResult) => assert.equal(r.code, 0, r.output);
  /** A fixture stack; each manages a site of its own, so no stack's "original" is another's file. */
  const newStack = async (extra: Record<string, string> = {}) => {
    const s = await fixtureStack(edge, extra);
    stacks.push(s);
    return s;
  };
  /** The states of the transactions still on the host (dir name -> state). */
  const txnStates = () =>
    host(
      `sudo -n sh -c 'for d in /var/lib/okome/txn/*/; do [ -f "$d/state" ] && echo "$(basename "$d") $(cat "$d/state")"; done; true'`,
    ).trim();
  const untilNoneRunning = async () => {
    for (let i = 0; i < 120; i++) {
      if (!/ (queued|running|armed)$/m.test(txnStates())) return;
      await sleep(500);
    }
    assert.fail(`transactions still running on the host:\n${txnStates()}`);
  };
  /** Makes every transaction dir look older than the grace a later run gives its provider. */
  const ageTxnDirs = () =>
    host(
      `sudo -n sh -c 'for d in /var/lib/okome/txn/*/; do touch -d "-5 min" "$d/state"; done; true'`,
    );

  before(async () => {
    edge = await requireLabHost("okome-edge");
  });
  after(async () => {
    for (const s of stacks) {
      const d = await s.dispose();
      assert.equal(d.code, 0, `destroy failed:\n${d.output}`);
    }
    host(`sudo -n rm -rf ${SHARED} ${VICTIM}`);
  });

  describe("a service user cannot steer root's writes", () => {
    let stack: PulumiStack;
    const asRedis = (cmd: string) => host(`sudo -n -u redis sh -c '${cmd}'`);

    before(async () => {
      // A directory the redis user may write, as Debian's package leaves /etc/redis.
      host(
        `sudo -n sh -c 'rm -rf ${SHARED} ${VICTIM} && install -d -o redis -g redis -m 2770 ${SHARED} && echo victim > ${VICTIM} && chmod 644 ${VICTIM}'`,
      );
      stack = await newStack({ FIXTURE_SHARED_DIR: SHARED });
    });

    it("the previous provider's fixed temp name, planted as a link by redis, leads nowhere", async () => {
      asRedis(`ln -s ${VICTIM} ${SHARED}/.shared.conf.okome-new`);
      ok(await stack.run(["up", "--yes", "--skip-preview"], { FIXTURE_SHARED_EXPECTED: "yes" }));
      assert.equal(host(`cat ${VICTIM}`), "victim\n", "root never wrote through the planted link");
      assert.equal(
        host(`sudo -n stat -c '%U:%G %a' ${SHARED}/shared.conf`).trim(),
        "root:root 640",
      );
      assert.equal(txnLeftovers(edge), "");
    });

    it("a managed path that redis turned into a link is refused by name, and its target untouched", async () => {
      asRedis(`rm -f ${SHARED}/shared.conf && ln -s ${VICTIM} ${SHARED}/shared.conf`);
      const r = await stack.run(["up", "--yes", "--skip-preview"], {
        FIXTURE_SHARED_EXPECTED: "yes",
        FIXTURE_VERSION: "v2",
      });
      assert.notEqual(r.code, 0);
      assert.match(
        r.output,
        new RegExp(`${SHARED}/shared\\.conf is a symbolic link \\(to ${VICTIM}\\)`),
      );
      assert.match(r.output, /Nothing was written; the host is unchanged\./);
      assert.equal(host(`cat ${VICTIM}`), "victim\n");
      assert.equal(txnLeftovers(edge), "");
      asRedis(`rm -f ${SHARED}/shared.conf`);
    });

    it("a parent a non-root user can write is refused, naming it, unless the set expects it", async () => {
      const r = await stack.run(["up", "--yes", "--skip-preview"], { FIXTURE_VERSION: "v3" });
      assert.notEqual(r.code, 0);
      assert.match(
        r.output,
        new RegExp(`its parent ${SHARED} \\(redis:redis 2770\\) can be written by a non-root user`),
      );
      assert.equal(exists(`${SHARED}/shared.conf`), false, "nothing written");
    });
  });

  describe("a dropped connection or a vanished provider never leaves a half-applied set", () => {
    let stack: PulumiStack;
    let version = 0;
    /** The version the site file holds, and the one nginx serves. */
    const onDiskAndServed = async () => {
      const onDisk = /okome-fixture-ok (v\d+)/.exec(host(`cat ${SITE}`))?.[1];
      const served = /okome-fixture-ok (v\d+)/.exec(await siteBody(edge))?.[1];
      return { onDisk, served };
    };

    before(async () => {
      stack = await newStack({ FIXTURE_SLOW: "3" });
      ok(await stack.run(["up", "--yes", "--skip-preview"], { FIXTURE_VERSION: `v${version}` }));
    });

    for (const phase of ["upload", "write", "validate", "activate"]) {
      it(`cut at ${phase}: the provider reconnects, and the host ends on the new, verified config`, async () => {
        const next = `v${++version}`;
        const r = await stack.run(["up", "--yes", "--skip-preview"], {
          FIXTURE_VERSION: next,
          OKOME_TXN_FAULT: `cut:${phase}`,
        });
        ok(r);
        assert.equal(r.connections[edge.name], 2, "the cut connection and one reconnection");
        assert.deepEqual(await onDiskAndServed(), { onDisk: next, served: next });
        assert.equal(txnLeftovers(edge), "");
      });
    }

    for (const phase of ["validate", "activate"]) {
      it(`provider killed at ${phase}: the host finishes on its own, and the next run reports it`, async () => {
        const before = `v${version}`;
        const next = `v${++version}`;
        const r = await stack.run(["up", "--yes", "--skip-preview"], {
          FIXTURE_VERSION: next,
          OKOME_TXN_FAULT: `exit:${phase}`,
        });
        assert.notEqual(r.code, 0, "the provider died");
        await untilNoneRunning();
        const end = await onDiskAndServed();
        assert.ok(
          (end.onDisk === next && end.served === next) ||
            (end.onDisk === before && end.served === before),
          `old or new, never in between: ${JSON.stringify(end)}`,
        );
        assert.equal(
          host("ls -A /var/tmp | grep okome || true").trim(),
          "",
          "no backups (secrets) in /var/tmp",
        );
        ageTxnDirs();
        const again = await stack.run(["up", "--yes", "--skip-preview"], { FIXTURE_VERSION: next });
        ok(again);
        assert.match(
          again.output,
          /warning: okome-edge: an earlier transaction nginx-\S+ had ended done with no provider left to report it/,
        );
        assert.deepEqual(await onDiskAndServed(), { onDisk: next, served: next });
        assert.equal(txnLeftovers(edge), "");
      });
    }
  });

  describe("the dead-man switch survives a reboot", () => {
    it("a change never confirmed (the provider died) is restored by the boot unit before the deadline", async () => {
      const stack = await newStack({ FIXTURE_SSHD: "harmless", FIXTURE_DEADMAN_SECONDS: "300" });
      const r = await stack.run(["up", "--yes", "--skip-preview"], {
        OKOME_TXN_FAULT: "exit:armed",
      });
      assert.notEqual(r.code, 0);
      assert.equal(host(`cat ${SSHD_DROPIN}`), "LoginGraceTime 90\n", "armed: the change is live");
      assert.match(txnStates(), /^sshd-\S+ armed$/m);
      const bootBefore = host("cat /proc/sys/kernel/random/boot_id").trim();
      // /run is a tmpfs of each boot: the marker tells the old boot from the new one.
      host("sudo -n touch /run/okome-before-reboot");
      // Scheduled a second out, so this SSH command returns before the host goes down.
      host("sudo -n systemd-run --quiet --on-active=1 systemctl reboot");
      const started = Date.now();
      let back = false;
      while (!back && Date.now() - started < 240_000) {
        await sleep(2000);
        try {
          back =
            host(
              "test -e /run/okome-before-reboot && echo old || { systemctl is-system-running --wait >/dev/null 2>&1; echo new; }",
            ).trim() === "new";
        } catch {
          back = false;
        }
      }
      assert.ok(back, "the edge came back after the reboot");
      assert.ok(Date.now() - started < 300_000, "back before the dead-man deadline");
      assert.equal(exists(SSHD_DROPIN), false, "the unconfirmed drop-in is gone");
      assert.match(
        host("sudo -n journalctl -b -u okome-txn-recover --no-pager"),
        /sshd-\S+: rolled-back/,
      );
      if (edge.driver === "qemu") {
        assert.notEqual(host("cat /proc/sys/kernel/random/boot_id").trim(), bootBefore);
      }
      ageTxnDirs();
      ok(await stack.run(["up", "--yes", "--skip-preview"]));
      assert.equal(host(`cat ${SSHD_DROPIN}`), "LoginGraceTime 90\n");
      assert.equal(txnLeftovers(edge), "");
    });
  });

  describe("two runs on one host serialize", () => {
    it("a second stack waits for the host lock, and one that cannot wait names the holder", async () => {
      const a = await newStack({ FIXTURE_SLOW: "6" });
      const b = await newStack({ FIXTURE_SITE_NAME: "okome-fixture-b", FIXTURE_PORT: "8090" });
      ok(await b.run(["up", "--yes", "--skip-preview"]));
      // a holds the lock for about 12 s (validate and activate each sleep 6 s).
      const slow = a.run(["up", "--yes", "--skip-preview"], { FIXTURE_VERSION: "v10" });
      await sleep(3000);
      const impatient = await b.run(["up", "--yes", "--skip-preview"], {
        FIXTURE_VERSION: "v11",
        FIXTURE_LOCK_WAIT: "2",
      });
      assert.notEqual(impatient.code, 0);
      assert.match(impatient.output, /okome-edge: nginx: lock failed\./);
      assert.match(
        impatient.output,
        /Another transaction holds this host's lock: nginx nginx-\S+ \(okome@\S+ pid \d+\) since \d{4}-\d\d-\d\dT/,
      );
      assert.match(impatient.output, /Nothing was written; the host is unchanged\./);
      const patientStart = Date.now();
      const patient = b.run(["up", "--yes", "--skip-preview"], { FIXTURE_VERSION: "v12" });
      const [ra, rb] = await Promise.all([slow, patient]);
      ok(ra);
      ok(rb);
      assert.ok(Date.now() - patientStart > 4000, "the second run waited for the first");
      assert.equal(await siteBody(edge, 8090), "200 okome-fixture-ok v12\n");
      assert.equal(await siteBody(edge), "200 okome-fixture-ok v10\n");
    });
  });
});
