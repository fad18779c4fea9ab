import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { load } from "js-yaml";
import { freePort } from "../support/ports";
import { startRedisServer } from "../support/redis-server";
import {
  DrillStep,
  INCIDENT_SECTIONS,
  RunbookStep,
  chaosScenarios,
  parseRunbook,
  readRunbook,
  runbookDrillSteps,
  runbookHealthySteps,
} from "../support/runbook";

// The SRE runbook: its seven incidents and their sections, the alerts it names, and its checked
// diagnosis steps (the lab's chaos test runs them during the drills). Where a step's output comes
// from one of the repo's host scripts, the script is run here and the step's own command, its
// host paths mapped into a temp dir, must print what the runbook expects.
const REPO = path.join(__dirname, "..", "..");
const SCRIPTS = path.join(REPO, "assets", "scripts");
const RULES = path.join(REPO, "assets", "prometheus", "okome-alerts.yml");

/** The seed's seven incidents (Phase 6), as the alert rules' `incident` label names them. */
const SEED_INCIDENTS = [
  "ui-slow-blank",
  "redis-unavailable",
  "vip-not-responding",
  "frontend-pi-dead",
  "upstream-down",
  "cache-miss-storm",
  "chaos-test-triggered",
];

/** Alert name -> its `incident` label. */
function alertIncidents(): Map<string, string> {
  const rules = load(fs.readFileSync(RULES, "utf8")) as {
    groups: { rules: { alert?: string; labels?: { incident?: string } }[] }[];
  };
  return new Map(
    rules.groups.flatMap((g) =>
      g.rules
        .filter((r) => r.alert)
        .map((r): [string, string] => [r.alert!, r.labels?.incident ?? ""]),
    ),
  );
}

/** docs/CHAOS.md's bounds table (the rows the chaos lab test reads): scenario -> drill seconds. */
function drillDurations(): Map<string, number> {
  const doc = fs.readFileSync(path.join(REPO, "docs", "CHAOS.md"), "utf8");
  const rows = doc
    .split("<!-- chaos-bounds")[1]
    .split("\n")
    .filter((l) => l.startsWith("|"))
    .map((l) =>
      l
        .split("|")
        .slice(1, -1)
        .map((c) => c.trim()),
    );
  const [head, , ...body] = rows;
  const scenario = head.indexOf("scenario");
  const duration = head.indexOf("duration s");
  return new Map(body.map((r) => [r[scenario], Number(r[duration])]));
}

