/**
 * Chaos drills on the lab (issue 14): the real `pulumi` deploys the whole index.ts on a throw-away
 * stack (Pulumi.lab.yaml: chaosEnabled true), then each okome-chaos scenario runs on its node
 * while this process sends 50 requests a second through the VIP. Per scenario it prints a row:
 * requests, failed, STALE, maintenance, recovery, and whether the Redis marker keys and the edge's
 * cache files survived; it fails when a row goes past its bounds in docs/CHAOS.md. Meanwhile the
 * okome planner example runs here on the lab's Redis as the orchestrator would, at 10 requests a
 * second: it must answer every request, BYPASS while Redis is down. After the drills,
 * okome-hit-ratio on the edge must report the hit ratio the load generator saw, within 1%.
 * During each drill the diagnosis steps of docs/06_SRE_RUNBOOK.md for that scenario run on their
 * node and must print what the runbook promises; its healthy-state steps run at the end. Last,
 * every metric the Grafana board and the alert rules read must be served by the lab's exporters.
 * Needs `npm run lab:up`; without the lab every test fails, none is skipped.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import type { AddressInfo } from "node:net";
import Redis from "ioredis";
import { OkomeBudget, OkomeCache, createRedis } from "../../okome";
import { createPlannerServer } from "../../okome/planner-example";
import {
  boardExpressions,
  exporterMetrics,
  exposedMetricNames,
  promqlMetricNames,
  ruleExpressions,
} from "../support/metricNames";
import { LabHost, onHostAsync, onHostOutput, requireLabHost } from "../support/lab";
import {
  describeStep,
  runbookDrillSteps,
  runbookHealthySteps,
  type RunbookStep,
} from "../support/runbook";
import { PulumiStack, REPO, RunResult } from "../support/pulumiStack";
import { mock, sh, sleep } from "./edgeLab";
import { VIP, whoAnswers } from "./vipLab";

/** Short, so vip-failover and nginx-stop recover within their rows. */
const PREEMPT_DELAY = 15;
const RATE = 50;
/**
 * After the undo, how long the load keeps running to see the recovery: 5 s past the row's bound,
 * so the test sees the last 5 s clean; at most 25 s.
 */
const settleMs = (bounds: Bounds) => Math.min(25, bounds.recoveryMaxSeconds + 5) * 1000;
const MARKERS = 50;
const CACHE_DIR = "/var/cache/nginx/okome";

/** A row of docs/CHAOS.md's bounds table. */
interface Bounds {
  readonly scenario: string;
  readonly node: "edge" | "model" | "both";
  readonly durationSeconds: number;
  readonly failedMaxPercent: number;
  readonly staleMin: number;
  readonly recoveryMaxSeconds: number;
  readonly keysSurvive: boolean;
  readonly cacheSurvives: boolean;
  /** The planner answers BYPASS (Redis down, fail-open) at least once, or never. */
  readonly plannerBypass: boolean;
}

/** The rows after the `chaos-bounds` marker, by column name. */
function readBounds(): Bounds[] {
  const doc = fs.readFileSync(path.join(REPO, "docs", "CHAOS.md"), "utf8");
  const table = doc
    .split("<!-- chaos-bounds")[1]
    .split("\n")
    .filter((l) => l.startsWith("|"));
  const cells = (line: string) =>
    line
      .split("|")
      .slice(1, -1)
      .map((c) => c.trim());
  const head = cells(table[0]);
  return table.slice(2).map((line) => {
    const row = Object.fromEntries(cells(line).map((c, i) => [head[i], c]));
    return {
      scenario: row.scenario,
      node: row.node as Bounds["node"],
      durationSeconds: Number(row["duration s"]),
      failedMaxPercent: Number(row["failed max %"]),
      staleMin: Number(row["stale min"]),
      recoveryMaxSeconds: Number(row["recovery max s"]),
      keysSurvive: row["keys survive"] === "yes",
      cacheSurvives: row["cache survives"] === "yes",
      plannerBypass: row["planner BYPASS"] === "yes",
    };
  });
}

