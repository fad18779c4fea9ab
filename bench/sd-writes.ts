/**
 * SD card writes on the qemu lab (issue 15, docs/STORAGE_SPEC.md): the bytes each Pi's root disk
 * is asked to write under the same steady traffic, once with the stock OS settings and once
 * hardened. Read from /sys/block/vda/stat (sectors written, 512 bytes each, counted by the
 * guest's block layer: what the card would receive, before its own write amplification), with a
 * `sync` at both ends of the window so writes held back by the dirty-page timers are counted.
 * - stock: the edges and the VIP pair alone (test/lab/fixtures/vip-pair), no OS baseline;
 * - hardened: the whole tier (index.ts with Pulumi.lab.yaml's settings).
 * Both on throw-away stacks, stock first (a fresh qemu lab has nothing hardened yet). Traffic:
 * RATE requests a second to the edge (the chaos drills' mix: 60% assets that go stale after 2 s,
 * 20% /api/models, 20% /session), WINDOW minutes after a minute of warm-up.
 * Needs the qemu lab (`npm run lab:up -- --driver qemu`): a container's disk is the machine's.
 * Run: npx tsx bench/sd-writes.ts [window minutes, default 5]
 */
import * as http from "node:http";
import * as path from "node:path";
import { LabHost, onHostAsync, requireLabHost } from "../test/support/lab";
import { PulumiStack, REPO, RunResult } from "../test/support/pulumiStack";

const WINDOW_MINUTES = Number(process.argv[2] ?? 5);
const RATE = 20;
const WARMUP_MS = 60_000;

const progress = (line: string) =>
  console.error(`[sd-writes ${new Date().toISOString().slice(11, 19)}] ${line}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function must(r: RunResult, what: string): RunResult {
  if (r.code !== 0) throw new Error(`${what} failed:\n${r.output}`);
  return r;
}

/** The chaos drills' mix of paths. */
function nextPath(i: number): string {
  const kind = i % 10;
  if (kind < 6) return `/assets/sd-${i % 20}.js?maxAge=2`;
  return kind < 8 ? "/api/models" : "/session";
}

/** Steady traffic to `address` until stopped; counts answers and failures. */
function traffic(address: string): { stop: () => Promise<{ ok: number; failed: number }> } {
  let sent = 0;
  let ok = 0;
  let failed = 0;
  const pending = new Set<Promise<void>>();
  const timer = setInterval(() => {
    const done = new Promise<void>((resolve) => {
      const req = http.get(`http://${address}${nextPath(sent++)}`, { timeout: 5000 }, (res) => {
        res.resume();
        res.on("end", () => {
          if (res.statusCode === 200) ok++;
          else failed++;
          resolve();
        });
      });
      req.on("timeout", () => req.destroy());
      req.on("error", () => {
        failed++;
        resolve();
      });
    });
    pending.add(done);
    void done.then(() => pending.delete(done));
  }, 1000 / RATE);
  return {
    stop: async () => {
      clearInterval(timer);
      await Promise.all(pending);
      return { ok, failed };
    },
  };
}

/** Sectors written to the root disk since boot, after a sync. */
async function sectorsWritten(host: LabHost): Promise<number> {
  const stat = await onHostAsync(host, "sync && cat /sys/block/vda/stat");
  const fields = stat.trim().split(/\s+/).map(Number);
  if (fields.length < 7 || Number.isNaN(fields[6]))
    throw new Error(`${host.name}: /sys/block/vda/stat: ${stat}`);
  return fields[6];
}

interface Row {
  readonly mode: string;
  readonly host: string;
  readonly bytes: number;
  readonly minutes: number;
}

async function measure(mode: string, stack: PulumiStack, edge: LabHost, model: LabHost) {
  progress(`${mode}: pulumi up`);
  must(await stack.run(["up", "--yes", "--skip-preview"]), `${mode}: up`);
  const load = traffic(edge.address);
  const rows: Row[] = [];
  try {
    progress(`${mode}: warm-up, ${WARMUP_MS / 1000} s of ${RATE} requests a second`);
    await sleep(WARMUP_MS);
    const before = await Promise.all([sectorsWritten(edge), sectorsWritten(model)]);
    const started = Date.now();
    for (let m = 1; m <= WINDOW_MINUTES; m++) {
      await sleep(60_000);
      progress(`${mode}: minute ${m}/${WINDOW_MINUTES}`);
    }
    const after = await Promise.all([sectorsWritten(edge), sectorsWritten(model)]);
    const minutes = (Date.now() - started) / 60_000;
    [edge, model].forEach((host, i) =>
      rows.push({ mode, host: host.name, bytes: (after[i] - before[i]) * 512, minutes }),
    );
  } finally {
    const { ok, failed } = await load.stop();
    progress(`${mode}: traffic ${ok} answered 200, ${failed} other or failed`);
  }
  return rows;
}

async function main() {
  const edge = await requireLabHost("okome-edge");
  const model = await requireLabHost("okome-model");
  if (edge.driver !== "qemu")
    throw new Error(`the lab runs ${edge.driver}: a container's disk is the machine's; use qemu`);
  const rows: Row[] = [];
  // Stock first: a fresh qemu lab has nothing hardened yet.
  const modes = [
    { mode: "stock OS settings", prefix: "sdstock", programDir: "test/lab/fixtures/vip-pair" },
    { mode: "hardened (whole tier)", prefix: "sdhard", programDir: "." },
  ];
  for (const { mode, prefix, programDir } of modes) {
    const stack = await PulumiStack.create({
      programDir: path.join(REPO, programDir),
      prefix,
      passphrase: "okome-sd-writes-bench",
      settingsFrom: path.join(REPO, "Pulumi.lab.yaml"),
    });
    try {
      rows.push(...(await measure(mode, stack, edge, model)));
    } finally {
      must(await stack.dispose(), `${mode}: destroy`);
    }
  }

  const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
  console.log(
    `\nSD writes: qemu lab, ${RATE} requests/s to the edge, ${WINDOW_MINUTES} min windows, /sys/block/vda/stat\n`,
  );
  console.log(
    `${"mode".padEnd(24)}${"host".padEnd(13)}${"written".padStart(12)}${"MB/hour".padStart(10)}`,
  );
  for (const r of rows)
    console.log(
      `${r.mode.padEnd(24)}${r.host.padEnd(13)}${`${mb(r.bytes)} MB`.padStart(12)}${mb((r.bytes * 60) / r.minutes).padStart(10)}`,
    );
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
