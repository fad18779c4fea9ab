/**
 * Converge speed on the lab (issue 16; needs `npm run lab:up`), in one run on the same lab, real
 * pulumi, lab driver named, the median wall time of RUNS runs (default 7) of each:
 * - the engine floor: `pulumi up` of an empty TypeScript program (bench/fixtures/empty-program);
 * - the whole tier (index.ts with Pulumi.lab.yaml's settings on a throw-away stack, both hosts,
 *   every component): no-op `pulumi up`, `pulumi up --refresh` and `pulumi preview`, with the
 *   SSH connections each opens per host;
 * - the Ansible yardstick (bench/ansibleYardstick.ts), generated from that stack's state, with
 *   stock settings and with pipelining. Its first run must report changed=0: it then manages
 *   exactly the files the stack manages;
 * - the growth of `pulumi up --refresh` with the config sets on one host (the ConfigSet fixture
 *   with 4, 8, 16 and 32 sets) and its slope in ms per set;
 * - where one `up --refresh` of the tier spends its time, from the engine's log
 *   (bench/convergeBreakdown.ts).
 * Goals: up --refresh at least 3x faster than the play; at most 50 ms per extra set; preview opens
 * no SSH connection; up --refresh one per host. Like the lab tests that deploy index.ts, it needs
 * hosts that the lab stack does not hold (`pulumi destroy -s lab` first): the throw-away stack's
 * new Redis admin secret cannot take over a server another stack configured. ansible-core is installed here from Debian when
 * missing: a bench tool, not a project dependency.
 * Run: npx tsx bench/converge.ts [runs]
 */
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { hostWork, playbook, type StackExport } from "./ansibleYardstick";
import { breakdown, type Breakdown } from "./convergeBreakdown";
import { fixtureStack } from "../test/lab/configSetFixture";
import { requireLabHost } from "../test/support/lab";
import { PulumiStack, REPO, RunResult } from "../test/support/pulumiStack";

const RUNS = Number(process.argv[2] ?? 7);
const GROWTH_SETS = [4, 8, 16, 32];

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const progress = (line: string) =>
  console.error(`[converge ${new Date().toISOString().slice(11, 19)}] ${line}`);

function must(r: RunResult, what: string): RunResult {
  if (r.code !== 0) throw new Error(`${what} failed:\n${r.output}`);
  return r;
}

/** `runs` timings of `command`, with a progress line per run. */
async function timed(what: string, command: () => Promise<RunResult>): Promise<RunResult[]> {
  const runs: RunResult[] = [];
  for (let i = 1; i <= RUNS; i++) {
    runs.push(must(await command(), what));
    progress(`${what}: run ${i}/${RUNS} ${secs(runs[i - 1].ms)}`);
  }
  return runs;
}

/** The SSH connections of each run, per host, as "a/b" when runs differ. */
function connections(runs: readonly RunResult[], hosts: readonly string[]): string {
  return hosts
    .map((h) => `${h} ${[...new Set(runs.map((r) => r.connections[h] ?? 0))].join("/")}`)
    .join(", ");
}