/** One request of the load: when it was sent, how it ended, who answered. */
interface Shot {
  readonly at: number;
  status?: number;
  cache?: string;
  node?: string;
  retryAfter?: boolean;
}

/** 60% cacheable assets (stale after 2 s), 20% the cacheable API, 20% never cached. */
function nextPath(i: number): string {
  const kind = i % 10;
  if (kind < 6) return `/assets/chaos-${i % 20}.js?maxAge=2`;
  return kind < 8 ? "/api/models" : "/session";
}

/** Steady traffic through the VIP, each request on its own connection, kept in order sent. */
class Load {
  readonly shots: Shot[] = [];
  private readonly pending = new Set<Promise<void>>();
  private readonly timer: NodeJS.Timeout;
  private sent = 0;

  constructor() {
    this.timer = setInterval(() => this.fire(), 1000 / RATE);
  }

  private fire(): void {
    const shot: Shot = { at: Date.now() };
    this.shots.push(shot);
    const done = new Promise<void>((resolve) => {
      const req = http.get(
        `http://${VIP}${nextPath(this.sent++)}`,
        { agent: false, timeout: 5000 },
        (res) => {
          res.resume();
          shot.status = res.statusCode;
          shot.cache = String(res.headers["x-cache-status"] ?? "");
          shot.node = String(res.headers["x-okome-node"] ?? "");
          shot.retryAfter = res.headers["retry-after"] !== undefined;
          res.on("end", resolve);
        },
      );
      req.on("timeout", () => req.destroy());
      req.on("error", () => {
        shot.status = 0;
        resolve();
      });
    });
    this.pending.add(done);
    void done.then(() => this.pending.delete(done));
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.pending);
  }
}

/** POSTs to the planner example, 10 a second over 10 prompts: status and X-OKOME-Cache of each. */
class PlannerLoad {
  readonly answers: { status: number; cache: string }[] = [];
  private readonly pending = new Set<Promise<void>>();
  private readonly timer: NodeJS.Timeout;
  private sent = 0;

  constructor(base: string) {
    this.timer = setInterval(() => {
      const prompt = `chaos prompt ${this.sent++ % 10}`;
      const done = fetch(`${base}/plan`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-OKOME-Agent": "chaos-test" },
        body: JSON.stringify({ model: "llama3-8b", prompt, toolset: "default-v3", repo: "chaos" }),
        signal: AbortSignal.timeout(5000),
      })
        .then(async (res) => {
          await res.arrayBuffer();
          this.answers.push({ status: res.status, cache: res.headers.get("x-okome-cache") ?? "" });
        })
        .catch(() => void this.answers.push({ status: 0, cache: "" }));
      this.pending.add(done);
      void done.then(() => this.pending.delete(done));
    }, 100);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.pending);
  }
}

/**
 * Runs a runbook step on its node until its output matches or its `within` has passed since
 * `since`; the problem (where the step is, what it printed last) or undefined when it matched.
 */
async function checkStep(
  step: RunbookStep,
  hosts: Record<RunbookStep["node"], LabHost>,
  since: number,
): Promise<string | undefined> {
  for (;;) {
    const { output } = await onHostOutput(hosts[step.node], step.command);
    if (step.expect.test(output)) return undefined;
    if (Date.now() - since > step.withinSeconds * 1000)
      return `${describeStep(step)}: no ${step.expect} within ${step.withinSeconds} s in:\n${output}`;
    await sleep(1000);
  }
}

/** The cache statuses okome-hit-ratio counts as hits (calculate-hit-ratio.sh). */
const HIT_STATUSES = ["HIT", "STALE", "UPDATING", "REVALIDATED"];

/** No answer, or a 5xx that is not the maintenance page. */
const failed = (s: Shot) =>
  s.status === 0 || (s.status! >= 500 && !(s.status === 503 && s.retryAfter));

