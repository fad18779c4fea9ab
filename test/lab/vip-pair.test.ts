/**
 * VipPair end to end (issue 13): the real `pulumi` deploys the edges and the VIP pair
 * (fixtures/vip-pair) on a throw-away stack to both lab hosts, and the VIP (.18) is watched
 * from this machine every 20 ms. On qemu keepalived tracks nginx with track_process, as on a Pi;
 * under nspawn, which has no proc connector, with the file nginx's unit writes. Each failover's
 * window is printed with the driver (bench/vip-failover.ts measures it properly). Needs
 * `npm run lab:up`; without the lab every test fails, none is skipped.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { LabHost, onHostAsync, requireLabHost } from "../support/lab";
import { LabClientNetns } from "../support/netns";
import { PulumiStack, REPO, RunResult } from "../support/pulumiStack";
import { sh, sleep } from "./edgeLab";
import {
  KILL_NGINX,
  VIP,
  VipWatch,
  failoverWindow,
  holders,
  labPower,
  slowEdgeLink,
  whoAnswers,
} from "./vipLab";

/** Short, so the recovery test waits for it within the test's time. */
const PREEMPT_DELAY = 15;
const VRID = 51;
const STRANGER_ADDRESS = "10.86.0.66";
const METRICS = "/run/okome/textfile/okome_vip.prom";
const CONF = "/etc/keepalived/keepalived.conf";

