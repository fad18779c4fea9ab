/**
 * VIP failover on the lab (needs `npm run lab:up`): the failed-request window when nginx dies on
 * the master and when the master host dies, probing the VIP every 20 ms, median of 5 runs each,
 * with the lab driver named. The edges and the VIP pair (test/lab/fixtures/vip-pair) are deployed
 * on a throw-away stack with a 5 s preempt delay; keepalived tracks nginx with track_process on
 * qemu and with nginx's track file under nspawn. Goals: under 0.3 s for nginx death, under 0.5 s
 * for host death. Run: npx tsx bench/vip-failover.ts [runs]
 */
import * as path from "node:path";
import { onHostAsync, requireLabHost } from "../test/support/lab";
import { PulumiStack, REPO, RunResult } from "../test/support/pulumiStack";
import { KILL_NGINX, VipWatch, failoverWindow, labPower } from "../test/lab/vipLab";

const RUNS = Number(process.argv[2] ?? 5);
const PREEMPT_DELAY = 5;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const edge = await requireLabHost("okome-edge");
  const model = await requireLabHost("okome-model");
  const stack = await PulumiStack.create({
    programDir: path.join(REPO, "test/lab/fixtures/vip-pair"),
    prefix: "vipbench",
    passphrase: "okome-vip-failover-bench",
    settingsFrom: path.join(REPO, "Pulumi.lab.yaml"),
  });
  const must = (r: RunResult, what: string) => {
    if (r.code !== 0) throw new Error(`${what} failed:\n${r.output}`);
  };
  /** One failover: the window while `fail` runs, then `recover` and the VIP back on the edge. */
  const round = async (fail: () => Promise<unknown>, recover: () => Promise<unknown>) => {
    const watch = new VipWatch(20);
    try {
      await watch.waitFor(edge.name, 10_000);
      await fail();
      await watch.waitFor(model.name, 30_000);
    } finally {
      await watch.stop();
    }
    await recover();
    const back = new VipWatch(200);
    try {
      await back.waitFor(edge.name, (PREEMPT_DELAY + 180) * 1000);
    } finally {
      await back.stop();
    }
    return failoverWindow(watch.samples, edge.name, model.name);
  };
  const tracking = edge.driver === "qemu" ? "process" : "file";
  try {
    must(await stack.run(["config", "set", "vipNginxTracking", tracking]), "config");
    must(
      await stack.run(["config", "set", "vipPreemptDelaySeconds", String(PREEMPT_DELAY)]),
      "config",
    );
    must(await stack.run(["up", "--yes", "--skip-preview"]), "up");
    const nginx: number[] = [];
    const host: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      nginx.push(
        await round(
          () => onHostAsync(edge, KILL_NGINX),
          () => onHostAsync(edge, "sudo -n systemctl start nginx"),
        ),
      );
      console.log(`nginx death, run ${i + 1}: ${nginx[i]} ms`);
    }
    for (let i = 0; i < RUNS; i++) {
      host.push(
        await round(
          () => labPower("off", "edge"),
          () => labPower("on", "edge"),
        ),
      );
      console.log(`host death, run ${i + 1}: ${host[i]} ms`);
    }
    console.log(
      `\nVIP failover, lab driver ${edge.driver} (nginx tracked by ${tracking}), probes every 20 ms, median of ${RUNS}:\n` +
        `  nginx killed on the master: ${median(nginx)} ms without an answer (goal < 300 ms); runs ${nginx.join(", ")}\n` +
        `  master host powered off:    ${median(host)} ms without an answer (goal < 500 ms); runs ${host.join(", ")}`,
    );
  } finally {
    const d = await stack.dispose();
    if (d.code !== 0) console.error(`destroy failed:\n${d.output}`);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