describe("Chaos drills on the lab (real pulumi, load through the VIP)", function () {
  this.timeout(1_800_000);
  let edge: LabHost;
  let model: LabHost;
  let stack: PulumiStack;
  let redis: Redis;
  let plannerRedis: Redis;
  let plannerCache: OkomeCache;
  let planner: http.Server;
  let plannerBase: string;
  let out: Record<string, unknown>;
  const ok = (r: RunResult) => assert.equal(r.code, 0, r.output);
  const rows: string[] = [];
  const cacheFiles = (host: LabHost) =>
    sh(host, `sudo -n find ${CACHE_DIR} -type f`).split("\n").filter(Boolean);

  before(async () => {
    edge = await requireLabHost("okome-edge");
    model = await requireLabHost("okome-model");
    await mock("/__mock/control", { mode: "ok" });
    stack = await PulumiStack.create({
      prefix: "chaos",
      passphrase: "okome-chaos-lab-test",
      settingsFrom: path.join(REPO, "Pulumi.lab.yaml"),
    });
    ok(await stack.run(["config", "set", "vipPreemptDelaySeconds", String(PREEMPT_DELAY)]));
  });
  after(async () => {
    redis?.disconnect();
    if (planner) await new Promise((resolve) => planner.close(resolve));
    await plannerCache?.close();
    plannerRedis?.disconnect();
    console.log(
      [
        "",
        "scenario | sent | failed | stale | maint | recovery s | keys | cache | planner",
        ...rows,
      ].join("\n"),
    );
    if (!stack) return;
    const d = await stack.dispose();
    assert.equal(d.code, 0, `destroy failed:\n${d.output}`);
  });

  it("up deploys the tier with chaos enabled on both nodes, and okome-validate passes there", async () => {
    ok(await stack.run(["up", "--yes", "--skip-preview"]));
    out = await stack.outputs();
    assert.equal((out.opsToolsSummary as { chaosEnabled: boolean }).chaosEnabled, true);
    for (const host of [edge, model]) {
      sh(host, "test -e /etc/okome/CHAOS_ENABLE");
      await onHostAsync(host, "sudo -n okome-validate");
    }
    redis = new Redis({
      host: String(out.modelCacheAddress),
      port: Number(out.modelCachePort),
      username: String(out.modelCacheUser),
      password: String(out.modelCachePassword),
      maxRetriesPerRequest: 1,
      lazyConnect: true,
      // The orchestrator's user may not run INFO, which the ready check sends.
      enableReadyCheck: false,
    });
    // While redis-stop runs the connection drops; a command's own rejection is what counts.
    redis.on("error", () => undefined);
    await redis.connect();

    // The planner example as the orchestrator runs it: the library's fail-fast client.
    plannerRedis = createRedis({
      host: String(out.modelCacheAddress),
      port: Number(out.modelCachePort),
      username: String(out.modelCacheUser),
      password: String(out.modelCachePassword),
    });
    plannerCache = new OkomeCache({ redis: plannerRedis });
    await plannerCache.ready();
    // Budgets far above the test's rate: only Redis's absence may change an answer.
    const budget = new OkomeBudget({
      redis: plannerRedis,
      requests: { limit: 1_000_000 },
      writes: { limit: 1_000_000 },
    });
    planner = createPlannerServer({ cache: plannerCache, budget });
    await new Promise<void>((resolve) => planner.listen(0, "127.0.0.1", resolve));
    plannerBase = `http://127.0.0.1:${(planner.address() as AddressInfo).port}`;
  });

  for (const bounds of readBounds())
    it(`${bounds.scenario}: within its row of docs/CHAOS.md`, async () => {
      const hosts = { edge: [edge], model: [model], both: [edge, model] }[bounds.node];
      // Warm, with the VIP on the edge and nothing left active by an earlier drill.
      assert.equal(await whoAnswers(2000), edge.name, "the VIP answers from the edge before");
      for (let i = 0; i < 20; i++) await fetch(`http://${VIP}${nextPath(i * 10)}`);
      const markers = Array.from(
        { length: MARKERS },
        (_, i) => `okome:chaos:${bounds.scenario}:${i}`,
      );
      for (const key of markers) await redis.set(key, "1", "EX", 3600);
      const cachedBefore = cacheFiles(edge);

      const load = new Load();
      const plannerLoad = new PlannerLoad(plannerBase);
      let undoneAt = 0;
      let runbookProblems: (string | undefined)[] = [];
      // Stopped whatever happens: a running load generator keeps mocha from ever exiting.
      try {
        await sleep(3000);
        await Promise.all(
          hosts.map((host) =>
            onHostAsync(
              host,
              `sudo -n okome-chaos --duration ${bounds.durationSeconds} ${bounds.scenario}`,
            ),
          ),
        );
        // The runbook's diagnosis of this fault, all steps at once while it is in.
        const injectedAt = Date.now();
        runbookProblems = await Promise.all(
          runbookDrillSteps(bounds.scenario).map((step) =>
            checkStep(step, { edge, model }, injectedAt),
          ),
        );
        // The timers undo it: wait until status says nothing is active on any node.
        const deadline = Date.now() + (bounds.durationSeconds + 30) * 1000;
        while (!undoneAt) {
          const states = await Promise.all(
            hosts.map((h) => onHostAsync(h, "sudo -n okome-chaos status")),
          );
          if (states.every((s) => !/^ACTIVE /m.test(s))) undoneAt = Date.now();
          else if (Date.now() > deadline)
            assert.fail(`${bounds.scenario} still active: ${states.join("; ")}`);
          else await sleep(500);
        }
        await sleep(settleMs(bounds));
      } finally {
        await Promise.all([load.stop(), plannerLoad.stop()]);
      }

      const shots = load.shots;
      const bad = shots.filter(failed);
      const stale = shots.filter((s) => s.cache === "STALE").length;
      const maintenance = shots.filter((s) => s.status === 503 && s.retryAfter).length;
      // Recovered: no failure after this, and the edge holds the VIP again.
      const lastBad = Math.max(
        0,
        ...bad.map((s) => s.at),
        ...shots.filter((s) => s.node && s.node !== edge.name).map((s) => s.at),
      );
      const recovery = Math.max(0, (lastBad - undoneAt) / 1000);
      assert.ok(lastBad < Date.now() - 5000, "the last 5 s of load were clean, from the edge");
      // GET one by one: the orchestrator's user may not run EXISTS or MGET.
      const values = await Promise.all(markers.map((key) => redis.get(key)));
      const keysLeft = values.filter((v) => v === "1").length;
      const cachedAfter = new Set(cacheFiles(edge));
      const cacheKept = cachedBefore.every((f) => cachedAfter.has(f));
      const percent = (100 * bad.length) / shots.length;
      const plans = plannerLoad.answers;
      const planErrors = plans.filter((a) => a.status !== 200).length;
      const planBypass = plans.filter((a) => a.cache === "BYPASS").length;
      rows.push(
        [
          bounds.scenario,
          shots.length,
          `${bad.length} (${percent.toFixed(2)}%)`,
          stale,
          maintenance,
          recovery.toFixed(1),
          `${keysLeft}/${MARKERS}`,
          cacheKept ? "kept" : "lost",
          `${plans.length} sent, ${planErrors} failed, ${planBypass} BYPASS`,
        ].join(" | "),
      );
      console.log(`      ${rows[rows.length - 1]}`);

      assert.ok(percent <= bounds.failedMaxPercent, `${percent.toFixed(2)}% failed`);
      assert.ok(stale >= bounds.staleMin, `${stale} STALE, want ${bounds.staleMin}`);
      assert.ok(recovery <= bounds.recoveryMaxSeconds, `recovered after ${recovery} s`);
      if (bounds.keysSurvive) assert.equal(keysLeft, MARKERS, "the Redis keys survive");
      if (bounds.cacheSurvives) assert.ok(cacheKept, "the edge's cache files survive");
      const runbookFailed = runbookProblems.filter((p) => p !== undefined);
      assert.deepEqual(runbookFailed, [], `the runbook's diagnosis:\n${runbookFailed.join("\n")}`);
      assert.equal(planErrors, 0, "the planner answers every request (fail-open)");
      if (bounds.plannerBypass) assert.ok(planBypass > 0, "the planner saw the outage: BYPASS");
      else assert.equal(planBypass, 0, "Redis was up: the planner never bypassed it");
      // The storm emptied the cache on purpose; refill it for the next drill.
      if (!bounds.cacheSurvives)
        for (let i = 0; i < 20; i++) await fetch(`http://${edge.address}${nextPath(i * 10)}`);
    });

  it("after the drills, okome-hit-ratio on the edge reports what the load generator saw, within 1%", async () => {
    assert.equal(await whoAnswers(2000), edge.name, "the VIP answers from the edge");
    // Quiet first, so the script's window holds this load's requests and nothing older.
    await sleep(3000);
    const started = Date.now();
    const load = new Load();
    try {
      await sleep(30_000);
    } finally {
      await load.stop();
    }
    const window = Math.ceil((Date.now() - started) / 1000) + 1;
    const report = sh(edge, `sudo -n okome-hit-ratio --window ${window}`);
    const reported = /^hit ratio: ([0-9.]+) \(.* of (\d+) requests with a cache status\)$/m.exec(
      report,
    );
    assert.ok(reported, `no hit ratio line in:\n${report}`);
    const withStatus = load.shots.filter((s) => s.status && s.cache);
    const hits = withStatus.filter((s) => HIT_STATUSES.includes(s.cache!)).length;
    const seen = hits / withStatus.length;
    const line = `hit ratio: load generator ${seen.toFixed(3)} of ${withStatus.length}, okome-hit-ratio ${reported[1]} of ${reported[2]}`;
    rows.push(line);
    console.log(`      ${line}`);
    assert.ok(Math.abs(Number(reported[1]) - seen) <= 0.01, line);
    const counted = Number(reported[2]);
    assert.ok(Math.abs(counted - withStatus.length) <= 0.01 * withStatus.length, line);
  });

  it("the runbook's healthy-state steps print what it promises on the recovered tier", async () => {
    const started = Date.now();
    const problems = await Promise.all(
      runbookHealthySteps().map((step) => checkStep(step, { edge, model }, started)),
    );
    const failed = problems.filter((p) => p !== undefined);
    assert.deepEqual(failed, [], `the runbook's healthy steps:\n${failed.join("\n")}`);
  });

  it("the board and the alert rules read only metrics the lab's exporters serve", async () => {
    const urls = [
      (out.edgeHardening as { nodeExporterUrl: string }).nodeExporterUrl,
      (out.modelHardening as { nodeExporterUrl: string }).nodeExporterUrl,
      (out.edgeCacheNode as { exporterUrl: string }).exporterUrl,
      (out.standbyEdgeNode as { exporterUrl: string }).exporterUrl,
      String(out.modelCacheExporterUrl),
    ];
    const served = new Set<string>();
    for (const url of urls) {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      assert.equal(res.status, 200, url);
      const names = exposedMetricNames(await res.text());
      assert.ok(names.length > 0, `${url} serves metrics`);
      for (const name of names) served.add(name);
    }
    // Prometheus adds these to every target it scrapes; no exporter serves them.
    for (const [name, source] of exporterMetrics()) if (source === "prometheus") served.add(name);
    const missing = [...boardExpressions(), ...ruleExpressions()].flatMap(([where, expr]) =>
      promqlMetricNames(expr)
        .filter((name) => !served.has(name))
        .map((name) => `${where}: ${name}`),
    );
    assert.deepEqual(missing, [], `read but not served by ${urls.join(", ")}`);
  });
});