describe("SRE runbook (docs/06_SRE_RUNBOOK.md)", () => {
  const book = readRunbook();
  const alerts = alertIncidents();

  it("has the seed's seven incidents, in order, one for each incident label of the alert rules", () => {
    assert.deepEqual(
      book.incidents.map((i) => i.slug),
      SEED_INCIDENTS,
    );
    assert.deepEqual(
      book.incidents.map((i) => i.number),
      [1, 2, 3, 4, 5, 6, 7],
    );
    assert.deepEqual([...new Set(alerts.values())].sort(), [...SEED_INCIDENTS].sort());
  });

  it("gives every incident detection, diagnosis, fix, rollback and confirmation, in that order", () => {
    for (const incident of book.incidents) {
      const found = INCIDENT_SECTIONS.filter((s) => incident.sections.has(s));
      assert.deepEqual(found, [...INCIDENT_SECTIONS], `${incident.slug}: its ### sections`);
      const lines = INCIDENT_SECTIONS.map((s) => incident.sections.get(s)!);
      assert.deepEqual(
        lines,
        [...lines].sort((a, b) => a - b),
        `${incident.slug}: sections in order`,
      );
    }
  });

  it("names only alerts that okome-alerts.yml defines", () => {
    const unknown = [...book.alerts].filter(([name]) => !alerts.has(name));
    assert.deepEqual(
      unknown.map(([name, line]) => `docs/06_SRE_RUNBOOK.md:${line}: ${name}`),
      [],
    );
  });

  it("names every alert in the Detect section of the incident its label names", () => {
    for (const incident of book.incidents) {
      const lines = incident.text.split("\n");
      const start = incident.sections.get("Detect")! - incident.line;
      const end = incident.sections.get("Diagnose")! - incident.line;
      const detect = lines.slice(start, end).join("\n");
      const missing = [...alerts]
        .filter(([name, label]) => label === incident.slug && !detect.includes(`\`${name}\``))
        .map(([name]) => name);
      assert.deepEqual(missing, [], `${incident.slug}: alerts its Detect section does not name`);
    }
  });

  it("checks steps only for real okome-chaos scenarios, every scenario, within the drill's duration", () => {
    const scenarios = chaosScenarios();
    assert.ok(scenarios.length >= 6, `scenarios of okome-chaos.sh: ${scenarios.join(" ")}`);
    const unknown = book.drillSteps.filter((s) => !scenarios.includes(s.drill));
    assert.deepEqual(
      unknown.map((s) => `line ${s.line}: ${s.drill}`),
      [],
      `not a scenario of okome-chaos (${scenarios.join(" ")})`,
    );
    for (const scenario of scenarios)
      assert.ok(
        book.drillSteps.some((s) => s.drill === scenario),
        `no step checks the ${scenario} drill`,
      );
    const durations = drillDurations();
    for (const step of book.drillSteps) {
      const duration = durations.get(step.drill);
      assert.ok(duration, `docs/CHAOS.md has no bounds row for ${step.drill}`);
      assert.ok(
        step.withinSeconds < duration,
        `line ${step.line}: within=${step.withinSeconds} is not inside ${step.drill}'s ${duration} s`,
      );
    }
  });

  it("has a checked diagnosis step for every incident and healthy steps on both nodes", () => {
    for (const incident of book.incidents) {
      const steps = book.drillSteps.filter((s) => s.incident === incident.slug);
      assert.ok(steps.length > 0, `${incident.slug} has no runbook-drill step`);
      const diagnose = incident.sections.get("Diagnose")!;
      const fix = incident.sections.get("Fix")!;
      for (const s of steps)
        assert.ok(
          s.line > diagnose && s.line < fix,
          `line ${s.line}: a drill step outside Diagnose`,
        );
    }
    assert.deepEqual([...new Set(book.healthySteps.map((s) => s.node))].sort(), ["edge", "model"]);
  });

  it("runbookDrillSteps gives a drill's steps with {drill} replaced, runbookHealthySteps the rest", () => {
    const steps = runbookDrillSteps("redis-stop");
    assert.ok(steps.length >= 3);
    assert.ok(steps.every((s) => s.drill === "redis-stop"));
    const status = steps.find((s) => s.command === "sudo okome-chaos status");
    assert.ok(status, "okome-chaos status is checked during redis-stop");
    assert.equal(status.node, "model");
    assert.ok(
      status.expect.test(
        "okome-chaos: no /etc/okome/CHAOS_ENABLE: ...\nACTIVE redis-stop: since x",
      ),
    );
    assert.ok(!status.expect.test("ACTIVE nginx-stop: since x"));
    assert.deepEqual(runbookDrillSteps("no-such-drill"), []);
    assert.ok(runbookHealthySteps().length >= 4);
  });

  describe("the parser", () => {
    const doc = (body: string) =>
      `# Runbook\n\n## 1. Thing down (\`incident=thing-down\`)\n\n### Diagnose\n\n${body}\n`;
    /** The 1-based line of the first line of `text` that contains `needle`. */
    const lineOf = (text: string, needle: string) =>
      text.split("\n").findIndex((l) => l.includes(needle)) + 1;
    const fails = (body: string, needle: string, message: RegExp) => {
      const text = doc(body);
      assert.throws(
        () => parseRunbook(text, "RB.md"),
        (e: Error) => {
          assert.ok(e.message.startsWith(`RB.md:${lineOf(text, needle)}: `), e.message);
          assert.match(e.message, message);
          return true;
        },
      );
    };

    it("reads a drill block, a multi-drill block and a healthy block", () => {
      const text = doc(
        [
          "```sh runbook-drill redis-stop node=model within=12",
          "systemctl is-active redis-server",
          "```",
          "",
          "Expected: `^(inactive|failed)$` (a stopped unit)",
          "",
          "```sh runbook-drill nginx-stop,vip-failover node=edge",
          "  sudo okome-chaos status",
          "```",
          "Expected: `^ACTIVE {drill}: since `",
          "",
          "```sh runbook-healthy node=edge",
          "systemctl is-active nginx",
          "```",
          "Expected: `^active$`",
          "",
          "```sh",
          "journalctl -u nginx",
          "```",
        ].join("\n"),
      );
      const book = parseRunbook(text);
      assert.deepEqual(
        book.drillSteps.map((s: DrillStep) => [
          s.drill,
          s.node,
          s.command,
          s.withinSeconds,
          s.line,
        ]),
        [
          ["redis-stop", "model", "systemctl is-active redis-server", 12, 7],
          ["nginx-stop", "edge", "sudo okome-chaos status", 5, 13],
          ["vip-failover", "edge", "sudo okome-chaos status", 5, 13],
        ],
      );
      assert.ok(book.drillSteps[0].expect.test("inactive\n"));
      assert.ok(!book.drillSteps[0].expect.test("active\n"));
      assert.ok(book.drillSteps[2].expect.test("x\nACTIVE vip-failover: since now"));
      assert.ok(!book.drillSteps[2].expect.test("ACTIVE nginx-stop: since now"));
      assert.deepEqual(
        book.healthySteps.map((s: RunbookStep) => [s.incident, s.node, s.command]),
        [["thing-down", "edge", "systemctl is-active nginx"]],
      );
      assert.deepEqual([...book.incidents[0].sections.keys()], ["Diagnose"]);
    });

    it("names the line of a block without a node", () =>
      fails("```sh runbook-drill redis-stop\nx\n```\nExpected: `y`", "runbook-drill", /no node=/));
    it("names the line of a block with a node that is neither edge nor model", () =>
      fails(
        "```sh runbook-drill redis-stop node=gpu\nx\n```\nExpected: `y`",
        "runbook-drill",
        /node=gpu/,
      ));
    it("names the line of a block with no drill", () =>
      fails("```sh runbook-drill node=edge\nx\n```\nExpected: `y`", "runbook-drill", /no drill/));
    it("names the line of a block with an unknown attribute or a bad within", () => {
      fails(
        "```sh runbook-drill redis-stop node=edge when=3\nx\n```\nExpected: `y`",
        "runbook-drill",
        /"when=3"/,
      );
      fails(
        "```sh runbook-drill redis-stop node=edge within=0\nx\n```\nExpected: `y`",
        "runbook-drill",
        /within=0/,
      );
    });
    it("names the line of a block not followed by Expected", () =>
      fails(
        "```sh runbook-drill redis-stop node=model\nx\n```\n\nSee above.",
        "runbook-drill",
        /not followed by "Expected/,
      ));
    it("names the line of an Expected that is no regular expression", () =>
      fails(
        "```sh runbook-healthy node=edge\nx\n```\nExpected: `(unclosed`",
        "Expected",
        /Expected/,
      ));
    it("names the line of an empty block, a block never closed, and a misspelt marker", () => {
      fails("```sh runbook-healthy node=edge\n```\nExpected: `y`", "runbook-healthy", /no command/);
      fails("```sh runbook-healthy node=edge\nx\n", "runbook-healthy", /never closed/);
      fails(
        "```sh runbook-dril redis-stop node=edge\nx\n```",
        "runbook-dril",
        /a checked block is/,
      );
      fails("```bash runbook-healthy node=edge\nx\n```", "runbook-healthy", /is `sh`/);
    });
    it("names the line of a checked block outside an incident, and of a bad incident heading", () => {
      const outside = "# R\n\n```sh runbook-healthy node=edge\nx\n```\nExpected: `y`\n";
      assert.throws(
        () => parseRunbook(outside, "RB.md"),
        /^Error: RB\.md:3: .*outside any incident/,
      );
      const after = `${doc("")}\n## Golden rules\n\n\`\`\`sh runbook-healthy node=edge\nx\n\`\`\`\nExpected: \`y\`\n`;
      assert.throws(
        () => parseRunbook(after, "RB.md"),
        new RegExp(`^Error: RB\\.md:${lineOf(after, "runbook-healthy")}: .*outside any incident`),
      );
      assert.throws(
        () => parseRunbook("# R\n\n## 2. Broken heading\n", "RB.md"),
        /^Error: RB\.md:3: an incident heading is/,
      );
    });
  });

  describe("expectations against what the repo's host scripts print", function () {
    this.timeout(60_000);
    let dir: string;
    const at = (p: string) => path.join(dir, p);
    const closed: number[] = [];

    /** A fake command first on PATH: records "<name> <args>" to fake/calls, then runs `body`. */
    const fake = (name: string, body = "") =>
      fs.writeFileSync(
        at(`bin/${name}`),
        `#!/usr/bin/env bash\necho "${name} $*" >>"$OKOME_FAKE_DIR/calls"\n${body}\n`,
        { mode: 0o755 },
      );
    const calls = (name: string) =>
      fs.existsSync(at("fake/calls"))
        ? fs
            .readFileSync(at("fake/calls"), "utf8")
            .split("\n")
            .filter((l) => l.startsWith(`${name} `))
            .map((l) => l.slice(name.length + 1))
        : [];
    const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
      PATH: `${at("bin")}:${process.env.PATH}`,
      HOME: dir,
      OKOME_FAKE_DIR: at("fake"),
      ...extra,
    });
    /** Runs a shell script; its stdout and stderr together, as the lab run reads them. */
    const shell = (script: string, extra: Record<string, string> = {}) =>
      new Promise<string>((resolve, reject) => {
        const child = spawn("bash", ["-c", script], { env: env(extra) });
        let out = "";
        child.stdout.on("data", (c: Buffer) => (out += c.toString()));
        child.stderr.on("data", (c: Buffer) => (out += c.toString()));
        child.once("error", reject);
        child.once("close", () => resolve(out));
      });
    const script = (name: string) => path.join(SCRIPTS, name);
    /** The installed okome-* commands the steps run, by the asset each is installed from. */
    const INSTALLED: Record<string, string> = {
      "okome-chaos": script("okome-chaos.sh"),
      "okome-verify": script("verify.sh"),
      "okome-validate": script("okome-validate.sh"),
      "okome-hit-ratio": script("calculate-hit-ratio.sh"),
    };
    /**
     * A step's command as it runs here: without sudo, the okome-* commands from assets/scripts,
     * and each host path of `paths` under the temp dir.
     */
    const local = (step: RunbookStep, paths: readonly string[] = []) => {
      let command = step.command.replace(/\bsudo\s+/g, "");
      for (const [name, file] of Object.entries(INSTALLED))
        command = command.replace(new RegExp(`(^|[\\s|;&(])${name}(?![\\w-])`, "g"), `$1${file}`);
      for (const p of paths) command = command.split(p).join(at(`root${p}`));
      return command;
    };
    /** Runs `step` here and checks its expectation. */
    const replay = async (
      step: RunbookStep,
      paths: readonly string[] = [],
      extra: Record<string, string> = {},
    ) => {
      const output = await shell(local(step, paths), extra);
      assert.match(output, step.expect, `line ${step.line}: ${step.command}`);
    };
    /** The one step of `drill` (or the healthy one, for undefined) on `node` whose command has `text`. */
    const step = (drill: string | undefined, node: string, text: string): RunbookStep => {
      const steps: RunbookStep[] =
        drill === undefined
          ? book.healthySteps.filter((s) => s.node === node)
          : book.drillSteps.filter((s) => s.drill === drill && s.node === node);
      const found = steps.filter((s) => s.command.includes(text));
      assert.equal(found.length, 1, `${drill ?? "healthy"} on ${node}: steps with "${text}"`);
      return found[0];
    };
    const write = (p: string, text: string) => {
      fs.mkdirSync(path.dirname(at(`root${p}`)), { recursive: true });
      fs.writeFileSync(at(`root${p}`), text);
    };
    const envFile = (values: Record<string, string | number>) =>
      Object.entries(values)
        .map(([k, v]) => `${k}=${v}\n`)
        .join("");

    beforeEach(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "okome-runbook-"));
      fs.mkdirSync(at("bin"));
      fs.mkdirSync(at("fake"));
      closed.length = 0;
      for (let i = 0; i < 4; i++) closed.push(await freePort());
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("okome-chaos: status, metric, journal, timer and leftovers while each drill is in", async () => {
      fake("logger");
      fake("systemd-run");
      fake("systemctl");
      // The node holds the VIP (vip-failover refuses otherwise).
      fake(
        "ip",
        `echo "2: eth0    inet 10.86.0.20/24 scope global eth0"
echo "2: eth0    inet 10.86.0.18/24 scope global secondary eth0"`,
      );
      fake(
        "nft",
        `case "$*" in
"-f -") cat >"$OKOME_FAKE_DIR/nft-table" ;;
"list table inet okome_chaos") cat "$OKOME_FAKE_DIR/nft-table" ;;
*) exit 1 ;;
esac`,
      );
      const chaosSteps = book.drillSteps.filter((s) => s.incident === "chaos-test-triggered");
      const checked = new Set<DrillStep>();
      for (const scenario of chaosScenarios()) {
        const node = scenario === "redis-stop" ? "model" : "edge";
        const root = at(`root-${scenario}`);
        const paths = (p: string) => path.join(root, p);
        fs.mkdirSync(paths("etc/okome"), { recursive: true });
        fs.mkdirSync(paths("var/cache/nginx/okome"), { recursive: true });
        fs.writeFileSync(paths("etc/okome/CHAOS_ENABLE"), "");
        fs.writeFileSync(
          paths("etc/okome/chaos.env"),
          envFile({
            OKOME_NODE: `okome-${node}`,
            OKOME_VIP: "10.86.0.18",
            OKOME_ORCHESTRATOR_HOST: "10.86.0.25",
            OKOME_ORCHESTRATOR_PORT: 8000,
            OKOME_EDGE_PORT: closed[0],
            OKOME_CACHE_DIR: "/var/cache/nginx/okome",
            OKOME_REDIS_UNIT: node === "model" ? "redis-server" : "",
            OKOME_TEXTFILE_DIR: "/run/okome/textfile",
            OKOME_CHAOS_DEFAULT_DURATION: 60,
            OKOME_CHAOS_MAX_DURATION: 600,
            OKOME_CHAOS_STORM_REQUESTS: 20,
            OKOME_CHAOS_STORM_PARALLEL: 5,
            OKOME_CHAOS_DISK_FILL_PERCENT: 99,
            OKOME_CHAOS_DISK_MARGIN_MB: 1,
            OKOME_CHAOS_DISK_FILL_MAX_MB: 1,
          }),
        );
        const chaosEnv = { OKOME_CHAOS_ROOT: root };
        const injected = await shell(
          `${INSTALLED["okome-chaos"]} --duration 20 ${scenario}; echo "exit $?"`,
          chaosEnv,
        );
        assert.match(injected, /^exit 0$/m, injected);
        const logged = calls("logger").map((c) => c.replace(/^-t okome-chaos -- /, ""));
        const timers = calls("systemd-run").map((c) => `${/--unit (\S+)/.exec(c)?.[1]}.timer`);
        for (const s of chaosSteps.filter((x) => x.drill === scenario)) {
          assert.equal(s.node, node, `line ${s.line}: ${scenario} runs on the ${node}`);
          if (s.command.includes("okome-chaos status")) await replay(s, [], chaosEnv);
          else if (s.command.includes("journalctl -t okome-chaos"))
            assert.ok(
              logged.some((l) => s.expect.test(l)),
              `line ${s.line}: ${s.expect} in ${logged.join(" | ")}`,
            );
          else if (s.command.includes("list-timers"))
            assert.ok(
              timers.some((t) => s.expect.test(t)),
              `line ${s.line}: ${s.expect} in ${timers.join(" ")}`,
            );
          else {
            const command = s.command
              .replace(/\bsudo\s+/g, "")
              .replaceAll("/run/okome/", `${root}/run/okome/`)
              .replaceAll("/var/cache/nginx/", `${root}/var/cache/nginx/`);
            assert.match(await shell(command), s.expect, `line ${s.line}: ${s.command}`);
          }
          checked.add(s);
        }
        fs.rmSync(at("fake/calls"), { force: true });
      }
      assert.deepEqual(
        chaosSteps.filter((s) => !checked.has(s)).map((s) => s.line),
        [],
        "every step of incident 7 is replayed here",
      );
    });

    it("okome-health-probe: the state file, metrics and journal while the orchestrator is down, and after", async () => {
      fake("nginx");
      fake("systemctl");
      let up = false;
      const orchestrator = http.createServer((_req, res) => res.writeHead(up ? 200 : 503).end());
      await new Promise<void>((resolve) => orchestrator.listen(0, "127.0.0.1", resolve));
      try {
        const url = `http://127.0.0.1:${(orchestrator.address() as AddressInfo).port}/health`;
        const settings = (upstream: string) =>
          write(
            "/etc/okome/edge-health.env",
            envFile({
              OKOME_NODE: "okome-edge",
              OKOME_UPSTREAM_URL: upstream,
              OKOME_PROBE_TIMEOUT: 1,
              OKOME_FALL: 1,
              OKOME_RISE: 1,
              OKOME_STATE_FILE: at("root/etc/nginx/okome/health_state.conf"),
              OKOME_STATE_DIR: at("root/var/lib/okome/health"),
              OKOME_TEXTFILE_DIR: at("root/run/okome/textfile"),
              // Redis is down too: the probe warns and goes on.
              OKOME_HEALTH_REDIS_HOST: "127.0.0.1",
              OKOME_HEALTH_REDIS_PORT: closed[1],
              OKOME_HEALTH_REDIS_USER: "okome-health",
              OKOME_HEALTH_REDIS_PASSWORD_FILE: at("root/etc/okome/secrets/edge-health-redis"),
              OKOME_HEALTH_TTL: 30,
            }),
          );
        write("/etc/okome/secrets/edge-health-redis", "secret\n");
        const probe = () =>
          shell(script("okome-health-probe.sh"), {
            OKOME_HEALTH_ENV: at("root/etc/okome/edge-health.env"),
          });
        const mapped = [
          "/etc/nginx/okome/health_state.conf",
          "/run/okome/textfile/",
          "/etc/okome/edge-health.env",
        ];

        // Down: no answer at all, as the upstream-down drill's nft table makes it.
        settings(`http://127.0.0.1:${closed[2]}/health`);
        const journal = await probe();
        assert.match(journal, /upstream DOWN/, journal);
        for (const node of ["edge", "model"])
          await replay(step("upstream-down", node, "health_state.conf"), mapped);
        await replay(step("upstream-down", "edge", "okome_health.prom"), mapped);
        await replay(step("upstream-down", "edge", "OKOME_UPSTREAM_URL"), mapped);
        for (const [drill, text] of [
          ["upstream-down", "journalctl -u okome-health-probe"],
          ["redis-stop", "journalctl -u okome-health-probe"],
        ])
          assert.match(journal, step(drill, "edge", text).expect, `${drill}: ${text}`);

        // Up again.
        up = true;
        settings(url);
        assert.match(await probe(), /upstream UP after 1 good probes/);
        await replay(step(undefined, "edge", "health_state.conf"), mapped);
        await replay(step(undefined, "edge", "okome_health.prom"), mapped);
      } finally {
        orchestrator.closeAllConnections();
        await new Promise((resolve) => orchestrator.close(resolve));
      }
    });

    it("okome-verify: nginx stopped, and running", async () => {
      fake("nginx");
      fake(
        "systemctl",
        `if [ "$1" = is-active ]; then
  unit=\${*: -1}
  if grep -qxF "$unit" "$OKOME_FAKE_DIR/active" 2>/dev/null; then state=active; else state=inactive; fi
  [ "$2" = --quiet ] || echo "$state"
  [ "$state" = active ]
fi`,
      );
      write(
        "/etc/nginx/okome/health_state.conf",
        "# okome-health-probe: the upstream is UP.\nset $okome_upstream_pool okome_orchestrator;\n",
      );
      write(
        "/etc/okome/edge-verify.env",
        envFile({
          OKOME_NODE: "okome-edge",
          OKOME_EDGE_URL: `http://127.0.0.1:${closed[0]}`,
          OKOME_HEALTH_URL: `http://127.0.0.1:${closed[0]}/__okome/health`,
          OKOME_STATUS_URL: `http://127.0.0.1:${closed[1]}/stub_status`,
          OKOME_EXPORTER_URL: `http://127.0.0.1:${closed[2]}/metrics`,
          OKOME_STATE_FILE: at("root/etc/nginx/okome/health_state.conf"),
          OKOME_PROBE_PATH: "/version",
        }),
      );
      const verifyEnv = { OKOME_VERIFY_ENV: at("root/etc/okome/edge-verify.env") };
      await replay(step("nginx-stop", "edge", "okome-verify"), [], verifyEnv);
      fs.writeFileSync(at("fake/active"), "nginx\n");
      await replay(step(undefined, "edge", "okome-verify"), [], verifyEnv);
    });

    it("okome-validate: Redis stopped", async () => {
      // The rest of the tier answers (okome-validate stops at a node exporter without
      // okome_vip_state): one loopback server is every node's edge and exporters.
      const tier = http.createServer((_req, res) => {
        res.writeHead(200, {
          "X-Cache-Status": "HIT",
          "X-OKOME-Node": "okome-edge",
          "X-Upstream": "cache",
          "X-Request-ID": "r1",
        });
        res.end(
          [
            'node_exporter_build_info{version="1.5.0"} 1',
            'okome_vip_state{node="okome-edge",vrrp_instance="okome_vip"} 1',
            'okome_vip_state{node="okome-model",vrrp_instance="okome_vip"} 0',
            'okome_health_upstream_up{node="okome-edge"} 1',
            'okome_health_upstream_up{node="okome-model"} 1',
            "nginx_up 1",
            "redis_up 0",
            "",
          ].join("\n"),
        );
      });
      await new Promise<void>((resolve) => tier.listen(0, "127.0.0.1", resolve));
      const port = (tier.address() as AddressInfo).port;
      try {
        write(
          "/etc/okome/validate.env",
          envFile({
            OKOME_VIP: "127.0.0.1",
            OKOME_EDGE_NODE: "okome-edge",
            OKOME_EDGE_ADDRESS: "127.0.0.1",
            OKOME_MODEL_NODE: "okome-model",
            OKOME_MODEL_ADDRESS: "127.0.0.1",
            OKOME_EDGE_PORT: port,
            OKOME_CACHEABLE_PATH: "/version",
            OKOME_ORCHESTRATOR: "127.0.0.1:8000",
            OKOME_NODE_EXPORTER_PORT: port,
            OKOME_NGINX_EXPORTER_PORT: port,
            OKOME_REDIS_HOST: "127.0.0.1",
            OKOME_REDIS_PORT: closed[2],
            OKOME_REDIS_EXPORTER_PORT: port,
            OKOME_REDIS_MONITOR_USER: "okome-monitor",
            OKOME_REDIS_MONITOR_PASSWORD: "secret",
            OKOME_REDIS_KEYS_USER: "okome-health",
            OKOME_REDIS_KEYS_PASSWORD: "secret",
          }),
        );
        await replay(step("redis-stop", "edge", "okome-validate"), [], {
          OKOME_VALIDATE_ENV: at("root/etc/okome/validate.env"),
        });
      } finally {
        tier.closeAllConnections();
        await new Promise((resolve) => tier.close(resolve));
      }
    });

    it("redis-cli ping: Redis stopped, and running with no default user", async () => {
      const ping = (s: RunbookStep, port: number) =>
        shell(s.command.replace(/^redis-cli /, `redis-cli -p ${port} `));
      const down = step("redis-stop", "model", "redis-cli ping");
      assert.match(await ping(down, closed[0]), down.expect);
      const redis = await startRedisServer({ args: ["--user", "default", "off"] });
      try {
        const healthy = step(undefined, "model", "redis-cli ping");
        assert.match(await ping(healthy, redis.port), healthy.expect);
      } finally {
        await redis.dispose();
      }
    });

    it("okome-hit-ratio and the access log: a miss storm, and a warm cache", async () => {
      const now = Date.now();
      const entry = (cache: string, uri: string, secondsAgo: number) =>
        JSON.stringify({
          time: new Date(now - secondsAgo * 1000).toISOString().slice(0, 19) + "+00:00",
          request_id: "r",
          remote_addr: "127.0.0.1",
          method: "GET",
          uri,
          status: 200,
          bytes: 10,
          cache,
          upstream: "10.86.0.25:8000",
          upstream_time: "0.003",
          request_time: 0.004,
          user_agent: "curl/7.88.1",
        });
      const log = "/var/log/nginx/okome-access.log";
      write(
        log,
        [
          ...Array.from({ length: 30 }, (_, i) => entry("MISS", `/assets/chaos-${i % 5}.js`, 5)),
          ...Array.from({ length: 20 }, () => entry("HIT", "/version", 10)),
        ].join("\n") + "\n",
      );
      const logEnv = { OKOME_ACCESS_LOG: at(`root${log}`), OKOME_NODE: "okome-edge" };
      await replay(step("cache-miss-storm", "edge", "okome-hit-ratio"), [], logEnv);
      await replay(step("cache-miss-storm", "edge", "okome-access.log"), [log]);
      await replay(step(undefined, "edge", "okome-hit-ratio"), [], logEnv);
    });

    it("okome-vip-notify: the metrics and journal lines of a failover", async () => {
      fake("logger");
      const notify = async (node: string, ...states: string[]) => {
        write(
          `/etc/okome/vip-${node}.env`,
          envFile({
            OKOME_NODE: `okome-${node}`,
            OKOME_VIP: "10.86.0.18",
            OKOME_STATE_DIR: at(`root/var/lib/okome/vip-${node}`),
            OKOME_TEXTFILE_DIR: at(`root/run/okome/textfile-${node}`),
          }),
        );
        for (const state of states)
          await shell(`${script("okome-vip-notify.sh")} INSTANCE okome_vip ${state} 100`, {
            OKOME_VIP_ENV: at(`root/etc/okome/vip-${node}.env`),
          });
        return calls("logger").filter((l) => l.includes(`okome-${node}:`));
      };
      const prom = (node: string, s: RunbookStep) =>
        shell(s.command.replaceAll("/run/okome/textfile/", at(`root/run/okome/textfile-${node}/`)));

      const edgeJournal = await notify("edge", "BACKUP", "MASTER", "FAULT");
      const fault = step("nginx-stop", "edge", "journalctl -t okome-vip");
      assert.ok(
        edgeJournal.some((l) => fault.expect.test(l)),
        edgeJournal.join(" | "),
      );

      const modelJournal = await notify("model", "BACKUP", "MASTER");
      const takeover = step("vip-failover", "model", "journalctl -t okome-vip");
      assert.ok(
        modelJournal.some((l) => takeover.expect.test(l)),
        modelJournal.join(" | "),
      );
      for (const drill of ["nginx-stop", "vip-failover"]) {
        const s = step(drill, "model", "okome_vip.prom");
        assert.match(await prom("model", s), s.expect, `${drill}: line ${s.line}`);
      }
    });
  });
});