describe("VipPair on the lab (real pulumi)", function () {
  this.timeout(900_000);
  let edge: LabHost;
  let model: LabHost;
  let stack: PulumiStack;
  let driver: string;
  const ok = (r: RunResult) => assert.equal(r.code, 0, r.output);
  const transitions = (host: LabHost) =>
    Number(sh(host, `sudo -n grep '^okome_vip_transitions_total' ${METRICS}`).split(" ").pop());
  /** Watches the VIP while `act` runs, until `to` answers; returns the samples. */
  const failover = async (act: () => Promise<unknown>, to: string, timeoutMs = 30_000) => {
    const watch = new VipWatch();
    try {
      await watch.waitFor(edge.name, 10_000);
      await act();
      await watch.waitFor(to, timeoutMs);
    } finally {
      await watch.stop();
    }
    return watch.samples;
  };

  before(async () => {
    edge = await requireLabHost("okome-edge");
    model = await requireLabHost("okome-model");
    driver = edge.driver;
    stack = await PulumiStack.create({
      programDir: path.join(__dirname, "fixtures/vip-pair"),
      prefix: "vip",
      passphrase: "okome-vip-pair-lab-test",
      settingsFrom: path.join(REPO, "Pulumi.lab.yaml"),
    });
    const tracking = driver === "qemu" ? "process" : "file";
    ok(await stack.run(["config", "set", "vipNginxTracking", tracking]));
    ok(await stack.run(["config", "set", "vipPreemptDelaySeconds", String(PREEMPT_DELAY)]));
  });
  after(async () => {
    if (!stack) return;
    const d = await stack.dispose();
    assert.equal(d.code, 0, `destroy failed:\n${d.output}`);
  });

  it("up puts the VIP on the edge: it answers from .20", async () => {
    ok(await stack.run(["up", "--yes", "--skip-preview"]));
    assert.equal(await whoAnswers(), edge.name);
    assert.match(sh(edge, "ip -4 -o addr show dev eth0"), new RegExp(` ${VIP}/24 `));
    assert.doesNotMatch(sh(model, "ip -4 -o addr show dev eth0"), new RegExp(` ${VIP}/`));
  });

  it("nginx killed on .20: the VIP answers from .19", async () => {
    const samples = await failover(() => onHostAsync(edge, KILL_NGINX), model.name);
    console.log(
      `      nginx death (${driver}): ${failoverWindow(samples, edge.name, model.name)} ms without an answer`,
    );
    assert.match(
      sh(edge, "sudo -n journalctl -t okome-vip -n 3 -o cat --no-pager"),
      /MASTER -> FAULT/,
    );
  });

  it(`recovery: the VIP stays on .19 for the preempt delay (${PREEMPT_DELAY} s), then moves back exactly once`, async () => {
    const watch = new VipWatch(100);
    const started = Date.now();
    try {
      sh(edge, "sudo -n systemctl start nginx");
      await watch.waitFor(edge.name, (PREEMPT_DELAY + 30) * 1000);
      await sleep(5000);
    } finally {
      await watch.stop();
    }
    assert.deepEqual(holders(watch.samples), [model.name, edge.name], "one move back, no flap");
    const back = watch.samples.find((s) => s.node === edge.name)!.at;
    // The edge's checks need `rise` seconds before the delay starts: at least the delay itself.
    assert.ok(
      back - started >= PREEMPT_DELAY * 1000,
      `moved back after ${back - started} ms, before the ${PREEMPT_DELAY} s delay`,
    );
    console.log(`      moved back after ${((back - started) / 1000).toFixed(1)} s (${driver})`);
  });

  it("no flapping: 60 s of CPU stress on the master and a slow link to it cause no transition", async () => {
    const before = [transitions(edge), transitions(model)];
    const link = await slowEdgeLink(edge);
    const watch = new VipWatch(100);
    try {
      // A busy loop per core of the machine (a VM has one, a container shares the machine's two), 60 s.
      // Asynchronous: the watch's probes go out meanwhile.
      await onHostAsync(
        edge,
        "for i in 1 2; do timeout 60 sh -c 'while :; do :; done' & done; wait",
      );
    } finally {
      await link.undo();
      await watch.stop();
    }
    console.log(`      60 s of stress with ${link.what} (${driver})`);
    assert.deepEqual([transitions(edge), transitions(model)], before, "transitions");
    assert.deepEqual(holders(watch.samples), [edge.name]);
  });

  it("VRRP from a third lab netns with the same router id is dropped and ignored", async () => {
    const before = [transitions(edge), transitions(model)];
    const dropped = () =>
      Number(/counter packets (\d+)/.exec(sh(edge, "sudo -n nft list table inet okome_vrrp"))?.[1]);
    const droppedBefore = dropped();
    const stranger = new LabClientNetns("okome-vrrp", STRANGER_ADDRESS);
    try {
      const argv = stranger.wrap([
        "python3",
        path.join(__dirname, "tools/vrrp-advert.py"),
        STRANGER_ADDRESS,
        String(VRID),
        "254",
        VIP,
        "30",
        "0.1",
        edge.address,
        model.address,
      ]);
      const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8", timeout: 30_000 });
      assert.equal(r.status, 0, r.stderr);
    } finally {
      stranger.remove();
    }
    assert.ok(
      dropped() >= droppedBefore + 30,
      `dropped ${dropped() - droppedBefore} of 30 adverts`,
    );
    assert.deepEqual([transitions(edge), transitions(model)], before, "transitions");
    assert.equal(await whoAnswers(), edge.name);
  });

  it("split brain: VRRP blocked between the nodes for 10 s, then one MASTER again within a few adverts", async () => {
    const block =
      "sudo -n nft add table inet okome_test && sudo -n nft 'add chain inet okome_test input { type filter hook input priority -20; }' && sudo -n nft add rule inet okome_test input ip protocol vrrp drop";
    const unblock = "date +%s.%N && sudo -n nft delete table inet okome_test";
    for (const host of [edge, model]) sh(host, block);
    let restoredAt = 0;
    try {
      await sleep(10_000);
    } finally {
      restoredAt = Number(sh(model, unblock).split("\n")[0]);
      sh(edge, "sudo -n nft delete table inet okome_test");
    }
    await sleep(3000);
    // The model's journal, on its clock: when it took the VIP and when it gave it back.
    const lines = sh(
      model,
      "sudo -n journalctl -t okome-vip -o short-unix --no-pager -n 4 | grep -E 'BACKUP -> MASTER|MASTER -> BACKUP'",
    ).split("\n");
    const at = (what: string) =>
      Number(
        lines
          .filter((l) => l.includes(what))
          .at(-1)
          ?.split(" ")[0],
      );
    const tookAt = at("BACKUP -> MASTER");
    const gaveAt = at("MASTER -> BACKUP");
    assert.ok(gaveAt > tookAt, lines.join("\n"));
    const converged = gaveAt - restoredAt;
    console.log(
      `      split brain (${driver}): both held the VIP ${(gaveAt - tookAt).toFixed(1)} s, one MASTER ${converged.toFixed(2)} s after VRRP came back`,
    );
    assert.ok(converged < 2, `one MASTER only ${converged} s after VRRP came back`);
    // Clients that followed the backup's ARP come back at the master's next refresh (5 s).
    const watch = new VipWatch(100);
    try {
      await watch.waitFor(edge.name, 10_000);
    } finally {
      await watch.stop();
    }
    assert.doesNotMatch(sh(model, "ip -4 -o addr show dev eth0"), new RegExp(` ${VIP}/`));
  });

  it("a config keepalived -t refuses is rolled back, and the old one still runs", async () => {
    const before = sh(edge, `sudo -n sha256sum ${CONF}`);
    ok(await stack.run(["config", "set", "vipInterface", "okome-nope0"]));
    try {
      const r = await stack.run(["up", "--yes", "--skip-preview"]);
      assert.notEqual(r.code, 0, r.output);
      assert.match(r.output, /keepalived -t/);
      assert.match(r.output, /okome-nope0/);
    } finally {
      ok(await stack.run(["config", "rm", "vipInterface"]));
    }
    assert.equal(sh(edge, `sudo -n sha256sum ${CONF}`), before);
    assert.equal(sh(edge, "systemctl is-active keepalived"), "active");
    assert.equal(await whoAnswers(), edge.name);
    ok(await stack.run(["up", "--yes", "--skip-preview", "--refresh"]));
  });

  it("the edge host powered off: the VIP answers from .19; powered on, it comes back after the delay", async () => {
    const samples = await failover(() => labPower("off", "edge"), model.name);
    console.log(
      `      host death (${driver}): ${failoverWindow(samples, edge.name, model.name)} ms without an answer`,
    );
    await labPower("on", "edge");
    const watch = new VipWatch(200);
    try {
      await watch.waitFor(edge.name, (PREEMPT_DELAY + 120) * 1000);
    } finally {
      await watch.stop();
    }
    assert.deepEqual(holders(watch.samples), [model.name, edge.name]);
  });

  it("validates with the validation suite's VIP checks", async () => {
    const r = await stack.validate("vip");
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /^6 passed, 0 failed$/m);
  });
});
