/**
 * ConfigSet on the lab (needs `npm run lab:up`): SSH connections per host and the time of
 * a no-op `pulumi up` and of `pulumi preview --refresh`, median of 5 runs each, with the
 * real pulumi binary on a throw-away stack. Run: npx tsx bench/config-set.ts
 */
import { fixtureStack } from "../test/lab/configSetFixture";
import { requireLabHost } from "../test/support/lab";
import type { RunResult } from "../test/support/pulumiStack";

const RUNS = 5;
/** Config sets on the edge: the fixture's nginx site plus this many one-file sets. */
const EXTRA_SETS = 5;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function main() {
  const edge = await requireLabHost("okome-edge");
  const stack = await fixtureStack(edge, { FIXTURE_EXTRA_SETS: String(EXTRA_SETS) });
  const sets = 1 + EXTRA_SETS;
  const host = edge.name;
  const must = (r: RunResult, what: string) => {
    if (r.code !== 0) throw new Error(`${what} failed:\n${r.output}`);
    return r;
  };
  try {
    const create = must(await stack.run(["up", "--yes", "--skip-preview"]), "first up");
    const rows: { name: string; args: string[]; runs: RunResult[] }[] = [
      { name: "pulumi preview", args: ["preview"], runs: [] },
      { name: "pulumi up (no-op)", args: ["up", "--yes"], runs: [] },
      { name: "pulumi preview --refresh", args: ["preview", "--refresh"], runs: [] },
    ];
    for (let i = 0; i < RUNS; i++) {
      for (const row of rows) row.runs.push(must(await stack.run(row.args), row.name));
    }
    const connections = (r: RunResult) => r.connections[host] ?? 0;
    const med = Object.fromEntries(rows.map((r) => [r.name, median(r.runs.map((x) => x.ms))]));

    console.log(
      `ConfigSet bench: ${sets} config sets on ${host} (${edge.address}, lab driver ${edge.driver}), real pulumi, median of ${RUNS}\n`,
    );
    console.log(
      `${"command".padEnd(28)}${"median".padStart(10)}${"min".padStart(10)}${"max".padStart(10)}   SSH connections to ${host}`,
    );
    console.log(
      `${"pulumi up (create)".padEnd(28)}${secs(create.ms).padStart(10)}${"".padStart(20)}   ${connections(create)} (1 run)`,
    );
    for (const row of rows) {
      const ms = row.runs.map((x) => x.ms);
      const conns = [...new Set(row.runs.map(connections))].join("/");
      console.log(
        `${row.name.padEnd(28)}${secs(med[row.name]).padStart(10)}${secs(Math.min(...ms)).padStart(10)}${secs(Math.max(...ms)).padStart(10)}   ${conns} per run`,
      );
    }
    const refreshConns = median(rows[2].runs.map(connections));
    console.log(`\nratios`);
    console.log(
      `  preview --refresh / no-op up (time)          ${(med["pulumi preview --refresh"] / med["pulumi up (no-op)"]).toFixed(2)}x`,
    );
    console.log(
      `  no-op up / preview (time)                    ${(med["pulumi up (no-op)"] / med["pulumi preview"]).toFixed(2)}x`,
    );
    console.log(
      `  SSH connections per config set, refresh      ${refreshConns}/${sets} = ${(refreshConns / sets).toFixed(2)} (one connection per host, not per set)`,
    );
    console.log(
      `  SSH connections per config set, no-op up     ${median(rows[1].runs.map(connections))}/${sets} (diff runs from state)`,
    );
  } finally {
    const d = await stack.dispose();
    if (d.code !== 0) console.error(`destroy failed:\n${d.output}`);
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