function installAnsible(): void {
  try {
    execFileSync("ansible-playbook", ["--version"], { stdio: "ignore" });
  } catch {
    progress("installing ansible-core (Debian package) for the yardstick");
    execFileSync("apt-get", ["install", "-y", "-q", "ansible-core"], {
      stdio: "inherit",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
  }
}

/** One ansible-playbook run of the yardstick, each with a fresh SSH control dir (a cold start). */
function ansibleRun(dir: string, pipelining: boolean, run: number): Promise<RunResult> {
  const controlDir = path.join(dir, `cp-${pipelining ? "p" : "s"}-${run}`);
  const env = {
    ...process.env,
    // An empty ansible.cfg: stock settings, whatever the machine's /etc/ansible says.
    ANSIBLE_CONFIG: path.join(dir, "ansible.cfg"),
    ANSIBLE_PIPELINING: pipelining ? "True" : "False",
    ANSIBLE_SSH_CONTROL_PATH_DIR: controlDir,
    ANSIBLE_LOCAL_TEMP: path.join(dir, "tmp"),
    ANSIBLE_NOCOLOR: "1",
    ANSIBLE_RETRY_FILES_ENABLED: "False",
  };
  const started = Date.now();
  return new Promise((resolve) =>
    execFile(
      "ansible-playbook",
      ["-i", "inventory.yml", "converge.yml"],
      { cwd: dir, env, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const ms = Date.now() - started;
        const recap = stdout.split("PLAY RECAP")[1] ?? "";
        const failed = /(failed|unreachable)=[1-9]/.test(recap);
        const changed = /changed=[1-9]/.test(recap);
        resolve({
          code: err || failed || !recap ? 1 : changed ? 3 : 0,
          output: stdout + stderr,
          stdout,
          ms,
          sshLog: "",
          connections: {},
        });
      },
    ),
  );
}

/** Least-squares slope of y over x. */
function slope(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const num = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const den = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  return num / den;
}

async function main() {
  const edge = await requireLabHost("okome-edge");
  const model = await requireLabHost("okome-model");
  const hosts = [edge.name, model.name];
  installAnsible();
  const rows: { name: string; runs: RunResult[]; conns?: string }[] = [];

  progress("engine floor: an empty TypeScript program");
  const floor = await PulumiStack.create({
    programDir: path.join(REPO, "bench/fixtures/empty-program"),
    prefix: "floor",
    passphrase: "okome-converge-floor",
  });
  try {
    must(await floor.run(["up", "--yes", "--skip-preview"]), "floor: first up");
    rows.push({
      name: "engine floor: empty program, up",
      runs: await timed("floor up", () => floor.run(["up", "--yes", "--skip-preview"])),
    });
  } finally {
    must(await floor.dispose(), "floor: destroy");
  }

  progress("whole tier: first up on a throw-away stack (Pulumi.lab.yaml's settings)");
  const tier = await PulumiStack.create({
    prefix: "converge",
    passphrase: "okome-converge-bench",
    settingsFrom: path.join(REPO, "Pulumi.lab.yaml"),
  });
  let sets = 0;
  let files = 0;
  let phases: Breakdown | undefined;
  try {
    must(await tier.run(["up", "--yes", "--skip-preview"]), "tier: first up");
    const upRuns = await timed("tier up", () => tier.run(["up", "--yes", "--skip-preview"]));
    const refreshRuns = await timed("tier up --refresh", () =>
      tier.run(["up", "--yes", "--skip-preview", "--refresh"]),
    );
    const previewRuns = await timed("tier preview", () => tier.run(["preview"]));
    progress("tier: one more up --refresh with the engine's log, for the breakdown");
    const logged = await tier.run([
      "up",
      "--yes",
      "--skip-preview",
      "--refresh",
      "-v=7",
      "--logtostderr",
    ]);
    phases = breakdown(must(logged, "logged up --refresh").output);
    rows.push(
      { name: "tier: pulumi up (no-op)", runs: upRuns, conns: connections(upRuns, hosts) },
      {
        name: "tier: pulumi up --refresh",
        runs: refreshRuns,
        conns: connections(refreshRuns, hosts),
      },
      { name: "tier: pulumi preview", runs: previewRuns, conns: connections(previewRuns, hosts) },
    );

    const exported = must(await tier.run(["stack", "export", "--show-secrets"]), "stack export");
    const work = hostWork(JSON.parse(exported.stdout) as StackExport);
    sets = JSON.parse(exported.stdout).deployment.resources.filter((r: { type: string }) =>
      r.type.endsWith("okome:ConfigSet"),
    ).length;
    files = work.reduce((n, h) => n + h.files.length, 0);
    const dir = path.join(tier.root, "ansible");
    for (const [file, content] of Object.entries(playbook(work))) {
      fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      fs.writeFileSync(path.join(dir, file), content);
    }
    fs.mkdirSync(path.join(dir, "tmp"));
    fs.writeFileSync(path.join(dir, "ansible.cfg"), "");
    progress(
      `ansible yardstick: ${files} files and ${work.map((h) => `${h.name}: ${h.services.join(" ")}`).join("; ")} services`,
    );
    const first = await ansibleRun(dir, false, 0);
    if (first.code !== 0)
      throw new Error(
        `the yardstick's first run must change nothing on the deployed tier (exit ${first.code}):\n${first.output}`,
      );
    let run = 0;
    rows.push(
      {
        name: "ansible play, stock settings",
        runs: await timed("ansible stock", () => ansibleRun(dir, false, ++run)),
      },
      {
        name: "ansible play, pipelining",
        runs: await timed("ansible pipelining", () => ansibleRun(dir, true, ++run)),
      },
    );
  } finally {
    must(await tier.dispose(), "tier: destroy");
  }

  const growth: { x: number; y: number; conns: string }[] = [];
  for (const n of GROWTH_SETS) {
    progress(`growth: the ConfigSet fixture with ${n} sets on ${edge.name}`);
    const stack = await fixtureStack(edge, { FIXTURE_EXTRA_SETS: String(n - 1) });
    try {
      must(await stack.run(["up", "--yes", "--skip-preview"]), `${n} sets: first up`);
      const runs = await timed(`${n} sets up --refresh`, () =>
        stack.run(["up", "--yes", "--skip-preview", "--refresh"]),
      );
      growth.push({
        x: n,
        y: median(runs.map((r) => r.ms)),
        conns: connections(runs, [edge.name]),
      });
    } finally {
      must(await stack.dispose(), `${n} sets: destroy`);
    }
  }

  const med = (name: string) => median(rows.find((r) => r.name === name)!.runs.map((r) => r.ms));
  console.log(
    `\nConverge bench: lab driver ${edge.driver}, real pulumi, median of ${RUNS} runs each (wall time)`,
  );
  console.log(`whole tier: ${sets} config sets, ${files} files on ${hosts.join(" and ")}\n`);
  console.log(
    `${"what".padEnd(36)}${"median".padStart(9)}${"min".padStart(9)}${"max".padStart(9)}   SSH connections per run`,
  );
  for (const row of rows) {
    const ms = row.runs.map((r) => r.ms);
    console.log(
      `${row.name.padEnd(36)}${secs(median(ms)).padStart(9)}${secs(Math.min(...ms)).padStart(9)}${secs(Math.max(...ms)).padStart(9)}   ${row.conns ?? ""}`,
    );
  }
  const refresh = med("tier: pulumi up --refresh");
  console.log(`\nratios (goal: the play / up --refresh at least 3x)`);
  console.log(
    `  ansible stock / up --refresh        ${(med("ansible play, stock settings") / refresh).toFixed(2)}x`,
  );
  console.log(
    `  ansible pipelining / up --refresh   ${(med("ansible play, pipelining") / refresh).toFixed(2)}x`,
  );
  console.log(
    `  up --refresh - engine floor         ${secs(refresh - med("engine floor: empty program, up"))}`,
  );
  if (phases) {
    console.log(
      `\nwhere one up --refresh of the tier goes (a run with -v=7, slower than the medians)`,
    );
    for (const p of phases.phases) console.log(`  ${p.name.padEnd(62)}${secs(p.ms).padStart(8)}`);
    console.log(
      `  ConfigSet read, median ${phases.readMedianMs} ms, the first ${phases.firstReadMs} ms (loads impl.ts through tsx); SecretPassword reads ${phases.secretReadsMs} ms in all; diff median ${phases.diffMedianMs} ms`,
    );
  }
  console.log(`\ngrowth of up --refresh with the sets on one host (goal: at most 50 ms per set)`);
  for (const g of growth)
    console.log(`  ${String(g.x).padStart(3)} sets   ${secs(g.y)}   ${g.conns}`);
  console.log(`  slope: ${slope(growth).toFixed(1)} ms per set`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
